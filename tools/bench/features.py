"""Benchmark the batched Kaldi frontends against torchaudio.compliance.kaldi, and parallel extraction.

    python tools/bench/features.py [--utts 200] [--batch-size 16]

Part 1 computes Fbank and Mfcc of random-length utterances (2-5 s, 16 kHz, CPU) with
`toolkit.features.Fbank/Mfcc` on padded batches and with torchaudio's per-utterance functions
(the reference), and prints both times, the speed ratio and the largest absolute difference.
Part 2 writes the same utterances as WAVs into a data dir and times `extract_features` with nj=1
and nj=2 (the first parallel run also starts the job server; later ones show the steady state).
Each time is the fastest of --repeats runs, since the machine may be shared.
"""
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.compliance.kaldi as kaldi

from toolkit.data.datadir import write_table
from toolkit.features import Fbank, Mfcc, extract_features


def make_utterances(n: int, sr: int, seed: int) -> list[torch.Tensor]:
    rng = np.random.default_rng(seed)
    utts = []
    for _ in range(n):
        length = int(rng.uniform(2.0, 5.0) * sr)
        t = np.arange(length) / sr
        x = 0.2 * np.sin(2 * np.pi * rng.uniform(100, 3000) * t) + 0.05 * rng.normal(size=length)
        utts.append(torch.tensor(np.round(x * 32767) / 32768, dtype=torch.float32))  # int16-representable
    return utts


def best_time(fn, repeats: int) -> tuple[float, object]:
    """Shortest wall time of `repeats` runs (the machine may be shared) and the last result."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def bench_frontend(frontend, reference, utts: list[torch.Tensor], batch_size: int, repeats: int) -> dict:
    options = frontend.kaldi_options()

    def per_utterance():
        return [reference(u[None] * 32768, **options) for u in utts]

    def batched():
        outs = []
        for lo in range(0, len(utts), batch_size):
            batch = utts[lo:lo + batch_size]
            lengths = torch.tensor([len(u) for u in batch])
            waves = torch.nn.utils.rnn.pad_sequence(batch, batch_first=True)
            feats, frame_lengths = frontend(waves, lengths)
            outs.extend(feats[i, :n] for i, n in enumerate(frame_lengths.tolist()))
        return outs

    with torch.inference_mode():
        t_ref, refs = best_time(per_utterance, repeats)
        t_ours, outs = best_time(batched, repeats)
    diff = max(float((a - b).abs().max()) for a, b in zip(outs, refs))
    return {"torchaudio_s": t_ref, "batched_s": t_ours, "speedup": t_ref / t_ours, "max_abs_diff": diff}


def bench_extraction(utts: list[torch.Tensor], sr: int, batch_size: int, repeats: int) -> list[tuple[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "wav").mkdir()
        wav_scp, utt2spk = {}, {}
        for i, u in enumerate(utts):
            spk, utt = f"spk{i % 10:02d}", f"spk{i % 10:02d}_u{i:04d}"
            sf.write(tmp / "wav" / f"{utt}.wav", u.numpy(), sr, subtype="PCM_16")
            wav_scp[utt], utt2spk[utt] = str(tmp / "wav" / f"{utt}.wav"), spk
        write_table(tmp / "data" / "wav.scp", wav_scp)
        write_table(tmp / "data" / "utt2spk", utt2spk)
        times = []
        for label, nj, runs in (("nj=1", 1, repeats), ("nj=2 (first, starts job server)", 2, 1), ("nj=2", 2, repeats)):
            seconds, _ = best_time(lambda: extract_features(tmp / "data", tmp / "dump", Fbank(), nj=nj,
                                                            batch_size=batch_size), runs)
            times.append((label, seconds))
        return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--utts", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="report the fastest of this many runs")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    sr = 16000
    utts = make_utterances(args.utts, sr, args.seed)
    hours = sum(len(u) for u in utts) / sr / 3600
    print(f"{args.utts} utterances, {hours * 60:.1f} min of audio, CPU, {torch.get_num_threads()} threads, "
          f"batch size {args.batch_size}")
    for name, frontend, reference in (("Fbank(40)", Fbank(), kaldi.fbank),
                                      ("Mfcc(13)", Mfcc(), kaldi.mfcc)):
        bench_frontend(frontend, reference, utts[:8], args.batch_size, 1)  # warm-up
        r = bench_frontend(frontend, reference, utts, args.batch_size, args.repeats)
        print(f"{name:10s} torchaudio per-utterance {r['torchaudio_s']:.3f} s | batched {r['batched_s']:.3f} s | "
              f"speed ratio {r['speedup']:.2f}x | max abs diff {r['max_abs_diff']:.2e}")
    times = bench_extraction(utts, sr, args.batch_size, args.repeats)
    base = times[0][1]
    for label, seconds in times:
        print(f"extract_features {label:32s} {seconds:6.2f} s  (speed x{base / seconds:.2f} vs nj=1)")


if __name__ == "__main__":
    main()
