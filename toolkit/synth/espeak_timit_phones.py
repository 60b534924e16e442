"""espeak-ng English phonemes -> the 61 TIMIT phone labels, time-aligned on the synthesized audio.

The table was built empirically: every mnemonic espeak-ng 1.52 emitted for the corpus vocabulary in
every accent and voice variant the mini corpus uses (tests/test_mini_timit.py re-checks this). An
espeak phoneme missing from the table raises `UnknownPhonemeError`; nothing is silently dropped.

TIMIT conventions applied:
- stops and affricates are a closure + release pair (`t` -> `tcl t`, `tS` -> `tcl ch`); the release
  starts at the burst, found as the largest rise of high-frequency energy in espeak's segment, and
  the closure also takes the silence (or, after another stop, the voice bar) that espeak puts at the
  end of the preceding phoneme;
- silence at the start and end of the file is `h#`, pauses inside it `pau`;
- flapped t is `dx`, glottal stop `q`, syllabic l/n/m are `el`/`en`/`em` (espeak's own syllabic
  consonants, and schwa + l/n/m after an obstruent inside a word);
- `h` between vowels is `hv`, `uw` after t d n s z y is `ux` (TIMIT's positional labels).
TIMIT symbols espeak gives no basis for, so never produced: `ax-h` (devoiced schwa), `nx` (nasal
flap), `eng` (syllabic ng), `epi` (epenthetic silence).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from toolkit.synth.espeak import PAUSE_SYMBOLS, Synthesis, strip_stress
from toolkit.corpora.timit_protocol import PHONES_61

SILENCE = "h#"
PAUSE = "pau"

# American English (espeak `en-us`). Values: TIMIT labels, space separated; "" merges the phoneme
# into the one before it. A vowel+r value drops its `r` when espeak itself follows it with an r.
_AMERICAN = {
    # stops and affricates: closure + release
    "p": "pcl p", "b": "bcl b", "t": "tcl t", "t2": "tcl t", "d": "dcl d", "k": "kcl k", "g": "gcl g",
    "tS": "tcl ch", "dZ": "dcl jh",
    "t#": "dx",          # flapped t: water, city
    "?": "q",            # glottal stop: button
    # fricatives, nasals, liquids, glides
    "f": "f", "v": "v", "T": "th", "D": "dh", "s": "s", "z": "z", "S": "sh", "Z": "zh", "h": "hh",
    "m": "m", "n": "n", "N": "ng", "l": "l", "r": "r", "r-": "r", "j": "y", "w": "w",
    "n-": "en", "@L": "el",   # syllabic consonants: button, bottle
    ";": "",             # linking glide after i/I before a vowel: part of that vowel
    # monophthongs
    "i:": "iy", "i": "iy", "I": "ih", "I2": "ix", "I#": "ix", "E": "eh", "a": "ae", "aa": "ae",
    "A:": "aa", "0": "aa", "O:": "ao", "O2": "ao", "V": "ah", "U": "uh", "u:": "uw",
    "@": "ax", "@2": "ax", "@5": "ax", "a#": "ax", "3": "axr", "3:": "er",
    # diphthongs
    "eI": "ey", "aI": "ay", "OI": "oy", "aU": "aw", "oU": "ow",
    # vowel + r (rhotic) and centring diphthongs
    "A@": "aa r", "e@": "eh r", "i@3": "ih r", "O@": "ao r", "o@": "ao r", "U@": "uh r",
    "i@": "ih ax", "aI3": "ay axr", "aI@": "ay ax",
}

# Accents without r after vowels (espeak `en-us-nyc`, `en-gb-x-rp`): same mnemonics, no r colour.
_NON_RHOTIC = {
    "3": "ax", "A@": "aa", "e@": "eh", "i@3": "ih ax", "O@": "ao", "o@": "ao", "U@": "uh ax",
    "aI3": "ay ax",
}

_ACCENT_TABLES = {
    "en-us": _AMERICAN,
    "en-us-nyc": {**_AMERICAN, **_NON_RHOTIC},
    "en-gb-x-rp": {**_AMERICAN, **_NON_RHOTIC, "aa": "aa"},  # RP "bath" is [ɑː]
}
ACCENTS = tuple(_ACCENT_TABLES)

# TIMIT labels for sounds espeak does not make: devoiced schwa, nasal flap, syllabic ng, epenthetic
# silence.
NEVER_PRODUCED = ("ax-h", "eng", "epi", "nx")

CLOSURES = frozenset({"pcl", "bcl", "tcl", "dcl", "kcl", "gcl"})
_VOWELS = frozenset({"iy", "ih", "ix", "eh", "ae", "aa", "ao", "ah", "uh", "uw", "ux", "ax", "axr", "er",
                     "ey", "ay", "oy", "aw", "ow", "el", "en", "em"})
_OBSTRUENTS = frozenset({"p", "b", "t", "d", "k", "g", "ch", "jh", "dx", "q", "f", "v", "th", "dh",
                         "s", "z", "sh", "zh"})
_SYLLABIC = {"l": "el", "n": "en", "m": "em"}
_UX_AFTER = frozenset({"t", "d", "n", "s", "z", "y"})

# Stop splitting (times in seconds).
_FRAME_S = 0.001           # analysis frame for the burst search
_MIN_BURST_RISE_DB = 6.0   # a smaller rise of high-frequency energy is no burst
_VOICE_BAR_DB = 12.0       # a voice-bar frame is this far below the burst in high-frequency energy
_VOICE_BAR_TILT_DB = -15.0 # ... and its high-frequency energy this far below its total energy
_SILENT = 0.05             # a closure frame peaks below this fraction of the utterance's loud frames
_MAX_CLOSURE_IN_PAUSE_S = 0.03
_MIN_CLOSURE_S = 0.004     # a shorter closure is left to the release (a stop without closure)
_FIRST_PART = 0.6          # share of the first label when a vowel maps to two labels

assert all(label in PHONES_61 for table in _ACCENT_TABLES.values() for value in table.values()
           for label in value.split())


class UnknownPhonemeError(ValueError):
    """espeak produced a phoneme the TIMIT table does not cover."""


@dataclass(frozen=True)
class PhoneSegment:
    """One TIMIT label on samples [start, end); `word` indexes the utterance's words or is None."""
    label: str
    start: int
    end: int
    word: int | None


