"""Speed-perturbed copies of a data dir, combined into one (Kaldi's perturb_data_dir_speed_3way.sh):
`python -m toolkit.bin.perturb_speed data/train data/train_sp --factors 0.9,1.0,1.1`.

Copies at factor f != 1 get `sp<f>-` prefixed utterance, speaker and recording ids, audio read through
`python -m toolkit.bin.speed_audio --factor f ... |` entries, and times (segments, utt2dur, phones.ctm)
divided by f. Features and CMVN are not copied: run the feature stage on the new dir.
"""
import argparse
import sys

from toolkit.data.datadir import DataDirError, validate_data_dir
from toolkit.data.speed_perturb import speed_perturb_data_dir
from toolkit.utils.log import setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--factors", default="0.9,1.0,1.1", help="comma-separated speed factors")
    parser.add_argument("src_dir")
    parser.add_argument("dst_dir")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        factors = [float(f) for f in args.factors.split(",")]
    except ValueError:
        parser.error(f"--factors must be comma-separated numbers, got {args.factors!r}")
    try:
        speed_perturb_data_dir(args.src_dir, args.dst_dir, factors)
    except (DataDirError, ValueError) as e:
        print(f"perturb_speed: {e}", file=sys.stderr)
        return 1
    problems = validate_data_dir(args.dst_dir)
    for p in problems:
        print(f"perturb_speed: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
