"""Force-align a data dir's phone transcripts with a trained CTC model and write `phones.ctm`.

    python -m toolkit.bin.ctc_align --exp exp/bilstm_fbank [--blank-to previous|split] \\
        dump/fbank/train dump/fbank/train_ali

<out_dir> becomes a copy of <data_dir> (its tables point at the same feature archives) with
`phones.ctm` (the alignment) and `align.json` (settings and counts); utterances whose phones cannot
fit their frames are left out of it and counted. A frame cross-entropy model can then train on it:
`python -m toolkit.bin.train loss=frame_ce data.train=dump/fbank/train_ali data.dev=dump/fbank/dev_ali ...`.
Blank frames are attributed as `toolkit.decoding.ctc_align` documents.
"""
import argparse
import logging
import shutil
import sys
import time
from pathlib import Path

from toolkit.data.alignment import write_ctm
from toolkit.data.datadir import TABLES, DataDir
from toolkit.decoding.asr import TrainedAcousticModel
from toolkit.decoding.ctc_align import BLANK_MODES, align_data_dir
from toolkit.utils.atomic import write_json
from toolkit.utils.log import setup_logging

log = logging.getLogger("ctc_align")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exp", required=True, help="experiment dir of a CTC model (config.yaml, phones.txt, checkpoints)")
    parser.add_argument("--checkpoint", default="best", choices=["best", "last"])
    parser.add_argument("--blank-to", default="split", choices=BLANK_MODES,
                        help="blank frames between two phones: split between them, or all to the previous one")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("data_dir", help="data dir with features (or wav.scp) and phone transcripts in text")
    parser.add_argument("out_dir", help="aligned copy of data_dir (may be data_dir itself)")
    args = parser.parse_args(argv)
    setup_logging()
    start = time.time()
    model = TrainedAcousticModel(args.exp, args.checkpoint, args.device)
    result = align_data_dir(model, args.data_dir, blank_to=args.blank_to)
    src, out = Path(args.data_dir), Path(args.out_dir)
    data = DataDir.load(src)
    kept = data.subset(sorted(result.ctm))
    out.mkdir(parents=True, exist_ok=True)
    if out.resolve() != src.resolve():
        for path in src.iterdir():  # frontend.yaml and other plain files; the tables are rewritten below
            if path.is_file() and path.name not in (*TABLES, "spk2utt", "phones.ctm", "align.json"):
                shutil.copy2(path, out / path.name)
    kept.save(out)
    write_ctm(out / "phones.ctm", result.ctm)
    write_json(out / "align.json", {"exp": args.exp, "checkpoint": args.checkpoint, "data": args.data_dir,
                                    "blank_to": args.blank_to, "time_stride": result.stride,
                                    "aligned": len(result.ctm), "skipped": result.skipped})
    log.info("aligned %d utterances of %s with %s (time stride %d, blank frames: %s) into %s in %.1f s; "
             "%d skipped (more phones than frames)", len(result.ctm), src, args.exp, result.stride,
             args.blank_to, out, time.time() - start, len(result.skipped))
    return 0


if __name__ == "__main__":
    sys.exit(main())
