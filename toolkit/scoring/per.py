"""Token error rate scoring (PER, WER or CER) with an sclite-style report.

`score(refs, hyps, utt2spk=..., token_map=...)` aligns every utterance (`toolkit.scoring.alignment`)
and returns a `ScoreReport`: totals, per-speaker rows, per-utterance alignments and the most frequent
confusions. `ScoreReport.write(out_dir)` leaves, for a decode directory:

    per_utt         Kaldi-style, 4 lines per utterance: `utt ref ...`, `utt hyp ...`, `utt op ...`,
                    `utt #csid C S I D` (Kaldi's column order)
    alignments.txt  sclite `pralign`-style REF:/HYP:/EVAL: blocks with the columns lined up
    per_spk         per-speaker counts (`raw`) and percentages (`sys`), then the SUM
    confusions.txt  every substitution pair, deleted and inserted token with its count
    result.json     {"metric", "err" (percent), "n", "cor", "sub", "del", "ins", "errors", "snt", "snt_err"}
    summary.txt     the sclite-style table and the `%PER 21.90 [ 1580 / 7215, ... ]` line

A token map (e.g. TIMIT 48 -> 39 phones) is applied to both sides before alignment; a token mapped
to None is dropped (TIMIT `q`). Every token must be in the map (an identity entry `x x` for those
that stay), so a hypothesis in the wrong phone set fails loudly instead of scoring as errors.

Readers for the Kaldi-format inputs (`text`, `utt2spk`, a two-column map file) are here too, with
errors that name the file and line.
"""
import json
import logging
import math
import os
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from toolkit.scoring.alignment import Edit, ErrorCounts, Op, align, count_edits, format_alignment
from toolkit.utils.atomic import atomic_write

log = logging.getLogger(__name__)

_SHOW_IDS = 10  # how many missing utterance ids an error message lists


class UtteranceMismatchError(ValueError):
    """The reference and hypothesis sets hold different utterance ids."""

    def __init__(self, only_ref: Sequence[str], only_hyp: Sequence[str], n_common: int):
        self.only_ref, self.only_hyp, self.n_common = list(only_ref), list(only_hyp), n_common
        parts = []
        for ids, where in ((self.only_ref, "in the reference but not the hypothesis"),
                           (self.only_hyp, "in the hypothesis but not the reference")):
            if ids:
                shown = ", ".join(ids[:_SHOW_IDS]) + (", ..." if len(ids) > _SHOW_IDS else "")
                parts.append(f"{len(ids)} utterance(s) {where} ({shown})")
        super().__init__("; ".join(parts) + f"; {n_common} utterance(s) in both "
                         "(score only those with only_common=True / --only-common)")


@dataclass(frozen=True, slots=True)
class UttScore:
    """One scored utterance: tokens after mapping, the alignment and its counts."""
    utt_id: str
    speaker: str | None
    ref: list[str]
    hyp: list[str]
    edits: list[Edit]
    counts: ErrorCounts


