"""Kaldi cepstral mean and variance normalisation (CMVN): statistics, application, archives.

Statistics use Kaldi's (2, D + 1) float64 layout, so Kaldi's `apply-cmvn` reads ours and we read its:

    row 0: sum of x[d] over frames ..., frame count
    row 1: sum of x[d]^2 over frames ..., 0

Stats add up: the stats of a speaker are the sum over their utterances, global stats the sum
over speakers. `apply_cmvn` follows Kaldi's `apply-cmvn` (means by default, variances with
`norm_vars=True`, variance floored at 1e-20). Per-speaker stats are keyed by speaker id in
`cmvn.ark`/`cmvn.scp` (part of the data directory contract); global stats from training data go
into `toolkit.features.cmvn.GlobalCMVN`, a layer whose buffers travel in the model's state_dict.
"""
from pathlib import Path
from typing import Iterable

import kaldiio
import numpy as np
import torch
from torch import Tensor

from toolkit.data.scp import ScpMatrices

VAR_FLOOR = 1e-20  # Kaldi's floor on the variance in apply-cmvn


def cmvn_stats(feats: np.ndarray | Tensor) -> np.ndarray:
    """Kaldi CMVN stats of one (T, D) feature matrix: (2, D + 1) float64."""
    x = np.asarray(feats.detach().cpu() if isinstance(feats, Tensor) else feats, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected a (frames, dim) feature matrix, got shape {x.shape}")
    stats = np.zeros((2, x.shape[1] + 1))
    stats[0, :-1] = x.sum(0)
    stats[0, -1] = x.shape[0]
    stats[1, :-1] = np.square(x).sum(0)
    return stats


def accumulate_cmvn_stats(utt_feats: Iterable[tuple[str, np.ndarray]],
                          utt2spk: dict[str, str] | None = None) -> dict[str, np.ndarray]:
    """Sum stats over `(utt, feats (T, D))` pairs, per speaker of `utt2spk`, or under the key "global".

    Streams: only one matrix is held at a time. Non-finite features are an error naming the utterance
    (one NaN would make its speaker's, or the global, stats NaN).
    """
    totals: dict[str, np.ndarray] = {}
    for utt, feats in utt_feats:
        if utt2spk is None:
            key = "global"
        elif utt in utt2spk:
            key = utt2spk[utt]
        else:
            raise ValueError(f"utterance {utt} has features but is not in utt2spk")
        stats = cmvn_stats(feats)
        if not np.isfinite(stats).all():
            whose = "the global" if utt2spk is None else f"speaker {key}'s"
            raise ValueError(f"utterance {utt}: its features hold NaN or infinite values, which would make {whose} "
                             "CMVN stats non-finite; re-extract them after repairing its audio, or remove the "
                             "utterance from the data dir")
        if key in totals and totals[key].shape != stats.shape:
            raise ValueError(f"utterance {utt}: feature dim {stats.shape[1] - 1} differs from earlier "
                             f"utterances' {totals[key].shape[1] - 1}")
        totals[key] = totals[key] + stats if key in totals else stats
    return totals


def cmvn_transform(stats: np.ndarray, norm_means: bool = True, norm_vars: bool = False,
                   name: str = "stats") -> tuple[np.ndarray, np.ndarray]:
    """(scale (D,), offset (D,)) with normalised = feats * scale + offset, as Kaldi's ApplyCmvn."""
    if norm_vars and not norm_means:
        raise ValueError("cannot normalise variances without means (as in Kaldi's apply-cmvn)")
    stats = np.asarray(stats, dtype=np.float64)
    if stats.ndim != 2 or stats.shape[0] != 2 or stats.shape[1] < 2:
        raise ValueError(f"{name}: CMVN stats must have shape (2, dim + 1), got {stats.shape}")
    count = stats[0, -1]
    if count < 1.0:
        raise ValueError(f"{name}: insufficient CMVN stats (frame count {count})")
    mean = stats[0, :-1] / count
    dim = len(mean)
    if not norm_means:
        return np.ones(dim), np.zeros(dim)
    if not norm_vars:
        return np.ones(dim), -mean
    scale = 1.0 / np.sqrt(np.maximum(stats[1, :-1] / count - mean ** 2, VAR_FLOOR))
    return scale, -mean * scale


def apply_cmvn(feats: np.ndarray | Tensor, stats: np.ndarray, norm_means: bool = True,
               norm_vars: bool = False) -> np.ndarray | Tensor:
    """Normalise (T, D) (or (..., D)) features with Kaldi stats; returns the input's type and dtype."""
    scale, offset = cmvn_transform(stats, norm_means, norm_vars)
    dim = feats.shape[-1]
    if dim != len(scale):
        raise ValueError(f"features have dim {dim} but CMVN stats have dim {len(scale)}")
    if isinstance(feats, Tensor):
        scale = torch.as_tensor(scale, dtype=feats.dtype, device=feats.device)
        offset = torch.as_tensor(offset, dtype=feats.dtype, device=feats.device)
        return feats * scale + offset
    return (feats * scale + offset).astype(feats.dtype, copy=False)


def write_cmvn_stats(stats: dict[str, np.ndarray], ark_path: str | Path) -> Path:
    """Write per-key stats to `<ark_path>` and `<ark_path minus .ark>.scp` (sorted by key); returns the scp."""
    ark_path = Path(ark_path).absolute()
    scp_path = ark_path.with_suffix(".scp")
    ark_path.parent.mkdir(parents=True, exist_ok=True)
    with kaldiio.WriteHelper(f"ark,scp:{ark_path},{scp_path}") as writer:
        for key in sorted(stats):
            writer(key, np.asarray(stats[key], dtype=np.float64))
    return scp_path


def read_cmvn_stats(path: str | Path) -> dict[str, np.ndarray]:
    """Read stats from a `cmvn.scp`, a `cmvn.ark` or a single-matrix file (then keyed "global")."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: CMVN stats file not found")
    if path.suffix == ".scp":
        return dict(ScpMatrices(path).items())
    with open(path, "rb") as f:
        single_matrix = f.read(2) == b"\0B"  # Kaldi binary matrix without a key in front
    if single_matrix:
        return {"global": np.asarray(kaldiio.load_mat(str(path)))}
    return {key: np.asarray(mat) for key, mat in kaldiio.load_ark(str(path))}
