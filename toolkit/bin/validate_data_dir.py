"""Check a Kaldi data dir: `python -m toolkit.bin.validate_data_dir [--need-text] data/train`.

Prints every problem (file and line, or the utterance) and exits with status 1 if there is any.
"""
import argparse
import sys

from toolkit.data.datadir import validate_data_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--need-text", action="store_true", help="a transcript file `text` is required")
    parser.add_argument("--no-audio", action="store_true", help="neither wav.scp nor feats.scp is required")
    parser.add_argument("data_dir")
    args = parser.parse_args(argv)
    problems = validate_data_dir(args.data_dir, need_text=args.need_text, need_audio=not args.no_audio)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{args.data_dir}: {len(problems)} problem(s); `python -m toolkit.bin.fix_data_dir "
              f"{args.data_dir}` repairs id mismatches and sorting", file=sys.stderr)
        return 1
    print(f"{args.data_dir}: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
