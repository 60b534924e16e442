"""Phone bigram language model for decoding, estimated on training transcripts, saved as ARPA.

The model is a full table of natural-log probabilities `log_probs: (V+1, V+1)` over V phone symbols:

    rows    0..V-1 = history phone, row V    = <s>  (sentence begin)
    columns 0..V-1 = next phone,    column V = </s> (sentence end)

so every row is a distribution over the V phones and </s> (`log_probs.exp().sum(1) == 1`). A
sentence `p1 .. pn` scores `lp[<s>, p1] + lp[p1, p2] + ... + lp[pn, </s>]`.

Smoothing (`PhoneBigramLM.estimate`):

- `"witten_bell"` (default), interpolated Witten-Bell (the scheme of SRILM's `-wbdiscount -interpolate`):
  `P(w|h) = (c(h,w) + T(h) P1(w)) / (c(h) + T(h))`, where c(h) counts the tokens that follow h and
  T(h) the distinct types that do; a history never seen falls back to P1. The unigram P1 is
  Witten-Bell interpolated with the uniform distribution over the V+1 predictable symbols in the
  same way, so a phone absent from training keeps a small probability.
- `"add_k"`: `P(w|h) = (c(h,w) + k) / (c(h) + k (V+1))` (k=1 is Laplace).

ARPA files (`save_arpa` / `load_arpa`) store log10 probabilities and list every one of the
(V+1) x (V+1) bigrams, so Kaldi (`arpa2fst`) and SRILM read them and a round trip is exact to the
printed precision; backoff weights are those of the model (Witten-Bell: T(h) / (c(h) + T(h)), the
weight an unseen bigram would get). `load_arpa` reads any bigram ARPA, SRILM's included, filling
bigrams it does not list from backoff weight x unigram.
"""
import logging
import math
import os
import re
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from toolkit.utils.atomic import atomic_write

log = logging.getLogger(__name__)

BOS, EOS = "<s>", "</s>"
_LOG10 = math.log(10.0)
_ARPA_ZERO = -99.0  # ARPA's conventional log10 of probability zero (e.g. the <s> unigram)


