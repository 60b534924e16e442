"""Plot a filterbank frontend's filters: learned (from an experiment's checkpoint) against their initialisation.

    python -m toolkit.bin.plot_filters exp/dnn_gammatone                # -> exp/dnn_gammatone/filters.png
    python -m toolkit.bin.plot_filters exp/dnn_learnable_mel --checkpoint last
    python -m toolkit.bin.plot_filters gammatone --out gt.png frontend.init=random

The source is an experiment dir (its `config.yaml`, written by toolkit.bin.train, and checkpoint) or
the name of a frontend config (conf/frontend/<name>.yaml, or <config-dir>/frontend/<name>.yaml), whose
initial filters are drawn. Trailing `frontend.key=value` overrides (Hydra syntax) change the frontend;
the configs are composed with Hydra, as toolkit.bin.train does.
"""
import argparse
import logging
import sys
from pathlib import Path

from hydra.errors import HydraException

from toolkit.models.frontend_plots import plot_frontend_filters
from toolkit.utils.config import compose_config
from toolkit.utils.log import setup_logging

log = logging.getLogger("plot_filters")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", help="experiment dir (config.yaml + checkpoint) or a frontend config name")
    p.add_argument("--out", help="image file (default: <exp_dir>/filters.png, or ./filters.png for a config name)")
    p.add_argument("--checkpoint", default="best", choices=("best", "last", "none"),
                   help="which checkpoint holds the learned filters (none: initialisation only)")
    p.add_argument("--config-dir", help="dir searched before the toolkit's conf/ (your own frontend/<name>.yaml)")
    p.add_argument("overrides", nargs="*", help="frontend.key=value overrides of the frontend node")
    args = p.parse_intermixed_args(argv)
    setup_logging()
    bad = [o for o in args.overrides if not o.lstrip("+~").startswith("frontend.")]
    if bad:
        p.error(f"overrides must change the frontend (frontend.key=value), got {bad[0]!r}")
    source, label = Path(args.source), " ".join([args.source, *args.overrides])
    try:
        if source.is_dir():
            if not (source / "config.yaml").is_file():
                raise FileNotFoundError(f"{source / 'config.yaml'}: no such config (is {source} an experiment dir?)")
            node = compose_config(args.overrides, "config", config_dir=source).get("frontend")
            if node is None or "_target_" not in node:
                raise ValueError(f"{source / 'config.yaml'}: no frontend node with a _target_ (an ASR experiment?)")
            out = source / "filters.png" if args.out is None else args.out
            path = plot_frontend_filters(node, out, source, args.checkpoint, label)
        else:
            if args.source.endswith((".yaml", ".yml")) or "/" in args.source:
                raise FileNotFoundError(f"{source}: no such experiment dir (or give a frontend config name such "
                                        "as gammatone; your own YAML file: DIR/frontend/<name>.yaml --config-dir DIR)")
            node = compose_config([f"+frontend={args.source}", *args.overrides], config_dir=args.config_dir).frontend
            path = plot_frontend_filters(node, args.out or "filters.png", label=label)
    except (ValueError, FileNotFoundError, HydraException) as e:
        log.error("%s", e)
        return 1
    log.info("filters plotted in %s", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
