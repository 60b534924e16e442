"""Audio input: WAV, FLAC and NIST SPHERE through soundfile, Kaldi `wav.scp` entries (paths or pipes).

Every failure names the file (and the utterance, where the caller passes it): a missing or
unreadable file, a truncated one (fewer samples than its header declares, whether read from a file
or from a pipe's WAV stream), an empty one, multi-channel audio without a chosen channel, or a
sample rate other than the one the caller expects.

A `wav.scp` entry ending in `|` is a shell command whose standard output is the audio (Kaldi's
convention, e.g. `sph2pipe -f wav x.sph |`). Commands run only here, in `read_audio` and
`probe_audio`; setting the environment variable TOOLKIT_NO_PIPES=1 refuses them everywhere.

Speed-changed entries (`python -m toolkit.bin.speed_audio --factor F <source> |`, written by speed
perturbation) are computed in-process rather than run as a pipe: same samples, no process per utterance.
"""
import io
import os
import re
import struct
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

from toolkit.data.speed import change_speed, parse_speed_entry, speed_num_samples
from toolkit.utils.errors import UserError

NO_PIPES_ENV = "TOOLKIT_NO_PIPES"
# Data-chunk sizes that streaming writers put in a WAV header when they do not know the length.
_UNKNOWN_WAV_SIZES = (0, 0xFFFFFFFF)
_MIN_PLACEHOLDER_SIZE = 0x7FFFF000  # some tools write this (or more) for "as long as it takes"


class AudioError(UserError):
    """Audio that cannot be used; the message names the file and, where known, the utterance."""


def _where(source: str, utt: str | None) -> str:
    return f"{source} (utterance {utt})" if utt else source


def is_pipe(entry: str) -> bool:
    """Whether a `wav.scp` (or other scp) entry is a shell command: it ends in `|`."""
    return str(entry).rstrip().endswith("|")


def pipes_refused() -> bool:
    """True when TOOLKIT_NO_PIPES is set to anything but empty or 0: no `wav.scp` command is run."""
    return os.environ.get(NO_PIPES_ENV, "") not in ("", "0")