class PhoneBigramLM:
    """A phone bigram: `symbols` (V,), `log_probs` (V+1, V+1) as described in the module docstring.

    `unigram_log_probs` (V+1,) over phones + </s> and `backoff` (V+1,) over phone histories + <s>
    (natural log) are the lower-order part that ARPA stores next to the bigrams.
    """

    def __init__(self, symbols: Sequence[str], log_probs: torch.Tensor,
                 unigram_log_probs: torch.Tensor, backoff: torch.Tensor):
        v = len(symbols)
        if len(set(symbols)) != v or BOS in symbols or EOS in symbols:
            raise ValueError("phone symbols must be unique and must not include <s> or </s>")
        if log_probs.shape != (v + 1, v + 1) or unigram_log_probs.shape != (v + 1,) or backoff.shape != (v + 1,):
            raise ValueError(f"shapes {tuple(log_probs.shape)}, {tuple(unigram_log_probs.shape)}, "
                             f"{tuple(backoff.shape)} do not fit {v} symbols")
        self.symbols: tuple[str, ...] = tuple(symbols)
        self.log_probs = log_probs.to(torch.float64)
        self.unigram_log_probs = unigram_log_probs.to(torch.float64)
        self.backoff = backoff.to(torch.float64)
        self._index = {s: i for i, s in enumerate(self.symbols)}

    @property
    def vocab_size(self) -> int:
        return len(self.symbols)

    # ------------------------------------------------------------------ estimation

    @classmethod
    def estimate(cls, sentences: Iterable[Sequence[str]], symbols: Sequence[str],
                 smoothing: str = "witten_bell", k: float = 1.0) -> "PhoneBigramLM":
        """Count bigrams (with <s>/</s>) in `sentences` over `symbols` and smooth them.

        smoothing: "witten_bell" or "add_k" (with `k` > 0). A phone not in `symbols` is a ValueError
        naming the sentence's position in `sentences`.
        """
        v = len(symbols)
        index = {s: i for i, s in enumerate(symbols)}
        hist_ids: list[np.ndarray] = []
        next_ids: list[np.ndarray] = []
        for n, sent in enumerate(sentences):
            try:
                ids = np.array([index[p] for p in sent], dtype=np.int64)
            except KeyError as e:
                raise ValueError(f"sentence {n}: phone {e.args[0]!r} is not in the symbol table") from None
            hist_ids.append(np.concatenate(([v], ids)))  # <s> p1 .. pn
            next_ids.append(np.concatenate((ids, [v])))  # p1 .. pn </s>
        counts = np.zeros((v + 1, v + 1), dtype=np.float64)
        if hist_ids:
            np.add.at(counts, (np.concatenate(hist_ids), np.concatenate(next_ids)), 1.0)
        if smoothing == "witten_bell":
            lp, uni, bow = _witten_bell(counts)
        elif smoothing == "add_k":
            if k <= 0:
                raise ValueError(f"add_k smoothing needs k > 0, got {k}")
            lp, uni, bow = _add_k(counts, k)
        else:
            raise ValueError(f"unknown smoothing {smoothing!r} (choose 'witten_bell' or 'add_k')")
        log.info("phone bigram: %d phones, %d sentences, %d bigram tokens, %s smoothing",
                 v, len(hist_ids), int(counts.sum()), smoothing)
        return cls(symbols, torch.from_numpy(lp), torch.from_numpy(uni), torch.from_numpy(bow))

    # ------------------------------------------------------------------ use

    def sentence_log_prob(self, sentence: Sequence[str]) -> float:
        """Natural-log probability of `<s> sentence </s>`."""
        try:
            ids = [self.vocab_size] + [self._index[p] for p in sentence] + [self.vocab_size]
        except KeyError as e:
            raise ValueError(f"phone {e.args[0]!r} is not in the LM's symbol table") from None
        return float(self.log_probs[ids[:-1], ids[1:]].sum())

    def perplexity(self, sentences: Iterable[Sequence[str]]) -> float:
        """Per-token perplexity, counting </s> as a token (as SRILM's `ppl`)."""
        total, n = 0.0, 0
        for sent in sentences:
            total += self.sentence_log_prob(sent)
            n += len(sent) + 1
        return math.exp(-total / n) if n else math.nan

    def log_prob_matrix(self, symbols: Sequence[str] | None = None,
                        missing: Collection[str] = ()) -> torch.Tensor:
        """The (U+1, U+1) log-probability table re-indexed to a model's output symbols (U of them).

        Row/column i is `symbols[i]`, row U is <s>, column U is </s>; this is the `lm` the decoders
        take. Symbols listed in `missing` (a CTC blank) get -inf rows and columns. Any other symbol
        the LM lacks, or an LM phone absent from `symbols`, is a ValueError: the two tables disagree.
        """
        if symbols is None:
            return self.log_probs.clone()
        unknown = [s for s in symbols if s not in self._index and s not in missing]
        wanted = set(symbols)
        unused = [s for s in self.symbols if s not in wanted]
        if unknown or unused:
            raise ValueError(f"symbol tables disagree: not in the LM {unknown[:10]}, "
                             f"in the LM but not the model {unused[:10]}")
        u = len(symbols)
        src = [self._index.get(s, -1) for s in symbols] + [self.vocab_size]
        keep = torch.tensor([i >= 0 for i in src])
        idx = torch.tensor([max(i, 0) for i in src])
        out = self.log_probs[idx][:, idx]
        out[~keep, :] = -math.inf
        out[:, ~keep] = -math.inf
        assert out.shape == (u + 1, u + 1)
        return out

    # ------------------------------------------------------------------ ARPA

    def save_arpa(self, path: str | os.PathLike) -> None:
        """Write the model as an ARPA bigram file (log10), every bigram listed."""
        v = self.vocab_size
        words = list(self.symbols)
        uni10 = (self.unigram_log_probs / _LOG10).tolist()
        bow10 = (self.backoff / _LOG10).tolist()
        lp10 = (self.log_probs / _LOG10).tolist()
        lines = ["\\data\\", f"ngram 1={v + 2}", f"ngram 2={(v + 1) * (v + 1)}", "", "\\1-grams:",
                 f"{_ARPA_ZERO:.6f}\t{BOS}\t{_fmt10(bow10[v])}"]
        lines += [f"{_fmt10(uni10[i])}\t{w}\t{_fmt10(bow10[i])}" for i, w in enumerate(words)]
        lines += [f"{_fmt10(uni10[v])}\t{EOS}", "", "\\2-grams:"]
        hist_words = words + [BOS]
        next_words = words + [EOS]
        for h in [v] + list(range(v)):  # <s> first, then phones in table order
            lines += [f"{_fmt10(lp10[h][j])}\t{hist_words[h]} {next_words[j]}" for j in range(v + 1)]
        lines += ["", "\\end\\", ""]
        with atomic_write(path) as f:
            f.write("\n".join(lines))

    @classmethod
    def load_arpa(cls, path: str | os.PathLike) -> "PhoneBigramLM":
        """Read a unigram/bigram ARPA file; phones are the unigrams other than <s>/</s>, in file order."""
        uni: dict[str, tuple[float, float]] = {}
        bi: dict[tuple[str, str], float] = {}
        declared: dict[int, int] = {}
        section = None
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"ARPA file not found: {path}")
        with open(path, encoding="utf-8") as f:
            for no, raw in enumerate(f, 1):
                line = raw.strip()
                if not line:
                    continue
                if line in ("\\data\\", "\\1-grams:", "\\2-grams:", "\\end\\"):
                    section = line
                    continue
                m = re.fullmatch(r"\\(\d+)-grams:", line)
                if m:
                    raise ValueError(f"{path}:{no}: {m.group(1)}-grams found; only bigram ARPA files are supported")
                fields = line.split()
                try:
                    if section == "\\data\\":
                        m = re.fullmatch(r"ngram\s+(\d+)\s*=\s*(\d+)", line)
                        if not m:
                            raise ValueError("expected 'ngram N=count'")
                        declared[int(m.group(1))] = int(m.group(2))
                    elif section == "\\1-grams:" and len(fields) in (2, 3):
                        uni[fields[1]] = (_parse10(fields[0]), _parse10(fields[2]) if len(fields) == 3 else 0.0)
                    elif section == "\\2-grams:" and len(fields) in (3, 4):
                        bi[fields[1], fields[2]] = _parse10(fields[0])
                    else:
                        raise ValueError(f"unexpected line in section {section or '(none)'}")
                except ValueError as e:
                    raise ValueError(f"{path}:{no}: {e}: {line!r}") from None
        if section != "\\end\\":
            raise ValueError(f"{path}: no \\end\\ marker (truncated file?)")
        if max(declared, default=0) > 2:
            raise ValueError(f"{path}: declares {max(declared)}-grams; only bigram ARPA files are supported")
        for order, got in ((1, len(uni)), (2, len(bi))):
            if declared.get(order, 0) != got:
                raise ValueError(f"{path}: header says ngram {order}={declared.get(order, 0)} but {got} are listed")
        if EOS not in uni:
            raise ValueError(f"{path}: no {EOS} unigram")
        symbols = [w for w in uni if w not in (BOS, EOS)]
        hist = symbols + [BOS]
        nxt = symbols + [EOS]
        unigram = torch.tensor([uni[w][0] for w in nxt], dtype=torch.float64)
        backoff = torch.tensor([uni.get(w, (0.0, 0.0))[1] for w in hist], dtype=torch.float64)
        log_probs = backoff[:, None] + unigram[None, :]
        pos_h = {w: i for i, w in enumerate(hist)}
        pos_n = {w: i for i, w in enumerate(nxt)}
        for (h, w), lp in bi.items():
            if h not in pos_h or w not in pos_n:
                raise ValueError(f"{path}: bigram '{h} {w}' uses a word that is not a unigram or is misplaced")
            log_probs[pos_h[h], pos_n[w]] = lp
        return cls(symbols, log_probs, unigram, backoff)


