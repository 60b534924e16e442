"""Precompute features of a data dir into an ESPnet-style dump dir, in `nj` parallel jobs like Kaldi.

    extract_features("data/train", "dump/fbank/train", Fbank(num_mel_bins=40), nj=4)
    compute_cmvn_stats("dump/fbank/train")          # cmvn.ark / cmvn.scp per speaker

The dump dir is a data dir (the input's tables, copied) plus

    data/feats.<j>.ark, data/feats.<j>.scp    one archive per job (float32 matrices, kaldiio)
    feats.scp, utt2num_frames                 merged over jobs, sorted

Each job reads its utterances' audio (`wav.scp`, cut by `segments` when present), runs them
through the frontend in batches of `batch_size` and appends each utterance to its archive as
soon as it is computed, so memory stays flat in corpus size. Jobs run in separate processes
forked from a clean `forkserver` (safe with threads and CUDA; `spawn` where there is none), which
imports torch once per Python session rather than once per job. An unreadable, truncated or wrongly sampled recording stops
the extraction with an error naming the utterance and the file, and so does audio with NaN or
infinite samples, or features that come out non-finite. Utterances too short for a single
frame are dropped with a warning (as Kaldi's compute-*-feats does), and the dump dir's tables are
fixed to match.
"""
import logging
import shutil
import time
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
import multiprocessing
from pathlib import Path

import kaldiio
import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from toolkit.data.audio import AudioError, read_audio
from toolkit.data.cmvn import accumulate_cmvn_stats, write_cmvn_stats
from toolkit.data.datadir import TABLES, DataDir, DataDirError, fix_data_dir, read_table, write_table
from toolkit.data.scp import ScpMatrices
from toolkit.utils.atomic import atomic_write

log = logging.getLogger(__name__)

# Tables of the input that describe features we are about to replace; not copied to the dump dir.
_FEATURE_TABLES = ("feats.scp", "cmvn.scp", "utt2num_frames")
_MAX_SEGMENT_OVERSHOOT = 0.5  # seconds a segment may end past its recording (Kaldi's extract-segments)


def frontend_sample_rate(frontend: nn.Module) -> int:
    """The sample rate (Hz) a frontend expects, from its `sample_frequency` (or `sample_rate`) attribute."""
    for name in ("sample_frequency", "sample_rate"):
        if hasattr(frontend, name):
            return int(round(float(getattr(frontend, name))))
    raise ValueError(f"frontend {type(frontend).__name__} has no sample_frequency attribute; cannot check "
                     "the audio's sample rate")


class _AudioReader:
    """Reads one utterance's samples, cutting segments out of recordings (the last recording is cached)."""

    def __init__(self, data: DataDir, sample_rate: int):
        self.data, self.sample_rate = data, sample_rate
        self._cached: tuple[str, np.ndarray] | None = None

    def __call__(self, utt: str) -> np.ndarray:
        entry, segment = self.data.audio_entry(utt)
        if segment is None:
            return read_audio(entry, expected_sr=self.sample_rate, utt=utt)[0]
        if self._cached is None or self._cached[0] != entry:
            self._cached = (entry, read_audio(entry, expected_sr=self.sample_rate, utt=utt)[0])
        samples = self._cached[1]
        duration = len(samples) / self.sample_rate
        end = duration if segment.end == -1 else segment.end
        if end > duration + _MAX_SEGMENT_OVERSHOOT or segment.start >= min(end, duration):
            raise AudioError(f"{entry} (utterance {utt}): segment {segment.start:.3f}-{segment.end:.3f} s "
                             f"lies outside the recording of {duration:.3f} s")
        return samples[round(segment.start * self.sample_rate):round(min(end, duration) * self.sample_rate)]


_stop_event = None  # in a job process: set by the parent when another job has failed


def _share_stop_event(event) -> None:
    global _stop_event
    _stop_event = event


