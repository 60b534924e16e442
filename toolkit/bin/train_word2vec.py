"""Train word2vec (gensim) on text files, evaluate it, and query it from the command line.

    # train (streamed from disk), save, evaluate on WordSim-353, SimLex-999 and questions-words
    python -m toolkit.bin.train_word2vec --corpus data/train/text.eng --out exp/word2vec/eng \\
        [--config skipgram|cbow] [--dim 256] [--epochs 10] [--lowercase] [--workers 2]
    # vectors of a translation model's subword pieces (initialise its nn.Embedding)
    python -m toolkit.bin.train_word2vec --corpus data/train/text.eng --spm data/lang/joint/spm.model \\
        --out exp/word2vec/eng --dim 256
    # queries on saved vectors
    python -m toolkit.bin.train_word2vec --vectors exp/word2vec/eng/vectors.model --most-similar house
    python -m toolkit.bin.train_word2vec --vectors exp/word2vec/eng/vectors.model --analogy man king woman
    python -m toolkit.bin.train_word2vec --vectors exp/word2vec/eng/vectors.model --evaluate

Training writes ``<out>/vectors.model`` (gensim native, training state included), optionally
``vectors.txt`` (word2vec text format, --save-text) and ``<out>/eval.json``. Hyperparameters come
from the word2vec config --config (conf/word2vec/<name>.yaml, or <config-dir>/word2vec/<name>.yaml,
composed with Hydra); the options override them. Word-level corpora are split into
words and punctuation (--tokenize words) or on whitespace; --spm splits into sentencepiece pieces
(the similarity/analogy sets are word-level, so piece vectors are not evaluated).
"""
import argparse
import json
import logging
import math
import sys
import time
from pathlib import Path

from hydra.errors import HydraException
from omegaconf import OmegaConf

from toolkit.data.tokenizer import SentencePieceTokenizer
from toolkit.models.embeddings import (SIMILARITY_SETS, TokenizedCorpus, WordTokenizer, analogy, evaluate_analogies,
                                       evaluate_similarity, load_vectors, most_similar, save_vectors, train_word2vec)
from toolkit.utils.atomic import write_json
from toolkit.utils.config import compose_config
from toolkit.utils.log import setup_logging

log = logging.getLogger("train_word2vec")

