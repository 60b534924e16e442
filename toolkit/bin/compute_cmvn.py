"""Accumulate Kaldi CMVN stats over a dump dir's feats.scp.

    python -m toolkit.bin.compute_cmvn dump/fbank/train            # cmvn.ark/cmvn.scp per speaker
    python -m toolkit.bin.compute_cmvn --global dump/fbank/train   # global_cmvn.ark (training data only)
"""
import argparse
import sys

from toolkit.features.extract import compute_cmvn_stats
from toolkit.utils.cli import entry_point
from toolkit.utils.log import setup_logging


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--global", dest="global_stats", action="store_true",
                        help="one global matrix (global_cmvn.ark) instead of per-speaker stats")
    parser.add_argument("dump_dir")
    args = parser.parse_args(argv)
    setup_logging()
    compute_cmvn_stats(args.dump_dir, per_speaker=not args.global_stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
