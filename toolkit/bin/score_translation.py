"""Score detokenised translations with sacrebleu: corpus BLEU and chrF, signatures printed.

    python -m toolkit.bin.score_translation --ref data/test/text.eng \\
        --hyp exp/seq2seq_gru_deu-eng/decode_test/hyp.eng --out-dir exp/seq2seq_gru_deu-eng/decode_test

--ref may be repeated for several reference sets. Prints sacrebleu's BLEU and chrF lines with
their signatures; with --out-dir also writes ``scores.txt`` (the same lines) and ``score.json``
(the numbers, for `toolkit.bin.show_translation_results`). Exits with status 1 and a one-line
message naming the file on bad input (missing file, invalid UTF-8, line counts that differ).
"""
import argparse
import logging
import sys
from pathlib import Path

from toolkit.data.parallel_text import read_lines
from toolkit.scoring.bleu import score_translations, write_score_file
from toolkit.utils.atomic import write_json
from toolkit.utils.log import setup_logging

log = logging.getLogger("score_translation")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ref", action="append", required=True, help="reference file (repeat for more sets)")
    p.add_argument("--hyp", required=True, help="detokenised hypotheses, one per line")
    p.add_argument("--tokenize", default="13a", help="sacrebleu BLEU tokeniser (13a, intl, zh, none, ...)")
    p.add_argument("--lowercase", action="store_true")
    p.add_argument("--chrf-word-order", type=int, default=0, help="0: chrF, 2: chrF++")
    p.add_argument("--out-dir", help="write scores.txt and score.json here")
    args = p.parse_args(argv)
    setup_logging(logging.WARNING)
    try:
        hyps = read_lines(args.hyp)
        refs = [read_lines(r) for r in args.ref]
        for path, ref in zip(args.ref, refs):
            if len(ref) != len(hyps):
                raise ValueError(f"{args.hyp} has {len(hyps)} lines but {path} has {len(ref)}")
        score = score_translations(hyps, refs, tokenize=args.tokenize, lowercase=args.lowercase,
                                   chrf_word_order=args.chrf_word_order)
    except (ValueError, FileNotFoundError) as e:
        log.error("%s", e)
        return 1
    print(score.report(), end="")
    if args.out_dir:
        out = Path(args.out_dir)
        write_score_file(score, out / "scores.txt")
        write_json(out / "score.json", {"bleu": score.bleu, "chrf": score.chrf, "bleu_signature": score.bleu_signature,
                                        "chrf_signature": score.chrf_signature, "sentences": score.sentences,
                                        "hyp": args.hyp, "refs": args.ref})
    return 0


if __name__ == "__main__":
    sys.exit(main())
