"""Accumulate Kaldi CMVN stats over a dump dir's feats.scp.

    python -m toolkit.bin.compute_cmvn dump/fbank/train            # cmvn.ark/cmvn.scp per speaker
    python -m toolkit.bin.compute_cmvn --global dump/fbank/train   # global_cmvn.ark (training data only)

The stats get a fingerprint (`.fingerprint.cmvn.json`: feats.scp, its archives, utt2spk): a rerun on the
same features does nothing.
"""
import argparse
import logging
import sys
from pathlib import Path

from toolkit.data.inputs import scp_archives
from toolkit.utils import fingerprint
from toolkit.utils.cli import entry_point
from toolkit.utils.log import setup_logging

log = logging.getLogger(__name__)


def cmvn_fingerprint(dump_dir: Path, per_speaker: bool) -> dict:
    files = {name: dump_dir / name for name in ("feats.scp", "utt2spk")}
    files.update({str(ark): ark for ark in scp_archives(dump_dir / "feats.scp")})
    return fingerprint.fingerprint(files, {"per_speaker": per_speaker})


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--global", dest="global_stats", action="store_true",
                        help="one global matrix (global_cmvn.ark) instead of per-speaker stats")
    parser.add_argument("dump_dir")
    args = parser.parse_args(argv)
    setup_logging()
    dump_dir = Path(args.dump_dir)
    if not (dump_dir / "feats.scp").is_file():
        raise FileNotFoundError(f"{dump_dir / 'feats.scp'}: not found (run extract_feats first)")
    record = "global_cmvn" if args.global_stats else "cmvn"
    output = dump_dir / ("global_cmvn.ark" if args.global_stats else "cmvn.scp")
    fp = cmvn_fingerprint(dump_dir, per_speaker=not args.global_stats)
    if fingerprint.check(dump_dir, fp, record) == [] and output.is_file():
        log.info("%s is up to date (same features): nothing to do", output)
        return 0
    from toolkit.features.extract import compute_cmvn_stats   # torch: only when there is work to do

    fingerprint.remove(dump_dir, record)
    compute_cmvn_stats(dump_dir, per_speaker=not args.global_stats)
    fingerprint.write(dump_dir, fp, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
