"""Audio input: WAV, FLAC and NIST SPHERE through soundfile, Kaldi `wav.scp` entries (paths or pipes).

Every failure names the file (and the utterance, where the caller passes it): a missing or
unreadable file, a truncated one (fewer samples than its header declares), an empty one, or a
sample rate other than the one the caller expects.

Speed-changed entries (`python -m toolkit.bin.speed_audio --factor F <source> |`, written by speed
perturbation) are computed in-process rather than run as a pipe: same samples, no process per utterance.
"""
import io
import re
import struct
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

from toolkit.data.speed import change_speed, parse_speed_entry, speed_num_samples


class AudioError(ValueError):
    """Audio that cannot be used; the message names the file and, where known, the utterance."""


def _where(source: str, utt: str | None) -> str:
    return f"{source} (utterance {utt})" if utt else source


def _declared_frames(path: Path) -> int | None:
    """Samples per channel that a WAV or SPHERE header promises, to detect truncated files."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        pos, channels, bits = 12, 1, 16
        while pos + 8 <= len(head):
            cid, size = head[pos:pos + 4], struct.unpack("<I", head[pos + 4:pos + 8])[0]
            if cid == b"fmt ":
                channels, bits = struct.unpack("<H", head[pos + 10:pos + 12])[0], \
                    struct.unpack("<H", head[pos + 22:pos + 24])[0]
            elif cid == b"data":
                if size in (0, 0xFFFFFFFF):  # streamed WAV with unknown length
                    return None
                return size // (channels * max(bits // 8, 1))
            pos += 8 + size + (size & 1)
        return None
    if head[:8] == b"NIST_1A\n":
        m = re.search(rb"sample_count -i (\d+)", head)
        return int(m.group(1)) if m else None
    return None


def read_audio(source: str | Path, *, expected_sr: int | None = None, utt: str | None = None,
               channel: int = 0) -> tuple[np.ndarray, int]:
    """Read one recording as float32 samples in [-1, 1].

    `source` is a file path or a Kaldi pipe (`"sph2pipe -f wav x.sph |"`). Multi-channel audio
    yields `channel`. Returns `(samples (T,), sample_rate)`.
    """
    source = str(source)
    speed = parse_speed_entry(source)
    if speed is not None:  # a speed change keeps the rate: the inner entry is checked as it is
        data, sr = read_audio(speed[0], expected_sr=expected_sr, utt=utt, channel=channel)
        return change_speed(data, sr, speed[1]), sr
    if source.rstrip().endswith("|"):
        data, sr = _read_pipe(source.rstrip()[:-1], utt)
    else:
        probe_audio(source, utt=utt)
        try:
            data, sr = sf.read(source, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as e:
            raise AudioError(f"{_where(source, utt)}: unreadable audio ({e})") from None
    if data.shape[0] == 0:
        raise AudioError(f"{_where(source, utt)}: empty audio (0 samples)")
    if channel >= data.shape[1]:
        raise AudioError(f"{_where(source, utt)}: has {data.shape[1]} channel(s), asked for channel {channel}")
    if expected_sr is not None and sr != expected_sr:
        raise AudioError(f"{_where(source, utt)}: sample rate {sr} Hz, expected {expected_sr} Hz "
                         "(resample the corpus, or set the frontend's sample_frequency)")
    return np.ascontiguousarray(data[:, channel]), sr


def _read_pipe(command: str, utt: str | None) -> tuple[np.ndarray, int]:
    proc = subprocess.run(command, shell=True, capture_output=True)
    if proc.returncode != 0:
        raise AudioError(f"{_where(command + ' |', utt)}: command failed with exit code "
                         f"{proc.returncode}: {proc.stderr.decode(errors='replace').strip()[:300]}")
    try:
        return sf.read(io.BytesIO(proc.stdout), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as e:
        raise AudioError(f"{_where(command + ' |', utt)}: output is not readable audio ({e})") from None


def probe_audio(path: str | Path, *, utt: str | None = None) -> tuple[int, int]:
    """`(num_samples, sample_rate)` of an audio file from its header, without decoding it.

    Raises AudioError for a missing, unreadable, truncated or empty file.
    """
    speed = parse_speed_entry(str(path))
    if speed is not None:
        num_samples, sample_rate = probe_audio(speed[0], utt=utt)
        return speed_num_samples(num_samples, sample_rate, speed[1]), sample_rate
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{_where(str(path), utt)}: audio file not found")
    try:
        info = sf.info(path)
    except (sf.LibsndfileError, RuntimeError) as e:
        raise AudioError(f"{_where(str(path), utt)}: unreadable audio ({e})") from None
    declared = _declared_frames(path)
    if declared is not None and declared > info.frames:
        raise AudioError(f"{_where(str(path), utt)}: truncated audio, header declares {declared} "
                         f"samples but the file holds {info.frames}")
    if info.frames == 0:
        raise AudioError(f"{_where(str(path), utt)}: empty audio (0 samples)")
    return info.frames, info.samplerate
