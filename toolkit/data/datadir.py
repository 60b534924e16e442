"""Kaldi data directories: read, write, validate, fix, subset and split.

A data dir holds `wav.scp` (utt -> audio path or pipe), `text` (utt -> tokens), `utt2spk`,
`spk2utt`, and optionally `segments`, `spk2gender`, `feats.scp`, `cmvn.scp`, `phones.ctm`.
Every table is sorted by key under LC_ALL=C (Python's default string order). A user who brings
their own corpus writes these files and runs a recipe from its data-preparation stage on.
"""
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from toolkit.utils.atomic import atomic_write

log = logging.getLogger(__name__)

TABLES = ("wav.scp", "segments", "text", "utt2spk", "spk2utt", "spk2gender", "feats.scp", "cmvn.scp",
          "utt2num_frames", "utt2dur")


class DataDirError(ValueError):
    """A malformed or inconsistent data directory; the message names file and line."""


def read_table(path: str | Path, *, allow_empty_value: bool = False) -> dict[str, str]:
    """Read a `key value...` table (Kaldi scp/ark-text style) into {key: rest-of-line}.

    Raises DataDirError naming file and line for a duplicate key or a line without a value.
    """
    path = Path(path)
    if not path.is_file():
        raise DataDirError(f"{path}: file not found")
    table: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                raise DataDirError(f"{path}:{lineno}: empty line")
            key, _, value = line.partition(" ")
            value = value.strip()
            if not value and not allow_empty_value:
                raise DataDirError(f"{path}:{lineno}: '{key}' has no value")
            if key in table:
                raise DataDirError(f"{path}:{lineno}: duplicate key '{key}'")
            table[key] = value
    return table


def read_token_table(path: str | Path, *, allow_empty_value: bool = False) -> dict[str, list[str]]:
    """Read `text`-like tables (`utt tok tok ...`) into {key: [tokens]}."""
    return {k: v.split() for k, v in read_table(path, allow_empty_value=allow_empty_value).items()}


def write_table(path: str | Path, table: dict[str, str | list[str] | tuple]) -> None:
    """Write {key: value or tokens} sorted by key, atomically."""
    with atomic_write(path, encoding="utf-8") as f:
        for key in sorted(table):
            value = table[key]
            if not isinstance(value, str):
                value = " ".join(str(v) for v in value)
            f.write(f"{key} {value}\n" if value else f"{key}\n")


def spk2utt_from_utt2spk(utt2spk: dict[str, str]) -> dict[str, list[str]]:
    spk2utt: dict[str, list[str]] = {}
    for utt in sorted(utt2spk):
        spk2utt.setdefault(utt2spk[utt], []).append(utt)
    return spk2utt


@dataclass
class Segment:
    recording: str
    start: float  # seconds
    end: float    # seconds; -1 means "to the end of the recording" (Kaldi convention)


