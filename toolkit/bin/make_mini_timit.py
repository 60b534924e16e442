"""Generate the synthetic TIMIT-format corpus (mini TIMIT) with espeak-ng.

    python -m toolkit.bin.make_mini_timit --out data/mini_timit [--size default|tiny] [--seed 0]
                                          [--lowercase] [--nj 2]

Does nothing when --out already holds a complete corpus made with the same settings.
"""
import argparse
import logging
import os
import sys

from toolkit.synth.mini_timit import SIZES, make_mini_timit
from toolkit.utils.cli import entry_point
from toolkit.utils.log import setup_logging

log = logging.getLogger(__name__)


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output directory (TIMIT layout)")
    parser.add_argument("--size", default="default", choices=sorted(SIZES),
                        help="number of speakers: default (48 train, 8 dev, 8 core test, 2 other) "
                             "or tiny (8, 2, 2, 1)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same bytes")
    parser.add_argument("--lowercase", action="store_true", help="all-lower-case paths (train/dr1/...)")
    parser.add_argument("--nj", type=int, default=min(4, os.cpu_count() or 1),
                        help="parallel synthesis processes (default: min(4, CPU count))")
    args = parser.parse_args(argv)
    setup_logging()
    summary = make_mini_timit(args.out, size=args.size, seed=args.seed, lowercase=args.lowercase,
                              n_jobs=args.nj)
    log.info("%s: %d speakers, %d utterances, %.2f hours (%s)", summary.out_dir, summary.speakers,
             summary.utterances, summary.seconds / 3600,
             f"generated in {summary.wall_seconds:.1f} s" if summary.generated else "already complete")


if __name__ == "__main__":
    sys.exit(main())
