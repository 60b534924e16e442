"""Average an experiment's kept epoch weights into `checkpoint_avg.pt`:
`python -m toolkit.bin.average_checkpoints --exp exp/bilstm_fbank --n 5 --by best`.

`--by best`: the n epochs with the best dev metric; `--by last`: the n final epochs. Training must have
kept them (`trainer.keep_epochs=N`, N >= n). Decode the result with `toolkit.bin.decode --checkpoint avg`.
"""
import argparse
import sys

from toolkit.training.averaging import BY, average_experiment
from toolkit.utils.log import setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exp", required=True, help="experiment dir holding epoch_<n>.pt files")
    parser.add_argument("--n", type=int, default=5, help="epochs to average")
    parser.add_argument("--by", default="best", choices=BY, help="best: by dev metric; last: the final n epochs")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        average_experiment(args.exp, args.n, args.by)
    except ValueError as e:
        print(f"average_checkpoints: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
