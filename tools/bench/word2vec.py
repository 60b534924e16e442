#!/usr/bin/env python3
"""Benchmark word2vec (gensim) on local English text: WordSim-353, SimLex-999, analogies (by hand, not CI).

    .venv/bin/python tools/bench/word2vec.py                     # Tatoeba English (deu-eng + fra-eng)
    .venv/bin/python tools/bench/word2vec.py --reuters ../shared/data/reuters21578   # + Reuters-21578 bodies

Builds one English corpus in --work (never in the repository): the distinct English sentences
of the Tatoeba exports (first column of deu-eng.tsv and fra-eng.tsv) and, with --reuters, the
<BODY> texts of Reuters-21578 (one paragraph per line). Words and punctuation are split
(toolkit.models.embeddings.WordTokenizer) and lowercased. Then trains skip-gram and CBOW with
the same settings in the same run (the comparison) and evaluates both on the sets shipped
inside the gensim wheel: WordSim-353 and SimLex-999 (Spearman over in-vocabulary pairs) and
questions-words.txt (3CosAdd accuracy over questions whose words are known; also over all).
"""
import argparse
import html
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
DEFAULT_TSVS = [SHARED / "tatoeba-deu-eng" / "deu-eng.tsv", SHARED / "tatoeba-fra-eng" / "fra-eng.tsv"]
_BODY = re.compile(r"<BODY>(.*?)</BODY>", re.S)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tsv", type=Path, action="append", help="Anki/Tatoeba exports (English first column)")
    p.add_argument("--reuters", type=Path, help="Reuters-21578 dir (reut2-*.sgm) to add newswire text")
    p.add_argument("--work", type=Path, default=Path("/tmp/toolkit-bench/word2vec"))
    p.add_argument("--dim", type=int, default=300)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--workers", type=int, default=2)
    return p.parse_args()


def english_corpus(tsvs: list[Path], reuters: Path | None, out: Path) -> dict:
    """Write the corpus, one sentence or paragraph per line; returns line counts by source."""
    seen, counts = set(), {}
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        for tsv in tsvs:
            n = 0
            with open(tsv, encoding="utf-8") as lines:
                for line in lines:
                    english = line.split("\t", 1)[0].strip()
                    if english and english not in seen:
                        seen.add(english)
                        f.write(english + "\n")
                        n += 1
            counts[tsv.name] = n
        if reuters:
            n = 0
            for sgm in sorted(reuters.glob("reut2-*.sgm")):
                text = sgm.read_bytes().decode("latin-1")
                for body in _BODY.findall(text):
                    body = html.unescape(body).replace("\x03", " ")
                    for paragraph in re.split(r"\n\s+", body):
                        paragraph = " ".join(paragraph.split())
                        if paragraph and not paragraph.lower().startswith("reuter"):
                            f.write(paragraph + "\n")
                            n += 1
            counts["reuters21578"] = n
    return counts


def main() -> int:
    args = parse_args()
    tsvs = args.tsv or DEFAULT_TSVS
    for path in tsvs + ([args.reuters] if args.reuters else []):
        if not path.exists():
            print(f"{path}: not found (the benchmark needs the shared data)", file=sys.stderr)
            return 1
    from toolkit.models.embeddings import (TokenizedCorpus, WordTokenizer, evaluate_analogies, evaluate_similarity,
                                           train_word2vec)

    corpus_path = args.work / "english.txt"
    counts = english_corpus(tsvs, args.reuters, corpus_path)
    corpus = TokenizedCorpus(corpus_path, tokenizer=WordTokenizer(), lowercase=True)
    report = {"corpus_lines": counts, "settings": {k: getattr(args, k) for k in
                                                   ("dim", "window", "min_count", "epochs", "workers")}}
    for arch in ("skipgram", "cbow"):
        start = time.perf_counter()
        model = train_word2vec(corpus, architecture=arch, vector_size=args.dim, window=args.window,
                               min_count=args.min_count, epochs=args.epochs, workers=args.workers, seed=0)
        seconds = time.perf_counter() - start
        ws, sl, an = (evaluate_similarity(model.wv, "wordsim353"), evaluate_similarity(model.wv, "simlex999"),
                      evaluate_analogies(model.wv))
        report[arch] = {"vocab": len(model.wv), "tokens": model.corpus_total_words, "train_s": round(seconds, 1),
                        "words_per_s": round(model.corpus_total_words * args.epochs / seconds),
                        "wordsim353_spearman": round(ws.spearman, 4), "wordsim353_coverage": round(1 - ws.oov_ratio, 3),
                        "simlex999_spearman": round(sl.spearman, 4), "simlex999_coverage": round(1 - sl.oov_ratio, 3),
                        "analogy_accuracy": round(an.accuracy, 4), "analogy_accuracy_all": round(an.accuracy_all, 4),
                        "analogy_coverage": round(1 - an.oov_ratio, 3)}
        model.save(str(args.work / f"{arch}.model"))
    report["load_average"] = os.getloadavg()
    (args.work / "bench_word2vec.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    sg, cb = report["skipgram"], report["cbow"]
    print(f"\ncorpus: {sum(counts.values())} lines, {sg['tokens']} tokens, "
          f"vocab {sg['vocab']} (min count {args.min_count})")
    print("| model | WordSim-353 Spearman | SimLex-999 Spearman | analogy acc (known) | analogy acc (all) | train s |")
    print("|---|---|---|---|---|---|")
    for name, r in (("skip-gram", sg), ("CBOW", cb)):
        print(f"| {name} | {r['wordsim353_spearman']:.3f} ({100 * r['wordsim353_coverage']:.0f}% pairs) | "
              f"{r['simlex999_spearman']:.3f} | {r['analogy_accuracy']:.3f} ({100 * r['analogy_coverage']:.0f}% q) | "
              f"{r['analogy_accuracy_all']:.3f} | {r['train_s']} |")
    print(f"skip-gram / CBOW: WordSim-353 {sg['wordsim353_spearman'] / cb['wordsim353_spearman']:.2f}x, "
          f"analogy {sg['analogy_accuracy'] / max(cb['analogy_accuracy'], 1e-9):.2f}x, "
          f"training time {sg['train_s'] / cb['train_s']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
