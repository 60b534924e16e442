"""Print the summarization results of every experiment under a dir as one Markdown table, with the
prefix and whole-source baselines of each test set in the same table.

    python -m toolkit.bin.show_summarization_results exp

Reads ``<exp>/<name>/decode_<set>/rouge.json`` (toolkit.bin.score_summaries) and, when present,
``decode.json`` (decoding speed), ``history.json`` (training time and speed) and ``model.json``.
"""
import argparse
import json
import sys
from pathlib import Path

from toolkit.utils.experiments import training_summary

BASELINES = ("prefix-8", "prefix-10", "prefix-12", "source")


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def collect(root: Path) -> tuple[list[dict], dict[str, dict]]:
    """Model rows, and per test set its baselines (the first experiment's; they depend on the data only)."""
    rows, baselines = [], {}
    for result in sorted(root.glob("*/decode_*/rouge.json")):
        decode, exp = result.parent, result.parent.parent
        score, summary = _load(result), _load(decode / "decode.json")
        model = _load(exp / "model.json")
        name = decode.name.removeprefix("decode_")
        rows.append({"exp": exp.name, "set": name, **training_summary(exp),
                     "copy": "yes" if model.get("copy") else "no",
                     "sent_s": f"{summary['sentences_per_s']:.1f}" if "sentences_per_s" in summary else "",
                     **score["model"]})
        baselines.setdefault(name, {b: score[b] for b in BASELINES if b in score})
    return rows, baselines


def markdown(rows: list[dict], baselines: dict[str, dict]) -> str:
    lines = ["| system | set | copy | params | epochs | train min | train tok/s | sent/s | ROUGE-1 | ROUGE-2 "
             "| ROUGE-L | sentences |", "|" + "---|" * 12]
    for r in rows:
        lines.append(f"| {r['exp']} | {r['set']} | {r['copy']} | {r['params']} | {r['epochs']} | {r['train_min']} | "
                     f"{r['items_per_s']} | {r['sent_s']} | {r['rouge1']:.2f} | {r['rouge2']:.2f} | "
                     f"**{r['rougeL']:.2f}** | {r['sentences']} |")
    for name, table in baselines.items():
        for b, s in table.items():
            lines.append(f"| baseline: {b} | {name} | | | | | | | {s['rouge1']:.2f} | {s['rouge2']:.2f} | "
                         f"{s['rougeL']:.2f} | {s['sentences']} |")
    return "\n".join(lines + ["", "ROUGE F1 x 100, rouge-score with stemming; prefix-N: the first N source words"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("exp_root", nargs="?", default="exp")
    args = parser.parse_args(argv)
    rows, baselines = collect(Path(args.exp_root))
    if not rows:
        print(f"no scored decodes under {args.exp_root}/*/decode_*/rouge.json", file=sys.stderr)
        return 1
    print(markdown(rows, baselines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
