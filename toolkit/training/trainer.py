"""One trainer for every model in the toolkit.

The model-specific parts live in a `Task` (how to compute the loss of a batch, how to evaluate on
dev); the trainer owns the loop: device placement, AMP on CUDA, gradient clipping, skipping of
non-finite steps, an LR schedule (stepped per epoch, or per update when it says `per_step`), DDP,
TensorBoard scalars, tqdm progress, and checkpoints (`checkpoint_last.pt` every epoch,
`checkpoint_best.pt` by the dev metric, `epoch_<n>.pt` weights kept for checkpoint averaging).

A time budget (`max_minutes` of wall time from the start of `fit`, summed over resumed runs; the
history's `elapsed_s`) ends training at the first update past it:
the epoch in progress is cut short, evaluated and checkpointed like any other, and its history record
says `budget_stop` (and `cut_short`). Rerunning with the same budget then does nothing; a larger one
resumes.

Nothing fails silently: a step with a non-finite loss or gradient is skipped and counted, and the run
stops after `max_bad_steps` in a row, after `max_bad_steps_total` over the run (resumes included), or
after an epoch in which no step succeeded; a NaN or infinite dev metric is never the best.

Re-running in the same experiment dir resumes from `checkpoint_last.pt`, random states included,
so a killed run ends with the same model as an uninterrupted one (a run killed between writing the
best and the last checkpoint, or a corrupt last one, resumes from the newest readable state; see
`toolkit.training.checkpoint`).
"""
import logging
import math
import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from toolkit.models.checkpoint import BEST, LAST, epoch_file
from toolkit.training.checkpoint import (load_resume_state, rng_state, save_checkpoint, save_training_state,
                                         set_rng_state)
from toolkit.training.curves import plot_learning_curves
from toolkit.training.distributed import DistInfo, all_true, default_device
from toolkit.utils.errors import UserError
from toolkit.utils.atomic import write_json

log = logging.getLogger(__name__)


