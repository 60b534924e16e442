"""Reading an experiment's checkpoints: their file names, loading one, restoring a model's weights.

Training writes the checkpoints (`toolkit.training.checkpoint`); decoding, plotting and resuming read
them through here, so none of them needs the training code.

Checkpoints hold only tensors and plain values (numbers, strings, lists, dicts) and are loaded with
`torch.load(weights_only=True)`: a crafted file dropped into an experiment dir is refused instead of
running code, and an empty, truncated or corrupt one gives one line naming the file.
"""
import pickle
import re
from pathlib import Path

import torch

from toolkit.utils.errors import UserError

LAST, BEST = "checkpoint_last.pt", "checkpoint_best.pt"
AVG = "checkpoint_avg.pt"          # weights averaged over several epochs (toolkit.bin.average_checkpoints)
CHOICES = {"best": BEST, "last": LAST, "avg": AVG}
PREV = "checkpoint_prev.pt"  # the checkpoint_last.pt before the newest, kept to fall back on


def epoch_file(epoch: int) -> str:
    """Name of the model weights kept for `epoch` (trainer.keep_epochs), averaged into checkpoint_avg.pt."""
    return f"epoch_{epoch}.pt"


class CheckpointError(UserError):
    """A checkpoint that cannot be used; the message names the file and what to do."""


class UnsafeCheckpointError(CheckpointError):
    """A file holding pickled Python objects, which could run code when loaded: never loaded."""


def load_checkpoint(path: str | Path, map_location="cpu", mmap: bool = False) -> dict:
    """Load a checkpoint with `weights_only=True`; `mmap` maps tensors from the file instead of reading
    them (cheap for a look at a checkpoint's epoch). Raises `UnsafeCheckpointError` for a file holding
    other objects, `CheckpointError` for an empty, truncated or corrupt one."""
    path = Path(path)
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise  # the OS error names the file
    except pickle.UnpicklingError as e:
        unsafe = re.search(r"GLOBAL ([\w.]+)", str(e))
        if unsafe:
            raise UnsafeCheckpointError(
                f"{path}: refused to load: it holds a pickled Python object ({unsafe.group(1)}) that could run "
                "code, while the toolkit's checkpoints hold only tensors and plain values; delete the file "
                "(if it comes from an older toolkit version, retrain)") from None
        raise CheckpointError(f"{path}: not a readable checkpoint (corrupt: {_first_line(e)})") from None
    except Exception as e:  # torch reports broken archives as RuntimeError, EOFError, ValueError, ...
        what = "empty file" if path.stat().st_size == 0 else f"truncated or corrupt: {_first_line(e)}"
        raise CheckpointError(f"{path}: not a readable checkpoint ({what})") from None
    if not isinstance(ckpt, dict) or "model" not in ckpt:
        raise CheckpointError(f"{path}: not a toolkit checkpoint (no model weights in it)")
    return ckpt


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return (text[0][:150] if text else "") or type(error).__name__


def load_model_weights(model: torch.nn.Module, exp_dir: str | Path, which: str = "best") -> dict:
    """Load `checkpoint_best.pt` (or `last`, or `avg`) from an experiment dir into `model`; returns the checkpoint."""
    if which not in CHOICES:
        raise ValueError(f"unknown checkpoint '{which}', expected one of {', '.join(CHOICES)}")
    path = Path(exp_dir) / CHOICES[which]
    if not path.is_file():
        hint = (f"run `python -m toolkit.bin.average_checkpoints --exp {exp_dir}` first" if which == "avg"
                else f"has the training stage run in {exp_dir}?")
        raise FileNotFoundError(f"{path}: no checkpoint ({hint})")
    try:
        ckpt = load_checkpoint(path)
    except UnsafeCheckpointError:
        raise
    except CheckpointError as e:
        other = "last" if which == "best" else "best"
        raise CheckpointError(f"{e}; decode with the {other} checkpoint instead (--checkpoint {other}), or "
                              f"retrain into a new exp dir") from None
    model.load_state_dict(ckpt["model"])
    return ckpt