def accent_of(voice: str) -> str:
    """`en-us+m3` -> `en-us`; raises ValueError for an accent without a TIMIT table."""
    accent = voice.partition("+")[0].lower()
    if accent not in _ACCENT_TABLES:
        raise ValueError(f"voice {voice!r}: no TIMIT phone table for accent {accent!r} "
                         f"(supported: {', '.join(ACCENTS)})")
    return accent


def timit_labels(symbol: str, accent: str) -> tuple[str, ...]:
    """TIMIT labels of one espeak mnemonic (stress marks allowed); () for a linking glide."""
    table = _ACCENT_TABLES[accent]
    bare = strip_stress(symbol)
    if bare in PAUSE_SYMBOLS:
        return (PAUSE,)
    if bare not in table:
        raise UnknownPhonemeError(f"espeak phoneme {symbol!r} has no TIMIT mapping for accent {accent!r}")
    return tuple(table[bare].split())


def align_timit_phones(synth: Synthesis) -> list[PhoneSegment]:
    """TIMIT phone segments covering all of `synth.samples` (contiguous, at `synth.sample_rate`).

    Raises UnknownPhonemeError naming the phoneme, voice and text if espeak used an unmapped phoneme.
    """
    accent = accent_of(synth.voice)
    units = _units(synth, accent)
    x = synth.float_samples()
    frame = max(1, round(_FRAME_S * synth.sample_rate))
    n_frames = len(x) // frame
    peaks = np.abs(x[:n_frames * frame]).reshape(n_frames, frame).max(axis=1) if n_frames else [0.0]
    silent_level = max(1e-4, _SILENT * float(np.percentile(peaks, 99)))
    segments: list[PhoneSegment] = []
    for labels, start, end, word in units:
        if labels[0] in CLOSURES:
            prev_label = segments[-1].label if segments else SILENCE
            prev_start = segments[-1].start if segments else 0
            closure_start, burst = _split_stop(x, start, end, prev_start, prev_label, frame,
                                               synth.sample_rate, silent_level)
            if segments and closure_start < start:
                segments[-1] = replace(segments[-1], end=closure_start)
            segments += [PhoneSegment(labels[0], closure_start, burst, word),
                         PhoneSegment(labels[1], burst, end, word)]
        elif len(labels) == 1:
            segments.append(PhoneSegment(labels[0], start, end, word))
        else:
            cut = start + round(_FIRST_PART * (end - start))
            rest = np.linspace(cut, end, len(labels), dtype=np.int64)
            bounds = [start, *rest.tolist()]
            segments += [PhoneSegment(lab, bounds[i], bounds[i + 1], word) for i, lab in enumerate(labels)]
    segments = [s for s in segments if s.end > s.start]
    return _positional_labels(segments)