def _extract_job(job: int, data: DataDir, frontend: nn.Module, out_dir: str, batch_size: int, device: str,
                 num_threads: int | None, progress_position: int | None) -> tuple[dict[str, int], list[str]]:
    """Write `out_dir/data/feats.<job>.{ark,scp}`; return ({utt: num_frames}, [utts with 0 frames])."""
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    read = _AudioReader(data, frontend_sample_rate(frontend))
    frontend = frontend.to(device).eval()
    ark, scp = Path(out_dir) / "data" / f"feats.{job}.ark", Path(out_dir) / "data" / f"feats.{job}.scp"
    utts = data.utts
    num_frames: dict[str, int] = {}
    empty: list[str] = []
    with kaldiio.WriteHelper(f"ark,scp:{ark},{scp}") as writer, \
            tqdm(total=len(utts), desc=f"feats job {job}", unit="utt", position=progress_position,
                 disable=None, leave=False) as bar, torch.inference_mode():
        for lo in range(0, len(utts), batch_size):
            if _stop_event is not None and _stop_event.is_set():
                break
            batch = utts[lo:lo + batch_size]
            audio = [_check_finite_audio(read(utt), utt, data) for utt in batch]
            lengths = torch.tensor([len(a) for a in audio])
            waves = torch.zeros(len(audio), int(lengths.max()))
            for i, a in enumerate(audio):
                waves[i, :len(a)] = torch.from_numpy(a)
            feats, frame_lengths = frontend(waves.to(device), lengths.to(device))
            feats = feats.float().cpu().numpy()
            for i, utt in enumerate(batch):
                n = int(frame_lengths[i])
                if n == 0:
                    empty.append(utt)
                    continue
                if not np.isfinite(feats[i, :n]).all():
                    raise ValueError(f"utterance {utt} ({data.audio_entry(utt)[0]}): {type(frontend).__name__} "
                                     "gave NaN or infinite features from finite audio; check the frontend's "
                                     "settings (e.g. a log of zero energy)")
                writer(utt, feats[i, :n])
                num_frames[utt] = n
            bar.update(len(batch))
    return num_frames, empty


def _check_finite_audio(samples: np.ndarray, utt: str, data: DataDir) -> np.ndarray:
    """NaN or infinite samples would make the utterance's features, and its speaker's CMVN stats, NaN."""
    bad = int(np.count_nonzero(~np.isfinite(samples)))
    if bad:
        raise AudioError(f"{data.audio_entry(utt)[0]} (utterance {utt}): {bad} of {len(samples)} samples are NaN "
                         "or infinite; repair the recording, or remove the utterance from the data dir")
    return samples


def _copy_tables(data: DataDir, data_dir: Path, out_dir: Path) -> None:
    """Copy the data dir's tables (minus feature tables) and any other plain files into out_dir."""
    for stale in [*_FEATURE_TABLES, "cmvn.ark", "global_cmvn.ark"]:
        (out_dir / stale).unlink(missing_ok=True)
    for old in (out_dir / "data").glob("feats.*"):
        old.unlink()
    data.extra = {name: table for name, table in data.extra.items() if name not in _FEATURE_TABLES}
    data.save(out_dir)
    for path in data_dir.iterdir():
        if path.is_file() and not path.name.startswith(".") and path.name not in (*TABLES, "spk2utt"):
            shutil.copy2(path, out_dir / path.name)


