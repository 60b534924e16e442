"""Speed change of audio, as sox's `speed` effect does it, and the `wav.scp` entries that ask for one.

Playing audio `factor` times as fast changes tempo and pitch together: the samples are taken to be
at `factor * rate` and resampled (torchaudio) to `rate`, so the result has `1 / factor` times as many
samples. Speed-perturbed data dirs (`toolkit.data.speed_perturb`) refer to the changed audio with
Kaldi-style pipe entries that any tool reading `wav.scp` can run:

    sp0.9-utt1 python -m toolkit.bin.speed_audio --factor 0.9 /path/utt1.wav |
    sp0.9-rec2 sph2pipe -f wav rec2.sph | python -m toolkit.bin.speed_audio --factor 0.9 - |

`toolkit.data.audio` recognises these two forms and computes them in-process (the same samples
as the pipe, without starting a Python process per utterance).
"""
import math
import re
import shlex

import numpy as np

TOOL = "python -m toolkit.bin.speed_audio"
_ENTRY = re.compile(r"^(?P<head>.*)\s*python -m toolkit\.bin\.speed_audio --factor (?P<factor>\S+) (?P<source>.+?)\s*\|\s*$")


def speed_rate(sample_rate: int, factor: float) -> int:
    """The rate (Hz) the samples are taken to have before resampling back to `sample_rate`."""
    if factor <= 0:
        raise ValueError(f"speed factor must be > 0, got {factor}")
    return int(round(sample_rate * factor))


def change_speed(samples: np.ndarray, sample_rate: int, factor: float) -> np.ndarray:
    """(S,) float samples -> (ceil(S / factor),) samples of the same rate, `factor` times as fast."""
    if factor == 1.0:
        return samples
    import torch
    import torchaudio

    wave = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
    out = torchaudio.functional.resample(wave, speed_rate(sample_rate, factor), sample_rate)
    return out.numpy()


def speed_num_samples(num_samples: int, sample_rate: int, factor: float) -> int:
    """Length of `change_speed`'s output, without computing it (as torchaudio's resample rounds)."""
    if factor == 1.0:
        return num_samples
    orig, new = speed_rate(sample_rate, factor), sample_rate
    g = math.gcd(orig, new)
    return -(-num_samples * (new // g) // (orig // g))


def speed_entry(entry: str, factor: float) -> str:
    """The `wav.scp` entry of `entry`'s audio (a path or a command ending in `|`) at `factor` times the speed."""
    entry = entry.strip()
    if entry.endswith("|"):
        return f"{entry} {TOOL} --factor {factor:g} - |"
    return f"{TOOL} --factor {factor:g} {shlex.quote(entry)} |"


def parse_speed_entry(entry: str) -> tuple[str, float] | None:
    """(inner entry, factor) of an entry `speed_entry` wrote, or None for any other entry."""
    m = _ENTRY.match(str(entry))
    if m is None:
        return None
    try:
        factor = float(m["factor"])
    except ValueError:
        return None
    head, source = m["head"].strip(), m["source"].strip()
    if source == "-":
        return (head, factor) if head.endswith("|") else None
    parts = shlex.split(source)
    if head or len(parts) != 1:
        return None
    return parts[0], factor
