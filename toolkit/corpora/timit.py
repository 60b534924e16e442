"""TIMIT data preparation: the LDC layout -> Kaldi data dirs `train`, `dev`, `test` and a lang dir.

Reads `TRAIN|TEST/DR<n>/<speaker>/<utt>.{WAV,PHN}` in any case (the LDC disc is upper case, many
copies are lower case, some mixed; names differing only in case are refused), applies the standard protocol (see `timit_protocol`):
SA sentences excluded, dev and core-test speakers from the fixed lists, phones mapped 61 -> 48
with `q` deleted (its time goes to the phone before it, so frame labels stay contiguous).

Each data dir gets `wav.scp`, `text` (48 phones), `utt2spk`, `spk2utt`, `spk2gender` and
`phones.ctm` (48-phone time alignment from the `.PHN` files, for frame-level training).
"""
import logging
from dataclasses import dataclass
from pathlib import Path

from toolkit.corpora.timit_protocol import (CORE_TEST_SPEAKERS, DEV_SPEAKERS, MAP_48_TO_39, PHONE_MAP,
                                            PHONES_48)
from toolkit.data.alignment import write_ctm
from toolkit.data.audio import AudioError, probe_audio
from toolkit.data.datadir import DataDir
from toolkit.data.symbols import SymbolTable
from toolkit.utils.atomic import atomic_write
from toolkit.utils.errors import UserError
from toolkit.utils.fingerprint import fingerprint, stat_digest

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
FULL_TIMIT_COUNTS = {"train": (462, 3696), "dev": (50, 400), "test": (24, 192)}


class TimitError(UserError):
    """A TIMIT tree that cannot be prepared; the message names the file and line."""


@dataclass(frozen=True)
class TimitUtterance:
    part: str      # "train" | "test" (the LDC directory it came from)
    speaker: str   # lower case, e.g. "fadg0"
    name: str      # lower case, e.g. "si1279"
    wav: Path
    phn: Path

    @property
    def utt_id(self) -> str:
        return f"{self.speaker}_{self.name}"


def _entries(directory: Path) -> dict[str, list[Path]]:
    """The entries of `directory` by lower-case name (TIMIT copies differ in case: `SI465.WAV`,
    `si465.wav`, `Si465.Wav`)."""
    entries: dict[str, list[Path]] = {}
    for p in sorted(directory.iterdir()):
        entries.setdefault(p.name.lower(), []).append(p)
    return entries


def _pick(entries: dict[str, list[Path]], name: str) -> Path | None:
    """The entry named `name` in any case, or None; two names that differ only in case would be
    one utterance (or speaker, or set): TimitError names both."""
    found = entries.get(name.lower(), [])
    if len(found) > 1:
        raise TimitError(f"{found[0].parent}: {' and '.join(p.name for p in found)} differ only in case and "
                         "would be one id, one overwriting the other; keep one")
    return found[0] if found else None


def find_utterances(timit_dir: str | Path) -> list[TimitUtterance]:
    """List every utterance of an LDC-layout TIMIT tree, SA sentences included.

    Directory and file names may be in any case; names that differ only in case are an error.
    """
    root = Path(timit_dir)
    if not root.is_dir():
        raise TimitError(f"TIMIT directory not found: '{root}'. Expected the LDC layout "
                         "<timit>/TRAIN|TEST/DR1..DR8/<speaker>/<utt>.WAV|PHN (upper or lower case).")
    # Accept the directory that holds TRAIN/TEST, or a parent with a single TIMIT/ or timit/ in it.
    if _pick(_entries(root), "train") is None and _pick(_entries(root), "timit") is not None:
        root = _pick(_entries(root), "timit")
    parts = {p: _pick(_entries(root), p) for p in ("train", "test")}
    missing = [p.upper() for p, d in parts.items() if d is None]
    if missing:
        raise TimitError(f"'{root}' is not a TIMIT tree: {' and '.join(missing)}/ not found. Expected the LDC "
                         "layout <timit>/TRAIN|TEST/DR1..DR8/<speaker>/<utt>.WAV|PHN (upper or lower case).")
    utts: dict[str, TimitUtterance] = {}
    for part, part_dir in parts.items():
        for dr in sorted(d for d in part_dir.iterdir() if d.is_dir() and d.name.lower().startswith("dr")):
            speakers = _entries(dr)
            for spk_name in speakers:
                spk_dir = _pick(speakers, spk_name)
                if not spk_dir.is_dir():
                    continue
                files = _entries(spk_dir)
                for name in (n for n in files if n.endswith(".wav")):
                    wav = _pick(files, name)
                    phn = _pick(files, name[:-4] + ".phn")
                    if phn is None:
                        raise TimitError(f"{wav}: no .PHN transcription next to it")
                    utt = TimitUtterance(part, spk_name, name[:-4], wav, phn)
                    if utt.utt_id in utts:
                        raise TimitError(f"{wav}: utterance id '{utt.utt_id}' again (also {utts[utt.utt_id].wav}); "
                                         "each speaker must appear once in the tree")
                    utts[utt.utt_id] = utt
    if not utts:
        raise TimitError(f"'{root}': no <speaker>/<utt>.WAV files found under {parts['train']} or {parts['test']}")
    return list(utts.values())


