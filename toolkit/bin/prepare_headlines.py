"""Read, normalise and split headline-generation pairs into data dirs (text.article / text.title).

    # Reuters-21578: a reut2-*.sgm file, a dir of them, or the tarball; dev/test split off by document
    python -m toolkit.bin.prepare_headlines --reuters /data/reuters21578 --lowercase --out data
    # Gigaword-style line-aligned files (dev/test given, or split off the training pairs)
    python -m toolkit.bin.prepare_headlines --train-src train.article.txt --train-tgt train.title.txt \\
        [--dev-src valid.article.txt --dev-tgt valid.title.txt] [--test-src ... --test-tgt ...] --digits --out data
    # source<TAB>target
    python -m toolkit.bin.prepare_headlines --pairs pairs.tsv --out data
    # extra test sets (TSV, or article and title files joined with ':'), named after the option value
    ... --extra-test duc=duc2004.tsv --extra-test giga=test.article.txt:test.title.txt

Writes ``<out>/{train,dev,test,<extra>}/text.article`` and ``text.title`` and ``<out>/prepare.json``
(counts). Every set gets the same normalisation (--lowercase, --digits: digits -> '#'). Each reader
counts what it drops and why; the counts are logged. The split is deterministic (a keyed hash of the
text) and keeps every distinct source on one side only, i.e. whole documents for Reuters. Exits with
status 1 and a one-line message on bad input (missing file, misaligned files, an empty training set).
"""
import argparse
import logging
import sys
from pathlib import Path

from toolkit.corpora.headlines import Headlines, normalize_headline, read_gigaword, read_headline_tsv
from toolkit.corpora.reuters import read_reuters
from toolkit.data.parallel_text import split_pairs, text_file, write_moses
from toolkit.utils.atomic import atomic_write, write_json
from toolkit.utils.cli import entry_point
from toolkit.utils.log import setup_logging

log = logging.getLogger("prepare_headlines")
SRC, TGT = "article", "title"


def size(text: str) -> int | float | str:
    if text == "auto":
        return text
    return float(text) if "." in text else int(text)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reuters", help="Reuters-21578: reut2-*.sgm file, dir of them, or reuters21578.tar.gz")
    p.add_argument("--pairs", help="source<TAB>target file")
    for name in ("train", "dev", "test"):
        p.add_argument(f"--{name}-src", help=f"Gigaword-style {name} article file")
        p.add_argument(f"--{name}-tgt", help=f"Gigaword-style {name} title file")
    p.add_argument("--extra-test", action="append", default=[], metavar="NAME=TSV|NAME=ARTICLE:TITLE",
                   help="an extra test set, prepared into <out>/NAME (repeatable)")
    p.add_argument("--monolingual", action="append", default=[], metavar="FILE",
                   help="extra text for word2vec, normalised like the pairs into <out>/monolingual/text.article "
                        "(repeatable; undecodable and empty lines are counted and skipped)")
    p.add_argument("--lowercase", action="store_true", help="lowercase both sides (UNK kept)")
    p.add_argument("--digits", action="store_true", help="every digit -> '#' (Gigaword convention)")
    p.add_argument("--max-words", type=int, default=80, help="drop pairs whose source is longer (words)")
    p.add_argument("--dev", type=size, default="auto", help="dev pairs to split off: count, fraction or auto "
                   "(10%%, at most 1000)")
    p.add_argument("--test", type=size, default="auto", help="test pairs to split off (auto: 10%%, at most 2000)")
    p.add_argument("--seed", type=int, default=0, help="split seed")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    if sum(map(bool, (args.reuters, args.pairs, args.train_src or args.train_tgt))) != 1:
        p.error("give exactly one of --reuters, --pairs or --train-src/--train-tgt")
    for name in ("train", "dev", "test"):
        if bool(getattr(args, f"{name}_src")) != bool(getattr(args, f"{name}_tgt")):
            p.error(f"--{name}-src and --{name}-tgt go together")
    for spec in args.extra_test:
        name = spec.split("=", 1)[0]
        if "=" not in spec or not name.replace("_", "").replace("-", "").isalnum() or name in ("train", "dev", "lang"):
            p.error(f"--extra-test {spec!r}: expected NAME=FILE.tsv or NAME=ARTICLE:TITLE with a plain NAME "
                    "(not train, dev or lang)")
    return args


