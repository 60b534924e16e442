"""Compute features of a data dir into a dump dir (ark/scp), in parallel jobs.

    python -m toolkit.bin.extract_feats --frontend conf/frontend/fbank.yaml --nj 4 data/train dump/fbank/train \
        [frontend.num_mel_bins=80 ...]

The frontend YAML is a Hydra-instantiable node (`_target_` + constructor kwargs), the same file that
selects the frontend in training configs; trailing `frontend.key=value` overrides (Hydra syntax) are
applied to it. The resolved node is saved as `<dump_dir>/frontend.yaml`, so training can check that
the features it reads are the ones its config describes.
"""
import argparse
import logging
import sys
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import OmegaConf

from toolkit.features.extract import extract_features
from toolkit.utils.cli import entry_point
from toolkit.utils.config import frontend_overrides
from toolkit.utils.log import setup_logging

log = logging.getLogger(__name__)


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frontend", required=True, help="YAML node with _target_ (e.g. conf/frontend/fbank.yaml)")
    parser.add_argument("--nj", type=int, default=1, help="number of parallel jobs")
    parser.add_argument("--batch-size", type=int, default=16, help="utterances per frontend call")
    parser.add_argument("--device", default="cpu", help="torch device for the frontend (e.g. cuda)")
    parser.add_argument("data_dir")
    parser.add_argument("dump_dir")
    parser.add_argument("overrides", nargs="*", help="frontend.key=value overrides of the YAML")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        overrides = frontend_overrides(args.overrides)
    except ValueError as e:
        parser.error(str(e))
    config = OmegaConf.merge(OmegaConf.load(args.frontend), OmegaConf.from_dotlist(overrides))
    frontend = instantiate(config)
    log.info("frontend from %s: %s", args.frontend, frontend)
    extract_features(args.data_dir, args.dump_dir, frontend, nj=args.nj, batch_size=args.batch_size,
                     device=args.device)
    OmegaConf.save(config, Path(args.dump_dir) / "frontend.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
