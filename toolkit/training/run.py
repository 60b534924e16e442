"""The one training skeleton every task plugs into.

    run_training(cfg, build)     build: (cfg, dist, resuming) -> TrainingSetup

The task's builder makes what is specific to it (data loaders, model, `Task`, parameter groups, the
files its decoder needs in the experiment dir); the skeleton does the rest the same way for every task:
threads and seed, the experiment dir (`config.yaml` resolved, `model.json`, `model.txt`), optimiser,
LR schedule (checked against the direction of the metric it monitors) and the `Trainer`, which resumes
from `checkpoint_last.pt`.

Before any work it checks the config (`check_training_config`: optimiser, schedule and trainer settings
are built on a dummy parameter) and the experiment dir: its `.fingerprint.json` records the settings that
change the model and the training data's files (the task's `inputs(cfg)`), and a run whose record differs
is not resumed but refused, naming what changed, unless `+overwrite=true` asks to start over.
"""
from __future__ import annotations

import fnmatch
import json
import logging
import shutil
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Callable, Iterable

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn

from toolkit.models.checkpoint import LAST
from toolkit.training.distributed import DistInfo, init_distributed
from toolkit.training.trainer import Task, Trainer, TrainerConfig
from toolkit.utils import fingerprint
from toolkit.utils.errors import UserError

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
    before_train_epoch: Callable[[], None] | None = None   # e.g. statistics that follow the model as it learns
    before_evaluate: Callable[[], None] | None = None      # called in eval mode, without gradients


Builder = Callable[[DictConfig, DistInfo, bool], TrainingSetup]
Inputs = Callable[[DictConfig], dict[str, Path]]   # the files a task's training reads, by name

#: Settings that do not change what a run trains: where it and its data live (the data's files are in the
#: fingerprint instead), output and worker settings, the budgets of epochs and of non-finite steps (raising
#: them continues a run), and `overwrite` itself.
NOT_IN_FINGERPRINT = ("exp_dir", "data.train", "data.dev", "data.lang", "data.num_workers", "threads",
                      "trainer.progress", "trainer.log_interval", "trainer.max_epochs", "trainer.max_minutes",
                      "trainer.keep_epochs", "trainer.max_bad_steps", "trainer.max_bad_steps_total", "overwrite")


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


def check_training_config(cfg: DictConfig) -> None:
    """UserError naming the setting, before any data or model is loaded: the trainer's settings, and the
    optimiser and LR schedule built on a dummy parameter (so `optim.lr=abc` fails now, not after loading)."""
    known = {f.name for f in fields(TrainerConfig)}
    unknown = sorted(set(cfg.trainer) - known)
    if unknown:
        raise UserError(f"trainer.{unknown[0]}: not a trainer setting (those are {', '.join(sorted(known))})")
    trainer = TrainerConfig(**cfg.trainer)
    for name, low in (("max_epochs", 1), ("log_interval", 1), ("max_bad_steps", 1), ("grad_clip", 0)):
        value = getattr(trainer, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
            raise UserError(f"trainer.{name}={value}: must be a number >= {low}")
    if trainer.amp_dtype not in ("bfloat16", "float16"):
        raise UserError(f"trainer.amp_dtype={trainer.amp_dtype}: must be bfloat16 or float16")
    dummy = [nn.Parameter(torch.zeros(1))]
    try:
        optimizer = instantiate(cfg.optim, _partial_=True)(dummy)
    except Exception as e:   # the optimiser's own complaint (a bad lr, an unknown argument), with its name
        raise UserError(f"optim ({cfg.optim.get('_target_')}): {_cause(e)}; fix the optim.* settings") from None
    try:
        build_scheduler(cfg, optimizer)
    except UserError:
        raise
    except Exception as e:
        raise UserError(f"scheduler ({cfg.scheduler.get('_target_')}): {_cause(e)}; fix the scheduler.* "
                        "settings") from None


def _cause(e: BaseException) -> str:
    """The innermost message of an exception (Hydra wraps the constructor's own in InstantiationException)."""
    while e.__cause__ is not None:
        e = e.__cause__
    return " ".join(str(e).split())


def training_fingerprint(cfg: DictConfig, inputs: dict[str, Path]) -> dict:
    """The settings that change the model (the resolved config minus NOT_IN_FINGERPRINT) and the files
    the run reads."""
    config = fingerprint.flatten(OmegaConf.to_container(cfg, resolve=True))
    config = {k: v for k, v in config.items() if not any(fnmatch.fnmatchcase(k, p) for p in NOT_IN_FINGERPRINT)}
    return fingerprint.fingerprint(inputs, config)


def _previous_run_changes(exp_dir: Path, fp: dict) -> list[str] | None:
    """None when there is no run to resume; else what differs from it ([] when nothing does)."""
    if not (exp_dir / LAST).is_file():
        return None
    changes = fingerprint.check(exp_dir, fp)
    return [f"{fingerprint.path_of(exp_dir)} is missing (a run from before fingerprints)"] if changes is None else changes


def _clear_experiment(exp_dir: Path) -> None:
    """Remove a previous run (checkpoints, history, decodes...), keeping Hydra's `.hydra/` and logs."""
    if Path.cwd().resolve().is_relative_to(exp_dir.resolve()):
        raise UserError(f"exp_dir={exp_dir} is the working dir (or holds it): refusing to clear it for overwrite")
    log.warning("overwrite: removing the previous run in %s", exp_dir)
    for path in exp_dir.iterdir():
        if path.name == ".hydra" or path.suffix == ".log":
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def run_training(cfg: DictConfig, build: Builder, inputs: Inputs | None = None) -> list[dict]:
    """Train what `build` sets up, in `cfg.exp_dir`; returns the per-epoch history. `inputs(cfg)` names the
    files the run reads (they go into the experiment's fingerprint)."""
    check_training_config(cfg)
    exp_dir = Path(cfg.exp_dir)
    fp = training_fingerprint(cfg, inputs(cfg) if inputs is not None else {})
    changes = _previous_run_changes(exp_dir, fp)
    overwrite = bool(cfg.get("overwrite", False))
    if changes and not overwrite:
        raise UserError(f"{exp_dir} holds a run with other settings or data ({fingerprint.summary(changes)}): "
                        "resuming it would mix the two. Train into a new experiment dir (--exp-tag or "
                        "exp_dir=...), or start over with --overwrite true (recipes) / +overwrite=true (Hydra)")
    dist = init_distributed()
    if overwrite and changes is not None and dist.is_main:
        _clear_experiment(exp_dir)
    if dist.enabled:
        torch.distributed.barrier()   # every rank sees the cleared dir before deciding whether to resume
    if int(cfg.get("threads", 0)) > 0:
        torch.set_num_threads(int(cfg.threads))
    torch.manual_seed(cfg.seed)
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
        fingerprint.write(exp_dir, fp)

    groups = setup.param_groups or [p for p in model.parameters() if p.requires_grad]
    optimizer = instantiate(cfg.optim, _partial_=True)(groups)
    scheduler = build_scheduler(cfg, optimizer)
    trainer = Trainer(model, setup.task, optimizer, exp_dir, TrainerConfig(**cfg.trainer), scheduler, dist,
                      before_train_epoch=setup.before_train_epoch, before_evaluate=setup.before_evaluate)
    history = trainer.fit(setup.train_loader, setup.dev_loader)
    if dist.is_main and setup.after_training is not None:
        setup.after_training(exp_dir)
    return history
