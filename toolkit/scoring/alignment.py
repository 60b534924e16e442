"""Levenshtein alignment of a reference and a hypothesis token sequence, with the edit operations.

`align(ref, hyp)` returns the list of edits (correct, substitution, deletion, insertion) that turns
`ref` into `hyp` with the fewest errors S + D + I, i.e. the edit distance that Kaldi's `compute-wer`
and sclite report. Many alignments usually reach that minimum; the one returned is chosen by:

1. fewest substitutions (equivalently, most correct tokens). This is what sclite's default weights
   (substitution 4, insertion 3, deletion 3) do among alignments with equal error count: ref `a b`
   vs hyp `b c` is aligned `D C I` (the `b`s matched), not `S S`;
2. then, reading left to right, take a diagonal step (correct or substitution) whenever an optimal
   alignment allows it, else a deletion, else an insertion: ref `a a` vs hyp `a` is `C D`, not
   `D C`; ref `a b` vs hyp `b a` is `D C I`, not `I C D`.

The error count itself never depends on rule 1 or 2. Unlike sclite with its weights, the count is
always the true minimum (sclite's weighted search can, rarely, trade one substitution for two errors).

The dynamic programme is vectorised over hypothesis positions with numpy (one row per reference
token; the in-row insertion recurrence is a running minimum), so a 100 x 100 alignment costs well
under a millisecond and thousands of utterances score in about a second.
"""
import enum
import math
from dataclasses import dataclass
from typing import Hashable, Iterable, Sequence

import numpy as np


class Op(enum.StrEnum):
    """One alignment operation; the value is the letter used in sclite/Kaldi reports."""
    CORRECT = "C"
    SUBSTITUTION = "S"
    DELETION = "D"
    INSERTION = "I"


@dataclass(frozen=True, slots=True)
class Edit:
    """One column of an alignment: `ref` is None for an insertion, `hyp` is None for a deletion."""
    op: Op
    ref: str | None
    hyp: str | None


@dataclass(frozen=True, slots=True)
class ErrorCounts:
    """Counts over one or more aligned utterances: sentences, reference tokens and C/S/D/I.
    Sums with `+`; `count_edits` gives those of one alignment."""
    snt: int = 0      # utterances
    snt_err: int = 0  # utterances with at least one error
    n: int = 0        # reference tokens (= cor + sub + dele)
    cor: int = 0
    sub: int = 0
    dele: int = 0
    ins: int = 0

    @property
    def errors(self) -> int:
        return self.sub + self.dele + self.ins

    @property
    def err(self) -> float:
        """Error rate in percent, 100 (S + D + I) / N; inf when N = 0 but there are insertions."""
        return self.pct(self.errors)

    def pct(self, count: int) -> float:
        """`count` as a percentage of the reference tokens."""
        if self.n == 0:
            return 0.0 if count == 0 else math.inf
        return 100.0 * count / self.n

    def __add__(self, other: "ErrorCounts") -> "ErrorCounts":
        return ErrorCounts(self.snt + other.snt, self.snt_err + other.snt_err, self.n + other.n,
                           self.cor + other.cor, self.sub + other.sub, self.dele + other.dele,
                           self.ins + other.ins)


def count_edits(edits: Iterable[Edit]) -> ErrorCounts:
    """Tally one alignment (one utterance) into C/S/D/I counts."""
    n = {op: 0 for op in Op}
    for e in edits:
        n[e.op] += 1
    cor, sub, dele, ins = n[Op.CORRECT], n[Op.SUBSTITUTION], n[Op.DELETION], n[Op.INSERTION]
    return ErrorCounts(1, int(sub + dele + ins > 0), cor + sub + dele, cor, sub, dele, ins)


