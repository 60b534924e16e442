"""Trainer levers for training on a budget: a time budget that stops (and resumes) cleanly, per-step
warm-up schedules, and epoch weights kept and averaged into checkpoint_avg.pt."""
import json
import math
import time

import pytest
import torch
from torch import nn

from toolkit.bin import average_checkpoints
from toolkit.models.checkpoint import LAST, load_checkpoint, load_model_weights
from toolkit.training.averaging import average_experiment, average_state_dicts
from toolkit.training.schedulers import Noam, WarmupCosine
from toolkit.training.trainer import Trainer, TrainerConfig

pytestmark = pytest.mark.usefixtures("one_thread")


class ToyTask:
    """Least squares on a fixed linear target; each step takes `step_seconds` (a slow model), and the
    dev metric follows `dev_values` epoch by epoch when given."""
    metric, mode = "loss", "min"

    def __init__(self, step_seconds: float = 0.0, dev_values: list[float] | None = None):
        self.step_seconds, self.dev_values, self.evaluations = step_seconds, dev_values, 0

    def loss(self, model, batch):
        time.sleep(self.step_seconds)
        loss = ((model(batch["x"]) - batch["y"]) ** 2).mean()
        return loss, {"loss": loss.item() * len(batch["x"]), "count": len(batch["x"])}

    def evaluate(self, model, batches):
        self.evaluations += 1
        if self.dev_values is not None:
            return {"loss": self.dev_values[self.evaluations - 1]}
        losses = [float(((model(b["x"]) - b["y"]) ** 2).mean()) for b in batches]
        return {"loss": sum(losses) / len(losses)}


def toy_batches(n: int) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    xs = [torch.randn(8, 4, generator=g) for _ in range(n)]
    return [{"x": x, "y": x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])} for x in xs]


def trainer(exp, task, scheduler=None, lr=0.05, **cfg):
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    if scheduler is not None:
        scheduler = scheduler(optimizer)
    config = TrainerConfig(progress=False, amp=False, **cfg)
    return Trainer(model, task, optimizer, exp, config, scheduler, device=torch.device("cpu"))


def test_time_budget_stops_mid_epoch_then_does_nothing_then_resumes(tmp_path):
    batches = toy_batches(60)                                  # 60 steps of 50 ms: 3 s per epoch
    history = trainer(tmp_path, ToyTask(0.05), max_epochs=2, max_minutes=1 / 60).fit(batches, batches[:2])
    assert len(history) == 1                                   # the 1 s budget ran out in epoch 1 ...
    assert history[0]["budget_stop"] and history[0]["cut_short"] and history[0]["elapsed_s"] >= 1.0
    ckpt = load_checkpoint(tmp_path / LAST)                    # ... which was evaluated and checkpointed
    assert ckpt["epoch"] == 1 and 1 <= ckpt["step"] < 60 and ckpt["history"] == history
    assert json.loads((tmp_path / "history.json").read_text()) == history

    written = (tmp_path / LAST).stat().st_mtime_ns
    again = trainer(tmp_path, ToyTask(0.05), max_epochs=2, max_minutes=1 / 60)
    assert again.fit(batches, batches[:2]) == history and (tmp_path / LAST).stat().st_mtime_ns == written

    more = trainer(tmp_path, ToyTask(0.0), max_epochs=2, max_minutes=10)   # a larger budget resumes
    history = more.fit(batches, batches[:2])
    assert [r["epoch"] for r in history] == [1, 2] and more.step == ckpt["step"] + 60
    assert "budget_stop" not in history[-1] and history[-1]["elapsed_s"] > history[0]["elapsed_s"]


def test_warm_up_schedules_follow_their_curves():
    param = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=2.0)
    noam = Noam(opt, warmup_steps=4)
    lrs = []
    for _ in range(8):
        lrs.append(opt.param_groups[0]["lr"])                  # the rate of the update about to happen
        opt.step()
        noam.step()
    assert lrs == pytest.approx([0.5, 1.0, 1.5, 2.0] + [2.0 * math.sqrt(4 / s) for s in (5, 6, 7, 8)])

    opt = torch.optim.SGD([param], lr=1.0)
    cosine = WarmupCosine(opt, warmup_steps=2, total_steps=6, min_lr_ratio=0.1)
    lrs = []
    for _ in range(8):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        cosine.step()
    decay = [0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)) for p in (0.25, 0.5, 0.75, 1.0)]
    assert lrs == pytest.approx([0.5, 1.0] + decay + [0.1, 0.1])

    resumed = WarmupCosine(torch.optim.SGD([param], lr=1.0), warmup_steps=2, total_steps=6, min_lr_ratio=0.1)
    resumed.load_state_dict(cosine.state_dict())
    assert resumed.get_last_lr() == cosine.get_last_lr() and resumed.last_epoch == 8


def test_trainer_steps_a_per_step_schedule_every_update_and_sizes_it(tmp_path):
    batches = toy_batches(5)
    t = trainer(tmp_path, ToyTask(), scheduler=lambda o: WarmupCosine(o, warmup_steps=3, min_lr_ratio=0.0),
                lr=0.1, max_epochs=2)
    history = t.fit(batches, batches[:1])
    assert t.scheduler.total_steps == 10 and t.scheduler.last_epoch == 10
    assert history[0]["lr"] == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * 3 / 7)))   # before update 6
    assert history[1]["lr"] == pytest.approx(0.0)


def test_average_of_two_known_state_dicts():
    a = {"w": torch.tensor([1.0, 2.0]), "mean": torch.tensor([0.0], dtype=torch.float64), "n": torch.tensor(3)}
    b = {"w": torch.tensor([3.0, 6.0]), "mean": torch.tensor([1.0], dtype=torch.float64), "n": torch.tensor(5)}
    avg = average_state_dicts([a, b])
    assert torch.equal(avg["w"], torch.tensor([2.0, 4.0])) and avg["mean"].dtype == torch.float64
    assert avg["mean"].item() == 0.5 and avg["n"].item() == 5                # integers: the latest
    with pytest.raises(ValueError):
        average_state_dicts([a, {"w": a["w"]}])


def test_kept_epochs_are_averaged_by_best_or_last(tmp_path):
    batches = toy_batches(3)
    dev = [0.5, 0.1, 0.9, 0.8, 0.7]                             # best two: epochs 2, 1; last two: 4, 5
    trainer(tmp_path, ToyTask(dev_values=dev), max_epochs=5, keep_epochs=2).fit(batches, batches[:1])
    assert sorted(p.name for p in tmp_path.glob("epoch_*.pt")) == ["epoch_1.pt", "epoch_2.pt", "epoch_4.pt",
                                                                   "epoch_5.pt"]
    weights = {e: load_checkpoint(tmp_path / f"epoch_{e}.pt")["model"]["weight"] for e in (1, 2, 4, 5)}
    for by, epochs in (("best", [1, 2]), ("last", [4, 5])):
        assert average_checkpoints.main(["--exp", str(tmp_path), "--n", "2", "--by", by]) == 0
        model = nn.Linear(4, 1)
        ckpt = load_model_weights(model, tmp_path, "avg")
        assert ckpt["averaged_epochs"] == epochs
        assert torch.allclose(model.weight, (weights[epochs[0]] + weights[epochs[1]]) / 2)
    assert average_checkpoints.main(["--exp", str(tmp_path), "--n", "5"]) == 1   # only 4 kept
    assert average_experiment(tmp_path, 4, "last").name == "checkpoint_avg.pt"
