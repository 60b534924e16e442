"""The one training skeleton every task plugs into.

    run_training(cfg, build)     build: (cfg, dist, resuming) -> TrainingSetup

The task's builder makes what is specific to it (data loaders, model, `Task`, parameter groups, the
files its decoder needs in the experiment dir); the skeleton does the rest the same way for every task:
threads and seed, the experiment dir (`config.yaml` resolved, `model.json`, `model.txt`), optimiser,
LR schedule (checked against the direction of the metric it monitors) and the `Trainer`, which resumes
from `checkpoint_last.pt`.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn

from toolkit.models.checkpoint import LAST
from toolkit.training.distributed import DistInfo, init_distributed
from toolkit.training.trainer import Task, Trainer, TrainerConfig

log = logging.getLogger(__name__)

#: Dev metrics (checkpoint selection, LR schedule monitor) with the direction that is better.
METRIC_MODES = {"per": "min", "loss": "min", "ppl": "min", "frame_acc": "max", "bleu": "max", "chrf": "max",
                "rouge": "max"}


@dataclass
class TrainingSetup:
    """What a task contributes to a training run."""
    model: nn.Module
    task: Task
    train_loader: Iterable[dict]
    dev_loader: Iterable[dict]
    description: str                                    # one line for the log, e.g. "BiLSTM"
    param_groups: list[dict] | None = None              # None: every trainable parameter, one group
    model_info: dict = field(default_factory=dict)      # entries of model.json besides trainable_params
    save_files: Callable[[Path], None] | None = None    # writes what decoding needs into the exp dir
    after_training: Callable[[Path], None] | None = None


Builder = Callable[[DictConfig, DistInfo, bool], TrainingSetup]


def build_scheduler(cfg: DictConfig, optimizer: torch.optim.Optimizer):
    """The configured LR schedule; one that monitors a dev metric must agree on its direction
    (PER, loss and perplexity are better low; BLEU and chrF high)."""
    if not cfg.get("scheduler"):
        return None
    scheduler = instantiate(cfg.scheduler, optimizer=optimizer)
    monitor, mode = getattr(scheduler, "monitor", None), getattr(scheduler, "mode", None)
    if monitor in METRIC_MODES and mode is not None and mode != METRIC_MODES[monitor]:
        better = "higher" if METRIC_MODES[monitor] == "max" else "lower"
        raise ValueError(f"scheduler.monitor={monitor} is better when {better}, but scheduler.mode={mode}: set "
                         f"scheduler.mode={METRIC_MODES[monitor]} (+scheduler.mode=... when the scheduler config "
                         "has no mode)")
    return scheduler


def run_training(cfg: DictConfig, build: Builder) -> list[dict]:
    """Train what `build` sets up, in `cfg.exp_dir`; returns the per-epoch history."""
    dist = init_distributed()
    if int(cfg.get("threads", 0)) > 0:
        torch.set_num_threads(int(cfg.threads))
    torch.manual_seed(cfg.seed)
    exp_dir = Path(cfg.exp_dir)
    setup = build(cfg, dist, (exp_dir / LAST).is_file())
    model = setup.model
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.info("model: %s, %.2fM trainable parameters", setup.description, n_params / 1e6)

    if dist.is_main:
        exp_dir.mkdir(parents=True, exist_ok=True)
        (exp_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
        (exp_dir / "model.json").write_text(json.dumps({**setup.model_info, "trainable_params": n_params}) + "\n")
        (exp_dir / "model.txt").write_text(f"{model}\n")
        if setup.save_files is not None:
            setup.save_files(exp_dir)

    groups = setup.param_groups or [p for p in model.parameters() if p.requires_grad]
    optimizer = instantiate(cfg.optim, _partial_=True)(groups)
    scheduler = build_scheduler(cfg, optimizer)
    trainer = Trainer(model, setup.task, optimizer, exp_dir, TrainerConfig(**cfg.trainer), scheduler, dist)
    history = trainer.fit(setup.train_loader, setup.dev_loader)
    if dist.is_main and setup.after_training is not None:
        setup.after_training(exp_dir)
    return history
