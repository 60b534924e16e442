"""Compute features of a data dir into a dump dir (ark/scp), in parallel jobs.

    python -m toolkit.bin.extract_feats --frontend fbank --nj 4 data/train dump/fbank/train \\
        [frontend.num_mel_bins=80 ...]

--frontend names a config of the frontend group (conf/frontend/<name>.yaml, or <config-dir>/frontend/
<name>.yaml), the node that selects the frontend in training configs: a `_target_` and constructor
kwargs. It is composed with Hydra, as `python -m toolkit.bin.train frontend=<name>` does, with the
trailing `frontend.key=value` overrides. The resolved node is saved as `<dump_dir>/frontend.yaml`, so
training can check that the features it reads are the ones its config describes, with a
`.fingerprint.json` of the data dir's files, its recordings (sizes, mtimes) and the frontend: a rerun
with the same inputs does nothing, one whose inputs changed extracts again (and says what changed).
"""
import argparse
import logging
import sys
from pathlib import Path

from hydra.errors import HydraException
from hydra.utils import instantiate
from omegaconf import OmegaConf

from toolkit.data.inputs import audio_files, data_dir_files
from toolkit.utils import fingerprint
from toolkit.utils.cli import entry_point
from toolkit.utils.config import compose_config, hydra_error_line
from toolkit.utils.log import setup_logging

log = logging.getLogger(__name__)


def features_fingerprint(data_dir: str | Path, frontend: dict) -> dict:
    """What the features of a data dir depend on: its files, its recordings and the frontend's settings
    (`trainable` aside: it says who computes the features, not what they are)."""
    frontend = {k: v for k, v in frontend.items() if k != "trainable"}
    return fingerprint.fingerprint(data_dir_files(data_dir), {"frontend": frontend,
                                                              "audio": fingerprint.stat_digest(audio_files(data_dir))})


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
        parser.error(f"--frontend {args.frontend}: {hydra_error_line(e)}")
    if not Path(args.data_dir).is_dir():
        raise FileNotFoundError(f"{args.data_dir}: no such data dir (prepare it first: the corpus recipe's stage 1, "
                                "or your own Kaldi data dir)")
    fp = features_fingerprint(args.data_dir, OmegaConf.to_container(config, resolve=True))
    changes = fingerprint.check(args.dump_dir, fp)
    if changes == [] and (Path(args.dump_dir) / "feats.scp").is_file():
        log.info("%s is up to date (same data, recordings and frontend settings): nothing to do", args.dump_dir)
        return 0
    if changes:
        log.info("%s: its inputs changed since it was extracted from %s (%s): extracting again", args.dump_dir,
                 args.data_dir, fingerprint.summary(changes))
    elif changes is None and (Path(args.dump_dir) / "feats.scp").is_file():
        log.info("%s: no record of what its features were made from (an older toolkit or an interrupted run): "
                 "extracting again from %s", args.dump_dir, args.data_dir)
    from toolkit.features.extract import extract_features   # torch: only when there is work to do

    fingerprint.remove(args.dump_dir)
    frontend = instantiate(config)
    log.info("frontend %s: %s", args.frontend, frontend)
    extract_features(args.data_dir, args.dump_dir, frontend, nj=args.nj, batch_size=args.batch_size,
                     device=args.device)
    OmegaConf.save(config, Path(args.dump_dir) / "frontend.yaml")
    fingerprint.write(args.dump_dir, fp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
