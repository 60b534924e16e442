"""Attention heatmap of one translated sentence: source pieces on the x axis, output pieces on y.

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
                   out_pieces: Sequence[str], path: str | Path, title: str | None = None) -> None:
    """Save a heatmap of attention `weights` (len(out_pieces) (+1 for </s>), len(src_pieces)) as an image.

    Row i is the attention of output step i over the source pieces; a last row for </s> is
    labelled as such when the matrix has one row more than `out_pieces`.
    """
    w = np.asarray(weights, dtype=float)
    rows = list(out_pieces) + ([EOS_LABEL] if w.shape[0] == len(out_pieces) + 1 else [])
    if w.ndim != 2 or w.shape != (len(rows), len(src_pieces)):
        raise ValueError(f"attention has shape {w.shape}, expected ({len(out_pieces)}[+1], {len(src_pieces)}) "
                         "for the given source and output pieces")
    width = max(4.0, 0.45 * len(src_pieces) + 2.0)
    height = max(3.0, 0.4 * len(rows) + 1.5)
    fig, ax = plt.subplots(figsize=(width, height))
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
