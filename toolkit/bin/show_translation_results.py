"""Print the translation results of every experiment under a dir as one Markdown table.

    python -m toolkit.bin.show_translation_results exp

Reads ``<exp>/<name>/decode_<set>/score.json`` (toolkit.bin.score_translation) and, when present,
``decode.json`` (toolkit.bin.translate --summary: decoding speed), the experiment's
``history.json`` (epochs, training time, training target tokens per second) and ``model.json``.
"""
import argparse
import json
import sys
from pathlib import Path

from toolkit.utils.experiments import training_summary


def _load(path: Path) -> dict | list | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def collect(root: Path) -> list[dict]:
    rows = []
    for result in sorted(root.glob("*/decode_*/score.json")):
        decode, exp = result.parent, result.parent.parent
        score = _load(result)
        summary = _load(decode / "decode.json") or {}
        training = training_summary(exp)
        rows.append({
            "exp": exp.name, "set": decode.name.removeprefix("decode_"), **training,
            "tok_s": training["items_per_s"],
            "search": summary.get("search", "").split("(")[0],
            "sent_s": f"{summary['sentences_per_s']:.1f}" if "sentences_per_s" in summary else "",
            "bleu": score["bleu"], "chrf": score["chrf"], "n": score["sentences"],
            "signature": score["bleu_signature"]})
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| experiment | set | params | epochs | train min | train tok/s | search | sent/s | BLEU | chrF "
             "| sentences |", "|" + "---|" * 11]
    for r in rows:
        lines.append(f"| {r['exp']} | {r['set']} | {r['params']} | {r['epochs']} | {r['train_min']} | {r['tok_s']} | "
                     f"{r['search']} | {r['sent_s']} | **{r['bleu']:.2f}** | {r['chrf']:.2f} | {r['n']} |")
    signatures = sorted({r["signature"] for r in rows})
    return "\n".join(lines + [""] + [f"BLEU signature: {s}" for s in signatures])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("exp_root", nargs="?", default="exp")
    args = parser.parse_args(argv)
    rows = collect(Path(args.exp_root))
    if not rows:
        print(f"no scored decodes under {args.exp_root}/*/decode_*/score.json", file=sys.stderr)
        return 1
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
