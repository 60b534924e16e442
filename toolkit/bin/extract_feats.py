"""Compute features of a data dir into a dump dir (ark/scp), in parallel jobs.

    python -m toolkit.bin.extract_feats --frontend fbank --nj 4 data/train dump/fbank/train \\
        [frontend.num_mel_bins=80 ...]

--frontend names a config of the frontend group (conf/frontend/<name>.yaml, or <config-dir>/frontend/
<name>.yaml), the node that selects the frontend in training configs: a `_target_` and constructor
kwargs. It is composed with Hydra, as `python -m toolkit.bin.train frontend=<name>` does, with the
trailing `frontend.key=value` overrides. The resolved node is saved as `<dump_dir>/frontend.yaml`, so
training can check that the features it reads are the ones its config describes.
"""
import argparse
import logging
import sys
from pathlib import Path

from hydra.errors import HydraException
from hydra.utils import instantiate
from omegaconf import OmegaConf

from toolkit.features.extract import extract_features
from toolkit.utils.cli import entry_point
from toolkit.utils.config import compose_config
from toolkit.utils.log import setup_logging

log = logging.getLogger(__name__)


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frontend", required=True, help="frontend config name (e.g. fbank, mfcc, gammatone)")
    parser.add_argument("--config-dir", help="dir searched before the toolkit's conf/ (your own frontend/<name>.yaml)")
    parser.add_argument("--nj", type=int, default=1, help="number of parallel jobs")
    parser.add_argument("--batch-size", type=int, default=16, help="utterances per frontend call")
    parser.add_argument("--device", default="cpu", help="torch device for the frontend (e.g. cuda)")
    parser.add_argument("data_dir")
    parser.add_argument("dump_dir")
    parser.add_argument("overrides", nargs="*", help="frontend.key=value overrides (Hydra syntax)")
    args = parser.parse_args(argv)
    setup_logging()
    if args.frontend.endswith((".yaml", ".yml")) or "/" in args.frontend:
        parser.error(f"--frontend {args.frontend}: give a config name such as fbank (for your own YAML file, "
                     "put it in DIR/frontend/<name>.yaml and add --config-dir DIR)")
    bad = [o for o in args.overrides if not o.lstrip("+~").startswith("frontend.")]
    if bad:
        parser.error(f"overrides must change the frontend (frontend.key=value), got {bad[0]!r}")
    try:
        config = compose_config([f"+frontend={args.frontend}", *args.overrides], config_dir=args.config_dir).frontend
    except HydraException as e:
        parser.error(f"--frontend {args.frontend}: {e}")
    frontend = instantiate(config)
    log.info("frontend %s: %s", args.frontend, frontend)
    extract_features(args.data_dir, args.dump_dir, frontend, nj=args.nj, batch_size=args.batch_size,
                     device=args.device)
    OmegaConf.save(config, Path(args.dump_dir) / "frontend.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