def resample_segments(segments: list[PhoneSegment], old_rate: int, new_rate: int,
                      new_length: int) -> list[PhoneSegment]:
    """Map boundaries to another sample rate; keeps contiguity and coverage of [0, new_length).

    A segment that shrinks to nothing is dropped (its neighbours close the gap).
    """
    out: list[PhoneSegment] = []
    for i, seg in enumerate(segments):
        start = 0 if i == 0 else min(new_length, round(seg.start * new_rate / old_rate))
        end = new_length if i == len(segments) - 1 else min(new_length, round(seg.end * new_rate / old_rate))
        if end > start:
            out.append(replace(seg, start=start, end=end))
    return out


def _units(synth: Synthesis, accent: str) -> list[tuple[tuple[str, ...], int, int, int | None]]:
    """espeak phonemes -> (labels, start, end, word), pauses at the edges folded into `h#`."""
    events = synth.phonemes
    if not events:
        raise ValueError(f"espeak produced no phonemes for voice {synth.voice!r}, text {synth.text!r}")
    labelled = []
    for p in events:
        try:
            labelled.append(timit_labels(p.symbol, accent))
        except UnknownPhonemeError as e:
            raise UnknownPhonemeError(f"{e} (voice {synth.voice!r}, text {synth.text!r}); "
                                      f"add it to toolkit/synth/espeak_timit_phones.py") from None
    units: list[list] = []
    if events[0].start > 0:
        units.append([(SILENCE,), 0, events[0].start, None])
    for i, (p, labels) in enumerate(zip(events, labelled)):
        nxt = next((lab for lab in labelled[i + 1:] if lab), ())
        if len(labels) > 1 and labels[-1] == "r" and nxt[:1] == ("r",):
            labels = labels[:-1]
        if not labels:
            if units:
                units[-1][2] = p.end
            continue
        if p.end <= p.start:
            continue
        if units and labels == (PAUSE,) and units[-1][0] in ((PAUSE,), (SILENCE,)):
            units[-1][2] = p.end
            continue
        units.append([labels, p.start, p.end, p.word])
    if units[0][0] == (PAUSE,):
        units[0][0] = (SILENCE,)
    if units[-1][0] in ((PAUSE,), (SILENCE,)):
        units[-1][0] = (SILENCE,)
    else:  # espeak always ends on a pause; keep the file's last label silence regardless
        units.append([(SILENCE,), units[-1][2], units[-1][2], None])
    units[-1][2] = len(synth.samples)
    return [tuple(u) for u in units]


