"""Checkpoint averaging: the mean of a model's weights over several epochs (as ESPnet's and icefall's
`average_checkpoints`), usually a better model than any single epoch of a noisy end of training.

The trainer keeps `epoch_<n>.pt` (model weights, epoch, dev metric) for the last and the best
`trainer.keep_epochs` epochs; `average_experiment(exp_dir, n, by)` averages the `n` best (by the dev
metric) or the `n` last of them into `checkpoint_avg.pt`, which decoding reads with `--checkpoint avg`.
Floating-point tensors (weights, and buffers such as GlobalCMVN's mean/std or log-priors) are averaged;
integer ones (BatchNorm's num_batches_tracked) are taken from the latest epoch averaged.
"""
import logging
from pathlib import Path

import torch

from toolkit.models.checkpoint import AVG, load_checkpoint
from toolkit.training.checkpoint import save_checkpoint

log = logging.getLogger(__name__)

BY = ("best", "last")


def average_state_dicts(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Element-wise mean of float tensors (summed in float64); other tensors from the last state."""
    if not states:
        raise ValueError("no state dicts to average")
    keys = list(states[-1])
    for i, state in enumerate(states):
        if list(state) != keys:
            raise ValueError(f"state dict {i} has other entries than the last one: not the same model")
    out = {}
    for key in keys:
        last = states[-1][key]
        if torch.is_floating_point(last):
            total = sum(state[key].to(torch.float64) for state in states)
            out[key] = (total / len(states)).to(last.dtype)
        else:
            out[key] = last.clone()
    return out


def kept_epochs(exp_dir: str | Path) -> dict[int, Path]:
    """{epoch: path} of the epoch weights an experiment dir holds."""
    out = {}
    for path in Path(exp_dir).glob("epoch_*.pt"):
        number = path.stem.removeprefix("epoch_")
        if number.isdigit():
            out[int(number)] = path
    return out


def average_experiment(exp_dir: str | Path, n: int, by: str = "best") -> Path:
    """Average the `n` best or last kept epochs of `exp_dir` into its checkpoint_avg.pt; returns its path."""
    exp_dir = Path(exp_dir)
    if by not in BY:
        raise ValueError(f"--by must be best or last, got {by!r}")
    if n < 1:
        raise ValueError(f"--n must be >= 1, got {n}")
    files = kept_epochs(exp_dir)
    if len(files) < n:
        raise ValueError(f"{exp_dir}: {len(files)} epoch_<n>.pt file(s), {n} needed to average; train with "
                         f"trainer.keep_epochs={n} (or more) to keep them")
    ckpts = {epoch: load_checkpoint(path) for epoch, path in sorted(files.items())}
    if by == "last":
        chosen = sorted(ckpts)[-n:]
    else:
        mode = ckpts[max(ckpts)]["mode"]
        ranked = sorted(ckpts, key=lambda e: (ckpts[e]["value"] if mode == "min" else -ckpts[e]["value"], -e))
        chosen = sorted(ranked[:n])
    latest = ckpts[chosen[-1]]
    averaged = average_state_dicts([ckpts[e]["model"] for e in chosen])
    path = exp_dir / AVG
    save_checkpoint(path, model=averaged, epoch=latest["epoch"], averaged_epochs=chosen, by=by,
                    metric=latest["metric"], values=[ckpts[e]["value"] for e in chosen])
    log.info("averaged epochs %s (%d %s by dev %s) of %s into %s", chosen, n, by, latest["metric"], exp_dir, path)
    return path
