"""Plot a filterbank frontend's filters: learned (from an experiment's checkpoint) against their initialisation.

    python -m toolkit.bin.plot_filters exp/dnn_gammatone                # -> exp/dnn_gammatone/filters.png
    python -m toolkit.bin.plot_filters exp/dnn_learnable_mel --checkpoint last
    python -m toolkit.bin.plot_filters conf/frontend/gammatone.yaml --out gt.png frontend.init=random

An experiment dir needs `config.yaml` (written by toolkit.bin.train); without a checkpoint, or for a
YAML file (a full config or a conf/frontend/*.yaml node), only the initial filters are drawn.
Trailing `frontend.key=value` overrides change the frontend node.
"""
import argparse
import logging
import sys

from toolkit.models.frontend_plots import plot_experiment_filters
from toolkit.utils.config import frontend_overrides
from toolkit.utils.log import setup_logging

log = logging.getLogger("plot_filters")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", help="experiment dir (config.yaml + checkpoint) or a YAML config")
    p.add_argument("--out", help="image file (default: <exp_dir>/filters.png, or ./filters.png for a YAML file)")
    p.add_argument("--checkpoint", default="best", choices=("best", "last", "none"),
                   help="which checkpoint holds the learned filters (none: initialisation only)")
    p.add_argument("overrides", nargs="*", help="frontend.key=value overrides of the frontend node")
    args = p.parse_intermixed_args(argv)
    setup_logging()
    try:
        overrides = frontend_overrides(args.overrides)
    except ValueError as e:
        p.error(str(e))
    try:
        path = plot_experiment_filters(args.source, args.out, args.checkpoint, overrides)
    except (ValueError, FileNotFoundError) as e:
        log.error("%s", e)
        return 1
    log.info("filters plotted in %s", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