def _job_context() -> multiprocessing.context.BaseContext:
    """A start method that is safe after torch has run threads: forkserver (preloaded with this module)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def extract_features(data_dir: str | Path, out_dir: str | Path, frontend: nn.Module, nj: int = 1,
                     batch_size: int = 16, device: str = "cpu") -> dict[str, int]:
    """Compute `frontend` features of every utterance of `data_dir` into the dump dir `out_dir`.

    `frontend` maps `(waves (B, S) in [-1, 1], lengths (B,))` to `(feats (B, T, D), frame_lengths (B,))`
    and has a `sample_frequency` attribute (e.g. `Fbank`, `Mfcc`). Returns counts
    {"utterances", "frames", "dropped", "jobs"}.
    """
    start = time.perf_counter()
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    if out_dir.resolve() == data_dir.resolve():
        raise DataDirError(f"{out_dir}: the dump dir must differ from the data dir")
    if nj < 1 or batch_size < 1:
        raise DataDirError(f"nj ({nj}) and batch_size ({batch_size}) must be >= 1")
    if "," in str(out_dir.absolute()):  # kaldiio's `ark,scp:<ark>,<scp>` would split the path
        raise DataDirError(f"{out_dir}: a dump dir path must not contain ',' (kaldiio splits on it); rename it")
    frontend_sample_rate(frontend)
    data = DataDir.load(data_dir)
    if not data.wav_scp:
        raise DataDirError(f"{data_dir}: no wav.scp, nothing to extract features from")
    if nj > len(data.utts):
        log.warning("%s: only %d utterances, using %d jobs instead of %d", data_dir, len(data.utts),
                    len(data.utts), nj)
        nj = len(data.utts)
    (out_dir / "data").mkdir(parents=True, exist_ok=True)
    _copy_tables(data, data_dir, out_dir)
    parts = data.split(nj)
    out = str(out_dir.absolute())
    if nj == 1:
        results = [_extract_job(1, parts[0], frontend, out, batch_size, device, None, None)]
    else:
        threads = max(1, torch.get_num_threads() // nj)
        context = _job_context()
        stop = context.Event()
        with ProcessPoolExecutor(nj, mp_context=context, initializer=_share_stop_event, initargs=(stop,)) as pool:
            futures = [pool.submit(_extract_job, j, part, frontend, out, batch_size, device, threads, j - 1)
                       for j, part in enumerate(parts, 1)]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f for f in futures if f in done and f.exception() is not None]
            if failed:
                stop.set()  # the other jobs stop at their next batch instead of running to the end
                raise failed[0].exception()
            results = [f.result() for f in futures]

    feats_scp: dict[str, str] = {}
    for j in range(1, nj + 1):
        feats_scp.update(read_table(out_dir / "data" / f"feats.{j}.scp"))
    utt2num_frames = {utt: str(n) for frames, _ in results for utt, n in frames.items()}
    write_table(out_dir / "feats.scp", feats_scp)
    write_table(out_dir / "utt2num_frames", utt2num_frames)
    dropped = sorted(utt for _, empty in results for utt in empty)
    if dropped:
        log.warning("%d utterance(s) too short for one frame were dropped, e.g. %s", len(dropped), dropped[0])
        fix_data_dir(out_dir)
    counts = {"utterances": len(feats_scp), "frames": sum(int(n) for n in utt2num_frames.values()),
              "dropped": len(dropped), "jobs": nj}
    log.info("extracted %s features of %d utterances (%d frames, %d dropped) from %s into %s with %d job(s) "
             "in %.1f s", type(frontend).__name__, counts["utterances"], counts["frames"], counts["dropped"],
             data_dir, out_dir, nj, time.perf_counter() - start)
    return counts


def compute_cmvn_stats(dump_dir: str | Path, per_speaker: bool = True) -> Path:
    """Accumulate Kaldi CMVN stats over `dump_dir/feats.scp`; returns the file written.

    Per speaker: `cmvn.ark` + `cmvn.scp` keyed by speaker id (Kaldi's `compute-cmvn-stats --spk2utt`).
    Global (`per_speaker=False`): one (2, D + 1) matrix in `global_cmvn.ark` (Kaldi's
    `compute-cmvn-stats scp:feats.scp global_cmvn.ark`), for `GlobalCMVN.from_file`; compute it on
    training data only.
    """
    start = time.perf_counter()
    dump_dir = Path(dump_dir)
    feats_scp = dump_dir / "feats.scp"
    if not feats_scp.is_file():
        raise FileNotFoundError(f"{feats_scp}: not found (run extract_feats first)")
    utt2spk = read_table(dump_dir / "utt2spk") if per_speaker else None
    matrices = ScpMatrices(feats_scp)
    num_utts = len(matrices)
    utt_feats = tqdm(matrices.items(), total=num_utts, desc="cmvn stats", unit="utt", disable=None, leave=False)
    stats = accumulate_cmvn_stats(utt_feats, utt2spk)
    if not stats:
        raise DataDirError(f"{feats_scp}: no features")
    if per_speaker:
        path = write_cmvn_stats(stats, dump_dir / "cmvn.ark")
    else:
        path = dump_dir / "global_cmvn.ark"
        with atomic_write(path, "wb") as f:
            kaldiio.save_mat(f, stats["global"])
    frames = int(sum(s[0, -1] for s in stats.values()))
    log.info("CMVN stats of %d utterances (%d frames, %d %s) written to %s in %.1f s", num_utts, frames,
             len(stats), "speakers" if per_speaker else "global set", path, time.perf_counter() - start)
    return path
