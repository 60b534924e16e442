"""Score summaries (headlines) with ROUGE-1/2/L F1 (rouge-score, stemming on), next to the extractive
baselines computed on the same set: the first 8, 10 and 12 words of the source, and the whole source.

    python -m toolkit.bin.score_summaries --src data/test/text.article --ref data/test/text.title \\
        --hyp exp/seq2seq_gru_article-title_copy/decode_test/hyp.title --out-dir exp/.../decode_test

Prints one Markdown table (system rows: the model's output, then the baselines). With --out-dir also
writes ``rouge.json`` (the numbers, for `toolkit.bin.show_summarization_results`), ``rouge.txt`` (the
table) and ``side_by_side.txt`` (source / reference / output of every line). Exits with status 1 and a
one-line message naming the file on bad input (missing file, invalid UTF-8, line counts that differ).
"""
import argparse
import logging
import sys
from pathlib import Path

from toolkit.data.parallel_text import read_lines
from toolkit.scoring.rouge import baseline_table, markdown_table, score_summaries
from toolkit.utils.atomic import atomic_write, write_json
from toolkit.utils.log import setup_logging

log = logging.getLogger("score_summaries")


def side_by_side(sources: list[str], refs: list[str], hyps: list[str]) -> str:
    """Blocks of ``#n`` / ``SRC`` / ``REF`` / ``OUT`` lines, one per sentence."""
    return "".join(f"#{n}\nSRC: {s}\nREF: {r}\nOUT: {h}\n\n" for n, (s, r, h) in enumerate(zip(sources, refs, hyps), 1))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", required=True, help="source sentences (for the baselines and the side-by-side file)")
    p.add_argument("--ref", required=True, help="reference summaries, one per line")
    p.add_argument("--hyp", required=True, help="system summaries, one per line")
    p.add_argument("--no-stemmer", action="store_true", help="turn off rouge-score's Porter stemmer")
    p.add_argument("--out-dir", help="write rouge.json, rouge.txt and side_by_side.txt here")
    args = p.parse_args(argv)
    setup_logging(logging.WARNING)
    try:
        sources, refs, hyps = read_lines(args.src), read_lines(args.ref), read_lines(args.hyp)
        for path, lines in ((args.src, sources), (args.ref, refs)):
            if len(lines) != len(hyps):
                raise ValueError(f"{args.hyp} has {len(hyps)} lines but {path} has {len(lines)}")
        stem = not args.no_stemmer
        rows = {"model": score_summaries(hyps, refs, stemmer=stem), **baseline_table(sources, refs, stemmer=stem)}
    except (ValueError, FileNotFoundError) as e:
        log.error("%s", e)
        return 1
    table = markdown_table(rows) + f"\n\nROUGE F1 x 100 (rouge-score, stemmer={'on' if stem else 'off'})\n"
    print(table, end="")
    if args.out_dir:
        out = Path(args.out_dir)
        write_json(out / "rouge.json", {"stemmer": stem, "hyp": args.hyp, "ref": args.ref, "src": args.src,
                                        **{name: score.as_dict() for name, score in rows.items()}})
        with atomic_write(out / "rouge.txt", "w", encoding="utf-8") as f:
            f.write(table)
        with atomic_write(out / "side_by_side.txt", "w", encoding="utf-8") as f:
            f.write(side_by_side(sources, refs, hyps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