def _witten_bell(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interpolated Witten-Bell from bigram counts (V+1, V+1): (log_probs, unigram, backoff), natural log."""
    n_next = counts.shape[1]
    c1 = counts.sum(0)  # unigram counts of phones and </s>
    n1, t1 = c1.sum(), float((c1 > 0).sum())
    uniform = 1.0 / n_next
    uni = (c1 + t1 * uniform) / (n1 + t1) if n1 > 0 else np.full(n_next, uniform)
    c_h = counts.sum(1, keepdims=True)
    t_h = (counts > 0).sum(1, keepdims=True).astype(np.float64)
    seen = c_h > 0
    denom = np.where(seen, c_h + t_h, 1.0)
    probs = np.where(seen, (counts + t_h * uni[None, :]) / denom, uni[None, :])
    backoff = np.where(seen[:, 0], t_h[:, 0] / denom[:, 0], 1.0)
    return np.log(probs), np.log(uni), np.log(backoff)


def _add_k(counts: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Add-k from bigram counts (V+1, V+1): (log_probs, unigram, backoff); every bigram is explicit."""
    n_next = counts.shape[1]
    probs = (counts + k) / (counts.sum(1, keepdims=True) + k * n_next)
    c1 = counts.sum(0)
    uni = (c1 + k) / (c1.sum() + k * n_next)
    return np.log(probs), np.log(uni), np.zeros(counts.shape[0])


def _fmt10(x: float) -> str:
    return f"{max(x, _ARPA_ZERO):.6f}"


def _parse10(s: str) -> float:
    """ARPA log10 value -> natural log; -99 or below means probability zero."""
    x = float(s)
    return -math.inf if x <= _ARPA_ZERO else x * _LOG10
