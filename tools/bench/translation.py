#!/usr/bin/env python3
"""Benchmark the translation recipe on Tatoeba German->English (run by hand, not in CI).

    .venv/bin/python tools/bench/translation.py                    # train, decode, score, speeds
    .venv/bin/python tools/bench/translation.py --skip-train       # only the decoding speeds again

1. Runs recipes/translation/run.sh (from a copy in --work, so the recipe's own data/ and exp/
   stay untouched) on ../shared/data/tatoeba-deu-eng/deu-eng.tsv with the project's split
   (toolkit.bin.prepare_parallel: cleaned, source-disjoint, seed 0, dev 1000 / test 2000 pairs),
   a CPU-sized model and a subsample of the training pairs (--max-train-pairs), stages 0-6 on the
   test set: test BLEU/chrF (sacrebleu), wall time per run, training target tokens per second.
2. Beam search (beam 5) speed on the first --speed-sentences test sentences: batched (many
   sentences per batch, hypotheses on the batch dimension) against one sentence at a time, in
   the same process and on the same model, with the ratio, and whether both give the same output.
Results go to <work>/bench_translation.json and are printed as a table.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "recipes" / "translation"
DEFAULT_PAIRS = ROOT.parent / "shared" / "data" / "tatoeba-deu-eng" / "deu-eng.tsv"
# A model and batches that learn fast per CPU second: many small updates (32 pairs per batch cost
# about the same per token as 128 on a CPU), tied 256-dim embeddings (a 128-dim tied output layer
# learned far slower in short runs), a 128+128 bidirectional encoder and a 256 decoder.
CPU_RUN = ["model.emb_dim=256", "model.enc_hidden=128", "model.dec_hidden=256", "model.attn_dim=128",
           "data.max_sentences=32", "optim.lr=2e-3"]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pairs", type=Path, default=DEFAULT_PAIRS)
    p.add_argument("--work", type=Path, default=Path("/tmp/toolkit-bench/translation"))
    p.add_argument("--max-train-pairs", type=int, default=100000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared 2-core box)")
    p.add_argument("--speed-sentences", type=int, default=300)
    p.add_argument("--skip-train", action="store_true", help="reuse the trained model in --work")
    return p.parse_args()


def run_recipe(args: argparse.Namespace, recipe: Path) -> float:
    cmd = ["bash", str(recipe / "run.sh"), "--pairs", str(args.pairs), "--max-train-pairs", str(args.max_train_pairs),
           "--threads", str(args.threads), "--test-sets", "test", *CPU_RUN,
           f"trainer.max_epochs={args.epochs}"]
    print("running:", " ".join(cmd), flush=True)
    start = time.perf_counter()
    with open(args.work / "run.log", "w") as log:
        subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT,
                       env={**os.environ, "TOOLKIT_ROOT": str(ROOT)})
    return time.perf_counter() - start


def decoding_speed(exp: Path, sentences: list[str], threads: int) -> dict:
    import torch

    from toolkit.decoding.translation import Translator, search_from_config

    torch.set_num_threads(threads)
    translator = Translator(exp)
    beam = search_from_config("seq2seq_beam", beam_size=5)
    results = {}
    for name, max_sentences in (("batched", 128), ("single", 1)):
        translator.translate(sentences[:8], beam, max_sentences=max_sentences)  # warm-up
        start = time.perf_counter()
        out = translator.translate(sentences, beam, max_sentences=max_sentences)
        seconds = time.perf_counter() - start
        results[name] = {"seconds": round(seconds, 2), "sentences_per_s": round(len(sentences) / seconds, 2),
                         "texts": [t.text for t in out]}
    same = sum(a == b for a, b in zip(results["batched"]["texts"], results["single"]["texts"]))
    for r in results.values():
        del r["texts"]
    results["speedup"] = round(results["single"]["seconds"] / results["batched"]["seconds"], 2)
    results["same_output"] = f"{same}/{len(sentences)}"
    return results


def main() -> int:
    args = parse_args()
    if not args.pairs.is_file():
        print(f"{args.pairs}: not found (the benchmark needs the shared Tatoeba data)", file=sys.stderr)
        return 1
    recipe = args.work / "recipe"
    if not args.skip_train:
        shutil.rmtree(args.work, ignore_errors=True)
        recipe.mkdir(parents=True)
        shutil.copy(RECIPE / "run.sh", recipe / "run.sh")
        shutil.copytree(RECIPE / "local", recipe / "local")
        wall = run_recipe(args, recipe)
    else:
        wall = json.loads((args.work / "bench_translation.json").read_text())["recipe_wall_s"]
    exp = recipe / "exp" / "seq2seq_gru_deu-eng"
    history = json.loads((exp / "history.json").read_text())
    score = json.loads((exp / "decode_test" / "score.json").read_text())
    decode = json.loads((exp / "decode_test" / "decode.json").read_text())
    prepare = json.loads((recipe / "data" / "prepare.json").read_text())
    sentences = (recipe / "data" / "test" / "text.deu").read_text(encoding="utf-8").splitlines()
    speed = decoding_speed(exp, sentences[:args.speed_sentences], args.threads)
    report = {
        "pairs": str(args.pairs), "split": {k: prepare[k] for k in ("train", "dev", "test")},
        "train_subsampled_from": prepare.get("train_subsampled_from"), "epochs": len(history),
        "model": json.loads((exp / "model.json").read_text()),
        "recipe_wall_s": round(wall, 1), "train_wall_s": round(sum(h["seconds"] for h in history), 1),
        "train_tokens_per_s": round(sum(h["train_items_per_s"] for h in history) / len(history), 1),
        "dev_bleu_per_epoch": [round(h["dev_bleu"], 2) for h in history],
        "test_bleu": round(score["bleu"], 2), "test_chrf": round(score["chrf"], 2),
        "bleu_signature": score["bleu_signature"], "chrf_signature": score["chrf_signature"],
        "test_decode_sentences_per_s": decode["sentences_per_s"], "test_sentences": decode["sentences"],
        "beam5_speed": speed, "threads": args.threads, "load_average": os.getloadavg(),
    }
    (args.work / "bench_translation.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    print(f"\n| test BLEU | chrF | train tok/s | recipe wall | beam-5 sent/s batched | one at a time | ratio |\n"
          f"|---|---|---|---|---|---|---|\n"
          f"| {report['test_bleu']} | {report['test_chrf']} | {report['train_tokens_per_s']:.0f} | "
          f"{wall / 60:.1f} min | {speed['batched']['sentences_per_s']} | {speed['single']['sentences_per_s']} | "
          f"{speed['speedup']}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
