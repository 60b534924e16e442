"""Parallel text for translation: read, clean and split sentence pairs.

Two input layouts are read:

* a tab-separated pair file as exported by Tatoeba / manythings.org/anki:
  ``English<TAB>Other[<TAB>attribution...]``, one pair per line; the language of each column
  is given explicitly or inferred from the Anki file name (``deu-eng.tsv``, ``deu.txt``);
* Moses-style parallel files (``train.de`` / ``train.en``, ``train.src`` / ``train.tgt``): line
  *i* of one file translates line *i* of the other.

Readers stream `RawPair`s and never load a file whole. `clean_pairs` normalises the text and
drops bad pairs, counting each drop reason so the clean stage can log them; `split_pairs`
makes a deterministic train/dev/test split in which every distinct source sentence lands on
exactly one side (no source sentence of the test set is seen in training).

Typical use (stage 1 of the translation recipe)::

    corpus = clean_pairs(read_tsv("deu-eng.tsv", src_lang="deu", tgt_lang="eng"), max_tokens=80)
    log.info("%s", corpus.summary())
    splits = split_pairs(corpus.pairs, dev=1000, test=2000)
    write_moses(splits["train"], "data/train/text.deu", "data/train/text.eng")
"""
from __future__ import annotations

import codecs
import hashlib
import itertools
import logging
import os
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, Sequence

from toolkit.utils.atomic import atomic_write
from toolkit.utils.errors import UserError

log = logging.getLogger(__name__)

#: Drop reasons counted by `clean_pairs`, in the order the checks run.
DROP_REASONS = ("non_utf8", "empty", "too_long", "ratio")

# Characters that render as nothing but make two equal-looking sentences differ
# (zero-width space, soft hyphen, byte-order mark / zero-width no-break space, word joiner).
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u00ad\ufeff\u2060"))
# Control characters other than whitespace (whitespace ones are handled by str.split()).
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
# At most this many undecodable lines are logged one by one per file; the rest are only counted.
_MAX_LOGGED_BAD_LINES = 10
# A file with this many undecodable lines and no decodable non-ASCII line is in another encoding.
_MIN_BAD_LINES_WRONG_ENCODING = 2


@dataclass(frozen=True)
class RawPair:
    """One pair as read from disk. `src`/`tgt` are None when the line was not valid UTF-8.

    `where` names the origin for messages: ``file:line`` (or ``src_file:line`` for Moses files,
    where the line number is the same in both files).
    """

    where: str
    src: str | None
    tgt: str | None


@dataclass
class ParallelText:
    """Cleaned sentence pairs plus what was dropped and why (reason -> number of pairs)."""

    pairs: list[tuple[str, str]]
    read: int
    dropped: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        """One log line: ``read 120 pairs, kept 113, dropped 7 (non_utf8=1 empty=2 too_long=3 ratio=1)``."""
        reasons = " ".join(f"{r}={self.dropped.get(r, 0)}" for r in DROP_REASONS)
        return (f"read {self.read} pairs, kept {len(self.pairs)}, "
                f"dropped {sum(self.dropped.values())} ({reasons})")


def normalize_text(text: str) -> str:
    """Unicode NFC, invisible characters removed, any whitespace run (incl. no-break spaces) -> one space."""
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    return " ".join(_CONTROL.sub(" ", text).split())


class ParallelTextError(UserError):
    """Parallel text that cannot be used as given; the message names the file and line."""


class _LineDecoder:
    """Decodes the lines of one file. An undecodable line raises (strict) or is logged (the first
    few), counted and dropped; `finish` then refuses a file that is evidently in another encoding:
    several undecodable lines and not one non-ASCII line that decodes (a Latin-1 file read as UTF-8
    would otherwise lose every line with an umlaut)."""

    def __init__(self, path: Path, encoding: str, strict: bool):
        self.path, self.encoding, self.strict = path, encoding, strict
        self.name = "UTF-8" if codecs.lookup(encoding).name == "utf-8" else encoding  # for messages
        self.bad: list[str] = []          # message of each undecodable line
        self.decoded_non_ascii = False    # some line beyond ASCII decoded fine

    def __call__(self, raw: bytes, lineno: int) -> str | None:
        try:
            text = raw.decode(self.encoding)
        except UnicodeDecodeError as e:
            msg = f"{self.path}:{lineno}: invalid {self.name} byte 0x{raw[e.start]:02x} at byte offset {e.start}"
            if self.strict:
                raise ParallelTextError(f"{msg} (if the file is in another encoding, give it with --encoding)") from None
            self.bad.append(msg)
            if len(self.bad) <= _MAX_LOGGED_BAD_LINES:
                log.warning("%s; pair dropped", msg)
            elif len(self.bad) == _MAX_LOGGED_BAD_LINES + 1:
                log.warning("%s: more invalid %s lines; counted but no longer logged", self.path, self.name)
            return None
        self.decoded_non_ascii = self.decoded_non_ascii or not raw.isascii()
        return text.rstrip("\r\n")

    def finish(self) -> None:
        if len(self.bad) >= _MIN_BAD_LINES_WRONG_ENCODING and not self.decoded_non_ascii:
            raise ParallelTextError(f"{self.bad[0]}: {self.path} is not {self.name}: none of its {len(self.bad)} "
                                    "lines with non-ASCII bytes decodes, so it is in another encoding (Latin-1? "
                                    "cp1252?); give it with --encoding (e.g. --encoding latin-1) instead of "
                                    "losing those lines")