def read_set(spec: str, options: dict) -> Headlines:
    """A TSV file, or 'article:title' Gigaword-style files."""
    if ":" in spec and not Path(spec).is_file():
        article, title = spec.split(":", 1)
        return read_gigaword(article, title, **options)
    return read_headline_tsv(spec, **options)


def prepare(args: argparse.Namespace) -> dict:
    options = dict(lowercase=args.lowercase, digits=args.digits, max_words=args.max_words)
    for path in (args.reuters, args.pairs, args.train_src, args.train_tgt, args.dev_src, args.dev_tgt,
                 args.test_src, args.test_tgt):
        if path and not Path(path).exists():
            raise FileNotFoundError(f"{path}: no such file")
    if args.reuters:
        inputs = {"train": read_reuters(args.reuters, **options)}
    elif args.pairs:
        inputs = {"train": read_headline_tsv(args.pairs, **options)}
    else:
        inputs = {"train": read_gigaword(args.train_src, args.train_tgt, **options)}
    for name in ("dev", "test"):
        if getattr(args, f"{name}_src"):
            inputs[name] = read_gigaword(getattr(args, f"{name}_src"), getattr(args, f"{name}_tgt"), **options)
    for spec in args.extra_test:
        name, files = spec.split("=", 1)
        inputs[name] = read_set(files, options)
    stats: dict = {"lowercase": args.lowercase, "digits": args.digits, "read": {}}
    for name, corpus in inputs.items():
        log.info("%s: %s", name, corpus.summary())
        stats["read"][name] = {"read": corpus.read, "kept": len(corpus.pairs), "dropped": dict(corpus.dropped),
                               "repaired": dict(corpus.repaired)}
    pool = inputs.pop("train").pairs
    if not pool:
        raise ValueError("the training set is empty after cleaning (see the drop counts above)")
    n = len(pool)
    auto = lambda req, cap: min(cap, max(1, round(0.1 * n))) if req == "auto" else req  # noqa: E731
    dev = 0 if "dev" in inputs else auto(args.dev, 1000)
    test = 0 if "test" in inputs else auto(args.test, 2000)
    splits = split_pairs(pool, dev=dev, test=test, seed=args.seed)
    for name, corpus in inputs.items():
        splits[name] = corpus.pairs
    for name, pairs in splits.items():
        if not pairs:
            raise ValueError(f"the {name} set is empty after cleaning and splitting ({n} usable training pairs)")
        d = Path(args.out) / name
        write_moses(pairs, text_file(d, SRC), text_file(d, TGT))
        stats[name] = len(pairs)
    log.info("wrote %s/{%s}: %s pairs", args.out, ",".join(splits), " / ".join(str(len(p)) for p in splits.values()))
    if args.monolingual:
        stats["monolingual"] = write_monolingual(args.monolingual, Path(args.out) / "monolingual" / f"text.{SRC}",
                                                 lowercase=args.lowercase, digits=args.digits)
    return stats


def write_monolingual(paths: list[str], out: Path, **options) -> dict:
    """Normalise extra word2vec text line by line into `out`; returns the counts (bad lines skipped)."""
    counts = {"read": 0, "kept": 0, "non_utf8": 0, "empty": 0}
    with atomic_write(out, "w", encoding="utf-8") as f:
        for path in paths:
            with open(path, "rb") as lines:
                for raw in lines:
                    counts["read"] += 1
                    try:
                        text = normalize_headline(raw.decode("utf-8"), **options)
                    except UnicodeDecodeError:
                        counts["non_utf8"] += 1
                        continue
                    if not text:
                        counts["empty"] += 1
                        continue
                    f.write(text + "\n")
                    counts["kept"] += 1
    log.info("monolingual text for word2vec: %s -> %s", counts, out)
    if not counts["kept"]:
        raise ValueError(f"--monolingual {','.join(paths)}: no usable lines")
    return counts


@entry_point
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging()
    write_json(Path(args.out) / "prepare.json", prepare(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
