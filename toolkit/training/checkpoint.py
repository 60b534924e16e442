"""Checkpoints that resume a run exactly: model, optimizer, scheduler, AMP scaler, epoch, history
and every random-number state. Reading them is `toolkit.models.checkpoint` (decoding reads them too).

Safe to load: a checkpoint holds only tensors and plain values, so it loads with
`torch.load(weights_only=True)`; the RNG states are stored as lists of ints, and `save_checkpoint`
refuses any other object (naming where it sits) rather than write a file that cannot be read back.

Consistent after a crash: each file is written atomically, `checkpoint_best.pt` before
`checkpoint_last.pt`, and the previous last is kept as `checkpoint_prev.pt`. Resuming takes the newest
readable full state of the run among the three (`load_resume_state`), so a kill between the two writes
resumes from the best file (one epoch ahead) and a corrupt last falls back to the one before it.
"""
import logging
import os
import random
import shutil
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from toolkit.models.checkpoint import BEST, LAST, PREV, CheckpointError, UnsafeCheckpointError, load_checkpoint
from toolkit.utils.atomic import atomic_save, atomic_write

log = logging.getLogger(__name__)

_PLAIN = (bool, int, float, str, bytes, type(None))
_CONTAINERS = (dict, OrderedDict, list, tuple)


def rng_state() -> dict:
    """Python's, numpy's and torch's random states as lists of ints and tensors."""
    version, mt, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"python": [version, list(mt), gauss],
             "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    version, mt, gauss = state["python"]
    random.setstate((version, tuple(mt), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def plain(value, where: str = "checkpoint"):
    """`value` with numpy scalars turned into Python numbers; anything but tensors, plain values and
    dicts/lists/tuples of them is a TypeError naming its place (it would not load with weights_only)."""
    if isinstance(value, torch.Tensor) or type(value) in _PLAIN:
        return value
    if isinstance(value, np.generic) and value.ndim == 0:
        return value.item()
    if type(value) in _CONTAINERS:
        if isinstance(value, dict):
            copy = type(value)((k, plain(v, f"{where}[{k!r}]")) for k, v in value.items())
            if hasattr(value, "_metadata"):  # a module state_dict's versions, read by load_state_dict
                copy._metadata = plain(value._metadata, f"{where}._metadata")
            return copy
        return type(value)(plain(v, f"{where}[{i}]") for i, v in enumerate(value))
    raise TypeError(f"{where} is a {type(value).__module__}.{type(value).__qualname__}: checkpoints hold only "
                    "tensors, numbers, strings, lists and dicts (convert it in its state_dict)")


def save_checkpoint(path: str | Path, **state) -> None:
    """Write `state` (tensors and plain values only) atomically to `path`."""
    atomic_save(plain(state), path)


def save_training_state(exp_dir: str | Path, state: dict, improved: bool) -> None:
    """The end-of-epoch checkpoints: `checkpoint_best.pt` first (when `improved`), then
    `checkpoint_last.pt`, the previous last kept as `checkpoint_prev.pt`."""
    exp_dir = Path(exp_dir)
    if improved:
        save_checkpoint(exp_dir / BEST, **state)
    _keep_previous(exp_dir / LAST, exp_dir / PREV)
    save_checkpoint(exp_dir / LAST, **state)


def _keep_previous(last: Path, prev: Path) -> None:
    """Make `prev` the current `last` (a hard link where the filesystem allows, else a copy), atomically;
    with no `last` (a fresh run), drop a `prev` left by an earlier run."""
    if not last.is_file():
        prev.unlink(missing_ok=True)
        return
    tmp = prev.with_name(f".{prev.name}.link")
    tmp.unlink(missing_ok=True)
    try:
        os.link(last, tmp)
        os.replace(tmp, prev)
    except OSError:
        tmp.unlink(missing_ok=True)
        with open(last, "rb") as src, atomic_write(prev, "wb") as dst:
            shutil.copyfileobj(src, dst)


def load_resume_state(exp_dir: str | Path) -> tuple[Path, dict] | None:
    """The newest readable training state of `exp_dir` as (file, checkpoint), or None when the dir
    has no `checkpoint_last.pt` (a fresh run).

    Normally checkpoint_last. checkpoint_best of the same run (`run_id`) and a later epoch means the run
    was stopped between the two writes: resume from it. An unreadable checkpoint_last (warned about)
    falls back to the newer of checkpoint_prev and checkpoint_best (of prev's run, when prev is readable).
    An unsafe file (pickled objects) stops the run. Candidates are looked at memory-mapped; the chosen
    one is then read into CPU memory.
    """
    exp_dir = Path(exp_dir)
    if not (exp_dir / LAST).is_file():
        return None
    last, prev, best = (_try_load(exp_dir / name) for name in (LAST, PREV, BEST))
    if last is not None:
        path, why = exp_dir / LAST, None
        if _same_run(best, last) and best["epoch"] > last["epoch"]:
            path, why = exp_dir / BEST, (f"only at epoch {last['epoch']} (the run was stopped between writing "
                                         f"{BEST} and {LAST})")
    else:
        if prev is not None and not _same_run(best, prev):
            best = None  # left by an earlier run
        found = [(exp_dir / name, ckpt) for name, ckpt in ((PREV, prev), (BEST, best)) if ckpt is not None]
        if not found:
            raise CheckpointError(
                f"{exp_dir / LAST}: unreadable, and no readable {PREV} or {BEST} to resume from; to train "
                f"from scratch, move {exp_dir}/checkpoint_*.pt away (or use a new exp_dir)")
        path, why = max(found, key=lambda candidate: candidate[1]["epoch"])[0], "unreadable"
    if why is not None:
        epoch = (best if path.name == BEST else prev)["epoch"]
        log.warning("%s is %s: resuming from %s (epoch %d) instead", exp_dir / LAST, why, path, epoch)
    del last, prev, best  # release the memory maps
    return path, load_checkpoint(path, map_location="cpu")


def _try_load(path: Path) -> dict | None:
    """A checkpoint, memory-mapped; None when missing or unreadable (with a warning naming it)."""
    if not path.is_file():
        return None
    try:
        return load_checkpoint(path, map_location="cpu", mmap=True)
    except UnsafeCheckpointError:
        raise
    except CheckpointError as e:
        log.warning("%s", e)
        return None


def _same_run(a: dict | None, b: dict) -> bool:
    return a is not None and a.get("run_id") is not None and a.get("run_id") == b.get("run_id")
