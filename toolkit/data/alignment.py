"""Time alignments of phones: Kaldi CTM files and their conversion to per-frame labels.

A data dir may hold `phones.ctm` with lines `<utt> 1 <start-seconds> <duration-seconds> <phone>`
(Kaldi's CTM). Keeping alignments in seconds makes them independent of the frame shift; the
frame labels a model trains on are derived when the number of frames is known.
"""
from pathlib import Path

import numpy as np

from toolkit.utils.atomic import atomic_write

Segments = list[tuple[float, float, str]]  # (start s, end s, label)


def read_ctm(path: str | Path) -> dict[str, Segments]:
    """Read a CTM into {utt: [(start, end, label), ...]} in time order."""
    path = Path(path)
    out: dict[str, Segments] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if len(parts) < 5:
                raise ValueError(f"{path}:{lineno}: expected '<utt> <channel> <start> <dur> <label>'")
            utt, start, dur, label = parts[0], float(parts[2]), float(parts[3]), parts[4]
            if dur < 0:
                raise ValueError(f"{path}:{lineno}: negative duration in utterance {utt}")
            out.setdefault(utt, []).append((start, start + dur, label))
    for segs in out.values():
        segs.sort()
    return out


def write_ctm(path: str | Path, alignments: dict[str, Segments]) -> None:
    with atomic_write(path, encoding="utf-8") as f:
        for utt in sorted(alignments):
            for start, end, label in alignments[utt]:
                f.write(f"{utt} 1 {start:.4f} {end - start:.4f} {label}\n")


def frame_labels(segments: Segments, num_frames: int, *, frame_shift: float = 0.01,
                 frame_length: float = 0.025) -> list[str]:
    """Label of each analysis frame: the segment that contains the frame's centre.

    Frame t covers [t*shift, t*shift + length) as in Kaldi with snip_edges=true. Centres past the
    last segment take the last label; centres in a gap take the label of the segment before.
    """
    starts = np.array([s for s, _, _ in segments])
    centres = np.arange(num_frames) * frame_shift + frame_length / 2
    index = np.clip(np.searchsorted(starts, centres, side="right") - 1, 0, len(segments) - 1)
    return [segments[i][2] for i in index]
