"""ROUGE-1/2/L F1 of summaries with Google's `rouge-score` package (stemming on), and the
extractive baselines every headline result should be read against.

    score = score_summaries(hyps, refs)            # RougeScore(rouge1=.., rouge2=.., rougeL=.., sentences=..)
    table = baseline_table(sources, refs)          # {"prefix-8": RougeScore, ..., "source": RougeScore}

Scores are averages over sentences of the per-sentence F1, in percent (what the Rush et al. 2015 and
See et al. 2017 tables report). rouge-score's tokenizer lowercases and keeps only [a-z0-9] runs, so
punctuation, the Gigaword digit mask '#' and 'UNK' markers count as nothing or as ordinary words alike
on both sides. ROUGE-L is the sentence-level LCS (``rougeL``), not the summary-level ``rougeLsum``.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Sequence

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
#: first-N-words baselines of the source (Rush et al. 2015 report the first 75 characters; words read better)
PREFIX_WORDS = (8, 10, 12)


@dataclass
class RougeScore:
    rouge1: float   # F1 x 100, averaged over sentences
    rouge2: float
    rougeL: float
    sentences: int

    def as_dict(self) -> dict:
        return asdict(self)

    def row(self) -> str:
        return f"{self.rouge1:6.2f} {self.rouge2:6.2f} {self.rougeL:6.2f}"


def score_summaries(hyps: Sequence[str], refs: Sequence[str], *, stemmer: bool = True) -> RougeScore:
    """Average ROUGE-1/2/L F1 (x 100) of `hyps` against `refs` (one reference each); lengths must match."""
    from rouge_score import rouge_scorer

    logging.getLogger("absl").setLevel(logging.WARNING)   # rouge-score logs "Using default tokenizer." per scorer
    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} summaries but {len(refs)} references")
    if not hyps:
        raise ValueError("no summaries to score")
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=stemmer)
    total = dict.fromkeys(ROUGE_TYPES, 0.0)
    for hyp, ref in zip(hyps, refs):
        scores = scorer.score(ref, hyp)          # rouge-score's order: (target, prediction)
        for name in ROUGE_TYPES:
            total[name] += scores[name].fmeasure
    n = len(hyps)
    return RougeScore(*(100.0 * total[name] / n for name in ROUGE_TYPES), sentences=n)


def prefix(text: str, n: int) -> str:
    """The first `n` whitespace words of `text`."""
    return " ".join(text.split()[:n])


def baseline_table(sources: Sequence[str], refs: Sequence[str], *, stemmer: bool = True) -> dict[str, RougeScore]:
    """ROUGE of the extractive baselines: the first N source words (N in PREFIX_WORDS) and the whole source."""
    table = {f"prefix-{n}": score_summaries([prefix(s, n) for s in sources], refs, stemmer=stemmer)
             for n in PREFIX_WORDS}
    table["source"] = score_summaries(list(sources), refs, stemmer=stemmer)
    return table


def markdown_table(rows: dict[str, RougeScore]) -> str:
    """``| system | R-1 | R-2 | R-L | sentences |`` with one line per entry."""
    lines = ["| system | ROUGE-1 | ROUGE-2 | ROUGE-L | sentences |", "|---|---|---|---|---|"]
    lines += [f"| {name} | {s.rouge1:.2f} | {s.rouge2:.2f} | {s.rougeL:.2f} | {s.sentences} |"
              for name, s in rows.items()]
    return "\n".join(lines)
