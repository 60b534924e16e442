"""Print the experiment dir or feature dump dir a recipe's options name (toolkit/utils/naming.py),
so the shell scripts never rebuild the names themselves:

    python -m toolkit.bin.names exp --model dnn --frontend mfcc -- optim.lr=5e-4     # exp/dnn_mfcc_optim.lr=5e-4
    python -m toolkit.bin.names feats --frontend fbank -- frontend.num_mel_bins=30   # dump/fbank_frontend.num_...
    python -m toolkit.bin.names translation --model seq2seq_gru --src deu --tgt eng  # exp/seq2seq_gru_deu-eng

Trailing arguments are the Hydra overrides of the run; those that do not name the dir are left out.
"""
import argparse
import sys

from toolkit.utils import naming


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    kinds = p.add_subparsers(dest="kind", required=True)
    exp = kinds.add_parser("exp", help="ASR experiment dir: exp/<model>_<frontend>[_<overrides>]")
    exp.add_argument("--model", required=True)
    exp.add_argument("--frontend", required=True)
    exp.add_argument("--tag", default="", help="suffix naming the dir instead of the overrides (empty: the overrides)")
    exp.add_argument("overrides", nargs="*")
    feats = kinds.add_parser("feats", help="feature dump dir: dump/<frontend>[_<frontend overrides>]")
    feats.add_argument("--frontend", required=True)
    feats.add_argument("overrides", nargs="*")
    mt = kinds.add_parser("translation", help="translation experiment dir: exp/<model>_<src>-<tgt><tag>")
    mt.add_argument("--model", required=True)
    mt.add_argument("--src", required=True)
    mt.add_argument("--tgt", required=True)
    mt.add_argument("--tag", default="")
    args = p.parse_args(argv)
    try:
        if args.kind == "exp":
            name = naming.asr_exp_dir(args.model, args.frontend, args.overrides, args.tag or None)
        elif args.kind == "feats":
            name = naming.feats_dir(args.frontend, args.overrides)
        else:
            name = naming.translation_exp_dir(args.model, args.src, args.tgt, args.tag)
    except ValueError as e:
        print(f"names: {e}", file=sys.stderr)
        return 1
    print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
