"""Estimate a phone bigram on training transcripts and write it as ARPA.

    python -m toolkit.bin.train_phone_lm --symbols data/lang/phones.txt data/train/text data/lang/phone_bigram.arpa
"""
import argparse
import logging
import sys

from toolkit.data.datadir import read_token_table
from toolkit.data.symbols import SymbolTable
from toolkit.decoding.phone_lm import PhoneBigramLM
from toolkit.utils.log import setup_logging

log = logging.getLogger("train_phone_lm")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--symbols", required=True, help="phones.txt of the acoustic model")
    parser.add_argument("--smoothing", default="witten_bell", choices=["witten_bell", "add_k"])
    parser.add_argument("text", help="Kaldi text file of phone transcripts")
    parser.add_argument("arpa", help="output ARPA file")
    args = parser.parse_args(argv)
    setup_logging()
    symbols = SymbolTable.load(args.symbols)
    text = read_token_table(args.text)
    for lineno, (utt, phones) in enumerate(sorted(text.items()), 1):
        unknown = [p for p in phones if p not in symbols]
        if unknown:
            log.error("%s:%d: unknown phone %r in utterance %s (not in %s)", args.text, lineno, unknown[0], utt,
                      args.symbols)
            return 1
    lm = PhoneBigramLM.estimate(text.values(), symbols.symbols, smoothing=args.smoothing)
    lm.save_arpa(args.arpa)
    log.info("wrote %s: perplexity %.2f on its training text", args.arpa, lm.perplexity(text.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
