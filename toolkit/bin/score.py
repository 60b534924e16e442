"""Score a hypothesis transcript against a reference (PER/WER/CER) and write an sclite-style report.

    python -m toolkit.bin.score --ref data/test/text --hyp exp/x/decode_test/hyp.txt \\
        [--utt2spk data/test/utt2spk] [--map data/lang/phones.48-39.map] \\
        --out-dir exp/x/decode_test/scoring

`--ref`/`--hyp` are Kaldi `text` files (`utt tok tok ...`); `--map` is a two-column `from to` file
applied to both sides (a line with only `from` deletes that token). Prints the summary table, the
Kaldi-style `%PER ...` line and the most frequent confusions; the files are described in
`toolkit.scoring.per`. Exits with status 1 and a one-line message on bad input.
"""
import argparse
import logging
import sys

from toolkit.scoring.per import read_token_map, read_transcripts, read_utt2spk, score
from toolkit.utils.log import setup_logging

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ref", required=True, help="reference transcripts, Kaldi text format")
    p.add_argument("--hyp", required=True, help="hypothesis transcripts, Kaldi text format")
    p.add_argument("--utt2spk", help="utt2spk file for per-speaker rows")
    p.add_argument("--map", help="token map 'from [to]' applied before scoring (e.g. 48->39 phones)")
    p.add_argument("--out-dir", required=True, help="directory for the report files")
    p.add_argument("--metric", default="PER", help="name of the error rate in the report (default PER)")
    p.add_argument("--only-common", action="store_true",
                   help="score the utterances in both files instead of failing on a mismatch")
    p.add_argument("--top", type=int, default=10, help="confusions to print (default 10)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging()
    try:  # the readers' errors name file and line
        refs, hyps = read_transcripts(args.ref), read_transcripts(args.hyp)
        utt2spk = read_utt2spk(args.utt2spk) if args.utt2spk else None
        token_map = read_token_map(args.map) if args.map else None
    except (ValueError, FileNotFoundError) as e:
        log.error("%s", e)
        return 1
    try:  # score's errors name the utterance; add the files it came from
        report = score(refs, hyps, utt2spk=utt2spk, token_map=token_map, only_common=args.only_common)
    except ValueError as e:
        inputs = f"ref {args.ref}, hyp {args.hyp}" + (f", map {args.map}" if args.map else "") + \
            (f", utt2spk {args.utt2spk}" if args.utt2spk else "")
        log.error("%s (%s)", e, inputs)
        return 1
    report.write(args.out_dir, metric=args.metric, title=args.hyp)
    print(report.summary_table(title=args.hyp))
    print(report.summary_line(args.metric))
    print()
    print(report.confusions_text(args.top), end="")
    log.info("%s written to %s", args.metric, args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
