"""TIMIT data preparation: `python -m toolkit.bin.prepare_timit --timit /path/to/TIMIT --out data`.

Writes Kaldi data dirs `train`, `dev`, `test` (standard protocol, SA excluded, 48 phones, with
`phones.ctm` alignments) and `lang` (phones.txt, score.map for the 48 -> 39 fold).
"""
import argparse
import logging
import sys

from toolkit.corpora.timit import prepare_timit
from toolkit.utils.cli import entry_point
from toolkit.utils.log import setup_logging

log = logging.getLogger("prepare_timit")


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timit", required=True, help="TIMIT root in the LDC layout (TRAIN/ TEST/, any case)")
    parser.add_argument("--out", required=True, help="output dir for data dirs train/ dev/ test/ lang/")
    args = parser.parse_args(argv)
    setup_logging()
    counts = prepare_timit(args.timit, args.out)
    for name, (spk, utts) in counts.items():
        log.info("%-5s %4d speakers %5d utterances -> %s/%s", name, spk, utts, args.out, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
