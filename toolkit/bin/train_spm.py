"""Train the sentencepiece model(s) of a translation system on its training text.

    python -m toolkit.bin.train_spm --src-text data/train/text.deu --tgt-text data/train/text.eng \\
        --out data/lang --vocab-size 8000 [--model-type bpe] [--separate]

Writes ``<out>/joint/{spm.model,tokens.txt}`` (one model for both languages), or with --separate
``<out>/src/`` and ``<out>/tgt/``. Ids 0-3 are <pad> <unk> <s> </s> (toolkit.data.tokenizer).
--vocab-size is an upper bound: a small corpus yields fewer pieces. Training is deterministic.
"""
import argparse
import logging
import shutil
import sys
from pathlib import Path

from toolkit.data.tokenizer import UNK_ID, train_translation_tokenizers
from toolkit.utils.log import setup_logging

log = logging.getLogger("train_spm")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src-text", required=True, help="source training text, one sentence per line")
    p.add_argument("--tgt-text", required=True, help="target training text, one sentence per line")
    p.add_argument("--out", required=True, help="output dir (joint/ or src/ + tgt/ inside)")
    p.add_argument("--vocab-size", type=int, default=8000, help="pieces per model, specials included (max)")
    p.add_argument("--model-type", default="unigram", choices=["unigram", "bpe"])
    p.add_argument("--separate", action="store_true", help="one model per language instead of a joint one")
    p.add_argument("--character-coverage", type=float, default=1.0)
    p.add_argument("--max-sentences", type=int, default=0, help="train on a sample of this many lines (0: all)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    setup_logging()
    out = Path(args.out)
    for stale in ("src", "tgt") if not args.separate else ("joint",):  # one layout per dir
        shutil.rmtree(out / stale, ignore_errors=True)
    try:
        src, tgt = train_translation_tokenizers(
            args.src_text, args.tgt_text, out, args.vocab_size, joint=not args.separate,
            model_type=args.model_type, character_coverage=args.character_coverage,
            max_sentences=args.max_sentences, seed=args.seed)
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        log.error("%s", e)
        return 1
    for name, path, tok in (("source", args.src_text, src), ("target", args.tgt_text, tgt)):
        with open(path, encoding="utf-8") as f:
            lines = [line.strip() for _, line in zip(range(2000), f)]
        encoded = tok.encode_batch(lines)
        pieces, unk = sum(map(len, encoded)), sum(ids.count(UNK_ID) for ids in encoded)
        words = sum(len(line.split()) for line in lines)
        log.info("%s: %d pieces in the vocabulary, %.2f pieces per word, %d <unk> in the first %d lines",
                 name, tok.vocab_size, pieces / max(words, 1), unk, len(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
