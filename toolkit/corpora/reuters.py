"""Reuters-21578 (Lewis 1997, the Distribution 1.0 SGML files) as headline-generation pairs: the
first sentence of a story's BODY is the source, its TITLE the target.

    corpus = read_reuters("/data/reuters21578")        # a reut2-*.sgm file, a dir of them, or the tarball
    corpus.pairs[0]   # ('Showers continued throughout the week in the Bahia cocoa zone, ...', 'BAHIA COCOA REVIEW')
    corpus.summary()  # 'read 21578, kept ..., dropped ... (no_body=.. no_title=.. table=..)'

The real files' quirks, each handled and counted: stories without TITLE (``no_title``) or without
BODY (``no_body``; the TYPE="BRIEF" one-liners and TYPE="UNPROC" dumps), SGML entities (``&lt;``,
``&amp;``, and ``&#3;``-style control characters, which are removed), bytes that are not UTF-8
(decoded as Latin-1, the files' 8-bit charset, and counted as ``repaired latin1``), bodies that are
tables of numbers (``table``: the lead has fewer than `min_letters_ratio` alphabetic words),
the trailing "Reuter" signature, and leads that end nowhere (the whole first paragraph is taken,
``too_long`` drops it past `max_words`). One story yields at most one pair; a document whose lead
ends up empty is counted ``empty``. The licence of the collection is research-only: never commit it.
"""
from __future__ import annotations

import html
import os
import re
import tarfile
from collections import Counter
from pathlib import Path
from typing import Iterator

from toolkit.corpora.headlines import Headlines, normalize_headline
from toolkit.data.parallel_text import normalize_text

_DOC = re.compile(rb"<REUTERS\b([^>]*)>(.*?)</REUTERS>", re.S)
_NEWID = re.compile(rb'NEWID="(\d+)"')
_TITLE = re.compile(r"<TITLE>(.*?)</TITLE>", re.S)
_BODY = re.compile(r"<BODY>(.*?)(?:</BODY>|$)", re.S)
_TAG = re.compile(r"<[^>]*>")
_LEFT_ENTITY = re.compile(r"&#?\w*;?")          # what html.unescape could not resolve
_SIGNATURE = re.compile(r"\s*\bReuter\s*$", re.I)
_SENTENCE_END = re.compile(r"[.!?]['\")]*\s+(?=[\"'(]?[A-Z0-9])")
# Words ending in '.' that do not end a sentence in wire copy.
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "st", "inc", "corp", "co", "ltd", "plc", "bhd", "cie", "no", "vs", "gov", "sen",
    "rep", "gen", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s",
    "u.k", "e.g", "i.e", "ft", "pct", "approx", "dept", "est", "fig", "jr", "sr", "mt", "ave", "lt", "col",
}


def _decode(raw: bytes, repaired: Counter) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        repaired["latin1"] += 1
        return raw.decode("latin-1")


def clean_sgml_text(text: str) -> str:
    """Entity-decoded, tag-free, control-character-free text with whitespace runs as one space."""
    text = html.unescape(_TAG.sub(" ", text))
    return normalize_text(_LEFT_ENTITY.sub(" ", text))


def first_sentence(body: str) -> str:
    """The first sentence of cleaned body text (no "Reuter" signature), skipping abbreviation dots."""
    body = _SIGNATURE.sub("", body)
    for m in _SENTENCE_END.finditer(body):
        word = body[:m.start() + 1].rsplit(" ", 1)[-1].rstrip(".").lower()
        if word in _ABBREVIATIONS or len(word) == 1 or "." in word:   # "Corp.", "U.S.", "E.F.", an initial "J."
            continue
        return body[:m.end()].strip()
    return body.strip()


def is_table(text: str, min_letters_ratio: float = 0.5) -> bool:
    """True when fewer than `min_letters_ratio` of the words are alphabetic (number tables, price lists)."""
    words = text.split()
    alpha = sum(1 for w in words if re.search(r"[A-Za-z]{2,}", w) and not re.search(r"\d", w))
    return not words or alpha < min_letters_ratio * len(words) or alpha < 3


def _sgm_files(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every reut2-*.sgm in a file, dir or tarball, in name order."""
    if path.is_dir():
        files = sorted(path.glob("reut2-*.sgm"))
        if not files:
            raise FileNotFoundError(f"{path}: no reut2-*.sgm files")
        for f in files:
            yield str(f), f.read_bytes()
    elif tarfile.is_tarfile(path):
        with tarfile.open(path) as tar:
            members = sorted((m for m in tar.getmembers() if re.fullmatch(r"reut2-\d+\.sgm", Path(m.name).name)),
                             key=lambda m: m.name)
            if not members:
                raise FileNotFoundError(f"{path}: the archive holds no reut2-*.sgm files")
            for m in members:
                yield f"{path}:{m.name}", tar.extractfile(m).read()
    elif path.is_file():
        yield str(path), path.read_bytes()
    else:
        raise FileNotFoundError(f"{path}: no such file or directory (expected reut2-*.sgm, a dir or the tarball)")


def read_reuters(path: str | os.PathLike, *, lowercase: bool = False, digits: bool = False,
                 max_words: int = 100, min_letters_ratio: float = 0.5) -> Headlines:
    """(first BODY sentence, TITLE) pairs of every story, normalised with `normalize_headline`.

    Pairs come in file and document order; the document ids (NEWID) are in `Headlines.ids`."""
    corpus = Headlines([])
    corpus.ids = []
    for name, data in _sgm_files(Path(path)):
        for m in _DOC.finditer(data):
            corpus.read += 1
            newid = _NEWID.search(m.group(1))
            text = _decode(m.group(2), corpus.repaired)
            title, body = _TITLE.search(text), _BODY.search(text)
            if title is None or not clean_sgml_text(title.group(1)):
                corpus.dropped["no_title"] += 1
                continue
            if body is None or not clean_sgml_text(body.group(1)):
                corpus.dropped["no_body"] += 1
                continue
            lead = first_sentence(clean_sgml_text(body.group(1)))
            if is_table(lead, min_letters_ratio):
                corpus.dropped["table"] += 1
                continue
            src = normalize_headline(lead, lowercase=lowercase, digits=digits)
            tgt = normalize_headline(clean_sgml_text(title.group(1)), lowercase=lowercase, digits=digits)
            if not src or not tgt:
                corpus.dropped["empty"] += 1
            elif len(src.split()) > max_words:
                corpus.dropped["too_long"] += 1
            else:
                corpus.pairs.append((src, tgt))
                corpus.ids.append(f"{Path(name).name}:{newid.group(1).decode() if newid else corpus.read}")
    if corpus.read == 0:
        raise ValueError(f"{path}: no <REUTERS> documents found (is this the Reuters-21578 SGML distribution?)")
    return corpus
