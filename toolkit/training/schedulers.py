"""Learning-rate schedules stepped once per epoch with a dev measurement.

`monitor` names the dev value a schedule follows (default: the dev loss, which is smoother than
an error rate early in training, as Kaldi's newbob uses the cross-validation loss); the best
checkpoint is still chosen by the task's own metric.

`NewBob` is Kaldi/QuickNet's schedule: keep the learning rate while the monitored value improves
by at least `start_halving` (relative), then halve it every epoch; stop when a halving epoch
improves by less than `end_halving`. The trainer asks `should_stop` after each step.
"""
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
