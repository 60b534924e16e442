"""Attention heatmap of one translated sentence: source pieces on the x axis, output pieces on y;
for a copying model also a strip of p_gen per output piece (1: generated, 0: copied from the source).

Reads what `toolkit.bin.translate --attention-out` dumps (one JSON object per input line:
``{"line", "src_pieces", "out_pieces", "attention"}``), or takes the matrix directly.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

EOS_LABEL = "</s>"


def plot_attention(weights: np.ndarray | Sequence[Sequence[float]], src_pieces: Sequence[str],
                   out_pieces: Sequence[str], path: str | Path, title: str | None = None,
                   p_gen: Sequence[float] | None = None) -> None:
    """Save a heatmap of attention `weights` (len(out_pieces) (+1 for </s>), len(src_pieces)) as an image.

    Row i is the attention of output step i over the source pieces; a last row for </s> is
    labelled as such when the matrix has one row more than `out_pieces`. `p_gen` (one value per row)
    adds a strip on the right: the probability of generating rather than copying at each step.
    """
    w = np.asarray(weights, dtype=float)
    rows = list(out_pieces) + ([EOS_LABEL] if w.shape[0] == len(out_pieces) + 1 else [])
    if w.ndim != 2 or w.shape != (len(rows), len(src_pieces)):
        raise ValueError(f"attention has shape {w.shape}, expected ({len(out_pieces)}[+1], {len(src_pieces)}) "
                         "for the given source and output pieces")
    width = max(4.0, 0.45 * len(src_pieces) + 2.0)
    height = max(3.0, 0.4 * len(rows) + 1.5)
    if p_gen is None:
        fig, ax = plt.subplots(figsize=(width, height))
    else:
        if len(p_gen) != len(rows):
            raise ValueError(f"p_gen has {len(p_gen)} values, expected one per output row ({len(rows)})")
        fig, (ax, strip) = plt.subplots(1, 2, figsize=(width + 0.8, height), sharey=True,
                                        gridspec_kw={"width_ratios": [max(len(src_pieces), 1), 1.2]})
        strip.imshow(np.asarray(p_gen, dtype=float)[:, None], cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
        for i, value in enumerate(p_gen):
            strip.text(0, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                       color="white" if value > 0.6 else "black")
        strip.set_xticks([0], labels=["p_gen"])
    image = ax.imshow(w, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(src_pieces)), labels=list(src_pieces), rotation=60, ha="right")
    ax.set_yticks(range(len(rows)), labels=rows)
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    if title:
        ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.04)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def read_attention_dump(path: str | Path, line: int) -> dict:
    """The record of input line `line` (1-based) from an attention dump (JSON lines)."""
    with open(path, encoding="utf-8") as f:
        for lineno, text in enumerate(f, 1):
            record = json.loads(text)
            if record["line"] == line:
                return record
            if lineno > line:
                break
    raise ValueError(f"{path}: no attention record for line {line}")
