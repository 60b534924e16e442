"""Corpus-level BLEU and chrF with sacrebleu, reported with sacrebleu's signature.

Score detokenised text (what `SentencePieceTokenizer.decode` returns) against untokenised
references: sacrebleu applies its own tokenisation (13a by default), so numbers are comparable
across papers only together with the signature string, e.g.
``nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0``.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Sequence

from sacrebleu.metrics import BLEU, CHRF

from toolkit.utils.atomic import atomic_write

log = logging.getLogger(__name__)


@dataclass
class TranslationScore:
    bleu: float             # corpus BLEU, 0..100
    chrf: float             # corpus chrF (chrF++ with word_order=2), 0..100
    bleu_detail: str        # sacrebleu's line: n-gram precisions, brevity penalty, lengths
    chrf_detail: str
    bleu_signature: str
    chrf_signature: str
    sentences: int

    def report(self) -> str:
        """Human-readable lines, as written by `write_score_file`."""
        return (f"{self.bleu_detail}\nBLEU signature: {self.bleu_signature}\n"
                f"{self.chrf_detail}\nchrF signature: {self.chrf_signature}\n"
                f"sentences: {self.sentences}\n")


def _reference_streams(references: Sequence[str] | Sequence[Sequence[str]], n_hyp: int) -> list[list[str]]:
    """One reference per hypothesis (a list of str) or several (a list of such lists), checked for length."""
    streams = [list(references)] if not references or isinstance(references[0], str) else [list(r) for r in references]
    for i, stream in enumerate(streams, 1):
        if len(stream) != n_hyp:
            raise ValueError(f"{n_hyp} hypotheses but reference set {i} has {len(stream)} sentences")
    return streams


def score_translations(hypotheses: Sequence[str], references: Sequence[str] | Sequence[Sequence[str]], *,
                       tokenize: str = "13a", lowercase: bool = False, chrf_word_order: int = 0) -> TranslationScore:
    """Corpus BLEU and chrF of detokenised hypotheses against one or more reference sets.

    references: ``["ref 1", "ref 2", ...]`` (one per hypothesis) or ``[[set A ...], [set B ...]]``.
    tokenize: sacrebleu tokeniser for BLEU ("13a", "intl", "zh", "ja-mecab", "none", ...).
    chrf_word_order: 0 for chrF, 2 for chrF++.
    """
    hyps = list(hypotheses)
    if not hyps:
        raise ValueError("no hypotheses to score")
    refs = _reference_streams(references, len(hyps))
    bleu = BLEU(tokenize=tokenize, lowercase=lowercase)
    chrf = CHRF(word_order=chrf_word_order, lowercase=lowercase)
    b, c = bleu.corpus_score(hyps, refs), chrf.corpus_score(hyps, refs)
    score = TranslationScore(b.score, c.score, str(b), str(c),
                             str(bleu.get_signature()), str(chrf.get_signature()), len(hyps))
    log.debug("%s (%s); %s", score.bleu_detail, score.bleu_signature, score.chrf_detail)
    return score


def write_score_file(score: TranslationScore, path: str | os.PathLike) -> None:
    """Write `score.report()` to `path` (atomically), e.g. ``exp/.../decode_test/scores.txt``."""
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(score.report())
