"""Generate the synthetic corpus in the speechocean762 layout (mini speechocean762) with espeak-ng.

    python -m toolkit.bin.make_mini_speechocean --out corpus/mini_speechocean [--seed 0] [--nj 2]

Does nothing when --out already holds a complete corpus made with the same settings.
"""
import argparse
import logging
import os

from toolkit.synth.mini_speechocean import SIZES, make_mini_speechocean
from toolkit.utils.log import setup_logging

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output directory (train/ test/ WAVE/ resource/)")
    parser.add_argument("--size", default="default", choices=sorted(SIZES))
    parser.add_argument("--seed", type=int, default=0, help="same seed, same bytes")
    parser.add_argument("--nj", type=int, default=min(4, os.cpu_count() or 1), help="parallel synthesis processes")
    args = parser.parse_args(argv)
    setup_logging()
    make_mini_speechocean(args.out, seed=args.seed, size=args.size, n_jobs=args.nj)


if __name__ == "__main__":
    main()
