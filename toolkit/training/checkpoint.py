"""Checkpoints that resume a run exactly: model, optimizer, scheduler, AMP scaler, epoch, history
and every random-number state. Written atomically, so a SIGKILL never leaves a broken file.
Reading them is `toolkit.models.checkpoint` (decoding reads checkpoints too)."""
import random
from pathlib import Path

import numpy as np
import torch

from toolkit.utils.atomic import atomic_save


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