#: command-line option -> train_word2vec argument
OVERRIDES = {"dim": "vector_size", "window": "window", "min_count": "min_count", "negative": "negative",
             "sample": "sample", "epochs": "epochs", "workers": "workers", "seed": "seed"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", action="append", help="training text, one sentence per line (repeatable)")
    p.add_argument("--out", help="output dir for vectors.model, vectors.txt, eval.json")
    p.add_argument("--config", default="skipgram", help="word2vec config name (skipgram, cbow)")
    p.add_argument("--config-dir", help="dir searched before the toolkit's conf/ (your own word2vec/<name>.yaml)")
    p.add_argument("--dim", type=int, help="vector size")
    p.add_argument("--window", type=int)
    p.add_argument("--min-count", type=int)
    p.add_argument("--negative", type=int, help="negative samples")
    p.add_argument("--sample", type=float, help="down-sampling threshold of frequent words")
    p.add_argument("--epochs", type=int)
    p.add_argument("--workers", type=int, help="threads (1: bit-identical reruns)")
    p.add_argument("--seed", type=int)
    p.add_argument("--tokenize", default="words", choices=["words", "whitespace"],
                   help="word-level splitting of the corpus (ignored with --spm)")
    p.add_argument("--spm", help="sentencepiece model: learn vectors of its pieces")
    p.add_argument("--lowercase", action="store_true")
    p.add_argument("--save-text", action="store_true", help="also write vectors.txt (word2vec text format)")
    p.add_argument("--vectors", help="saved vectors to query instead of training")
    p.add_argument("--most-similar", metavar="WORD", help="print the nearest words")
    p.add_argument("--analogy", nargs=3, metavar=("A", "B", "C"), help="A is to B as C is to ?")
    p.add_argument("--topn", type=int, default=10)
    p.add_argument("--evaluate", action="store_true", help="evaluate --vectors on the gensim test sets")
    args = p.parse_args(argv)
    if bool(args.vectors) == bool(args.corpus):
        p.error("give --corpus (train) or --vectors (query)")
    if args.corpus and not args.out:
        p.error("training needs --out")
    if args.vectors and not (args.most_similar or args.analogy or args.evaluate):
        p.error("--vectors needs --most-similar, --analogy or --evaluate")
    return args


def load_config(name: str, config_dir: str | None = None) -> dict:
    """The hyperparameters of word2vec config `name`, composed with Hydra."""
    try:
        return dict(OmegaConf.to_container(compose_config([f"+word2vec={name}"], config_dir=config_dir).word2vec))
    except HydraException as e:
        raise ValueError(f"--config {name}: {e}") from None


def evaluate(kv) -> dict:
    """WordSim-353, SimLex-999 (Spearman) and questions-words (accuracy), logged and returned."""
    results = {}
    for name in SIMILARITY_SETS:
        r = evaluate_similarity(kv, name)
        results[name] = {"spearman": r.spearman, "pearson": r.pearson, "oov_ratio": r.oov_ratio, "pairs": r.pairs}
        log.info("%s: Spearman %.4f (Pearson %.4f) on %.1f%% of %d pairs (others out of vocabulary)",
                 name, r.spearman, r.pearson, 100 * (1 - r.oov_ratio), r.pairs)
    a = evaluate_analogies(kv)
    results["analogy"] = {"accuracy": a.accuracy, "accuracy_all": a.accuracy_all, "oov_ratio": a.oov_ratio,
                          "questions": a.questions}
    log.info("questions-words: accuracy %.4f on %.1f%% of %d questions (%.4f counting unknown ones as wrong)",
             a.accuracy, 100 * (1 - a.oov_ratio), a.questions, a.accuracy_all)
    return results


def _json_safe(obj):
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    return obj


def train(args: argparse.Namespace) -> None:
    options = load_config(args.config, args.config_dir)
    options.update({key: getattr(args, opt) for opt, key in OVERRIDES.items() if getattr(args, opt) is not None})
    tokenizer = (SentencePieceTokenizer(args.spm) if args.spm
                 else WordTokenizer() if args.tokenize == "words" else None)
    corpus = TokenizedCorpus(args.corpus, tokenizer=tokenizer, lowercase=args.lowercase)
    start = time.perf_counter()
    model = train_word2vec(corpus, **options)
    seconds = time.perf_counter() - start
    out = Path(args.out)
    save_vectors(model, out / "vectors.model")
    if args.save_text:
        save_vectors(model, out / "vectors.txt", fmt="text")
    report = {"corpus": args.corpus, "spm": args.spm, "lowercase": args.lowercase,
              "tokenize": "spm" if args.spm else args.tokenize, **options, "vocab": len(model.wv),
              "corpus_tokens": model.corpus_total_words, "train_seconds": round(seconds, 1),
              "words_per_s": round(model.corpus_total_words * model.epochs / max(seconds, 1e-9))}
    if not args.spm:
        report["eval"] = evaluate(model.wv)
    write_json(out / "eval.json", _json_safe(report))
    log.info("saved %s (%d words, %.0f s)", out / "vectors.model", len(model.wv), seconds)


def query(args: argparse.Namespace) -> None:
    fmt = {".txt": "text", ".bin": "binary"}.get(Path(args.vectors).suffix, "native")
    kv = load_vectors(args.vectors, fmt=fmt)
    if args.most_similar:
        for word, sim in most_similar(kv, args.most_similar, topn=args.topn):
            print(f"{word}\t{sim:.4f}")
    if args.analogy:
        a, b, c = args.analogy
        for word, sim in analogy(kv, a, b, c, topn=args.topn):
            print(f"{word}\t{sim:.4f}")
    if args.evaluate:
        print(json.dumps(_json_safe(evaluate(kv)), indent=1))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging()
    logging.getLogger("gensim").setLevel(logging.WARNING)
    try:
        train(args) if args.corpus else query(args)
    except (ValueError, FileNotFoundError) as e:
        log.error("%s", e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