def split_protocol(utts: list[TimitUtterance]) -> dict[str, list[TimitUtterance]]:
    """Standard split: train = TRAIN/, dev and test = the listed TEST/ speakers; SA1/SA2 dropped."""
    dev, core = set(DEV_SPEAKERS), set(CORE_TEST_SPEAKERS)
    sets: dict[str, list[TimitUtterance]] = {"train": [], "dev": [], "test": []}
    for u in utts:
        if u.name.startswith("sa"):
            continue
        if u.part == "train":
            sets["train"].append(u)
        elif u.speaker in dev:
            sets["dev"].append(u)
        elif u.speaker in core:
            sets["test"].append(u)
    return sets


def read_phn(phn: Path, num_samples: int) -> list[tuple[int, int, str]]:
    """Read a `.PHN` file, checking every line: integer sample bounds inside the audio, known phone."""
    segments = []
    with open(phn, encoding="ascii", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 3 or not (parts[0].isdigit() and parts[1].isdigit()):
                raise TimitError(f"{phn}:{lineno}: expected '<start-sample> <end-sample> <phone>', got {line.strip()!r}")
            start, end, phone = int(parts[0]), int(parts[1]), parts[2].lower()
            if phone not in PHONE_MAP:
                raise TimitError(f"{phn}:{lineno}: unknown phone {parts[2]!r} (not one of the 61 TIMIT symbols)")
            if end <= start:
                raise TimitError(f"{phn}:{lineno}: segment end {end} is not after its start {start}")
            if end > num_samples:
                raise TimitError(f"{phn}:{lineno}: segment ends at sample {end}, past the end of the audio "
                                 f"({num_samples} samples)")
            if segments and start < segments[-1][1]:
                raise TimitError(f"{phn}:{lineno}: segment starts at {start}, before the previous one ends")
            segments.append((start, end, phone))
    if not segments:
        raise TimitError(f"{phn}: empty transcription")
    return segments


def map_to_48(segments: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Map 61-symbol segments to the 48-phone set; `q` is deleted and its time joins the previous
    segment (the next one if it comes first)."""
    out: list[list] = []
    pending_start = None
    for start, end, phone in segments:
        mapped = PHONE_MAP[phone]
        if mapped is None:  # q
            if out:
                out[-1][1] = end
            else:
                pending_start = start
            continue
        out.append([pending_start if pending_start is not None else start, end, mapped[0]])
        pending_start = None
    return [tuple(s) for s in out]


def corpus_fingerprint(timit_dir: str | Path) -> dict:
    """What data preparation reads: where the corpus is (wav.scp records absolute paths) and the sizes and
    mtimes of its .WAV/.PHN files, so that another or a changed corpus is noticed."""
    files = [p for u in find_utterances(timit_dir) for p in (u.wav, u.phn)]
    return fingerprint({}, {"corpus": str(Path(timit_dir).resolve()), "corpus_files": stat_digest(files)})


def prepare_timit(timit_dir: str | Path, out_dir: str | Path) -> dict[str, tuple[int, int]]:
    """Write `out_dir/{train,dev,test}` data dirs and `out_dir/lang`; return {set: (speakers, utts)}.

    Every problem in the corpus (unreadable audio, malformed .PHN) is collected and reported at
    once, naming each file and line.
    """
    out_dir = Path(out_dir)
    sets = split_protocol(find_utterances(timit_dir))
    counts, problems = {}, []
    for name, utts in sets.items():
        data = DataDir(utt2spk={}, wav_scp={}, text={}, spk2gender={})
        ctm = {}
        for u in utts:
            try:
                num_samples, sr = probe_audio(u.wav)
                if sr != SAMPLE_RATE:
                    raise TimitError(f"{u.wav}: sample rate {sr} Hz, TIMIT is {SAMPLE_RATE} Hz")
                segments = map_to_48(read_phn(u.phn, num_samples))
            except (TimitError, AudioError) as e:
                problems.append(str(e))
                continue
            data.utt2spk[u.utt_id] = u.speaker
            data.wav_scp[u.utt_id] = str(u.wav.resolve())
            data.text[u.utt_id] = [p for _, _, p in segments]
            data.spk2gender[u.speaker] = u.speaker[0]
            ctm[u.utt_id] = [(s / SAMPLE_RATE, e / SAMPLE_RATE, p) for s, e, p in segments]
        if not data.utt2spk and not problems:
            raise TimitError(f"no {name} utterances found in '{timit_dir}' (does it use the standard speaker ids?)")
        if not problems:
            data.save(out_dir / name)
            write_ctm(out_dir / name / "phones.ctm", ctm)
        counts[name] = (len(data.spk2utt), len(data.utt2spk))
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise TimitError(f"{len(problems)} problem(s) in the TIMIT corpus at '{timit_dir}':\n  {shown}{more}")
    write_lang_dir(out_dir / "lang")
    _check_counts(counts)
    return counts


def write_lang_dir(lang_dir: Path) -> None:
    """`phones.txt` (the 48 training phones) and `score.map` (the 48 -> 39 scoring fold)."""
    lang_dir.mkdir(parents=True, exist_ok=True)
    SymbolTable(PHONES_48).save(lang_dir / "phones.txt")
    with atomic_write(lang_dir / "score.map") as f:
        for p in PHONES_48:
            f.write(f"{p} {MAP_48_TO_39[p]}\n")


def _check_counts(counts: dict[str, tuple[int, int]]) -> None:
    """Warn when a corpus that looks like the full TIMIT does not give the standard set sizes."""
    if counts["train"][0] < FULL_TIMIT_COUNTS["train"][0]:
        return  # a subset or the embedded mini corpus
    for name, expected in FULL_TIMIT_COUNTS.items():
        if counts[name] != expected:
            log.warning("%s: %d speakers / %d utterances, the standard protocol has %d / %d",
                        name, *counts[name], *expected)
