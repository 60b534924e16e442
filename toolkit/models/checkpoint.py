"""Reading an experiment's checkpoints: their file names, loading one, restoring a model's weights.

Training writes the checkpoints (`toolkit.training.checkpoint`); decoding, plotting and resuming read
them through here, so none of them needs the training code.
"""
from pathlib import Path

import torch

LAST, BEST = "checkpoint_last.pt", "checkpoint_best.pt"
AVG = "checkpoint_avg.pt"          # weights averaged over several epochs (toolkit.bin.average_checkpoints)
CHOICES = {"best": BEST, "last": LAST, "avg": AVG}


def epoch_file(epoch: int) -> str:
    """Name of the model weights kept for `epoch` (trainer.keep_epochs), averaged into checkpoint_avg.pt."""
    return f"epoch_{epoch}.pt"


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    # Our own files: they hold optimizer states and RNG tuples, not just tensors.
    return torch.load(path, map_location=map_location, weights_only=False)


def load_model_weights(model: torch.nn.Module, exp_dir: str | Path, which: str = "best") -> dict:
    """Load `checkpoint_best.pt` (or `last`, or `avg`) from an experiment dir into `model`; returns the checkpoint."""
    if which not in CHOICES:
        raise ValueError(f"unknown checkpoint '{which}', expected one of {', '.join(CHOICES)}")
    path = Path(exp_dir) / CHOICES[which]
    if not path.is_file():
        hint = (f"run `python -m toolkit.bin.average_checkpoints --exp {exp_dir}` first" if which == "avg"
                else f"has the training stage run in {exp_dir}?")
        raise FileNotFoundError(f"{path}: no checkpoint ({hint})")
    ckpt = load_checkpoint(path)
    model.load_state_dict(ckpt["model"])
    return ckpt
