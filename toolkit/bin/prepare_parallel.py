"""Read, clean and split parallel text into translation data dirs (Moses-style line-aligned files).

    # one tab-separated pair file (Tatoeba / Anki export: English<TAB>Other), split here
    python -m toolkit.bin.prepare_parallel --pairs deu-eng.tsv --src deu --tgt eng --out data
    # Moses-style files; dev/test are split off the training pairs unless given (with either layout)
    python -m toolkit.bin.prepare_parallel --train-src train.de --train-tgt train.en \\
        [--dev-src val.de --dev-tgt val.en] [--test-src test.de --test-tgt test.en] --src de --tgt en --out data

Writes ``<out>/{train,dev,test}/text.<src>`` and ``text.<tgt>`` (UTF-8, one sentence per line,
NFC, whitespace normalised) and ``<out>/prepare.json`` (counts). Cleaning drops and counts pairs
that are not valid UTF-8 (or raises with file and line under --strict), empty, over --max-tokens
words, or with a length ratio over --max-ratio; the counts are logged. The split is
deterministic and keeps every distinct source sentence on one side only. Input files are UTF-8
unless --encoding says otherwise (a file evidently in another encoding is an error, not a pile of
dropped lines). Exits with status 1 and a one-line message naming the file (and line) on bad input.
"""
import argparse
import codecs
import logging
import random
import sys
from pathlib import Path

from toolkit.data.parallel_text import (ParallelTextError, clean_pairs, read_moses, read_tsv, split_pairs,
                                         text_file, write_moses)
from toolkit.utils.atomic import write_json
from toolkit.utils.cli import entry_point
from toolkit.utils.log import setup_logging

log = logging.getLogger("prepare_parallel")


def size(text: str) -> int | float | str:
    """A split size: a pair count (``1000``), a fraction (``0.1``) or ``auto``."""
    if text == "auto":
        return text
    return float(text) if "." in text else int(text)


def encoding(name: str) -> str:
    """A text encoding Python knows (utf-8, latin-1, cp1252, ...)."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise argparse.ArgumentTypeError(f"unknown encoding {name!r}") from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", required=True, help="source language code (file suffix and TSV column name)")
    p.add_argument("--tgt", required=True, help="target language code")
    p.add_argument("--pairs", help="tab-separated pair file, e.g. Tatoeba deu-eng.tsv")
    p.add_argument("--columns", help="languages of the TSV columns, e.g. eng,deu (default: from an Anki file "
                                     "name such as deu-eng.tsv)")
    for name in ("train", "dev", "test"):
        p.add_argument(f"--{name}-src", help=f"Moses-style {name} source file")
        p.add_argument(f"--{name}-tgt", help=f"Moses-style {name} target file")
    p.add_argument("--dev", type=size, default="auto",
                   help="dev pairs to split off: count, fraction or auto (10%%, at most 1000)")
    p.add_argument("--test", type=size, default="auto",
                   help="test pairs to split off: count, fraction or auto (10%%, at most 2000)")
    p.add_argument("--max-tokens", type=int, default=80, help="drop pairs with a side longer than this (words)")
    p.add_argument("--max-ratio", type=float, default=9.0, help="drop pairs whose length ratio exceeds this")
    p.add_argument("--seed", type=int, default=0, help="split seed")
    p.add_argument("--max-train-pairs", type=int, default=0,
                   help="keep a seeded random subset of this many training pairs (0: all)")
    p.add_argument("--strict", action="store_true", help="an undecodable line is an error instead of a dropped pair")
    p.add_argument("--encoding", type=encoding, default="utf-8",
                   help="encoding of the input files (default utf-8; e.g. latin-1 for an old export)")
    p.add_argument("--out", required=True, help="output dir: <out>/{train,dev,test}/text.<lang>")
    args = p.parse_args(argv)
    if bool(args.pairs) == bool(args.train_src or args.train_tgt):
        p.error("give either --pairs or --train-src/--train-tgt")
    if not args.pairs and not (args.train_src and args.train_tgt):
        p.error("--train-src and --train-tgt go together")
    for name in ("dev", "test"):
        if bool(getattr(args, f"{name}_src")) != bool(getattr(args, f"{name}_tgt")):
            p.error(f"--{name}-src and --{name}-tgt go together")
    if args.src == args.tgt:
        p.error("--src and --tgt must differ")
    return args


def auto_size(requested: int | float | str, n: int, cap: int) -> int | float:
    return min(cap, round(0.1 * n)) if requested == "auto" else requested


def prepare(args: argparse.Namespace) -> dict:
    stats: dict = {"src": args.src, "tgt": args.tgt, "clean": {}}
    if args.pairs:
        columns = args.columns.split(",") if args.columns else None
        inputs = {"train": read_tsv(args.pairs, args.src, args.tgt, columns, strict=args.strict,
                                     encoding=args.encoding)}
    else:
        inputs = {"train": read_moses(args.train_src, args.train_tgt, strict=args.strict, encoding=args.encoding)}
    for name in ("dev", "test"):
        if getattr(args, f"{name}_src"):
            inputs[name] = read_moses(getattr(args, f"{name}_src"), getattr(args, f"{name}_tgt"), strict=args.strict,
                                      encoding=args.encoding)
    cleaned = {}
    for name, raw in inputs.items():
        corpus = clean_pairs(raw, max_tokens=args.max_tokens, max_ratio=args.max_ratio)
        log.info("clean %s: %s", name, corpus.summary())
        cleaned[name] = corpus.pairs
        stats["clean"][name] = {"read": corpus.read, "kept": len(corpus.pairs), "dropped": dict(corpus.dropped)}

    pool = cleaned.pop("train")  # dev and test are split off it unless given
    want = {"dev": "dev" not in cleaned, "test": "test" not in cleaned}
    n = len(pool)
    dev = auto_size(args.dev, n, 1000) if want["dev"] else 0
    test = auto_size(args.test, n, 2000) if want["test"] else 0
    splits = split_pairs(pool, dev=dev, test=test, seed=args.seed)
    for name in ("dev", "test"):
        if not want[name]:
            splits[name] = cleaned[name]
    if args.max_train_pairs and len(splits["train"]) > args.max_train_pairs:
        keep = sorted(random.Random(args.seed).sample(range(len(splits["train"])), args.max_train_pairs))
        log.info("train: keeping a random subset of %d of %d pairs (--max-train-pairs)", len(keep),
                 len(splits["train"]))
        stats["train_subsampled_from"] = len(splits["train"])
        splits["train"] = [splits["train"][i] for i in keep]
    for name in ("train", "dev", "test"):
        if not splits[name]:
            raise ParallelTextError(f"the {name} set is empty after cleaning and splitting ({n} usable pairs)")
        d = Path(args.out) / name
        write_moses(splits[name], text_file(d, args.src), text_file(d, args.tgt))
        stats[name] = len(splits[name])
    log.info("wrote %s/{train,dev,test}: %d / %d / %d pairs", args.out, stats["train"], stats["dev"], stats["test"])
    return stats


@entry_point
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging()
    stats = prepare(args)
    write_json(Path(args.out) / "prepare.json", stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
