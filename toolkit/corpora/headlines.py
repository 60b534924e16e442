"""Headline-generation pairs (a story's lead sentence, its headline): the common readers and the
normalisation every split gets alike.

Inputs read here (Reuters-21578 SGML is `toolkit.corpora.reuters`):

* Gigaword-style parallel files (Rush et al. 2015's release: ``train.article.txt`` /
  ``train.title.txt``): line *i* of the title file is the headline of line *i* of the article file;
  files of different line counts are an error naming both files and both counts;
* a TSV file, ``source<TAB>target`` per line (further columns ignored).

Every reader returns `Headlines`: the kept pairs, the number read and, per reason, the number dropped
(``non_utf8``, ``empty``, ``too_long`` here; the Reuters reader adds its own), so the data stage can log
exactly what it skipped. `normalize_headline` is applied identically to training, dev and test text:
whitespace/Unicode clean-up, optional lowercasing and optional digit masking (every digit -> ``#``,
the Gigaword convention), with the unknown-word markers ``UNK`` and ``<unk>`` passed through as one
token, ``UNK`` (lowercasing leaves it alone; ``<unk>`` would be split into pieces by sentencepiece).
"""
from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from toolkit.data.parallel_text import RawPair, normalize_text, read_moses, read_tsv

UNK_TOKEN = "UNK"
_UNK_FORMS = {"UNK", "<unk>", "<UNK>", "unk"}  # 'unk' only as written by an already lowercased Gigaword
_DIGIT = re.compile(r"\d")


@dataclass
class Headlines:
    """(lead, headline) pairs that survived reading and cleaning, and why the others did not."""

    pairs: list[tuple[str, str]]
    read: int = 0
    dropped: Counter = field(default_factory=Counter)
    repaired: Counter = field(default_factory=Counter)  # kept, but fixed on the way (e.g. latin1)

    def summary(self) -> str:
        """``read 20 documents, kept 15, dropped 5 (no_title=2 table=3)``."""
        reasons = " ".join(f"{r}={n}" for r, n in sorted(self.dropped.items())) or "none"
        fixed = " ".join(f"{r}={n}" for r, n in sorted(self.repaired.items()))
        return (f"read {self.read}, kept {len(self.pairs)}, dropped {sum(self.dropped.values())} ({reasons})"
                + (f"; repaired: {fixed}" if fixed else ""))


def normalize_headline(text: str, *, lowercase: bool = False, digits: bool = False) -> str:
    """Clean one side of a pair: NFC, control characters and whitespace runs -> one space, unknown-word
    markers -> ``UNK``; then lowercase (``UNK`` kept) and/or every digit -> ``#``."""
    words = normalize_text(text).split()
    out = []
    for w in words:
        if w in _UNK_FORMS and (w != "unk" or lowercase):
            out.append(UNK_TOKEN)
            continue
        if lowercase:
            w = w.lower()
        if digits:
            w = _DIGIT.sub("#", w)
        out.append(w)
    return " ".join(out)


def clean_headlines(raw: Iterable[RawPair], *, lowercase: bool = False, digits: bool = False,
                    max_words: int = 100) -> Headlines:
    """Normalise raw pairs and drop (counting the reason) undecodable, empty and over-long ones.

    `max_words` bounds the source; a headline longer than its source is kept (Gigaword has some)."""
    corpus = Headlines([])
    for corpus.read, pair in enumerate(raw, 1):
        if pair.src is None or pair.tgt is None:
            corpus.dropped["non_utf8"] += 1
            continue
        src = normalize_headline(pair.src, lowercase=lowercase, digits=digits)
        tgt = normalize_headline(pair.tgt, lowercase=lowercase, digits=digits)
        if not src or not tgt:
            corpus.dropped["empty"] += 1
        elif len(src.split()) > max_words or len(tgt.split()) > max_words:
            corpus.dropped["too_long"] += 1
        else:
            corpus.pairs.append((src, tgt))
    return corpus


def read_gigaword(article: str | os.PathLike, title: str | os.PathLike, **options) -> Headlines:
    """Line-aligned article/title files (Gigaword layout); `options` go to `clean_headlines`.

    Different line counts: ValueError naming both files and both counts."""
    return clean_headlines(read_moses(article, title), **options)


def read_headline_tsv(path: str | os.PathLike, **options) -> Headlines:
    """``source<TAB>target`` lines; blank lines are counted as empty; `options` go to `clean_headlines`."""
    return clean_headlines(read_tsv(path, "source", "target", columns=("source", "target")), **options)