def align(ref: Sequence[Hashable], hyp: Sequence[Hashable]) -> list[Edit]:
    """Minimum-error alignment of `ref` (length N) and `hyp` (length M); see the module docstring.

    Returns N + I edits in reading order; the `ref` tokens of the edits are `ref` in order, the
    `hyp` tokens are `hyp` in order. Tokens are compared with `==` (any hashable type works).
    """
    n, m = len(ref), len(hyp)
    if n == 0 or m == 0:
        return ([Edit(Op.DELETION, r, None) for r in ref] +
                [Edit(Op.INSERTION, None, h) for h in hyp])
    # Integer costs that order alignments by (errors, substitutions): with K > max possible
    # substitutions, total = K * errors + substitutions.
    k = min(n, m) + 1
    c_ins = c_del = k
    c_sub = k + 1
    vocab: dict[Hashable, int] = {}
    r_ids = np.array([vocab.setdefault(t, len(vocab)) for t in reversed(ref)], dtype=np.int64)
    h_ids = np.array([vocab.setdefault(t, len(vocab)) for t in reversed(hyp)], dtype=np.int64)
    # cost[i, j] = cost of aligning the last i ref tokens with the last j hyp tokens. Working on
    # suffixes lets the trace-back below walk forwards, so tie rule 2 reads left to right.
    ramp = np.arange(m + 1, dtype=np.int64) * c_ins
    cost = np.empty((n + 1, m + 1), dtype=np.int64)
    cost[0] = ramp
    for i in range(1, n + 1):
        prev = cost[i - 1]
        best = np.empty(m + 1, dtype=np.int64)
        best[0] = prev[0] + c_del
        np.minimum(prev[:-1] + np.where(h_ids == r_ids[i - 1], 0, c_sub),  # diagonal
                   prev[1:] + c_del, out=best[1:])                           # deletion
        # insertion within the row: cost[i, j] = min_{j' <= j} best[j'] + c_ins * (j - j')
        cost[i] = np.minimum.accumulate(best - ramp) + ramp
    return _trace(cost.tolist(), ref, hyp, c_sub, c_del, c_ins)


def _trace(cost: list[list[int]], ref: Sequence, hyp: Sequence,
           c_sub: int, c_del: int, c_ins: int) -> list[Edit]:
    """Walk the suffix cost table from (all ref, all hyp) to (0, 0): diagonal, then deletion, then insertion."""
    n, m = len(ref), len(hyp)
    i, j = n, m
    edits: list[Edit] = []
    while i > 0 or j > 0:
        here = cost[i][j]
        if i > 0 and j > 0:
            r, h = ref[n - i], hyp[m - j]
            same = r == h
            if here == cost[i - 1][j - 1] + (0 if same else c_sub):
                edits.append(Edit(Op.CORRECT if same else Op.SUBSTITUTION, r, h))
                i, j = i - 1, j - 1
                continue
        if i > 0 and here == cost[i - 1][j] + c_del:
            edits.append(Edit(Op.DELETION, ref[n - i], None))
            i -= 1
        else:
            edits.append(Edit(Op.INSERTION, None, hyp[m - j]))
            j -= 1
    return edits


def format_alignment(edits: Sequence[Edit], mark_correct: bool = False) -> tuple[str, str, str]:
    """The REF, HYP and EVAL rows of an alignment in sclite `pralign` style, columns padded to line up.

    An inserted token has `***` in the REF row, a deleted one `***` in the HYP row (longer for long
    tokens), and the EVAL row shows S/D/I under errors and a blank (or `C` with `mark_correct`, as
    in Kaldi's `per_utt`) under correct tokens. Token case is kept as it is (tokens may be
    case-sensitive), so unlike sclite errors are not upper-cased.
    """
    ref_cols, hyp_cols, eval_cols = [], [], []
    for e in edits:
        gap = e.ref is None or e.hyp is None
        width = max(len(e.ref or ""), len(e.hyp or ""), 3 if gap else 1)
        ref_cols.append((e.ref if e.ref is not None else "*" * width).ljust(width))
        hyp_cols.append((e.hyp if e.hyp is not None else "*" * width).ljust(width))
        mark = "" if e.op is Op.CORRECT and not mark_correct else e.op.value
        eval_cols.append(mark.ljust(width))
    return (" ".join(ref_cols).rstrip(), " ".join(hyp_cols).rstrip(), " ".join(eval_cols).rstrip())
