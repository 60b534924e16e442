"""Checkpoints that resume a run exactly: model, optimizer, scheduler, AMP scaler, epoch, history
and every random-number state. Written atomically, so a SIGKILL never leaves a broken file."""
import random
from pathlib import Path

import numpy as np
import torch

from toolkit.utils.atomic import atomic_save

LAST, BEST = "checkpoint_last.pt", "checkpoint_best.pt"


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, **state) -> None:
    atomic_save(state, path)


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    # Our own files: they hold optimizer states and RNG tuples, not just tensors.
    return torch.load(path, map_location=map_location, weights_only=False)


def load_model_weights(model: torch.nn.Module, exp_dir: str | Path, which: str = "best") -> dict:
    """Load `checkpoint_best.pt` (or `last`) from an experiment dir into `model`; returns the checkpoint."""
    path = Path(exp_dir) / (BEST if which == "best" else LAST)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no checkpoint (has the training stage run in {exp_dir}?)")
    ckpt = load_checkpoint(path)
    model.load_state_dict(ckpt["model"])
    return ckpt