def read_lines(path: str | os.PathLike, stream: BinaryIO | None = None, encoding: str = "utf-8") -> list[str]:
    """All lines of a text file (or of a binary `stream` named `path`), without line ends.

    An undecodable line raises ``ParallelTextError("file:line: invalid utf-8 byte 0x..")``.
    """
    decode = _LineDecoder(Path(path), encoding, strict=True)
    with stream or open(path, "rb") as f:
        return [decode(raw, lineno) for lineno, raw in enumerate(f, 1)]


def anki_columns(path: str | os.PathLike) -> tuple[str, str]:
    """Column languages of an Anki/Tatoeba export from its file name: English is always first.

    ``deu-eng.tsv`` / ``eng-deu.tsv`` / ``deu.txt`` -> ``("eng", "deu")`` (ISO 639-3 codes).
    """
    codes = Path(path).stem.split("-")
    other = [c for c in codes if c != "eng"]
    if not 1 <= len(codes) <= 2 or len(other) != 1 or not all(re.fullmatch("[a-z]{3}", c) for c in codes):
        raise ParallelTextError(f"{path}: cannot infer column languages from the file name "
                         "(expected an Anki export name such as deu-eng.tsv); pass columns=(...)")
    return "eng", other[0]


def read_tsv(path: str | os.PathLike, src_lang: str, tgt_lang: str,
             columns: Sequence[str] | None = None, *, strict: bool = False,
             encoding: str = "utf-8") -> Iterator[RawPair]:
    """Stream pairs from a tab-separated file, picking the source and target columns by language.

    columns: language of each leading column, e.g. ``("eng", "deu")``; extra columns (Anki's
    attribution) are ignored. None infers them from the file name (`anki_columns`).
    strict: raise ``ParallelTextError("file:line: ...")`` on an undecodable line instead of
    dropping it; a file evidently in another `encoding` than the one given is an error either way.
    A blank line is yielded as an empty pair (dropped by `clean_pairs`). Every non-blank line must
    have as many columns as the first (a tab inside a sentence would shift the columns) and at
    least the language columns; otherwise ParallelTextError names file and line.
    """
    path = Path(path)
    columns = list(columns) if columns is not None else list(anki_columns(path))
    for lang in (src_lang, tgt_lang):
        if lang not in columns:
            raise ParallelTextError(f"{path}: language {lang!r} is not one of the columns {columns}")
    si, ti = columns.index(src_lang), columns.index(tgt_lang)
    need = max(si, ti) + 1
    decode = _LineDecoder(path, encoding, strict)
    first: tuple[int, int] | None = None  # (line, number of columns) of the first non-blank line
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            where = f"{path}:{lineno}"
            line = decode(raw, lineno)
            if line is None:
                yield RawPair(where, None, None)
                continue
            if not line.strip():
                yield RawPair(where, "", "")
                continue
            fields = line.split("\t")
            if len(fields) < need:
                raise ParallelTextError(f"{where}: expected at least {need} tab-separated columns "
                                        f"{columns[:need]}, found {len(fields)}")
            first = first or (lineno, len(fields))
            if len(fields) != first[1]:
                raise ParallelTextError(f"{where}: {len(fields)} tab-separated columns, but line {first[0]} has "
                                        f"{first[1]}; a tab inside a sentence would pair the wrong columns: "
                                        "fix the line")
            yield RawPair(where, fields[si], fields[ti])
    decode.finish()


def _count_lines(f) -> int:
    return sum(1 for _ in f)


def read_moses(src_path: str | os.PathLike, tgt_path: str | os.PathLike, *,
               strict: bool = False, encoding: str = "utf-8") -> Iterator[RawPair]:
    """Stream pairs from two line-aligned files (Moses layout, e.g. Multi30k ``train.de``/``train.en``).

    Different line counts raise ``ParallelTextError`` naming both files and both counts. A line
    that does not decode in `encoding` on either side drops the pair (yielded with src = tgt =
    None), or raises ``ParallelTextError("file:line: ...")`` when `strict`; a file evidently in
    another encoding is an error either way.
    """
    src_path, tgt_path = Path(src_path), Path(tgt_path)
    decode_src, decode_tgt = _LineDecoder(src_path, encoding, strict), _LineDecoder(tgt_path, encoding, strict)
    with open(src_path, "rb") as fs, open(tgt_path, "rb") as ft:
        for lineno, (rs, rt) in enumerate(itertools.zip_longest(fs, ft), 1):
            if rs is None or rt is None:
                n_src = lineno - 1 + (rs is not None) + _count_lines(fs)
                n_tgt = lineno - 1 + (rt is not None) + _count_lines(ft)
                raise ParallelTextError(f"misaligned parallel files: {src_path} has {n_src} lines, "
                                        f"{tgt_path} has {n_tgt} lines")
            src, tgt = decode_src(rs, lineno), decode_tgt(rt, lineno)
            if src is None or tgt is None:
                src = tgt = None
            yield RawPair(f"{src_path}:{lineno}", src, tgt)
    decode_src.finish()
    decode_tgt.finish()


