"""Reading an experiment's checkpoints: their file names, loading one, restoring a model's weights.

Training writes the checkpoints (`toolkit.training.checkpoint`); decoding, plotting and resuming read
them through here, so none of them needs the training code.
"""
from pathlib import Path

import torch

LAST, BEST = "checkpoint_last.pt", "checkpoint_best.pt"


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
