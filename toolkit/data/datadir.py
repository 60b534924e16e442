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
from typing import Iterator

from toolkit.data.audio import NO_PIPES_ENV, is_pipe, pipes_refused
from toolkit.utils.atomic import atomic_write
from toolkit.utils.errors import UserError

log = logging.getLogger(__name__)

TABLES = ("wav.scp", "segments", "text", "utt2spk", "spk2utt", "spk2gender", "feats.scp", "cmvn.scp",
          "utt2num_frames", "utt2dur")


class DataDirError(UserError):
    """A malformed or inconsistent data directory; the message names file and line."""


def read_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """(line number, line without its end) of a UTF-8 text file; DataDirError names the first line
    that is not UTF-8 (instead of a UnicodeDecodeError that names neither file nor line)."""
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                yield lineno, raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as e:
                raise DataDirError(f"{path}:{lineno}: not valid UTF-8 (byte 0x{raw[e.start]:02x} at byte "
                                   f"{e.start + 1} of the line); convert the file to UTF-8, e.g. with "
                                   "iconv -f LATIN1 -t UTF-8") from None


def read_table(path: str | Path, *, allow_empty_value: bool = False) -> dict[str, str]:
    """Read a `key value...` table (Kaldi scp/ark-text style) into {key: rest-of-line}, in file order.

    Key and value are separated by any whitespace (spaces or tabs, as in Kaldi). Raises
    DataDirError naming file and line for a duplicate key, a line without a value, or bytes that
    are not UTF-8.
    """
    path = Path(path)
    if not path.is_file():
        raise DataDirError(f"{path}: file not found")
    table: dict[str, str] = {}
    for lineno, line in read_lines(path):
        line = line.strip()
        if not line:
            raise DataDirError(f"{path}:{lineno}: empty line")
        key, value = (line.split(maxsplit=1) + [""])[:2]
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


def _check_sorted(path: Path, keys: list[str], problems: list[str]) -> None:
    """Keys in file order (as read_table returns them; line i holds key i - 1) must be sorted."""
    for lineno in range(2, len(keys) + 1):
        if keys[lineno - 1] < keys[lineno - 2]:
            problems.append(f"{path}:{lineno}: not sorted (run with LC_ALL=C sort, or fix_data_dir)")
            return


def shell_commands(path: str | Path) -> list[tuple[str, str]]:
    """The shell commands that reading a data dir's audio runs (its `wav.scp` lines ending in `|`):
    [(`<dir>/wav.scp:<line> (<recording>)`, command without the `|`)]."""
    wav_scp = Path(path) / "wav.scp"
    if not wav_scp.is_file():
        return []
    return [(f"{wav_scp}:{lineno} ({key})", value.rstrip()[:-1].strip())
            for lineno, (key, value) in enumerate(read_table(wav_scp).items(), 1) if is_pipe(value)]


def validate_data_dir(path: str | Path, *, need_text: bool = False, need_audio: bool = True,
                      no_pipes: bool | None = None, lang: str | Path | None = None) -> list[str]:
    """Check a data dir the way Kaldi's validate_data_dir.sh does; return the problems found.

    Each problem names the file and, where there is one, the line or the utterance. Commands in
    `feats.scp`/`cmvn.scp` are always problems (the toolkit runs none from there); commands in
    `wav.scp` are problems with `no_pipes` (default: whether TOOLKIT_NO_PIPES is set). With `lang`
    (a lang dir holding `phones.txt`, or that file), every phone of `text` and `phones.ctm` must be
    in it.
    """
    path = Path(path)
    no_pipes = pipes_refused() if no_pipes is None else no_pipes
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
        _check_sorted(f, list(tables[name]), problems)
    for name in ("feats.scp", "cmvn.scp"):
        for lineno, (key, value) in enumerate(tables.get(name, {}).items(), 1):
            if is_pipe(value):
                problems.append(f"{path / name}:{lineno}: entry '{key}' is a shell command ({value!r}); the "
                                "toolkit runs commands only from wav.scp: write the matrices to an ark first "
                                f"(e.g. copy-feats scp:{name} ark,scp:new.ark,new.scp)")
    if no_pipes and "wav.scp" in tables:
        problems += [f"{where}: shell command refused (--no-pipes or {NO_PIPES_ENV}): {command}"
                     for where, command in shell_commands(path)]
    if lang is not None:
        problems += _check_phones(path, Path(lang), tables.get("text"))
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


def _check_phones(path: Path, lang: Path, text: dict[str, str] | None) -> list[str]:
    """Phones of `text` and `phones.ctm` that are not in the lang dir's `phones.txt`: the first line
    of each file with one, and how many lines have one."""
    phones_txt = lang / "phones.txt" if lang.is_dir() else lang
    if not phones_txt.is_file():
        return [f"{phones_txt}: phone table not found (--lang takes a lang dir with phones.txt, or the file)"]
    try:
        phones = set(read_table(phones_txt))
    except DataDirError as e:
        return [str(e)]
    lines: dict[str, list[tuple[int, str, str]]] = {}  # file -> [(line, utterance, unknown phone)]
    for lineno, (utt, value) in enumerate((text or {}).items(), 1):
        unknown = [p for p in value.split() if p not in phones]
        if unknown:
            lines.setdefault("text", []).append((lineno, utt, unknown[0]))
    ctm = path / "phones.ctm"
    if ctm.is_file():
        try:
            for lineno, line in read_lines(ctm):
                fields = line.split()
                if len(fields) >= 5 and fields[4] not in phones:
                    lines.setdefault("phones.ctm", []).append((lineno, fields[0], fields[4]))
        except DataDirError as e:
            return [str(e)]
    return [f"{path / name}:{found[0][0]}: unknown phone '{found[0][2]}' in utterance '{found[0][1]}' "
            f"(not in {phones_txt})" + (f"; {len(found) - 1} more line(s) with unknown phones" if len(found) > 1 else "")
            for name, found in lines.items()]


def _compare_ids(path: Path, ref_name: str, ref: set, name: str, ids: set, problems: list[str]) -> None:
    only_ref, only_here = sorted(ref - ids), sorted(ids - ref)
    if only_ref:
        problems.append(f"{path / name}: {len(only_ref)} id(s) of {ref_name} missing, e.g. '{only_ref[0]}'")
    if only_here:
        problems.append(f"{path / name}: {len(only_here)} id(s) not in {ref_name}, e.g. '{only_here[0]}'")


def fix_data_dir(path: str | Path) -> dict[str, int]:
    """Repair a data dir like Kaldi's fix_data_dir.sh: keep the utterances present in every table
    (and with a non-empty transcript), sort every file, regenerate spk2utt.

    The original files are kept in `<dir>/.backup/`; a later run never overwrites an earlier backup
    but writes `.backup.2/`, `.backup.3/`, ... Returns counts {"kept": n, "removed": m}.
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
    backup = _new_backup_dir(path)
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


def _new_backup_dir(path: Path) -> Path:
    """Create and return the first of `.backup`, `.backup.2`, `.backup.3`, ... that does not exist yet."""
    for n in range(1, 10_000):
        backup = path / (".backup" if n == 1 else f".backup.{n}")
        try:
            backup.mkdir()
            return backup
        except FileExistsError:
            continue
    raise DataDirError(f"{path}: too many .backup.* directories; remove old ones")
