"""Mean/variance normalisation as layers: global, from Kaldi CMVN statistics (`toolkit.data.cmvn`), and
per utterance (for frontends inside the model, whose features have no precomputed speaker statistics)."""
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from toolkit.data.cmvn import cmvn_transform, read_cmvn_stats
from toolkit.utils.masks import lengths_to_mask


class GlobalCMVN(nn.Module):
    """Normalise (B, T, D) features with global training-set statistics kept as buffers (mean, std).

    The buffers are part of the state_dict, so the normaliser is saved and restored with the model.
    `norm_means`/`norm_vars` as in Kaldi (defaults: means only). A fresh `GlobalCMVN(dim)` is the
    identity until stats are loaded (`from_stats`, `from_file` or `load_state_dict`).
    """

    def __init__(self, dim: int, norm_means: bool = True, norm_vars: bool = False):
        super().__init__()
        if norm_vars and not norm_means:
            raise ValueError("cannot normalise variances without means (as in Kaldi's apply-cmvn)")
        self.norm_means, self.norm_vars = norm_means, norm_vars
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    @classmethod
    def from_stats(cls, stats: np.ndarray, norm_means: bool = True, norm_vars: bool = False) -> "GlobalCMVN":
        """From Kaldi (2, D + 1) stats (sum several speakers' stats to get global ones)."""
        stats = np.asarray(stats, dtype=np.float64)
        scale, _ = cmvn_transform(stats, norm_means=True, norm_vars=True)
        module = cls(stats.shape[1] - 1, norm_means, norm_vars)
        module.mean.copy_(torch.from_numpy(stats[0, :-1] / stats[0, -1]))
        module.std.copy_(torch.from_numpy(1.0 / scale))
        return module

    @classmethod
    def from_file(cls, path: str | Path, norm_means: bool = True, norm_vars: bool = False) -> "GlobalCMVN":
        """From a stats file (`global_cmvn.ark`, or a per-speaker `cmvn.scp`/`cmvn.ark` summed over speakers)."""
        stats = read_cmvn_stats(path)
        if not stats:
            raise ValueError(f"{path}: no CMVN stats inside")
        return cls.from_stats(sum(stats.values()), norm_means, norm_vars)

    def forward(self, feats: Tensor, lengths: Tensor | None = None) -> Tensor:
        """(B, T, D) -> (B, T, D); with `lengths`, padded frames stay 0."""
        if self.norm_means:
            feats = feats - self.mean.to(feats.dtype)
        if self.norm_vars:
            feats = feats / self.std.to(feats.dtype)
        if lengths is not None:
            valid = lengths_to_mask(lengths.to(feats.device), feats.shape[1])             # (B, T)
            feats = feats.masked_fill(~valid[..., None], 0.0)
        return feats

    def extra_repr(self) -> str:
        return f"dim={self.mean.numel()}, norm_means={self.norm_means}, norm_vars={self.norm_vars}"


def subtract_means(feats: Tensor, lengths: Tensor, means: Tensor) -> Tensor:
    """Subtract a mean per utterance, e.g. its speaker's: (B, T, D) - (B, D) -> (B, T, D), padded frames 0."""
    valid = lengths_to_mask(lengths.to(feats.device), feats.shape[1])[..., None]          # (B, T, 1)
    return (feats - means.to(feats)[:, None, :]).masked_fill(~valid, 0.0)


def utterance_cmn(feats: Tensor, lengths: Tensor) -> Tensor:
    """Subtract each utterance's own mean over its real frames (ESPnet's utterance_mvn, means only).
    (B, T, D) -> (B, T, D), padded frames 0. Computed on the fly, so it follows a frontend that learns,
    and an utterance gets the same result alone or padded in a batch."""
    valid = lengths_to_mask(lengths.to(feats.device), feats.shape[1])[..., None]          # (B, T, 1)
    frames = lengths.to(feats.device, feats.dtype).clamp(min=1)[:, None, None]            # (B, 1, 1)
    mean = feats.masked_fill(~valid, 0.0).sum(dim=1, keepdim=True) / frames               # (B, 1, D)
    return (feats - mean).masked_fill(~valid, 0.0)