@dataclass
class ScoreReport:
    """Everything `score` computed; dict fields are sorted by id."""
    totals: ErrorCounts
    utterances: dict[str, UttScore]
    speakers: dict[str, ErrorCounts] = field(default_factory=dict)  # empty without utt2spk
    substitutions: Counter = field(default_factory=Counter)  # (ref, hyp) -> count
    deletions: Counter = field(default_factory=Counter)  # ref token -> count
    insertions: Counter = field(default_factory=Counter)  # hyp token -> count

    def top_substitutions(self, k: int = 10) -> list[tuple[str, str, int]]:
        """The k most frequent substitutions as (ref, hyp, count), ties by token."""
        return [(r, h, c) for (r, h), c in _most_common(self.substitutions, k)]

    def top_deletions(self, k: int = 10) -> list[tuple[str, int]]:
        return _most_common(self.deletions, k)

    def top_insertions(self, k: int = 10) -> list[tuple[str, int]]:
        return _most_common(self.insertions, k)

    def summary_line(self, metric: str = "ERR") -> str:
        """Kaldi's one-liner, e.g. `%PER 21.90 [ 1580 / 7215, 100 ins, 339 del, 1141 sub ]`."""
        t = self.totals
        return (f"%{metric} {t.err:.2f} [ {t.errors} / {t.n}, {t.ins} ins, {t.dele} del, "
                f"{t.sub} sub ]")

    def summary_table(self, title: str = "") -> str:
        """sclite-style table: one row per speaker (if known), Sum/Avg, and Mean/S.D./Median over speakers."""
        return _summary_table(self, title)

    def confusions_text(self, k: int | None = None) -> str:
        """Substitutions, deletions and insertions with counts, most frequent first (all when k is None)."""
        lines = []
        subs = self.top_substitutions(k if k is not None else len(self.substitutions))
        width = max((len(r) for r, _, _ in subs), default=0)
        lines.append(f"SUBSTITUTIONS (ref -> hyp): {sum(self.substitutions.values())}")
        lines += [f"  {c:6d}  {r.ljust(width)} -> {h}" for r, h, c in subs]
        for name, counter in (("DELETIONS", self.deletions), ("INSERTIONS", self.insertions)):
            lines.append(f"{name}: {sum(counter.values())}")
            lines += [f"  {c:6d}  {tok}"
                      for tok, c in _most_common(counter, k if k is not None else len(counter))]
        return "\n".join(lines) + "\n"

    def to_dict(self, metric: str = "ERR") -> dict:
        """The totals as a small JSON-able dict ("err" in percent, None if undefined)."""
        t = self.totals
        return {"metric": metric, "err": t.err if math.isfinite(t.err) else None, "n": t.n,
                "cor": t.cor, "sub": t.sub, "del": t.dele, "ins": t.ins, "errors": t.errors,
                "snt": t.snt, "snt_err": t.snt_err}

    def write(self, out_dir: str | os.PathLike, metric: str = "ERR", title: str = "") -> None:
        """Write per_utt, alignments.txt, per_spk, confusions.txt, result.json and summary.txt."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        files = {
            "per_utt": _per_utt_text(self),
            "alignments.txt": _alignments_text(self),
            "per_spk": _per_spk_text(self),
            "confusions.txt": self.confusions_text(),
            "result.json": json.dumps(self.to_dict(metric), indent=1) + "\n",
            "summary.txt": self.summary_table(title) + "\n" + self.summary_line(metric) + "\n",
        }
        for name, text in files.items():
            with atomic_write(out / name) as f:
                f.write(text)
        log.info("wrote %s to %s", ", ".join(files), out)


def score(refs: Mapping[str, Sequence[str]], hyps: Mapping[str, Sequence[str]], *,
          utt2spk: Mapping[str, str] | None = None,
          token_map: Mapping[str, str | None] | None = None,
          only_common: bool = False) -> ScoreReport:
    """Align and count every utterance of `refs` against `hyps` (both utt_id -> tokens).

    utt2spk: groups utterances into speakers for the per-speaker rows; must cover every scored utterance.
    token_map: applied to both sides before alignment; None as a value deletes the token.
    only_common: score the utterances present in both instead of raising `UtteranceMismatchError`.
    """
    ref_ids, hyp_ids = set(refs), set(hyps)
    common = sorted(ref_ids & hyp_ids)
    if ref_ids != hyp_ids:
        error = UtteranceMismatchError(sorted(ref_ids - hyp_ids), sorted(hyp_ids - ref_ids), len(common))
        if not only_common:
            raise error
        log.warning("scoring only the %d common utterances: %s", len(common), error)
    if utt2spk is not None:
        unknown = [u for u in common if u not in utt2spk]
        if unknown:
            raise ValueError(f"{len(unknown)} utterance(s) not in utt2spk: "
                             + ", ".join(unknown[:_SHOW_IDS]) + (", ..." if len(unknown) > _SHOW_IDS else ""))

    report = ScoreReport(totals=ErrorCounts(), utterances={})
    speakers: dict[str, ErrorCounts] = {}
    for utt in common:
        ref, hyp = list(refs[utt]), list(hyps[utt])
        if token_map is not None:
            ref = _map_tokens(ref, token_map, "reference", utt)
            hyp = _map_tokens(hyp, token_map, "hypothesis", utt)
        edits = align(ref, hyp)
        counts = count_edits(edits)
        spk = utt2spk[utt] if utt2spk is not None else None
        report.utterances[utt] = UttScore(utt, spk, ref, hyp, edits, counts)
        report.totals += counts
        if spk is not None:
            speakers[spk] = speakers.get(spk, ErrorCounts()) + counts
        for e in edits:
            if e.op is Op.SUBSTITUTION:
                report.substitutions[e.ref, e.hyp] += 1
            elif e.op is Op.DELETION:
                report.deletions[e.ref] += 1
            elif e.op is Op.INSERTION:
                report.insertions[e.hyp] += 1
    report.speakers = dict(sorted(speakers.items()))
    return report


def _map_tokens(tokens: list[str], token_map: Mapping[str, str | None], side: str, utt: str) -> list[str]:
    out = []
    for tok in tokens:
        try:
            mapped = token_map[tok]
        except KeyError:
            raise ValueError(f"{side} utterance {utt}: token {tok!r} is not in the token map") from None
        if mapped is not None:
            out.append(mapped)
    return out


def _most_common(counter: Counter, k: int) -> list:
    """Like Counter.most_common, but ties are ordered by key so reports are reproducible."""
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


# ----------------------------------------------------------------------------- report text

def _fmt_pct(x: float) -> str:
    return f"{x:.1f}" if math.isfinite(x) else "inf"


def _summary_table(report: ScoreReport, title: str) -> str:
    def values(c: ErrorCounts) -> list[float]:
        """#Snt, #Wrd, then the six percentages of a row."""
        return [c.snt, c.n] + [c.pct(v) for v in (c.cor, c.sub, c.dele, c.ins, c.errors)] + \
               [100.0 * c.snt_err / c.snt if c.snt else 0.0]

    def row(name: str, v: list[float], counts: bool = True) -> tuple:
        fmt = (lambda x: str(int(x))) if counts else (lambda x: f"{x:.1f}")
        return (name, fmt(v[0]), fmt(v[1]), [_fmt_pct(x) for x in v[2:]])

    spk_values = [values(c) for c in report.speakers.values()]
    spk_rows = [row(spk, v) for spk, v in zip(report.speakers, spk_values)]
    sum_row = row("Sum/Avg", values(report.totals))
    stat_rows = []
    if len(spk_values) > 1:
        columns = list(zip(*spk_values))
        for name, fn in (("Mean", statistics.fmean), ("S.D.", statistics.stdev),
                         ("Median", statistics.median)):
            stat_rows.append(row(name, [fn(col) for col in columns], counts=False))

    rows = spk_rows + [sum_row] + stat_rows
    w_spk = max(len(r[0]) for r in rows + [("SPKR",)])
    w_snt = max(len(r[1]) for r in rows + [("", "#Snt")])
    w_wrd = max(len(r[2]) for r in rows + [("", "", "#Wrd")])
    w_pct = max([5] + [len(x) for r in rows for x in r[3]])
    pct_names = ("Corr", "Sub", "Del", "Ins", "Err", "S.Err")

    def line(spk: str, snt: str, wrd: str, pcts: Sequence[str], center: bool = False) -> str:
        spk = spk.center(w_spk) if center else spk.ljust(w_spk)
        return (f"| {spk} | {snt.rjust(w_snt)} {wrd.rjust(w_wrd)} | "
                + " ".join(p.rjust(w_pct) for p in pcts) + " |")

    header = line("SPKR", "#Snt", "#Wrd", pct_names)
    if len(title) + 2 > len(header) - 2:  # a long title widens the speaker column
        w_spk += len(title) + 2 - (len(header) - 2)
        header = line("SPKR", "#Snt", "#Wrd", pct_names)
    inner = len(header) - 2
    rule = "|" + "-" * inner + "|"
    double = "|" + "=" * inner + "|"
    split = header.split("|")
    sep = "|" + "+".join("-" * len(part) for part in split[1:-1]) + "|"
    out = ["," + "-" * inner + "."]
    if title:
        out += ["|" + title.center(inner) + "|", rule]
    out += [header, sep]
    out += [line(*r) for r in spk_rows]
    if spk_rows:
        out.append(double)
    out.append(line(*sum_row))
    if stat_rows:
        out.append(double)
        out += [line(*r, center=True) for r in stat_rows]
    out.append("`" + "-" * inner + "'")
    return "\n".join(out)


