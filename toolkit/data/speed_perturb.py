"""Speed perturbation of a training data dir (Ko et al. 2015), with Kaldi's
`utils/data/perturb_data_dir_speed.sh` semantics.

A copy at speed `factor` prefixes utterance, speaker and recording ids with `sp<factor>-` (so speaker
CMVN is per perturbed speaker, and utterance ids still start with their speaker's), reads its audio
through a speed-changing `wav.scp` entry (`toolkit.data.speed`), and divides every time by the factor:
`segments`, `utt2dur` and `phones.ctm`. `text` and `spk2gender` carry over; `utt2uniq` maps each copy to
its original. Features, CMVN and frame counts are left out: the feature stage computes them anew.

`speed_perturb_data_dir(src, dst, [0.9, 1.0, 1.1])` writes the copies combined into one dir; factor
1.0 is the original data under its own ids (as Kaldi's 3-way perturbation).
"""
import logging
from pathlib import Path

from toolkit.data.alignment import read_ctm, write_ctm
from toolkit.data.datadir import TABLES, DataDir, DataDirError, Segment, read_table, write_table
from toolkit.data.speed import speed_entry

log = logging.getLogger(__name__)

CARRIED = {"wav.scp", "segments", "text", "utt2spk", "spk2utt", "spk2gender", "utt2dur", "phones.ctm", "utt2uniq"}


def speed_prefix(factor: float) -> str:
    """`sp0.9-` for 0.9; empty for 1.0 (the original ids)."""
    return "" if factor == 1.0 else f"sp{factor:g}-"


def perturb_speed(data: DataDir, factor: float, ctm: dict | None = None) -> tuple[DataDir, dict | None, dict]:
    """The copy of `data` (and of its alignments `ctm`, {utt: [(start, end, phone)]}) at `factor` times
    the speed; returns (data dir, alignments, utt2uniq)."""
    if factor <= 0:
        raise ValueError(f"speed factor must be > 0, got {factor}")
    if not data.wav_scp:
        raise DataDirError("speed perturbation needs wav.scp (the audio), not only features")
    p = speed_prefix(factor)
    scale = lambda t: t / factor
    segments = None if data.segments is None else {
        p + u: Segment(p + s.recording, scale(s.start), s.end if s.end < 0 else scale(s.end))
        for u, s in data.segments.items()}
    extra = {}
    if "utt2dur" in data.extra:
        extra["utt2dur"] = {p + u: f"{scale(float(d)):.3f}" for u, d in data.extra["utt2dur"].items()}
    copy = DataDir(utt2spk={p + u: p + s for u, s in data.utt2spk.items()},
                   wav_scp={p + r: speed_entry(e, factor) for r, e in data.wav_scp.items()},
                   text=None if data.text is None else {p + u: t for u, t in data.text.items()},
                   segments=segments,
                   spk2gender=None if data.spk2gender is None else {p + s: g for s, g in data.spk2gender.items()},
                   extra=extra)
    alignments = None if ctm is None else {
        p + u: [(scale(start), scale(end), label) for start, end, label in segs] for u, segs in ctm.items()}
    return copy, alignments, {p + u: u for u in data.utt2spk}


def speed_perturb_data_dir(src: str | Path, dst: str | Path, factors: list[float]) -> DataDir:
    """Write the speed-perturbed copies of data dir `src` at `factors`, combined, into `dst`."""
    src, dst = Path(src), Path(dst)
    if len(set(factors)) != len(factors) or not factors:
        raise ValueError(f"speed factors must be distinct and at least one, got {factors}")
    if src.resolve() == dst.resolve():
        raise ValueError(f"{dst}: the perturbed dir must differ from the source dir")
    data = DataDir.load(src)
    ctm = read_ctm(src / "phones.ctm") if (src / "phones.ctm").is_file() else None
    uniq = read_table(src / "utt2uniq") if (src / "utt2uniq").is_file() else {}
    copies = [perturb_speed(data, f, ctm) for f in factors]
    combined = _combine([c for c, _, _ in copies])
    dst.mkdir(parents=True, exist_ok=True)
    for name in (*TABLES, "phones.ctm", "utt2uniq"):      # nothing stale from an earlier run
        (dst / name).unlink(missing_ok=True)
    combined.save(dst)
    if ctm is not None:
        write_ctm(dst / "phones.ctm", {u: s for _, a, _ in copies for u, s in a.items()})
    write_table(dst / "utt2uniq", {u: uniq.get(orig, orig) for _, _, m in copies for u, orig in m.items()})
    left = sorted(p.name for p in src.iterdir() if p.is_file() and p.name not in CARRIED and not p.name.startswith("."))
    if left:
        log.info("%s: not carried into %s (features are recomputed; other files have no speed copies): %s",
                 src, dst, " ".join(left))
    log.info("speed perturbation %s -> %s: %d utterances at factors %s", src, dst, len(combined.utt2spk),
             ",".join(f"{f:g}" for f in factors))
    return combined


def _combine(parts: list[DataDir]) -> DataDir:
    """One data dir holding every part's entries (their ids are disjoint)."""
    merged = lambda attr: None if getattr(parts[0], attr) is None else {
        k: v for part in parts for k, v in getattr(part, attr).items()}
    extra = {name: {k: v for part in parts for k, v in part.extra[name].items()} for name in parts[0].extra}
    return DataDir(utt2spk=merged("utt2spk"), wav_scp=merged("wav_scp"), text=merged("text"),
                   segments=merged("segments"), spk2gender=merged("spk2gender"), extra=extra)