@dataclass
class DataDir:
    """An in-memory Kaldi data directory. `utt2spk` defines the utterance set."""
    utt2spk: dict[str, str]
    wav_scp: dict[str, str] = field(default_factory=dict)
    text: dict[str, list[str]] | None = None
    segments: dict[str, Segment] | None = None
    spk2gender: dict[str, str] | None = None
    extra: dict[str, dict[str, str]] = field(default_factory=dict)  # feats.scp, cmvn.scp, ...

    @property
    def utts(self) -> list[str]:
        return sorted(self.utt2spk)

    @property
    def spk2utt(self) -> dict[str, list[str]]:
        return spk2utt_from_utt2spk(self.utt2spk)

    def audio_entry(self, utt: str) -> tuple[str, Segment | None]:
        """(wav.scp entry, segment or None) that holds the audio of `utt`."""
        if self.segments is not None:
            seg = self.segments[utt]
            return self.wav_scp[seg.recording], seg
        return self.wav_scp[utt], None

    @classmethod
    def load(cls, path: str | Path, *, check: bool = True) -> "DataDir":
        """Read a data dir; with `check`, raise DataDirError listing every problem found."""
        path = Path(path)
        if not path.is_dir():
            raise DataDirError(f"{path}: data directory not found")
        if check:
            problems = validate_data_dir(path)
            if problems:
                raise DataDirError(f"{path}: invalid data directory:\n  " + "\n  ".join(problems)
                                   + f"\n(`python -m toolkit.bin.fix_data_dir {path}` repairs id mismatches)")
        opt = lambda name: (path / name).is_file()
        segments = None
        if opt("segments"):
            segments = {}
            for utt, v in read_table(path / "segments").items():
                rec, start, end = v.split()
                segments[utt] = Segment(rec, float(start), float(end))
        extra = {name: read_table(path / name) for name in ("feats.scp", "cmvn.scp", "utt2num_frames",
                                                            "utt2dur") if opt(name)}
        return cls(utt2spk=read_table(path / "utt2spk"),
                   wav_scp=read_table(path / "wav.scp") if opt("wav.scp") else {},
                   text=read_token_table(path / "text") if opt("text") else None,
                   segments=segments,
                   spk2gender=read_table(path / "spk2gender") if opt("spk2gender") else None,
                   extra=extra)

    def save(self, path: str | Path) -> None:
        """Write every table (spk2utt derived from utt2spk)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        write_table(path / "utt2spk", self.utt2spk)
        write_table(path / "spk2utt", self.spk2utt)
        if self.wav_scp:
            write_table(path / "wav.scp", self.wav_scp)
        if self.text is not None:
            write_table(path / "text", self.text)
        if self.segments is not None:
            write_table(path / "segments", {u: f"{s.recording} {s.start:.3f} {s.end:.3f}"
                                            for u, s in self.segments.items()})
        if self.spk2gender is not None:
            write_table(path / "spk2gender", self.spk2gender)
        for name, table in self.extra.items():
            write_table(path / name, table)

    def subset(self, utts) -> "DataDir":
        """A data dir restricted to `utts` (recordings and speakers follow)."""
        keep = set(utts)
        missing = keep - set(self.utt2spk)
        if missing:
            raise DataDirError(f"subset asks for {len(missing)} unknown utterance(s), e.g. {sorted(missing)[:3]}")
        pick = lambda t: None if t is None else {k: v for k, v in t.items() if k in keep}
        utt2spk = pick(self.utt2spk)
        spks = set(utt2spk.values())
        segments = pick(self.segments)
        recs = {s.recording for s in segments.values()} if segments is not None else keep
        extra = {}
        for name, table in self.extra.items():
            keys = spks if name == "cmvn.scp" else keep
            extra[name] = {k: v for k, v in table.items() if k in keys}
        return DataDir(utt2spk=utt2spk, wav_scp={k: v for k, v in self.wav_scp.items() if k in recs},
                       text=pick(self.text), segments=segments,
                       spk2gender=None if self.spk2gender is None else
                       {k: v for k, v in self.spk2gender.items() if k in spks},
                       extra=extra)

    def split(self, n: int, *, by_speaker: bool = False) -> list["DataDir"]:
        """Split into `n` nearly equal parts in utterance order (whole speakers with `by_speaker`)."""
        if by_speaker:
            groups = list(self.spk2utt.values())
        else:
            groups = [[u] for u in self.utts]
        if n > len(groups):
            raise DataDirError(f"cannot split {len(groups)} {'speakers' if by_speaker else 'utterances'} "
                               f"into {n} parts")
        parts: list[list[str]] = []
        for i in range(n):
            lo, hi = i * len(groups) // n, (i + 1) * len(groups) // n
            parts.append([u for g in groups[lo:hi] for u in g])
        return [self.subset(p) for p in parts]


def _check_sorted(path: Path, problems: list[str]) -> list[str]:
    keys = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            key = line.split(" ", 1)[0].strip()
            if keys and key < keys[-1]:
                problems.append(f"{path}:{lineno}: not sorted (run with LC_ALL=C sort, or fix_data_dir)")
                break
            keys.append(key)
    return keys


def validate_data_dir(path: str | Path, *, need_text: bool = False, need_audio: bool = True) -> list[str]:
    """Check a data dir the way Kaldi's validate_data_dir.sh does; return the problems found.

    Each problem names the file and, where there is one, the line or the utterance.
    """
    path = Path(path)
    problems: list[str] = []
    tables: dict[str, dict[str, str]] = {}
    for name in TABLES:
        f = path / name
        if not f.is_file():
            continue
        if f.stat().st_size == 0:
            problems.append(f"{f}: empty file")
            continue
        try:
            tables[name] = read_table(f, allow_empty_value=(name == "text"))
        except DataDirError as e:
            problems.append(str(e))
            continue
        _check_sorted(f, problems)
    for name in ("utt2spk",) + (("text",) if need_text else ()):
        if not (path / name).is_file():
            problems.append(f"{path / name}: required file missing")
    if need_audio and not any((path / n).is_file() for n in ("wav.scp", "feats.scp")):
        problems.append(f"{path}: neither wav.scp nor feats.scp present")
    if "utt2spk" not in tables:
        return problems

    utts = set(tables["utt2spk"])
    # Kaldi needs speaker ids to prefix utterance ids so that both sort the same way.
    bad_prefix = [u for u, s in tables["utt2spk"].items() if not u.startswith(s)]
    if bad_prefix:
        problems.append(f"{path / 'utt2spk'}: {len(bad_prefix)} utterance id(s) do not start with their "
                        f"speaker id, e.g. '{bad_prefix[0]}' (speaker '{tables['utt2spk'][bad_prefix[0]]}')")
    if "spk2utt" in tables:
        derived = spk2utt_from_utt2spk(tables["utt2spk"])
        given = {k: sorted(v.split()) for k, v in tables["spk2utt"].items()}
        if given != derived:
            problems.append(f"{path / 'spk2utt'}: does not match utt2spk (regenerate it with fix_data_dir)")
    if "text" in tables:
        empty = [u for u, v in tables["text"].items() if not v]
        if empty:
            lines = [i for i, u in enumerate(sorted(tables["text"]), 1) if u in set(empty)]
            problems.append(f"{path / 'text'}:{lines[0]}: empty transcript for utterance '{empty[0]}'"
                            + (f" (and {len(empty) - 1} more)" if len(empty) > 1 else ""))
    utt_tables = ["text", "feats.scp", "utt2num_frames", "utt2dur"]
    utt_tables.append("segments" if "segments" in tables else "wav.scp")
    for name in utt_tables:
        if name in tables:
            _compare_ids(path, "utt2spk", utts, name, set(tables[name]), problems)
    if "segments" in tables and "wav.scp" in tables:
        recs = {v.split()[0] for v in tables["segments"].values()}
        missing = recs - set(tables["wav.scp"])
        if missing:
            problems.append(f"{path / 'segments'}: {len(missing)} recording(s) not in wav.scp, "
                            f"e.g. '{sorted(missing)[0]}'")
    spks = set(tables["utt2spk"].values())
    for name in ("cmvn.scp", "spk2gender"):
        if name in tables:
            _compare_ids(path, "utt2spk speakers", spks, name, set(tables[name]), problems)
    return problems


def _compare_ids(path: Path, ref_name: str, ref: set, name: str, ids: set, problems: list[str]) -> None:
    only_ref, only_here = sorted(ref - ids), sorted(ids - ref)
    if only_ref:
        problems.append(f"{path / name}: {len(only_ref)} id(s) of {ref_name} missing, e.g. '{only_ref[0]}'")
    if only_here:
        problems.append(f"{path / name}: {len(only_here)} id(s) not in {ref_name}, e.g. '{only_here[0]}'")


def fix_data_dir(path: str | Path) -> dict[str, int]:
    """Repair a data dir like Kaldi's fix_data_dir.sh: keep the utterances present in every table
    (and with a non-empty transcript), sort every file, regenerate spk2utt.

    The original files are kept in `<dir>/.backup/`. Returns counts {"kept": n, "removed": m}.
    """
    path = Path(path)
    tables = {name: read_table(path / name, allow_empty_value=(name == "text"))
              for name in TABLES if (path / name).is_file() and (path / name).stat().st_size > 0}
    if "utt2spk" not in tables:
        raise DataDirError(f"{path / 'utt2spk'}: required file missing")
    utts = set(tables["utt2spk"])
    for name in ("text", "feats.scp", "segments", "utt2num_frames", "utt2dur"):
        if name in tables:
            utts &= set(tables[name])
    if "text" in tables:
        utts = {u for u in utts if tables["text"][u]}
    if "wav.scp" in tables:
        if "segments" in tables:
            utts = {u for u in utts if tables["segments"][u].split()[0] in tables["wav.scp"]}
        else:
            utts &= set(tables["wav.scp"])
    backup = path / ".backup"
    backup.mkdir(exist_ok=True)
    for name in tables:
        shutil.copy2(path / name, backup / name)
    if (path / "spk2utt").is_file():
        shutil.copy2(path / "spk2utt", backup / "spk2utt")
    removed = len(tables["utt2spk"]) - len(utts)
    utt2spk = {u: s for u, s in tables["utt2spk"].items() if u in utts}
    spks = set(utt2spk.values())
    recs = {tables["segments"][u].split()[0] for u in utts} if "segments" in tables else utts
    for name, table in tables.items():
        keys = {"wav.scp": recs, "cmvn.scp": spks, "spk2gender": spks}.get(name, utts)
        write_table(path / name, {k: v for k, v in table.items() if k in keys})
    write_table(path / "spk2utt", spk2utt_from_utt2spk(utt2spk))
    log.info("fix_data_dir %s: kept %d utterances, removed %d (originals in %s)", path, len(utts), removed, backup)
    return {"kept": len(utts), "removed": removed}
