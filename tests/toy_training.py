"""A toy training set-up for tests of the trainer itself: least squares on a linear model, with
batches that can be made to give a NaN loss and dev losses that can be scripted."""
import math
from pathlib import Path

import torch
from torch import nn

from toolkit.training.schedulers import NewBob
from toolkit.training.trainer import Trainer, TrainerConfig


class LeastSquares:
    """Least squares on (B, 2) -> (B, 1); batches flagged `nan` give a NaN loss. The dev metric is the
    summed loss of the dev batches, or the next of `dev_metrics` when given (one per evaluation); lower
    is better (`mode="min"`), or higher (`mode="max"`)."""
    metric = "loss"

    def __init__(self, mode: str = "min", dev_metrics: list[float] | None = None):
        self.mode, self.dev_metrics = mode, dev_metrics

    def loss(self, model, batch):
        loss = (model(batch["x"]) - batch["y"]).pow(2).mean()
        if batch["nan"]:
            loss = loss * math.nan
        return loss, {"loss": loss.item(), "count": 1}

    def evaluate(self, model, batches):
        if self.dev_metrics:
            return {"loss": self.dev_metrics.pop(0)}
        return {"loss": sum(self.loss(model, b)[0].item() for b in batches)}


def toy_batches(nan_flags: list[bool]) -> list[dict]:
    """One batch of 8 random pairs per flag (the same pairs on every call); True: its loss is NaN."""
    g = torch.Generator().manual_seed(0)
    return [{"x": torch.randn(8, 2, generator=g), "y": torch.randn(8, 1, generator=g), "nan": f} for f in nan_flags]


def toy_trainer(exp: Path, task=None, scheduler: bool = False, **cfg) -> Trainer:
    """A Trainer of a fresh seeded nn.Linear(2, 1) with Adam (lr 0.01) writing to `exp`; `cfg` sets
    TrainerConfig fields (default: 3 epochs, no progress bars); `scheduler`: newbob on the dev loss."""
    torch.manual_seed(0)
    model = nn.Linear(2, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    return Trainer(model, task or LeastSquares(), optimizer, exp,
                   TrainerConfig(**{"max_epochs": 3, "progress": False, **cfg}),
                   scheduler=NewBob(optimizer) if scheduler else None, device=torch.device("cpu"))


def toy_run(exp) -> list[dict]:
    """Three epochs with newbob, each improving the dev loss."""
    return toy_trainer(Path(exp), max_epochs=3, scheduler=True).fit(toy_batches([False] * 4), toy_batches([False] * 2))
