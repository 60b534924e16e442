"""TIMIT data preparation: `python -m toolkit.bin.prepare_timit --timit /path/to/TIMIT --out data`.

Writes Kaldi data dirs `train`, `dev`, `test` (standard protocol, SA excluded, 48 phones, with
`phones.ctm` alignments) and `lang` (phones.txt, score.map for the 48 -> 39 fold), each with a
`.fingerprint.json` of the corpus it came from: a rerun on the same corpus does nothing, one on
another or a changed corpus prepares the data again (and says so).
"""
import argparse
import logging
import sys
from pathlib import Path

from toolkit.corpora.timit import corpus_fingerprint, prepare_timit
from toolkit.utils import fingerprint
from toolkit.utils.cli import entry_point
from toolkit.utils.log import setup_logging

log = logging.getLogger("prepare_timit")

OUTPUTS = ("train", "dev", "test", "lang")


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timit", required=True, help="TIMIT root in the LDC layout (TRAIN/ TEST/, any case)")
    parser.add_argument("--out", required=True, help="output dir for data dirs train/ dev/ test/ lang/")
    args = parser.parse_args(argv)
    setup_logging()
    fp = corpus_fingerprint(args.timit)
    outputs = [Path(args.out) / name for name in OUTPUTS]
    changes = [fingerprint.check(out, fp) for out in outputs]
    if all(c == [] for c in changes):
        log.info("%s is up to date (prepared from the same corpus files of %s): nothing to do", args.out, args.timit)
        return 0
    if any(changes):
        changed = sorted({c for cs in changes if cs for c in cs})
        log.info("the corpus changed since %s was prepared (%s): preparing it again", args.out,
                 fingerprint.summary(changed))
    for out in outputs:
        fingerprint.remove(out)
    counts = prepare_timit(args.timit, args.out)
    for out in outputs:
        fingerprint.write(out, fp)
    for name, (spk, utts) in counts.items():
        log.info("%-5s %4d speakers %5d utterances -> %s/%s", name, spk, utts, args.out, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