def _per_utt_text(report: ScoreReport) -> str:
    lines = []
    for utt, u in report.utterances.items():
        ref_row, hyp_row, op_row = format_alignment(u.edits, mark_correct=True)
        c = u.counts
        lines += [f"{utt} ref  {ref_row}".rstrip(), f"{utt} hyp  {hyp_row}".rstrip(),
                  f"{utt} op   {op_row}".rstrip(), f"{utt} #csid {c.cor} {c.sub} {c.ins} {c.dele}"]
    return "\n".join(lines) + "\n" if lines else ""


def _alignments_text(report: ScoreReport) -> str:
    blocks = []
    for utt, u in report.utterances.items():
        ref_row, hyp_row, eval_row = format_alignment(u.edits)
        c = u.counts
        head = [f"id: ({utt})"] + ([f"Speaker: {u.speaker}"] if u.speaker is not None else [])
        blocks.append("\n".join(head + [
            f"Scores: (#C #S #D #I) {c.cor} {c.sub} {c.dele} {c.ins}",
            f"REF:  {ref_row}".rstrip(), f"HYP:  {hyp_row}".rstrip(), f"EVAL: {eval_row}".rstrip()]))
    return "\n\n".join(blocks) + "\n" if blocks else ""


def _per_spk_text(report: ScoreReport) -> str:
    header = ("SPEAKER", "id", "#SENT", "#WORD", "Corr", "Sub", "Del", "Ins", "Err", "S.Err")
    rows = [header]
    for spk, c in list(report.speakers.items()) + [("SUM", report.totals)]:
        rows.append((spk, "raw", c.snt, c.n, c.cor, c.sub, c.dele, c.ins, c.errors, c.snt_err))
        s_err = 100.0 * c.snt_err / c.snt if c.snt else 0.0
        rows.append((spk, "sys", c.snt, c.n) + tuple(
            f"{x:.2f}" for x in (c.pct(c.cor), c.pct(c.sub), c.pct(c.dele), c.pct(c.ins), c.err, s_err)))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    lines = []
    for r in rows:  # names left-aligned, numbers right-aligned
        cells = [str(x).ljust(w) if i < 2 else str(x).rjust(w) for i, (x, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells) + "\n")
    return "".join(lines)