def _declared_frames(head: bytes) -> int | None:
    """Samples per channel that a WAV or SPHERE header (the first bytes of a file or stream)
    promises, to detect truncation; None when the header states no usable length."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        pos, channels, bits = 12, 1, 16
        while pos + 8 <= len(head):
            cid, size = head[pos:pos + 4], struct.unpack("<I", head[pos + 4:pos + 8])[0]
            if cid == b"fmt " and pos + 24 <= len(head):
                channels, bits = struct.unpack("<H", head[pos + 10:pos + 12])[0], \
                    struct.unpack("<H", head[pos + 22:pos + 24])[0]
            elif cid == b"data":
                if size in _UNKNOWN_WAV_SIZES or size >= _MIN_PLACEHOLDER_SIZE:
                    return None
                return size // (max(channels, 1) * max(bits // 8, 1))
            pos += 8 + size + (size & 1)
        return None
    if head[:8] == b"NIST_1A\n":
        m = re.search(rb"sample_count -i (\d+)", head)
        return int(m.group(1)) if m else None
    return None


def _check_complete(where: str, head: bytes, frames: int) -> None:
    declared = _declared_frames(head)
    if declared is not None and declared > frames:
        raise AudioError(f"{where}: truncated audio, header declares {declared} samples but only {frames} "
                         "arrived")


def _check_channels(where: str, channels: int, channel: int | None) -> None:
    """Multi-channel audio needs an explicit channel: picking one silently may pick the silent one."""
    if channel is None and channels > 1:
        raise AudioError(f"{where}: {channels} channels, and the toolkit does not pick one silently; select "
                         "one in wav.scp, e.g. '<utt> sox <file> -t wav - remix 1 |' (the first channel), or "
                         "pass channel= to read_audio")
    if channel is not None and not 0 <= channel < channels:
        raise AudioError(f"{where}: has {channels} channel(s), asked for channel {channel}")


def _run_pipe(command: str, utt: str | None) -> tuple[np.ndarray, int]:
    """Run a `wav.scp` command; (samples (T, C), rate) of its output, checked against its header."""
    where = _where(command + " |", utt)
    if pipes_refused():
        raise AudioError(f"{where}: is a shell command and {NO_PIPES_ENV} is set; unset it to run "
                         "wav.scp commands, or convert the audio to files")
    proc = subprocess.run(command, shell=True, capture_output=True)
    if proc.returncode != 0:
        raise AudioError(f"{where}: command failed with exit code {proc.returncode}: "
                         f"{proc.stderr.decode(errors='replace').strip()[:300]}")
    try:
        data, sr = sf.read(io.BytesIO(proc.stdout), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as e:
        raise AudioError(f"{where}: output is not readable audio ({e})") from None
    _check_complete(where, proc.stdout[:4096], data.shape[0])
    return data, sr


def _read_file(path: str, utt: str | None) -> tuple[np.ndarray, int]:
    probe_audio(path, utt=utt, channel=0)
    try:
        return sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as e:
        raise AudioError(f"{_where(path, utt)}: unreadable audio ({e})") from None


def read_audio(source: str | Path, *, expected_sr: int | None = None, utt: str | None = None,
               channel: int | None = None) -> tuple[np.ndarray, int]:
    """Read one recording as float32 samples in [-1, 1].

    `source` is a file path or a Kaldi pipe (`"sph2pipe -f wav x.sph |"`). Multi-channel audio
    needs `channel` (an error otherwise). Returns `(samples (T,), sample_rate)`.
    """
    source = str(source)
    speed = parse_speed_entry(source)
    if speed is not None:  # a speed change keeps the rate: the inner entry is checked as it is
        data, sr = read_audio(speed[0], expected_sr=expected_sr, utt=utt, channel=channel)
        return change_speed(data, sr, speed[1]), sr
    data, sr = _run_pipe(source.rstrip()[:-1].strip(), utt) if is_pipe(source) else _read_file(source, utt)
    where = _where(source, utt)
    if data.shape[0] == 0:
        raise AudioError(f"{where}: empty audio (0 samples)")
    _check_channels(where, data.shape[1], channel)
    if expected_sr is not None and sr != expected_sr:
        raise AudioError(f"{where}: sample rate {sr} Hz, expected {expected_sr} Hz "
                         "(resample the corpus, or set the frontend's sample_frequency)")
    return np.ascontiguousarray(data[:, 0 if channel is None else channel]), sr


def probe_audio(source: str | Path, *, utt: str | None = None, channel: int | None = None) -> tuple[int, int]:
    """`(num_samples, sample_rate)` of a `wav.scp` entry: a file's header, without decoding it, or
    the output of a command (which runs).

    Raises AudioError for a missing, unreadable, truncated or empty recording, and for
    multi-channel audio when no `channel` is given.
    """
    source = str(source)
    speed = parse_speed_entry(source)
    if speed is not None:
        num_samples, sample_rate = probe_audio(speed[0], utt=utt, channel=channel)
        return speed_num_samples(num_samples, sample_rate, speed[1]), sample_rate
    if is_pipe(source):
        samples, sr = read_audio(source, utt=utt, channel=channel)
        return len(samples), sr
    where = _where(source, utt)
    if not Path(source).is_file():
        raise AudioError(f"{where}: audio file not found")
    try:
        info = sf.info(source)
    except (sf.LibsndfileError, RuntimeError) as e:
        raise AudioError(f"{where}: unreadable audio ({e})") from None
    with open(source, "rb") as f:
        _check_complete(where, f.read(4096), info.frames)
    if info.frames == 0:
        raise AudioError(f"{where}: empty audio (0 samples)")
    _check_channels(where, info.channels, channel)
    return info.frames, info.samplerate
