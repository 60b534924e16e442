"""Repair a Kaldi data dir in place: `python -m toolkit.bin.fix_data_dir data/train`.

Keeps the utterances present in every table (with a non-empty transcript), sorts every file,
regenerates spk2utt; the original files are kept in `<dir>/.backup/` (`.backup.2/`, ... on later runs).
"""
import argparse
import sys

from toolkit.data.datadir import fix_data_dir, validate_data_dir
from toolkit.utils.cli import entry_point
from toolkit.utils.log import setup_logging


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir")
    args = parser.parse_args(argv)
    setup_logging()
    fix_data_dir(args.data_dir)
    remaining = validate_data_dir(args.data_dir)
    for p in remaining:
        print(f"still invalid: {p}", file=sys.stderr)
    return 1 if remaining else 0


if __name__ == "__main__":
    sys.exit(main())
