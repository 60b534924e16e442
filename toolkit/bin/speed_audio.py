"""Write audio at another speed as WAV to stdout, like `sox <in> -t wav - speed F`:
`python -m toolkit.bin.speed_audio --factor 0.9 in.wav > out.wav` (`-` reads a WAV stream from stdin).

Tempo and pitch change together; the sample rate is kept, the length becomes 1 / factor. This is the
command in the `wav.scp` of speed-perturbed data dirs (`toolkit.bin.perturb_speed`); the toolkit's own
readers compute those entries in-process, other tools run them as pipes. The output is 32-bit float
WAV, so the pipe and the in-process reading give the same samples.
"""
import argparse
import io
import sys

import soundfile as sf

from toolkit.data.audio import AudioError, read_audio
from toolkit.data.speed import change_speed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--factor", type=float, required=True, help="speed factor (0.9: slower and lower)")
    parser.add_argument("source", help="audio file, or - for a WAV stream on stdin")
    args = parser.parse_args(argv)
    if args.factor <= 0:
        parser.error(f"--factor must be > 0, got {args.factor}")
    try:
        if args.source == "-":
            data, rate = sf.read(io.BytesIO(sys.stdin.buffer.read()), dtype="float32", always_2d=True)
            samples = data[:, 0]
        else:
            samples, rate = read_audio(args.source)
    except (AudioError, sf.LibsndfileError, RuntimeError) as e:
        print(f"speed_audio: {e}", file=sys.stderr)
        return 1
    out = io.BytesIO()
    sf.write(out, change_speed(samples, rate, args.factor), rate, format="WAV", subtype="FLOAT")
    sys.stdout.buffer.write(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