def clean_pairs(raw: Iterable[RawPair], *, max_tokens: int = 100, max_ratio: float = 9.0) -> ParallelText:
    """Normalise every pair (`normalize_text`) and drop the ones unfit for training.

    Drop reasons (counted in `ParallelText.dropped`): ``non_utf8`` (undecodable line), ``empty``
    (either side empty after normalisation), ``too_long`` (either side over `max_tokens`
    whitespace tokens), ``ratio`` (longer side over `max_ratio` times the shorter, in tokens;
    9 is Moses' clean-corpus-n.perl default).
    """
    if max_tokens < 1 or max_ratio < 1:
        raise ParallelTextError(f"need max_tokens >= 1 and max_ratio >= 1, got {max_tokens}, {max_ratio}")
    kept: list[tuple[str, str]] = []
    dropped: Counter = Counter()
    n = 0
    for n, pair in enumerate(raw, 1):
        if pair.src is None or pair.tgt is None:
            dropped["non_utf8"] += 1
            continue
        src, tgt = normalize_text(pair.src), normalize_text(pair.tgt)
        ns, nt = len(src.split()), len(tgt.split())
        if ns == 0 or nt == 0:
            reason = "empty"
        elif max(ns, nt) > max_tokens:
            reason = "too_long"
        elif max(ns, nt) > max_ratio * min(ns, nt):
            reason = "ratio"
        else:
            kept.append((src, tgt))
            continue
        dropped[reason] += 1
        log.debug("%s: dropped (%s)", pair.where, reason)
    return ParallelText(kept, n, dropped)


def _split_key(src: str, seed: int) -> bytes:
    """Hash of the normalised, case-folded source sentence: equal sources share a key."""
    text = normalize_text(src).casefold()
    return hashlib.blake2b(f"{seed}\t{text}".encode("utf-8"), digest_size=16).digest()


def _target_size(size: int | float, n: int, name: str) -> int:
    if isinstance(size, float):
        if not 0.0 <= size < 1.0:
            raise ParallelTextError(f"{name} fraction must be in [0, 1), got {size}")
        return round(size * n)
    if size < 0:
        raise ParallelTextError(f"{name} size must be >= 0, got {size}")
    return size


def split_pairs(pairs: Sequence[tuple[str, str]], dev: int | float, test: int | float,
                seed: int = 0) -> dict[str, list[tuple[str, str]]]:
    """Deterministic train/dev/test split keeping each distinct source sentence on one side only.

    Sizes are pair counts (int) or fractions of all pairs (float). Distinct sources (compared
    after normalisation and case folding) are ordered by a keyed hash of the text (`seed` is the
    key) and whole groups go to test, then dev, until each holds at least its size; the rest is
    train. So a size can be exceeded by the number of translations of one source sentence, and
    the split depends only on the text, not on the order of the input. Pairs keep their input
    order within each split.
    """
    n = len(pairs)
    n_test, n_dev = _target_size(test, n, "test"), _target_size(dev, n, "dev")
    if n_test + n_dev > n:
        raise ParallelTextError(f"dev ({n_dev}) + test ({n_test}) pairs exceed the {n} pairs available")
    groups: dict[bytes, list[int]] = {}
    for i, (src, _) in enumerate(pairs):
        groups.setdefault(_split_key(src, seed), []).append(i)
    side = ["train"] * n
    filled = {"test": 0, "dev": 0}
    targets = {"test": n_test, "dev": n_dev}
    for key in sorted(groups):
        name = next((s for s in ("test", "dev") if filled[s] < targets[s]), None)
        if name is None:
            break
        for i in groups[key]:
            side[i] = name
        filled[name] += len(groups[key])
    splits: dict[str, list[tuple[str, str]]] = {"train": [], "dev": [], "test": []}
    for pair, name in zip(pairs, side):
        splits[name].append(pair)
    return splits


def text_file(data_dir: str | os.PathLike, lang: str) -> Path:
    """``<data_dir>/text.<lang>``: how a translation data dir names the side of language `lang`."""
    return Path(data_dir) / f"text.{lang}"


def write_moses(pairs: Iterable[tuple[str, str]], src_path: str | os.PathLike,
                tgt_path: str | os.PathLike) -> int:
    """Write pairs as two line-aligned UTF-8 files (atomically); returns the number of pairs."""
    n = 0
    with atomic_write(src_path, "w", encoding="utf-8") as fs, atomic_write(tgt_path, "w", encoding="utf-8") as ft:
        for n, (src, tgt) in enumerate(pairs, 1):
            if "\n" in src or "\n" in tgt:
                raise ValueError(f"pair {n} contains a newline; clean the text before writing")
            fs.write(src + "\n")
            ft.write(tgt + "\n")
    return n
