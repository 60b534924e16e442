"""Translate a text file (one sentence per line) with a trained attention encoder-decoder.

    python -m toolkit.bin.translate --exp exp/seq2seq_gru_deu-eng --decode seq2seq_beam --beam-size 5 \\
        data/test/text.deu exp/seq2seq_gru_deu-eng/decode_test/hyp.eng \\
        [--summary decode.json] [--attention-out attention.jsonl] [--plot-attention 1,7]
    echo "Der Hund schläft." | python -m toolkit.bin.translate --exp exp/seq2seq_gru_deu-eng - -

Output: one detokenised translation per input line (an empty line stays empty), in input order.
Sentences are decoded in length-sorted batches (--max-tokens / --max-sentences; --max-sentences 1
decodes one sentence at a time). --decode names conf/decode/<name>.yaml (or a yaml file); the
options below override its values. --summary writes the settings, timing and sentences per second
as JSON; --attention-out dumps every sentence's source/output pieces and attention matrix (JSON
lines, with p_gen per step for a copying model); --plot-attention saves heatmaps (attention_<line>.png)
of the given 1-based input lines, with a p_gen strip (generate vs copy) for a copying model.
"""
import argparse
import json
import logging
import sys
import time
from pathlib import Path

import torch

from toolkit.data.parallel_text import read_lines
from toolkit.decoding.attention_plot import plot_attention
from toolkit.decoding.translation import Translator, search_from_config
from toolkit.utils.atomic import atomic_write
from toolkit.utils.log import setup_logging

log = logging.getLogger("translate")


def line_numbers(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exp", required=True, help="experiment dir (config.yaml, lang/, checkpoints)")
    p.add_argument("--checkpoint", default="best", choices=["best", "last"])
    p.add_argument("--decode", default="seq2seq_beam", help="conf/decode/<name>.yaml or a yaml file")
    p.add_argument("--beam-size", type=int, help="hypotheses kept per sentence (beam search)")
    p.add_argument("--nbest", type=int, help="hypotheses returned per sentence (the best one is written)")
    p.add_argument("--length-penalty", choices=["none", "average", "gnmt"], help="length penalty kind")
    p.add_argument("--alpha", type=float, help="length penalty exponent")
    p.add_argument("--max-len-a", type=float, help="max output length = a * source length + b")
    p.add_argument("--max-len-b", type=int)
    p.add_argument("--min-len", type=int, help="shortest output (pieces) before </s> is allowed")
    p.add_argument("--no-repeat-ngram-size", type=int, help="never repeat an n-gram of this size (0: off)")
    p.add_argument("--max-tokens", type=int, default=4000, help="padded source pieces per batch")
    p.add_argument("--max-sentences", type=int, default=128, help="sentences per batch")
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--summary", help="write settings and timing (JSON) here")
    p.add_argument("--attention-out", help="dump pieces and attention of every sentence here (JSON lines)")
    p.add_argument("--plot-attention", type=line_numbers, default=[],
                   help="comma-separated 1-based input lines to plot as attention_<line>.png")
    p.add_argument("--plot-dir", help="where the heatmaps go (default: the output file's dir)")
    p.add_argument("input", help="source text, one sentence per line ('-': stdin)")
    p.add_argument("output", help="translations ('-': stdout)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    try:
        search = search_from_config(args.decode, beam_size=args.beam_size, nbest=args.nbest,
                                    max_len_a=args.max_len_a, max_len_b=args.max_len_b, min_len=args.min_len,
                                    no_repeat_ngram_size=args.no_repeat_ngram_size,
                                    length_penalty=args.length_penalty, alpha=args.alpha)
        sentences = read_lines("<stdin>", sys.stdin.buffer) if args.input == "-" else read_lines(args.input)
        translator = Translator(args.exp, args.checkpoint, args.device)
    except (ValueError, FileNotFoundError) as e:
        log.error("%s", e)
        return 1
    for n in args.plot_attention:
        if not 1 <= n <= len(sentences):
            log.error("--plot-attention %d: %s has %d lines", n, args.input, len(sentences))
            return 1

    start = time.perf_counter()
    results = translator.translate(sentences, search, max_tokens=args.max_tokens,
                                   max_sentences=args.max_sentences, progress=True)
    seconds = time.perf_counter() - start
    text = "".join(r.text + "\n" for r in results)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with atomic_write(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    n_out = sum(len(r.pieces) + 1 for r in results if r.src_pieces)
    log.info("translated %d sentences in %.2f s (%.1f sentences/s, %.0f output pieces/s) with %r",
             len(sentences), seconds, len(sentences) / max(seconds, 1e-9), n_out / max(seconds, 1e-9), search)

    if args.attention_out:
        with atomic_write(args.attention_out, "w", encoding="utf-8") as f:
            for line, r in enumerate(results, 1):
                record = {"line": line, "src_pieces": r.src_pieces, "out_pieces": r.pieces,
                          "attention": [[round(x, 5) for x in row] for row in r.attention.tolist()]}
                if r.p_gen is not None:
                    record["p_gen"] = [round(x, 5) for x in r.p_gen]
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
    plot_dir = Path(args.plot_dir or (Path(args.output).parent if args.output != "-" else "."))
    for n in args.plot_attention:
        r = results[n - 1]
        if not r.src_pieces:
            log.warning("line %d of %s is empty: no attention to plot", n, args.input)
            continue
        path = plot_dir / f"attention_{n}.png"
        plot_attention(r.attention, r.src_pieces, r.pieces, path, title=f"{sentences[n - 1]}\n-> {r.text}",
                       p_gen=r.p_gen)
        log.info("attention of line %d plotted in %s", n, path)
    if args.summary:
        summary = {"exp": args.exp, "checkpoint": args.checkpoint, "epoch": translator.epoch, "input": args.input,
                   "output": args.output, "search": repr(search), "decode": args.decode,
                   "max_tokens": args.max_tokens, "max_sentences": args.max_sentences,
                   "threads": torch.get_num_threads(), "sentences": len(sentences), "seconds": round(seconds, 3),
                   "sentences_per_s": round(len(sentences) / max(seconds, 1e-9), 2)}
        with atomic_write(args.summary, "w", encoding="utf-8") as f:
            f.write(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
