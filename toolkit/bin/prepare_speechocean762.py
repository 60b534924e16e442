"""speechocean762 data preparation (phone transcripts from text-phone / the lexicon, 39-phone TIMIT set).

    # the corpus, original layout (train/ test/ WAVE/ resource/) or the flat training half:
    python -m toolkit.bin.prepare_speechocean762 --corpus /data/speechocean762 --out data [--dev-fraction 0.1]
    # any other data dir in the same layout (wav.scp, text, utt2spk; text-phone optional), e.g. your own:
    python -m toolkit.bin.prepare_speechocean762 --data-dir /data/mine --lexicon data/lang/lexicon.txt \\
        --out data/mine

The first form writes data/train (minus held-out speakers), data/dev (those speakers), data/test (if
the corpus has a test part), data/lang (phones.txt, lexicon.txt) and data/prepare.json. Words missing
from text-phone and the lexicon stop preparation with a list of them, unless --skip-oov (those
utterances are then left out and counted). Exits with status 1 and a message naming the file on bad input.
"""
import argparse
import logging
import sys

from toolkit.corpora.speechocean762 import Speechocean762Error, prepare_data_dir, prepare_speechocean762
from toolkit.utils.log import setup_logging

log = logging.getLogger("prepare_speechocean762")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--corpus", help="speechocean762 root: original layout or the flat training half")
    source.add_argument("--data-dir", help="one more Kaldi dir in the same layout, prepared for decoding")
    parser.add_argument("--out", required=True, help="--corpus: dir for train/ dev/ test/ lang/; "
                                                     "--data-dir: the prepared data dir")
    parser.add_argument("--lexicon", help="--data-dir: lexicon (e.g. data/lang/lexicon.txt written for the corpus)")
    parser.add_argument("--text-phone", help="--data-dir: per-utterance pronunciations (default: <data-dir>/text-phone "
                                             "if present)")
    parser.add_argument("--audio-root", help="--data-dir: where relative wav.scp paths start (default: the data dir)")
    parser.add_argument("--dev-fraction", type=float, default=0.1, help="share of training speakers held out as dev")
    parser.add_argument("--dev-seed", type=int, default=0, help="seed of the dev speaker choice")
    parser.add_argument("--skip-oov", action="store_true",
                        help="leave out (and count) utterances with words that have no pronunciation")
    args = parser.parse_args(argv)
    setup_logging()
    if args.data_dir and not args.lexicon:
        parser.error("--data-dir needs --lexicon")
    try:
        if args.corpus:
            prepare_speechocean762(args.corpus, args.out, dev_fraction=args.dev_fraction, dev_seed=args.dev_seed,
                                   skip_oov=args.skip_oov)
        else:
            prepare_data_dir(args.data_dir, args.out, args.lexicon, text_phone=args.text_phone,
                             audio_root=args.audio_root, skip_oov=args.skip_oov)
    except (Speechocean762Error, ValueError) as e:
        log.error("%s", e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
