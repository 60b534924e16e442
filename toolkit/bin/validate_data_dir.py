"""Check a Kaldi data dir: `python -m toolkit.bin.validate_data_dir [--need-text] [--lang data/lang] data/train`.

Prints every problem (file and line, or the utterance) and exits with status 1 if there is any.
Lists the shell commands that reading the audio would run (`wav.scp` lines ending in `|`);
`--no-pipes` (or TOOLKIT_NO_PIPES=1) makes each of them a problem.
"""
import argparse
import sys

from toolkit.data.audio import NO_PIPES_ENV, pipes_refused
from toolkit.data.datadir import shell_commands, validate_data_dir
from toolkit.utils.cli import entry_point


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--need-text", action="store_true", help="a transcript file `text` is required")
    parser.add_argument("--no-audio", action="store_true", help="neither wav.scp nor feats.scp is required")
    parser.add_argument("--no-pipes", action="store_true",
                        help=f"wav.scp commands (lines ending in '|') are problems (also: {NO_PIPES_ENV}=1)")
    parser.add_argument("--lang", help="lang dir (or phones.txt): every phone of text and phones.ctm must be in it")
    parser.add_argument("data_dir")
    args = parser.parse_args(argv)
    no_pipes = args.no_pipes or pipes_refused()
    problems = validate_data_dir(args.data_dir, need_text=args.need_text, need_audio=not args.no_audio,
                                 no_pipes=no_pipes, lang=args.lang)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{args.data_dir}: {len(problems)} problem(s); `python -m toolkit.bin.fix_data_dir "
              f"{args.data_dir}` repairs id mismatches and sorting", file=sys.stderr)
        return 1
    commands = shell_commands(args.data_dir)
    if commands:
        print(f"{args.data_dir}: reading the audio runs {len(commands)} shell command(s) from wav.scp "
              f"(refuse them with --no-pipes or {NO_PIPES_ENV}=1):")
        for where, command in commands:
            print(f"  {where}: {command}")
    print(f"{args.data_dir}: OK" + (f" (runs {len(commands)} command(s))" if commands else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
