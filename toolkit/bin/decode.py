"""Decode data dirs with a trained acoustic model.

    python -m toolkit.bin.decode --exp exp/bilstm_fbank --lm data/lang/phone_bigram.arpa \\
        [--tune-on dump/fbank/dev] [--checkpoint best|last|avg] dump/fbank/test exp/bilstm_fbank/decode_test

Writes `<out>/hyp.txt` (one phone sequence per utterance, Kaldi `text` format) and
`<out>/decode.json` (the settings used, and the tuning grid with its dev PERs when tuned).
Features extracted with other frontend settings than the model's are refused; when the model's training
data changed since it was trained (its `.fingerprint.json`), decoding warns and decode.json says so.
"""
import argparse
import logging
import sys
import time
from pathlib import Path

import torch

from toolkit.data.datadir import DataDir, write_table
from toolkit.decoding.asr import METHODS, TrainedAcousticModel, default_method, load_lm_matrix, search, tune
from toolkit.models.checkpoint import CHOICES
from toolkit.utils import fingerprint
from toolkit.utils.cli import entry_point
from toolkit.utils.log import setup_logging
from toolkit.utils.atomic import write_json

log = logging.getLogger("decode")


def floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",")]


def changed_training_inputs(exp_dir: str | Path) -> list[str]:
    """The files the experiment's model was trained on that have changed since (none recorded: [])."""
    fp = fingerprint.load(exp_dir)
    return fingerprint.changed_files(fp) if fp else []


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exp", required=True, help="experiment dir (config.yaml, phones.txt, checkpoints)")
    parser.add_argument("--checkpoint", default="best", choices=list(CHOICES),
                        help="avg: checkpoint_avg.pt from toolkit.bin.average_checkpoints")
    parser.add_argument("--method", default="auto", choices=("auto",) + METHODS,
                        help="auto: viterbi for frame classifiers, ctc_beam for CTC models")
    parser.add_argument("--lm", help="phone bigram (ARPA) for viterbi (required) and ctc_beam (optional)")
    parser.add_argument("--beam-size", type=int, default=8, help="ctc_beam")
    parser.add_argument("--lm-weight", type=float, default=1.0)
    parser.add_argument("--insertion-penalty", type=float, default=0.0)
    parser.add_argument("--prior-scale", type=float, default=1.0, help="posterior / prior^scale (hybrid)")
    parser.add_argument("--min-duration", type=int, default=1, help="minimum frames per phone")
    parser.add_argument("--tune-on", help="dev data dir: pick lm weight and insertion penalty by its PER")
    parser.add_argument("--lm-weights", type=floats, default=[0.25, 0.5, 1.0, 2.0])
    parser.add_argument("--insertion-penalties", type=floats, default=[-2.0, 0.0, 2.0, 4.0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    parser.add_argument("data_dir")
    parser.add_argument("out_dir")
    args = parser.parse_args(argv)
    setup_logging()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    start = time.time()
    if not Path(args.data_dir).is_dir():
        raise FileNotFoundError(f"{args.data_dir}: no such dir (extract its features first: the recipe's stage 2 "
                                "with this set among --test-sets)")
    model = TrainedAcousticModel(args.exp, args.checkpoint, args.device)
    changed = changed_training_inputs(args.exp)
    if changed:
        log.warning("%s was trained on data that has changed since (%s): these are the old model's results on "
                    "the current data; retrain (the recipe's --stage 3) to match them", args.exp,
                    fingerprint.summary(changed))
    method = default_method(model) if args.method == "auto" else args.method
    if method == "viterbi" and not args.lm:
        parser.error("--method viterbi needs --lm (or use --method argmax)")
    lm = load_lm_matrix(args.lm, model.symbols) if args.lm and method in ("viterbi", "ctc_beam") else None
    settings = dict(method=method, prior_scale=args.prior_scale, min_duration=args.min_duration,
                    lm_weight=args.lm_weight, insertion_penalty=args.insertion_penalty, beam_size=args.beam_size)
    grid = None
    if args.tune_on and method in ("viterbi", "ctc_beam"):
        dev_post = model.log_posteriors(args.tune_on)
        refs = DataDir.load(args.tune_on).text
        settings["lm_weight"], settings["insertion_penalty"], grid = tune(
            dev_post, refs, model, lm, args.lm_weights if lm is not None else [0.0], args.insertion_penalties,
            method=method, prior_scale=args.prior_scale, min_duration=args.min_duration, beam_size=args.beam_size)
        log.info("tuned on %s: lm_weight %g, insertion_penalty %g", args.tune_on, settings["lm_weight"],
                 settings["insertion_penalty"])

    hyps = search(model.log_posteriors(args.data_dir), model, lm=lm, **settings)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_table(out / "hyp.txt", hyps)
    write_json(out / "decode.json", {"exp": args.exp, "data": args.data_dir, "checkpoint": args.checkpoint,
                                     "lm": args.lm, **settings, "tuned_on": args.tune_on, "tuning_grid": grid,
                                     "training_inputs_changed_since": changed})
    log.info("decoded %d utterances of %s into %s in %.1f s", len(hyps), args.data_dir, out, time.time() - start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