# ----------------------------------------------------------------------------- input files

def _read_columns(path: str | os.PathLike, what: str) -> list[tuple[int, list[str]]]:
    """(line number, whitespace-split fields) for every non-blank line of `path`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} file not found: {path}")
    with open(path, encoding="utf-8") as f:
        return [(no, line.split()) for no, line in enumerate(f, 1) if line.strip()]


def read_transcripts(path: str | os.PathLike) -> dict[str, list[str]]:
    """Kaldi `text` format, `utt tok tok ...` per line (an utterance with no tokens is allowed)."""
    out: dict[str, list[str]] = {}
    first_line: dict[str, int] = {}
    for no, fields in _read_columns(path, "transcript"):
        utt = fields[0]
        if utt in out:
            raise ValueError(f"{path}:{no}: duplicate utterance id {utt!r} (first on line {first_line[utt]})")
        out[utt], first_line[utt] = fields[1:], no
    return out


def read_utt2spk(path: str | os.PathLike) -> dict[str, str]:
    """Kaldi `utt2spk`: exactly `utt spk` per line."""
    out: dict[str, str] = {}
    for no, fields in _read_columns(path, "utt2spk"):
        if len(fields) != 2:
            raise ValueError(f"{path}:{no}: expected 'utt spk', got {len(fields)} field(s)")
        if fields[0] in out:
            raise ValueError(f"{path}:{no}: duplicate utterance id {fields[0]!r}")
        out[fields[0]] = fields[1]
    return out


def read_token_map(path: str | os.PathLike) -> dict[str, str | None]:
    """Two-column map `from to`; a line with only `from` maps the token to None (deleted)."""
    out: dict[str, str | None] = {}
    for no, fields in _read_columns(path, "token map"):
        if len(fields) > 2:
            raise ValueError(f"{path}:{no}: expected 'from [to]', got {len(fields)} fields")
        if fields[0] in out:
            raise ValueError(f"{path}:{no}: token {fields[0]!r} mapped twice")
        out[fields[0]] = fields[1] if len(fields) == 2 else None
    return out