def _split_stop(x: np.ndarray, start: int, end: int, prev_start: int, prev_label: str,
                frame: int, rate: int, silent_level: float) -> tuple[int, int]:
    """(closure start, burst) of a stop espeak placed on [start, end).

    x: (T,) float samples. The burst is the frame with the largest rise of first-difference (high
    frequency) energy; without a clear rise the segment is halved. The closure reaches back into the
    previous segment [prev_start, start) over near-silent frames (peak below `silent_level` and far
    below that segment's own peak, so that aspiration is not taken) and, when that segment is an
    obstruent or silence, over a voice bar (weak, low-frequency energy); it never takes more than
    two thirds of a previous phone.
    """
    lo = prev_start
    seg = x[lo:end]
    n_frames = len(seg) // frame
    first = (start - lo) // frame
    if n_frames - first < 2:
        return start, start + (end - start) // 2
    frames = seg[:n_frames * frame].reshape(n_frames, frame)
    diff = np.diff(seg, prepend=x[lo - 1] if lo > 0 else 0.0)[:n_frames * frame].reshape(n_frames, frame)
    hf_db = 10 * np.log10((diff ** 2).mean(axis=1) + 1e-10)
    raw_db = 10 * np.log10((frames ** 2).mean(axis=1) + 1e-10)
    # rise at frame c: mean dB of frames [c, c+2) minus mean dB of frames [c-4, c)
    cum = np.concatenate([[0.0], np.cumsum(hf_db)])
    c = np.arange(max(first, 1), n_frames - 1)
    back = np.maximum(0, c - 4)
    rises = (cum[c + 2] - cum[c]) / 2 - (cum[c] - cum[back]) / (c - back)
    if len(c) == 0 or rises.max() < _MIN_BURST_RISE_DB:
        burst = start + (end - start) // 2
        release_db = hf_db[first:].max()
    else:
        burst_frame = int(c[np.argmax(rises)])
        burst = max(start, lo + burst_frame * frame)
        release_db = hf_db[burst_frame:burst_frame + 3].mean()
    if prev_label in (SILENCE, PAUSE):
        limit = max(prev_start, start - round(_MAX_CLOSURE_IN_PAUSE_S * rate))
    else:
        limit = prev_start + (start - prev_start) // 3
    prev_peak = np.abs(x[prev_start:start]).max() if start > prev_start else 0.0
    silent_below = min(silent_level, _SILENT * prev_peak) if prev_label not in (SILENCE, PAUSE) else silent_level
    voice_bar_ok = prev_label in (SILENCE, PAUSE) or prev_label in _OBSTRUENTS
    t = start
    while t - frame >= limit:
        k = (t - frame - lo) // frame
        silent = np.abs(x[t - frame:t]).max() < max(silent_below, 1e-4)
        voice_bar = (voice_bar_ok and hf_db[k] < release_db - _VOICE_BAR_DB
                     and hf_db[k] - raw_db[k] < _VOICE_BAR_TILT_DB)
        if not (silent or voice_bar):
            break
        t -= frame
    closure_start = min(t, start)
    if burst - closure_start < _MIN_CLOSURE_S * rate:
        return closure_start, closure_start
    return closure_start, burst


def _positional_labels(segments: list[PhoneSegment]) -> list[PhoneSegment]:
    """TIMIT's positional labels: hv, ux, and syllabic el/en/em from schwa + l/n/m."""
    out = list(segments)
    i = 1
    while i < len(out) - 1:
        prev, cur, nxt = out[i - 1], out[i], out[i + 1]
        if cur.label == "hh" and prev.label in _VOWELS and nxt.label in _VOWELS:
            out[i] = replace(cur, label="hv")
        elif cur.label == "uw" and prev.label in _UX_AFTER:
            out[i] = replace(cur, label="ux")
        elif (cur.label == "ax" and nxt.label in _SYLLABIC and prev.label in _OBSTRUENTS
              and cur.word is not None and cur.word == nxt.word == prev.word
              and (i + 2 == len(out) or out[i + 2].word != cur.word or out[i + 2].label not in _VOWELS)):
            out[i:i + 2] = [replace(cur, label=_SYLLABIC[nxt.label], end=nxt.end)]
        i += 1
    return out
