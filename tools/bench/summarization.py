#!/usr/bin/env python3
"""Benchmark the summarization recipe on Reuters-21578 (run by hand, never in CI: research-only licence).

    .venv/bin/python tools/bench/summarization.py --epochs 3                    # 4 runs: copy x word2vec
    .venv/bin/python tools/bench/summarization.py --variants copy,copy_w2v --epochs 2
    .venv/bin/python tools/bench/summarization.py --max-minutes 25     # each variant: 25 minutes of training

Runs recipes/summarization/run.sh from --work (so the recipe's own data/ and exp/ stay untouched) on
../shared/data/reuters21578 (the SGML files): stage 0-2 once (the reader, the deterministic split keyed on
the lead sentence's text, so every document is on one side only; sentencepiece), then stages 3-6 for each
variant: with/without copy, random/word2vec-initialised embeddings, on the same model size and epoch
budget. The test-set table (model rows and the prefix-8/10/12 and whole-source baselines, ROUGE-1/2/L F1,
rouge-score with stemming) comes from toolkit.bin.show_summarization_results, with training items/s
and decoding sentences/s. Everything goes to <work>/bench_summarization.{json,md}.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN_SH = ROOT / "recipes" / "summarization" / "run.sh"
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "reuters21578"
VARIANTS = {"nocopy": ["--copy", "false"], "copy": ["--copy", "true"],
            "nocopy_w2v": ["--copy", "false", "--word2vec", "true"], "copy_w2v": ["--copy", "true", "--word2vec", "true"]}
# A model that learns within minutes per epoch on one CPU thread.
CPU_RUN = ["model.enc_hidden=128", "model.dec_hidden=256", "model.attn_dim=128", "data.max_sentences=32",
           "optim.lr=2e-3"]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reuters", type=Path, default=DEFAULT_DATA)
    p.add_argument("--work", type=Path, default=Path("/tmp/toolkit-bench/summarization"))
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--epochs", type=int, default=3, help="epochs per variant (the most, with --max-minutes)")
    p.add_argument("--max-minutes", type=float, default=0, help="training budget per variant (trainer.max_minutes)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--vocab-size", type=int, default=8000)
    return p.parse_args()


def run(cmd: list[str], work: Path, log_name: str, threads: int) -> float:
    print("running:", " ".join(cmd), flush=True)
    start = time.perf_counter()
    with open(work / log_name, "w") as log:
        subprocess.run(cmd, cwd=work, check=True, stdout=log, stderr=subprocess.STDOUT,
                       env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    return time.perf_counter() - start


def main() -> int:
    args = parse_args()
    if not args.reuters.exists():
        print(f"{args.reuters}: not found (the benchmark needs the shared Reuters-21578 SGML files)", file=sys.stderr)
        return 1
    args.work.mkdir(parents=True, exist_ok=True)
    common = ["bash", str(RUN_SH), "--reuters", str(args.reuters), "--threads", str(args.threads),
              "--vocab-size", str(args.vocab_size)]
    walls = {"prepare": run([*common, "--stop-stage", "2"], args.work, "prepare.log", args.threads)}
    for name in args.variants.split(","):
        budget = [f"trainer.max_epochs={args.epochs}", f"trainer.max_minutes={args.max_minutes}"]
        walls[name] = run([*common, "--stage", "3", *VARIANTS[name], *CPU_RUN, *budget], args.work, f"{name}.log",
                          args.threads)
    table = subprocess.run([sys.executable, "-m", "toolkit.bin.show_summarization_results", "exp"], cwd=args.work,
                           check=True, capture_output=True, text=True).stdout
    prepare = json.loads((args.work / "data" / "prepare.json").read_text())
    report = {"reuters": str(args.reuters), "prepare": prepare, "epochs": args.epochs, "max_minutes": args.max_minutes, "threads": args.threads,
              "overrides": CPU_RUN, "wall_s": {k: round(v, 1) for k, v in walls.items()},
              "load_average": os.getloadavg()}
    (args.work / "bench_summarization.json").write_text(json.dumps(report, indent=1) + "\n")
    (args.work / "bench_summarization.md").write_text(table)
    print(json.dumps(report, indent=1))
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
