"""Learning-rate schedules: stepped once per epoch with a dev measurement (NewBob, ReduceOnPlateau), or
once per optimizer step (Noam, WarmupCosine: `per_step = True`, the trainer calls `step()` after each
update).

`monitor` names the dev value a schedule follows (default: the dev loss, which is smoother than
an error rate early in training, as Kaldi's newbob uses the cross-validation loss); the best
checkpoint is still chosen by the task's own metric.

`NewBob` is Kaldi/QuickNet's schedule: keep the learning rate while the monitored value improves
by at least `start_halving` (relative), then halve it every epoch; stop when a halving epoch
improves by less than `end_halving`. The trainer asks `should_stop` after each step.

`Noam` and `WarmupCosine` suit CTC and Transformer-style training, which diverge or stall at a large
learning rate from the first update: the rate rises linearly from ~0 to the optimiser's `lr` over
`warmup_steps` updates, then decays with the inverse square root of the step (Noam, Vaswani et al.
2017) or along a half cosine to `min_lr_ratio * lr` at `total_steps` (0: the trainer fills in
max_epochs x batches per epoch).
"""
import math

import torch


class NewBob:
    def __init__(self, optimizer: torch.optim.Optimizer, factor: float = 0.5, start_halving: float = 0.01,
                 end_halving: float = 0.001, min_epochs: int = 0, mode: str = "min", monitor: str = "loss"):
        self.optimizer, self.factor, self.mode, self.monitor = optimizer, factor, mode, monitor
        self.start_halving, self.end_halving, self.min_epochs = start_halving, end_halving, min_epochs
        self.best: float | None = None
        self.halving = False
        self.should_stop = False
        self.epochs = 0

    def _improvement(self, metric: float) -> float:
        if self.best is None:
            return float("inf")
        gain = (self.best - metric) if self.mode == "min" else (metric - self.best)
        return gain / max(abs(self.best), 1e-12)

    def step(self, metric: float) -> None:
        self.epochs += 1
        improvement = self._improvement(metric)
        if self.best is None or improvement > 0:
            self.best = metric
        if self.halving and improvement < self.end_halving and self.epochs >= self.min_epochs:
            self.should_stop = True
        if improvement < self.start_halving:
            self.halving = True
        if self.halving:
            for group in self.optimizer.param_groups:
                group["lr"] *= self.factor

    def state_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state: dict) -> None:
        self.__dict__.update(state)


class ReduceOnPlateau(torch.optim.lr_scheduler.ReduceLROnPlateau):
    """torch's ReduceLROnPlateau with `monitor` and the `should_stop` flag the trainer reads (stops
    once the learning rate has reached `min_lr`)."""

    def __init__(self, optimizer: torch.optim.Optimizer, monitor: str = "loss", **kwargs):
        super().__init__(optimizer, **kwargs)
        self.monitor = monitor

    @property
    def should_stop(self) -> bool:
        return all(g["lr"] <= m * (1 + 1e-6) for g, m in zip(self.optimizer.param_groups, self.min_lrs))


class _PerStepSchedule(torch.optim.lr_scheduler.LRScheduler):
    """Every parameter group's learning rate is its base rate times `factor(step)`, where `step` is the
    number (1, 2, ...) of the optimizer update about to happen."""
    per_step = True

    def factor(self, step: int) -> float:
        raise NotImplementedError

    def get_lr(self) -> list[float]:
        f = self.factor(self.last_epoch + 1)
        return [base * f for base in self.base_lrs]


class Noam(_PerStepSchedule):
    """Linear warm-up to the base rate at `warmup_steps`, then decay as 1 / sqrt(step) (ESPnet's WarmupLR)."""

    def __init__(self, optimizer: torch.optim.Optimizer, warmup_steps: int = 1000):
        if warmup_steps < 1:
            raise ValueError(f"warmup_steps must be >= 1, got {warmup_steps}")
        self.warmup_steps = warmup_steps
        super().__init__(optimizer)

    def factor(self, step: int) -> float:
        return min(step / self.warmup_steps, math.sqrt(self.warmup_steps / step))


class WarmupCosine(_PerStepSchedule):
    """Linear warm-up to the base rate at `warmup_steps`, then a half cosine down to `min_lr_ratio` times
    the base rate at `total_steps`, constant after. `total_steps=0` is set by the trainer before training
    (`set_total_steps`) to max_epochs x batches per epoch."""

    def __init__(self, optimizer: torch.optim.Optimizer, warmup_steps: int = 1000, total_steps: int = 0,
                 min_lr_ratio: float = 0.01):
        if warmup_steps < 0 or total_steps < 0 or not 0 <= min_lr_ratio <= 1:
            raise ValueError("need warmup_steps >= 0, total_steps >= 0 and min_lr_ratio in [0, 1]")
        self.warmup_steps, self.total_steps, self.min_lr_ratio = warmup_steps, total_steps, min_lr_ratio
        super().__init__(optimizer)

    def set_total_steps(self, total_steps: int) -> None:
        """Length of the schedule, when the config leaves it to the trainer (total_steps: 0)."""
        if self.total_steps == 0:
            self.total_steps = total_steps

    def factor(self, step: int) -> float:
        if step <= self.warmup_steps:
            return step / self.warmup_steps
        decay_steps = max(self.total_steps - self.warmup_steps, 1)
        progress = min((step - self.warmup_steps) / decay_steps, 1.0) if self.total_steps else 0.0
        return self.min_lr_ratio + (1 - self.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
