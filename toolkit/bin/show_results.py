"""Print the results of every experiment under a dir as one Markdown table.

    python -m toolkit.bin.show_results exp
    python -m toolkit.bin.show_results exp --grid dev     # a sweep: models (rows) x frontends (columns)

Reads `<exp>/<name>/decode_<set>/scoring/result.json` (written by toolkit.bin.score) and, when
present, the experiment's `history.json` (epochs, training time) and `model.json` (parameters).
"""
import argparse
import json
import sys
from pathlib import Path

from toolkit.utils.experiments import training_summary


def collect(root: Path) -> list[dict]:
    rows = []
    for result in sorted(root.glob("*/decode_*/scoring/result.json")):
        exp, decode = result.parents[2], result.parents[1]
        r = json.loads(result.read_text())
        rows.append({"exp": exp.name, "set": decode.name.removeprefix("decode_"), **training_summary(exp),
                     "metric": r["metric"], "err": r["err"], "sub": 100 * r["sub"] / r["n"],
                     "del": 100 * r["del"] / r["n"], "ins": 100 * r["ins"] / r["n"], "n": r["n"]})
    return rows


def markdown(rows: list[dict]) -> str:
    head = "| experiment | set | params | epochs | train min | %s | sub | del | ins | ref tokens |" % rows[0]["metric"]
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        lines.append(f"| {r['exp']} | {r['set']} | {r['params']} | {r['epochs']} | {r['train_min']} | "
                     f"**{r['err']:.2f}** | {r['sub']:.1f} | {r['del']:.1f} | {r['ins']:.1f} | {r['n']} |")
    return "\n".join(lines)


def grid(rows: list[dict], subset: str) -> str:
    """The error rates of one set as a models x frontends table. An experiment `<model>_<rest>` (as
    the recipes name them: `bilstm_fbank`, `dnn_learnable_mel_optim.lr=0.002`) is row <model>,
    column <rest>; a missing pair is left empty."""
    cells = {tuple(r["exp"].split("_", 1)) if "_" in r["exp"] else (r["exp"], ""): r["err"]
             for r in rows if r["set"] == subset}
    if not cells:
        raise ValueError(f"no scored decodes of set '{subset}'")
    models = sorted({m for m, _ in cells})
    columns = sorted({c for _, c in cells})
    lines = [f"| {rows[0]['metric']} on {subset} | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for m in models:
        lines.append(f"| {m} | " + " | ".join(f"{cells[m, c]:.2f}" if (m, c) in cells else "" for c in columns) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("exp_root", nargs="?", default="exp")
    parser.add_argument("--grid", metavar="SET", help="print the error rates of SET as a models x frontends table")
    args = parser.parse_args(argv)
    rows = collect(Path(args.exp_root))
    if not rows:
        print(f"no scored decodes under {args.exp_root}/*/decode_*/scoring", file=sys.stderr)
        return 1
    if args.grid:
        try:
            print(grid(rows, args.grid))
        except ValueError as e:
            print(f"{args.exp_root}: {e}", file=sys.stderr)
            return 1
    else:
        print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
