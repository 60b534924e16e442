"""Decoding strategies for attention encoder-decoders: greedy and batched beam search.

A small class family in the fairseq / OpenNMT-py manner::

    search = BeamSearch(beam_size=5, length_penalty=LengthPenalty("gnmt", alpha=0.6),
                        max_len_a=1.5, max_len_b=10)
    model.eval()
    nbest = search(model, src, src_lengths)      # one n-best list (best first) per sentence
    nbest[0][0].tokens, nbest[0][0].score, nbest[0][0].attention

Both work on whole batches. Beam search keeps the hypotheses of all sentences on the batch
dimension: the decoder state has B*beam rows, row b*beam + j being hypothesis j of sentence b,
and survivors are picked with ``index_select`` after every step. The model needs the
incremental API of `AttentionSeq2Seq`: ``encode``, ``init_state``, ``step`` and states with
``index_select``. Searching does not switch the model to eval mode; do that first.

Conventions shared by both strategies:

* a hypothesis is at most ``floor(max_len_a * src_len + max_len_b)`` tokens before </s>; at
  that length </s> is forced, so every sentence gets an output;
* <pad> and <s> are never generated;
* with ``min_len`` > 0, </s> is banned before that many tokens (unless the maximum forces it); an
  absolute maximum is ``max_len_a=0, max_len_b=N``;
* with ``no_repeat_ngram_size`` n > 0, a token that would repeat an n-gram already in the
  hypothesis is banned (fairseq's rule; summaries otherwise loop on a phrase);
* ``logprob`` (the model score) sums the log-probabilities of all output tokens, </s>
  included; ``score`` = logprob / length_penalty(len(tokens) + 1) ranks hypotheses.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch
from torch import Tensor

from toolkit.models.seq2seq import AttentionSeq2Seq


@dataclass
class Hypothesis:
    tokens: list[int]  # output ids without <s> and </s>
    score: float       # ranking score: logprob / length penalty
    logprob: float     # model score: sum of token log-probabilities, </s> included
    attention: Tensor  # (len(tokens) + 1, src_len) attention of each output step (last row: </s>), on CPU


class LengthPenalty:
    """Divisor of a hypothesis' log-probability, a function of its length |y| (</s> counted).

    kind "none": 1 (raw model score; favours short outputs); "average": |y|^alpha (alpha=1 is
    plain length normalisation, fairseq's ``lenpen``); "gnmt": ((5 + |y|) / 6)^alpha
    (Wu et al. 2016, alpha in [0.6, 1] typical).
    """

    KINDS = ("none", "average", "gnmt")

    def __init__(self, kind: str = "none", alpha: float = 1.0):
        if kind not in self.KINDS:
            raise ValueError(f"length penalty must be one of {self.KINDS}, got {kind!r}")
        self.kind, self.alpha = kind, alpha

    def __call__(self, length: int) -> float:
        if self.kind == "average":
            return length ** self.alpha
        if self.kind == "gnmt":
            return ((5.0 + length) / 6.0) ** self.alpha
        return 1.0

    def __repr__(self) -> str:
        return f"LengthPenalty({self.kind!r}, alpha={self.alpha})"


class Search(ABC):
    """Shared parts of the strategies: length limits, token masks, the length penalty."""

    def __init__(self, max_len_a: float = 2.0, max_len_b: int = 10, length_penalty: LengthPenalty | None = None,
                 min_len: int = 0, no_repeat_ngram_size: int = 0):
        if max_len_a < 0 or max_len_b < 0:
            raise ValueError(f"max_len_a and max_len_b must be >= 0, got {max_len_a}, {max_len_b}")
        if min_len < 0 or no_repeat_ngram_size < 0:
            raise ValueError(f"min_len and no_repeat_ngram_size must be >= 0, got {min_len}, {no_repeat_ngram_size}")
        self.max_len_a, self.max_len_b = max_len_a, max_len_b
        self.length_penalty = length_penalty or LengthPenalty("none")
        self.min_len, self.no_repeat_ngram_size = min_len, no_repeat_ngram_size

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"

    def max_lengths(self, src_lengths: Tensor) -> Tensor:
        """Longest output per sentence, </s> not counted: (B,) long."""
        return (self.max_len_a * src_lengths.double() + self.max_len_b).floor().long()

    @staticmethod
    def log_probs(model: AttentionSeq2Seq, logits: Tensor, force_eos: Tensor) -> Tensor:
        """logits (N, V) -> log-probabilities (N, V) in float32, <pad>/<s> banned, </s> forced where `force_eos` (N,)."""
        lp = logits.float().log_softmax(dim=-1)
        lp[:, [model.pad_id, model.bos_id]] = -math.inf
        eos = lp[:, model.eos_id].clone()
        lp[force_eos] = -math.inf
        lp[:, model.eos_id] = eos
        return lp

    def constrain(self, model: AttentionSeq2Seq, lp: Tensor, history: Tensor, t: int, force_eos: Tensor) -> Tensor:
        """Apply `min_len` and `no_repeat_ngram_size` to lp (N, V) in place; history (N, t) holds the
        tokens so far of each row."""
        if t < self.min_len:
            lp[~force_eos, model.eos_id] = -math.inf
        n = self.no_repeat_ngram_size
        if n and t >= n - 1:
            for row, tokens in enumerate(history.tolist()):
                prefix = tokens[t - n + 1:]                                       # the last n-1 tokens
                banned = {tokens[j + n - 1] for j in range(t - n + 1) if tokens[j:j + n - 1] == prefix}
                if banned:
                    lp[row, list(banned)] = -math.inf
        return lp

    def __call__(self, model: AttentionSeq2Seq, src: Tensor, src_lengths: Tensor) -> list[list[Hypothesis]]:
        """src (B, S), src_lengths (B,) -> per sentence a list of hypotheses, best first."""
        with torch.no_grad():
            return self.search(model, src, src_lengths)

    @abstractmethod
    def search(self, model: AttentionSeq2Seq, src: Tensor, src_lengths: Tensor) -> list[list[Hypothesis]]:
        ...


class GreedySearch(Search):
    """Pick the most probable token at every step, for all sentences of the batch at once."""

    def search(self, model: AttentionSeq2Seq, src: Tensor, src_lengths: Tensor) -> list[list[Hypothesis]]:
        b = src.size(0)
        enc = model.encode(src, src_lengths)
        state = model.init_state(enc)
        max_len = self.max_lengths(src_lengths).to(src.device)                   # (B,)
        prev = torch.full((b,), model.bos_id, dtype=torch.long, device=src.device)
        finished = torch.zeros(b, dtype=torch.bool, device=src.device)
        logprob = torch.zeros(b, device=src.device)
        tokens, attns = [], []
        for t in range(int(max_len.max()) + 1):
            logits, attn, state = model.step(prev, state, enc)
            history = torch.stack(tokens, dim=1) if tokens else prev.new_empty(b, 0)  # (B, t)
            lp = self.constrain(model, self.log_probs(model, logits, t >= max_len), history, t, t >= max_len)
            best, tok = lp.max(dim=-1)                                           # (B,), (B,)
            logprob += best.masked_fill(finished, 0.0)
            tok = tok.masked_fill(finished, model.pad_id)
            tokens.append(tok)
            attns.append(attn)
            finished |= tok == model.eos_id
            prev = tok
            if bool(finished.all()):
                break
        tokens_bt = torch.stack(tokens, dim=1).cpu()                             # (B, T)
        attn_bts = torch.stack(attns, dim=1).cpu()                               # (B, T, S)
        out = []
        for i in range(b):
            n = int((tokens_bt[i] != model.pad_id).sum())                        # length with </s>
            lp = float(logprob[i])
            out.append([Hypothesis(tokens_bt[i, :n - 1].tolist(), lp / self.length_penalty(n), lp,
                                   attn_bts[i, :n, :int(src_lengths[i])])])
        return out


class BeamSearch(Search):
    """Batched beam search: `beam_size` hypotheses per sentence, all sentences in one batch.

    At each step every live hypothesis proposes its continuations and, per sentence, the best
    2*beam by summed log-probability are taken. Those ending in </s> among the best `beam` join
    the sentence's finished list (the `beam` best by length-penalised score are kept); the best
    `beam` others carry on. A sentence is done once its finished list is full and the best live
    hypothesis, were it to end now, would not beat the worst finished one (exact without a
    length penalty, since log-probabilities only fall; Hugging Face's default rule otherwise).
    The top `nbest` finished hypotheses are returned. With beam_size=1 this is greedy search.
    """

    def __init__(self, beam_size: int = 5, nbest: int = 1, max_len_a: float = 2.0, max_len_b: int = 10,
                 length_penalty: LengthPenalty | None = None, min_len: int = 0, no_repeat_ngram_size: int = 0):
        super().__init__(max_len_a, max_len_b, length_penalty, min_len, no_repeat_ngram_size)
        if beam_size < 1 or not 1 <= nbest <= beam_size:
            raise ValueError(f"need beam_size >= 1 and 1 <= nbest <= beam_size, got {beam_size}, {nbest}")
        self.beam_size, self.nbest = beam_size, nbest

    def search(self, model: AttentionSeq2Seq, src: Tensor, src_lengths: Tensor) -> list[list[Hypothesis]]:
        b, k, dev = src.size(0), self.beam_size, src.device
        enc = model.encode(src, src_lengths)
        state = model.init_state(enc)
        expand = torch.arange(b, device=dev).repeat_interleave(k)               # (B*k,)
        enc, state = enc.index_select(expand), state.index_select(expand)
        max_len = self.max_lengths(src_lengths).to(dev)                          # (B,)
        force_eos_at = max_len.repeat_interleave(k)                               # (B*k,)
        scores = torch.full((b, k), -math.inf, device=dev)                       # summed log-probs of live beams
        scores[:, 0] = 0.0                                                        # start from one hypothesis
        prev = torch.full((b * k,), model.bos_id, dtype=torch.long, device=dev)
        history = torch.empty(b * k, 0, dtype=torch.long, device=dev)            # (B*k, t)
        attn_history = enc.memory.new_empty(b * k, 0, src.size(1))               # (B*k, t, S)
        row_base = (torch.arange(b, device=dev) * k).unsqueeze(1)                 # (B, 1)
        finished: list[list[Hypothesis]] = [[] for _ in range(b)]                # best first, at most k
        done = [False] * b

        for t in range(int(max_len.max()) + 1):
            logits, attn, state = model.step(prev, state, enc)                    # (B*k, V), (B*k, S)
            force = t >= force_eos_at
            lp = self.constrain(model, self.log_probs(model, logits, force), history, t, force)
            v = lp.size(1)
            cand = (scores.view(-1, 1) + lp).view(b, k * v)                       # (B, k*V)
            top_scores, top_idx = cand.topk(2 * k, dim=1)                         # (B, 2k)
            top_beam, top_tok = top_idx // v, top_idx % v
            is_eos = top_tok == model.eos_id

            # Hypotheses whose </s> ranks among the best k candidates of their sentence end here.
            ends = is_eos[:, :k] & top_scores[:, :k].isfinite()
            for i, j in ends.nonzero().tolist():
                if done[i]:
                    continue
                row = i * k + int(top_beam[i, j])
                logprob = float(top_scores[i, j])
                attention = torch.cat([attn_history[row], attn[row].unsqueeze(0)])[:, :int(src_lengths[i])]
                finished[i].append(Hypothesis(history[row].tolist(), logprob / self.length_penalty(t + 1),
                                              logprob, attention.cpu()))
                finished[i] = sorted(finished[i], key=lambda h: h.score, reverse=True)[:k]

            # The best k candidates that did not end live on (a stable sort keeps score order).
            keep = torch.sort(is_eos.to(torch.uint8), dim=1, stable=True).indices[:, :k]  # (B, k)
            scores = top_scores.gather(1, keep)
            best_live = (scores[:, 0] / self.length_penalty(t + 1)).tolist()
            for i in range(b):
                done[i] = done[i] or (len(finished[i]) == k and finished[i][-1].score >= best_live[i])
            if all(done):
                break
            parent = (row_base + top_beam.gather(1, keep)).view(-1)               # (B*k,)
            prev = top_tok.gather(1, keep).view(-1)
            state = state.index_select(parent)
            history = torch.cat([history.index_select(0, parent), prev.unsqueeze(1)], dim=1)
            attn_history = torch.cat([attn_history.index_select(0, parent),
                                      attn.index_select(0, parent).unsqueeze(1)], dim=1)

        return [f[:self.nbest] for f in finished]