class Task(Protocol):
    """What the trainer needs to know about a model family."""
    metric: str  # dev metric that picks checkpoint_best, e.g. "per"
    mode: str    # "min" or "max"

    def loss(self, model: nn.Module, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        """Loss to minimise (a scalar) and `{"loss": summed loss, "count": items}` for logging."""

    def evaluate(self, model: nn.Module, batches: Iterable[dict]) -> dict[str, float]:
        """Dev metrics, including `self.metric` and preferably `loss`."""


@dataclass
class TrainerConfig:
    max_epochs: int = 20
    grad_clip: float = 5.0           # max global grad norm; 0 disables
    amp: bool = True                 # mixed precision, used only on CUDA
    amp_dtype: str = "bfloat16"      # or "float16" (with a gradient scaler)
    max_bad_steps: int = 20          # consecutive non-finite losses before giving up
    max_bad_steps_total: int = 100   # skipped steps allowed over the whole run (resumes included)
    log_interval: int = 50           # steps between TensorBoard train scalars
    progress: bool = True            # tqdm bars
    max_minutes: float = 0.0         # time budget of the whole training (summed over resumed runs); 0: none
    keep_epochs: int = 0             # keep epoch_<n>.pt weights of the last N and the best N epochs (averaging)


class TrainingDiverged(UserError):
    pass


def to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


class Trainer:
    def __init__(self, model: nn.Module, task: Task, optimizer: torch.optim.Optimizer, exp_dir: str | Path,
                 cfg: TrainerConfig | None = None, scheduler=None, dist_info: DistInfo | None = None,
                 device: torch.device | None = None, before_train_epoch: Callable[[], None] | None = None,
                 before_evaluate: Callable[[], None] | None = None):
        self.cfg = cfg or TrainerConfig()
        self.before_train_epoch, self.before_evaluate = before_train_epoch, before_evaluate
        self.dist = dist_info or DistInfo()
        self.device = device or default_device(self.dist)
        self.model = model.to(self.device)
        self.task, self.optimizer, self.scheduler = task, optimizer, scheduler
        self.exp_dir = Path(exp_dir)
        self.exp_dir.mkdir(parents=True, exist_ok=True)
        self.use_amp = self.cfg.amp and self.device.type == "cuda"
        self.amp_dtype = getattr(torch, self.cfg.amp_dtype)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp and self.amp_dtype == torch.float16)
        self.train_model = (DistributedDataParallel(self.model, device_ids=[self.device.index]
                                                    if self.device.type == "cuda" else None)
                            if self.dist.enabled else self.model)
        self.epoch = 0                     # epochs completed
        self.step = 0                      # optimizer steps taken
        self.best: float | None = None
        self.bad_steps = 0                 # steps skipped for a non-finite loss or gradient, whole run
        self.run_id = uuid.uuid4().hex     # tells this run's checkpoints from those an earlier run left
        self.history: list[dict] = []
        self.stopped = False
        self.writer = None
        self._clock = time.time()          # the time budget counts this run's wall time from here ...
        self._elapsed_before = 0.0         # ... plus the training seconds of the runs it resumes
        self._cut_short = False            # the epoch in progress ended early for the time budget
        self._time_up = False              # the last epoch used up the time budget

    # ---------------------------------------------------------------- checkpoints
    def _state(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
                "scaler": self.scaler.state_dict(), "epoch": self.epoch, "step": self.step, "best": self.best,
                "history": self.history, "stopped": self.stopped, "bad_steps": self.bad_steps, "run_id": self.run_id,
                "rng": rng_state()}

    def resume(self) -> bool:
        """Load `checkpoint_last.pt` if the experiment dir has one (or the newest readable state when
        it is behind or broken, see `load_resume_state`); True when resumed."""
        found = load_resume_state(self.exp_dir)
        if found is None:
            return False
        path, ckpt = found
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if self.scheduler is not None and ckpt["scheduler"] is not None:
            self.scheduler.load_state_dict(ckpt["scheduler"])
        self.scaler.load_state_dict(ckpt["scaler"])
        self.epoch, self.step, self.best = ckpt["epoch"], ckpt["step"], ckpt["best"]
        self.history, self.stopped, self.bad_steps = ckpt["history"], ckpt["stopped"], ckpt["bad_steps"]
        self.run_id = ckpt["run_id"]
        set_rng_state(ckpt["rng"])
        log.info("resumed from %s: %d epoch(s) done, best dev %s = %s", path, self.epoch, self.task.metric,
                 self.best)
        if path.name != LAST:
            self._repair_last()
        return True

    def _repair_last(self) -> None:
        """After resuming from another file, let `checkpoint_last.pt` and history.json hold the resumed
        state again (a finished run does not write them any more)."""
        if self.dist.is_main:
            save_checkpoint(self.exp_dir / LAST, **self._state())
            self._write_history()

    def _save(self, improved: bool) -> None:
        if not self.dist.is_main:
            return
        save_training_state(self.exp_dir, self._state(), improved)
        self._write_history()

    def _write_history(self) -> None:
        write_json(self.exp_dir / "history.json", self.history)   # atomic: read while training runs
        plot_learning_curves(self.history, self.exp_dir / "learning_curves.png", self.task.metric)

    # ---------------------------------------------------------------- loop
    def fit(self, train_batches: Iterable[dict], dev_batches: Iterable[dict]) -> list[dict]:
        """Train until `max_epochs`, the scheduler says stop or the time budget is used up; returns the history."""
        self.resume()
        self._clock = time.time()
        self._elapsed_before = self.history[-1].get("elapsed_s", 0.0) if self.history else 0.0
        if self.stopped or self.epoch >= self.cfg.max_epochs:
            log.info("training already finished (%d epochs): nothing to do", self.epoch)
            self._check_best()
            return self.history
        if self._budget_used_up():
            log.info("the time budget (trainer.max_minutes=%g) is used up after %d epochs: nothing to do",
                     self.cfg.max_minutes, self.epoch)
            return self.history
        self._prepare_schedule(train_batches)
        if self.dist.is_main:
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(self.exp_dir / "tensorboard", purge_step=self.step)
        try:
            while self.epoch < self.cfg.max_epochs and not self.stopped and not self._time_up:
                self._run_epoch(train_batches, dev_batches)
        finally:
            if self.writer is not None:
                self.writer.close()
        self._check_best()
        log.info("training done: %d epochs, best dev %s = %.4f", self.epoch, self.task.metric, self.best)
        return self.history

    def _run_epoch(self, train_batches, dev_batches) -> None:
        epoch = self.epoch + 1
        sampler = getattr(train_batches, "batch_sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        start = time.time()
        if self.before_train_epoch is not None:
            self.before_train_epoch()
        steps_before, bad_before = self.step, self.bad_steps
        train_loss, train_items = self._train_one_epoch(train_batches, epoch)
        self._check_steps_taken(epoch, self.step - steps_before, self.bad_steps - bad_before)
        train_seconds = time.time() - start
        self._sync_buffers()
        self.model.eval()
        with torch.no_grad():
            if self.before_evaluate is not None:
                self.before_evaluate()
            with self._autocast():
                dev = self.task.evaluate(self.model, (to_device(b, self.device) for b in dev_batches))
        metric = dev[self.task.metric]
        improved = self._improves(metric, epoch)
        if improved:
            self.best = metric
        lr = self.optimizer.param_groups[0]["lr"]
        if self.scheduler is not None and not getattr(self.scheduler, "per_step", False):
            monitor = getattr(self.scheduler, "monitor", self.task.metric)
            if monitor not in dev:
                raise KeyError(f"the scheduler monitors dev '{monitor}', but evaluation gives only {sorted(dev)}")
            self.scheduler.step(dev[monitor])
            self.stopped = bool(getattr(self.scheduler, "should_stop", False))
        self.epoch = epoch
        record = {"epoch": epoch, "train_loss": train_loss, **{f"dev_{k}": v for k, v in dev.items()},
                  "lr": lr, "seconds": round(time.time() - start, 2), "train_seconds": round(train_seconds, 2),
                  "train_items_per_s": round(train_items / max(train_seconds, 1e-6), 1), **self._time_record()}
        self.history.append(record)
        if self.writer is not None:
            for k, v in record.items():
                if k.startswith("dev_"):
                    self.writer.add_scalar(f"dev/{k[4:]}", v, epoch)
            self.writer.add_scalar("train/epoch_loss", train_loss, epoch)
            self.writer.add_scalar("train/lr", lr, epoch)
        self._keep_epoch_weights(metric)
        self._save(improved)
        dev_text = " ".join(f"{k}={v:.4f}" for k, v in dev.items())
        log.info("epoch %d: train loss %.4f | dev %s | lr %.3g | %.1fs%s%s", epoch, train_loss, dev_text, lr,
                 record["seconds"], " | new best" if improved else "", " | scheduler stop" if self.stopped else "")

    def _improves(self, metric: float, epoch: int) -> bool:
        """Whether a dev metric beats the best so far; a NaN or infinite one never does."""
        if not math.isfinite(metric):
            log.warning("epoch %d: dev %s is %s, so this epoch cannot be the best", epoch, self.task.metric, metric)
            return False
        return self.best is None or (metric < self.best if self.task.mode == "min" else metric > self.best)

    def _check_best(self) -> None:
        if self.best is None:
            raise TrainingDiverged(
                f"no epoch gave a finite dev {self.task.metric} (see {self.exp_dir / 'history.json'}), so there is "
                f"no {BEST}: check the dev data and the training loss for NaN/inf values")

    def _check_steps_taken(self, epoch: int, steps: int, skipped: int) -> None:
        """An epoch in which no optimizer step succeeded would pass off an untrained model as trained."""
        if steps > 0:
            return
        if skipped == 0:
            raise TrainingDiverged(f"epoch {epoch}: the training data gave no batches (is the training set empty?)")
        raise TrainingDiverged(
            f"epoch {epoch}: all {skipped} training steps were skipped for a non-finite loss or gradient, so "
            "nothing was learned: check the training features/audio for NaN/inf values, or lower the learning "
            "rate (optim.lr=...)")

    def _sync_buffers(self) -> None:
        """DDP keeps parameters in step but lets each rank update its own buffers (BatchNorm running
        statistics) during the last forward pass: give every rank rank 0's before evaluating."""
        if self.dist.enabled:
            for buffer in self.model.buffers():
                torch.distributed.broadcast(buffer, src=0)

    def _autocast(self):
        return torch.autocast("cuda", dtype=self.amp_dtype) if self.use_amp else nullcontext()

    def _train_one_epoch(self, batches, epoch: int) -> tuple[float, float]:
        """One pass over the training batches: (mean loss per item, items) where items are the tasks'
        counts (frames, target tokens), so the history can report training throughput."""
        self.train_model.train()
        total, count, bad_in_a_row = 0.0, 0.0, 0
        bar = tqdm(batches, desc=f"epoch {epoch}", leave=False, dynamic_ncols=True,
                   disable=not (self.cfg.progress and self.dist.is_main))
        for batch in bar:
            batch = to_device(batch, self.device)
            with self._autocast():
                loss, stats = self.task.loss(self.train_model, batch)
            if not all_true(bool(torch.isfinite(loss)), self.dist, self.device):
                bad_in_a_row = self._skip_step(epoch, bad_in_a_row, "loss")
                continue
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
            grad_norm = (nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
                         if self.cfg.grad_clip > 0 else torch.tensor(0.0))
            if not self.scaler.is_enabled() and not all_true(bool(torch.isfinite(grad_norm)), self.dist, self.device):
                self.optimizer.zero_grad(set_to_none=True)
                bad_in_a_row = self._skip_step(epoch, bad_in_a_row, "gradient")
                continue
            self.scaler.step(self.optimizer)
            self.scaler.update()
            bad_in_a_row = 0
            self.step += 1
            self._step_schedule()
            total, count = total + stats["loss"], count + stats["count"]
            bar.set_postfix(loss=f"{stats['loss'] / max(stats['count'], 1):.3f}")
            if self.writer is not None and self.step % self.cfg.log_interval == 0:
                self.writer.add_scalar("train/loss", stats["loss"] / max(stats["count"], 1), self.step)
                self.writer.add_scalar("train/grad_norm", float(grad_norm), self.step)
            if self._out_of_time():
                self._cut_short = True
                log.info("epoch %d: time budget (trainer.max_minutes=%g) reached after %d steps: stopping",
                         epoch, self.cfg.max_minutes, self.step)
                break
        return total / max(count, 1), count

    def _skip_step(self, epoch: int, bad_in_a_row: int, what: str) -> int:
        bad_in_a_row += 1
        self.bad_steps += 1
        log.warning("epoch %d step %d: non-finite %s, step skipped (%d in a row)", epoch, self.step + 1, what,
                    bad_in_a_row)
        if bad_in_a_row >= self.cfg.max_bad_steps:
            raise TrainingDiverged(
                f"training diverged: {bad_in_a_row} consecutive steps with a non-finite {what} at epoch {epoch}. "
                "Lower the learning rate (optim.lr=...), check the input features for NaN/inf, or raise "
                f"trainer.max_bad_steps. The last good state is in {self.exp_dir / LAST}.")
        if self.bad_steps > self.cfg.max_bad_steps_total:
            raise TrainingDiverged(
                f"training stopped: {self.bad_steps} steps skipped for a non-finite loss or gradient over the run, "
                f"more than trainer.max_bad_steps_total={self.cfg.max_bad_steps_total}. Check the input features "
                "for NaN/inf, lower the learning rate (optim.lr=...), or raise trainer.max_bad_steps_total. The "
                f"last good state is in {self.exp_dir / LAST}.")
        return bad_in_a_row

    # ---------------------------------------------------------------- time budget, per-step LR, epoch weights
    def _elapsed(self) -> float:
        """Wall seconds of training so far: this run's since `fit` began, plus those of the runs it resumes
        (up to their last checkpoint)."""
        return self._elapsed_before + time.time() - self._clock

    def _out_of_time(self) -> bool:
        """True once the training time reaches `max_minutes`; under DDP, true on every rank as soon as it
        is on one, so all stop at the same step."""
        if self.cfg.max_minutes <= 0:
            return False
        return not all_true(self._elapsed() < self.cfg.max_minutes * 60, self.dist, self.device)

    def _budget_used_up(self) -> bool:
        """Before training: a run that stopped for a budget at least this large is finished."""
        last = self.history[-1] if self.history else {}
        if self.cfg.max_minutes > 0 and last.get("budget_stop") and self.cfg.max_minutes <= last["max_minutes"]:
            return True
        return self._out_of_time()

    def _time_record(self) -> dict:
        """History entries of an epoch about time: the training time so far (`elapsed_s`) and, when the
        epoch used up the time budget (training stops after it), `budget_stop`."""
        self._time_up = self._cut_short or self._out_of_time()
        elapsed = {"elapsed_s": round(self._elapsed(), 2)}
        if not self._time_up:
            return elapsed
        if not self._cut_short:
            log.info("time budget (trainer.max_minutes=%g) reached at the end of epoch %d: stopping",
                     self.cfg.max_minutes, self.epoch)
        record = {**elapsed, "budget_stop": True, "cut_short": self._cut_short, "max_minutes": self.cfg.max_minutes}
        self._cut_short = False
        return record

    def _prepare_schedule(self, train_batches) -> None:
        """A per-step schedule whose length is left to the trainer gets max_epochs x batches per epoch."""
        if hasattr(self.scheduler, "set_total_steps") and hasattr(train_batches, "__len__"):
            self.scheduler.set_total_steps(self.cfg.max_epochs * len(train_batches))

    def _step_schedule(self) -> None:
        """Advance a per-step LR schedule after an optimizer update."""
        if self.scheduler is not None and getattr(self.scheduler, "per_step", False):
            self.scheduler.step()
            if self.writer is not None and self.step % self.cfg.log_interval == 0:
                self.writer.add_scalar("train/lr", self.optimizer.param_groups[0]["lr"], self.step)

    def _keep_epoch_weights(self, metric: float) -> None:
        """Save this epoch's model weights as `epoch_<n>.pt` and delete those no longer among the last
        `keep_epochs` or the best `keep_epochs` epochs (by the dev metric), for checkpoint averaging."""
        if self.cfg.keep_epochs <= 0 or not self.dist.is_main:
            return
        save_checkpoint(self.exp_dir / epoch_file(self.epoch), model=self.model.state_dict(), epoch=self.epoch,
                        metric=self.task.metric, mode=self.task.mode, value=metric)
        key = f"dev_{self.task.metric}"
        scored = [(r[key], r["epoch"]) for r in self.history if key in r]
        best = sorted(scored, reverse=self.task.mode == "max")[:self.cfg.keep_epochs]
        keep = {e for _, e in best} | {r["epoch"] for r in self.history[-self.cfg.keep_epochs:]}
        for path in self.exp_dir.glob("epoch_*.pt"):
            number = path.stem.removeprefix("epoch_")
            if number.isdigit() and int(number) not in keep:
                path.unlink()
