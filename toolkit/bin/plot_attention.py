"""Plot the attention of one translated sentence as a heatmap (source pieces x output pieces).

    python -m toolkit.bin.translate --exp EXP --attention-out attn.jsonl data/test/text.deu hyp.eng
    python -m toolkit.bin.plot_attention --attention attn.jsonl --line 7 --out attention_7.png

    # or translate one sentence and plot it directly
    python -m toolkit.bin.plot_attention --exp EXP --sentence "Der Hund schläft im Garten." --out a.png
"""
import argparse
import logging
import sys

from toolkit.decoding.attention_plot import plot_attention, read_attention_dump
from toolkit.utils.log import setup_logging

log = logging.getLogger("plot_attention")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--attention", help="attention dump of toolkit.bin.translate --attention-out")
    source.add_argument("--exp", help="experiment dir: translate --sentence with its best checkpoint")
    p.add_argument("--line", type=int, default=1, help="1-based input line of the dump to plot")
    p.add_argument("--sentence", help="source sentence to translate (with --exp)")
    p.add_argument("--decode", default="seq2seq_beam", help="conf/decode/<name>.yaml (with --exp)")
    p.add_argument("--out", required=True, help="image file (.png, .pdf, .svg)")
    args = p.parse_args(argv)
    setup_logging()
    if args.exp and not args.sentence:
        p.error("--exp needs --sentence")
    try:
        if args.attention:
            record = read_attention_dump(args.attention, args.line)
            src, out, weights = record["src_pieces"], record["out_pieces"], record["attention"]
            p_gen = record.get("p_gen")
            title = f"{args.attention}, line {args.line}"
        else:
            from toolkit.decoding.translation import Translator, search_from_config
            result = Translator(args.exp).translate([args.sentence], search_from_config(args.decode))[0]
            src, out, weights, p_gen = result.src_pieces, result.pieces, result.attention, result.p_gen
            title = f"{args.sentence}\n-> {result.text}"
        plot_attention(weights, src, out, args.out, title=title, p_gen=p_gen)
    except (ValueError, FileNotFoundError) as e:
        log.error("%s", e)
        return 1
    log.info("attention plotted in %s", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
