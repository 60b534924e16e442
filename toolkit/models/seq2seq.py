"""Attention encoder-decoder for translation, in one readable file.

Bahdanau et al. (2015), "Neural Machine Translation by Jointly Learning to Align and
Translate", with the decoder of Luong et al. (2015) as in OpenNMT-py's input-feeding RNN
decoder. Notation: B batch, S source length, T target length, E embedding size,
He encoder hidden size per direction, Hd decoder hidden size, O attentional-vector size
(E when embeddings are tied, Hd otherwise), V vocabulary.

    encoder   x = Emb_src(src)                              (B, S, E)
              M = BiRNN(x)   (packed: padding never read)   (B, S, 2He)   "memory"
    init      s_0 = tanh(W_b [h_fwd_last; h_bwd_first])     per decoder layer
    step t    u_t = [Emb_tgt(y_{t-1}); o_{t-1}]             input feeding (o_0 = 0)
              s_t = RNN(u_t, s_{t-1})                       (B, Hd)  top layer
              a_t = softmax(score(s_t, M) masked)           (B, S)   pads get exactly 0
              c_t = a_t M                                   (B, 2He) context
              o_t = tanh(W_c [s_t; c_t])                    (B, O)   attentional vector
              logits_t = W_out dropout(o_t)                 (B, V)   W_out = Emb_tgt if tied
    score     additive  v^T tanh(W_k M + W_q s_t)           (Bahdanau; "concat"/"mlp")
              general   s_t^T W_k M                         (Luong)
              dot       s_t^T M   (needs Hd == 2He)         (Luong)

Optional, for summarization (both off by default; off, the model and its numbers are exactly the
plain one's):

    copy      p_gen = sigmoid(w_g [c_t; s_t; Emb_tgt(y_{t-1})])          (B, 1)  (See et al. 2017)
              P(w) = p_gen P_vocab(w) + (1 - p_gen) sum_{i: src_i = w} a_t,i
              The output is log P (B, V): still valid logits (log_softmax leaves it unchanged).
              Copying adds attention mass onto the *source ids*, which needs source and target to
              share one vocabulary (a joint sentencepiece model): a piece of the source is then
              always in the output vocabulary, so no extended vocabulary of source-only OOVs is
              needed. With subword pieces every word is spellable, which makes this simple
              version correct (a separate target vocabulary is refused).
    coverage  cov_t = sum_{t' < t} a_t'                                  (B, S)
              additive score v^T tanh(W_k M + W_q s_t + w_c cov_t); coverage loss
              sum_i min(a_t,i, cov_t,i) per step (`coverage_loss`), weighted by the task.

The decoder is conditional: every step sees the previous attentional vector, so the RNN
knows what it attended to last. `forward` runs teacher forcing; `encode` / `init_state` /
`step` are the incremental API used by search, with every tensor batch-major so beam search
keeps hypotheses on the batch dimension (B*beam rows) and reorders them with `index_select`.

Sequences: ``src`` holds source ids without <s>/</s>; ``tgt_in`` = <s> y, ``tgt_out`` = y </s>
(`toolkit.data.parallel_dataset.make_batch` builds them). Ids of pad/bos/eos follow `toolkit.data.tokenizer`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from toolkit.data.tokenizer import BOS_ID, EOS_ID, PAD_ID
from toolkit.utils.masks import lengths_to_mask

RNN_TYPES = {"gru": nn.GRU, "lstm": nn.LSTM}
ATTENTION_TYPES = ("additive", "general", "dot")


@dataclass
class EncoderOutput:
    """What the decoder attends to; batch-major so it can be repeated or reordered for beam search."""

    memory: Tensor  # (B, S, 2He) encoder states, zero at padded positions
    keys: Tensor    # (B, S, K) memory projected once for the attention score
    mask: Tensor    # (B, S) bool, True at real source tokens
    final: Tensor   # (B, 2He) last forward and first backward state of the top layer
    src: Tensor | None = None  # (B, S) source ids, kept when the model copies

    def index_select(self, index: Tensor) -> "EncoderOutput":
        """Rows `index` of every tensor, e.g. ``arange(B).repeat_interleave(beam)``."""
        return EncoderOutput(*(None if t is None else t.index_select(0, index)
                               for t in (self.memory, self.keys, self.mask, self.final, self.src)))


@dataclass
class DecoderState:
    """Recurrent state between decoder steps."""

    hidden: Tensor       # (L, B, Hd)
    cell: Tensor | None  # (L, B, Hd) for LSTM, None for GRU
    feed: Tensor         # (B, O) previous attentional vector (input feeding)
    coverage: Tensor | None = None  # (B, S) attention summed over the previous steps (coverage on)

    def index_select(self, index: Tensor) -> "DecoderState":
        """Keep/reorder hypotheses: row i of the result is row index[i] of this state."""
        cell = None if self.cell is None else self.cell.index_select(1, index)
        coverage = None if self.coverage is None else self.coverage.index_select(0, index)
        return DecoderState(self.hidden.index_select(1, index), cell, self.feed.index_select(0, index), coverage)


class Attention(nn.Module):
    """Additive (Bahdanau), general or dot (Luong) attention with a padding mask."""

    def __init__(self, kind: str, query_dim: int, memory_dim: int, attn_dim: int):
        super().__init__()
        if kind not in ATTENTION_TYPES:
            raise ValueError(f"attention must be one of {ATTENTION_TYPES}, got {kind!r}")
        self.kind = kind
        if kind == "additive":
            self.key_proj = nn.Linear(memory_dim, attn_dim, bias=False)
            self.query_proj = nn.Linear(query_dim, attn_dim)
            self.v = nn.Linear(attn_dim, 1, bias=False)
        elif kind == "general":
            self.key_proj = nn.Linear(memory_dim, query_dim, bias=False)
        elif query_dim != memory_dim:
            raise ValueError(f"dot attention needs decoder hidden size ({query_dim}) == "
                             f"2 x encoder hidden size ({memory_dim}); use 'general' or 'additive'")
        self.coverage_proj: nn.Linear | None = None  # set by `use_coverage`

    def use_coverage(self) -> None:
        """Feed the coverage vector into the additive score (See et al. 2017, eq. 11)."""
        if self.kind != "additive":
            raise ValueError(f"coverage needs additive attention, got {self.kind!r}")
        self.coverage_proj = nn.Linear(1, self.query_proj.out_features, bias=False)

    def keys(self, memory: Tensor) -> Tensor:
        """Project the memory once per sentence: (B, S, 2He) -> (B, S, K)."""
        return memory if self.kind == "dot" else self.key_proj(memory)

    def forward(self, query: Tensor, keys: Tensor, memory: Tensor, mask: Tensor,
                coverage: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """query (B, Hd) -> context (B, 2He), weights (B, S) summing to 1 over unmasked positions."""
        if self.kind == "additive":
            hidden = keys + self.query_proj(query).unsqueeze(1)                  # (B, S, K)
            if coverage is not None:
                hidden = hidden + self.coverage_proj(coverage.unsqueeze(2))       # (B, S, K)
            scores = self.v(torch.tanh(hidden)).squeeze(2)
        else:
            scores = torch.bmm(keys, query.unsqueeze(2)).squeeze(2)
        weights = scores.masked_fill(~mask, float("-inf")).softmax(dim=1)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)
        return context, weights


class AttentionSeq2Seq(nn.Module):
    """Bidirectional RNN encoder + attention + input-feeding RNN decoder. See the module docstring."""

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, *, emb_dim: int = 256,
                 enc_hidden: int = 256, dec_hidden: int = 512, enc_layers: int = 1, dec_layers: int = 1,
                 rnn_type: str = "gru", attention: str = "additive", attn_dim: int = 256,
                 dropout: float = 0.2, tie_embeddings: bool = True, copy: bool = False, coverage: bool = False,
                 pad_id: int = PAD_ID, bos_id: int = BOS_ID, eos_id: int = EOS_ID):
        super().__init__()
        if rnn_type not in RNN_TYPES:
            raise ValueError(f"rnn_type must be one of {sorted(RNN_TYPES)}, got {rnn_type!r}")
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id
        self.is_lstm = rnn_type == "lstm"
        self.dec_layers, self.dec_hidden = dec_layers, dec_hidden
        rnn = RNN_TYPES[rnn_type]
        out_dim = emb_dim if tie_embeddings else dec_hidden  # O
        self.out_dim = out_dim

        self.src_embed = nn.Embedding(src_vocab_size, emb_dim, padding_idx=pad_id)
        self.tgt_embed = nn.Embedding(tgt_vocab_size, emb_dim, padding_idx=pad_id)
        self.dropout = nn.Dropout(dropout)
        self.encoder = rnn(emb_dim, enc_hidden, enc_layers, batch_first=True, bidirectional=True,
                           dropout=dropout if enc_layers > 1 else 0.0)
        self.bridge = nn.Linear(2 * enc_hidden, dec_layers * dec_hidden)
        self.decoder = rnn(emb_dim + out_dim, dec_hidden, dec_layers, batch_first=True,
                           dropout=dropout if dec_layers > 1 else 0.0)
        self.attention = Attention(attention, dec_hidden, 2 * enc_hidden, attn_dim)
        self.combine = nn.Linear(dec_hidden + 2 * enc_hidden, out_dim, bias=False)
        self.output = nn.Linear(out_dim, tgt_vocab_size)
        if tie_embeddings:
            self.output.weight = self.tgt_embed.weight
        # Created last, and only when asked for, so the plain model draws the same random numbers.
        self.copy, self.coverage = copy, coverage
        if copy:
            if src_vocab_size != tgt_vocab_size:
                raise ValueError(f"copy needs one vocabulary for source and target (a joint sentencepiece model), "
                                 f"got {src_vocab_size} and {tgt_vocab_size} pieces")
            self.gen_gate = nn.Linear(2 * enc_hidden + dec_hidden + emb_dim, 1)
        if coverage:
            self.attention.use_coverage()
        self.reset_embeddings()

    def reset_embeddings(self) -> None:
        """Small uniform embeddings (padding row zero) so tied output logits start near uniform."""
        for emb in (self.src_embed, self.tgt_embed):
            nn.init.uniform_(emb.weight, -0.1, 0.1)
            with torch.no_grad():
                emb.weight[self.pad_id].zero_()
        nn.init.zeros_(self.output.bias)

    @torch.no_grad()
    def load_embeddings(self, src: Tensor | None = None, tgt: Tensor | None = None) -> None:
        """Initialise embeddings from tensors (V, E), e.g. `embedding_from_vectors(...).embedding.weight`.

        With tied embeddings the target tensor also initialises the output projection.
        """
        for name, emb, weight in (("src", self.src_embed, src), ("tgt", self.tgt_embed, tgt)):
            if weight is None:
                continue
            if weight.shape != emb.weight.shape:
                raise ValueError(f"{name} embedding init has shape {tuple(weight.shape)}, "
                                 f"model expects {tuple(emb.weight.shape)}")
            emb.weight.copy_(weight)
            emb.weight[self.pad_id].zero_()

    # ---- encoder ---------------------------------------------------------------------------
    def encode(self, src: Tensor, src_lengths: Tensor) -> EncoderOutput:
        """src (B, S), src_lengths (B,) -> EncoderOutput. Padded positions are never read."""
        x = self.dropout(self.src_embed(src))                                     # (B, S, E)
        packed = pack_padded_sequence(x, src_lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, h = self.encoder(packed)
        if self.is_lstm:
            h = h[0]                                                              # (2*L_enc, B, He)
        memory, _ = pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
        memory = self.dropout(memory)                                             # (B, S, 2He)
        mask = lengths_to_mask(src_lengths.to(src.device), src.size(1))             # (B, S)
        final = torch.cat([h[-2], h[-1]], dim=1)                                  # (B, 2He)
        return EncoderOutput(memory, self.attention.keys(memory), mask, final, src if self.copy else None)

    def init_state(self, enc: EncoderOutput) -> DecoderState:
        """Decoder state before the first target token: bridged encoder summary, zero input feed."""
        b = enc.final.size(0)
        hidden = torch.tanh(self.bridge(enc.final))                               # (B, L*Hd)
        hidden = hidden.view(b, self.dec_layers, self.dec_hidden).transpose(0, 1).contiguous()
        cell = torch.zeros_like(hidden) if self.is_lstm else None
        coverage = enc.mask.new_zeros(enc.mask.shape, dtype=enc.memory.dtype) if self.coverage else None
        return DecoderState(hidden, cell, enc.memory.new_zeros(b, self.out_dim), coverage)

    # ---- decoder ---------------------------------------------------------------------------
    def _advance(self, prev: Tensor, state: DecoderState, enc: EncoderOutput
                 ) -> tuple[Tensor, Tensor, DecoderState, Tensor | None]:
        """One decoder step before the output layer: prev (B,) -> o_t (B, O), attention (B, S), state,
        and the copy gate's input [c_t; s_t; x_t] (B, 2He+Hd+E) when copying (else None)."""
        x = self.dropout(self.tgt_embed(prev))                                    # (B, E)
        u = torch.cat([x, state.feed], dim=1).unsqueeze(1)                        # (B, 1, E+O)
        if self.is_lstm:
            out, (hidden, cell) = self.decoder(u, (state.hidden, state.cell))
        else:
            out, hidden = self.decoder(u, state.hidden)
            cell = None
        query = out.squeeze(1)                                                    # (B, Hd)
        context, weights = self.attention(query, enc.keys, enc.memory, enc.mask, state.coverage)  # (B, 2He), (B, S)
        feed = torch.tanh(self.combine(torch.cat([query, context], dim=1)))       # (B, O)
        coverage = None if state.coverage is None else state.coverage + weights
        gate_in = torch.cat([context, query, x], dim=1) if self.copy else None
        return feed, weights, DecoderState(hidden, cell, feed, coverage), gate_in

    def _output(self, feed: Tensor, weights: Tensor, gate_in: Tensor | None, src: Tensor | None
                ) -> tuple[Tensor, Tensor | None]:
        """Attentional vectors (..., O) -> logits (..., V) and p_gen (...) (None without copy).

        Works on one step ((B, O), (B, S)) or all steps ((B, T, O), (B, T, S)). With copy the
        "logits" are log P of the mixture (module docstring)."""
        logits = self.output(self.dropout(feed))                                  # (..., V)
        if not self.copy:
            return logits, None
        p_gen = torch.sigmoid(self.gen_gate(gate_in)).float()                     # (..., 1)
        index = src if weights.dim() == 2 else src.unsqueeze(1).expand_as(weights)  # (..., S)
        copied = torch.zeros_like(logits, dtype=torch.float).scatter_add_(-1, index, weights.float())  # (..., V)
        probs = p_gen * logits.float().softmax(dim=-1) + (1.0 - p_gen) * copied
        return probs.clamp_min(1e-12).log(), p_gen.squeeze(-1)

    def step(self, prev: Tensor, state: DecoderState, enc: EncoderOutput) -> tuple[Tensor, Tensor, DecoderState]:
        """Incremental decoding: previous tokens (B,) -> logits (B, V), attention (B, S), new state."""
        feed, weights, state, gate_in = self._advance(prev, state, enc)
        logits, _ = self._output(feed, weights, gate_in, enc.src)
        return logits, weights, state

    def teacher_force(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor
                      ) -> tuple[Tensor, Tensor, Tensor | None]:
        """src (B, S), src_lengths (B,), tgt_in (B, T) -> logits (B, T, V), attention (B, T, S),
        p_gen (B, T) (None without copy)."""
        enc = self.encode(src, src_lengths)
        state = self.init_state(enc)
        feeds, attns, gates = [], [], []
        for t in range(tgt_in.size(1)):
            feed, weights, state, gate_in = self._advance(tgt_in[:, t], state, enc)
            feeds.append(feed)
            attns.append(weights)
            gates.append(gate_in)
        attention = torch.stack(attns, dim=1)                                     # (B, T, S)
        gate_in = torch.stack(gates, dim=1) if self.copy else None                # (B, T, G)
        logits, p_gen = self._output(torch.stack(feeds, dim=1), attention, gate_in, enc.src)  # one matmul
        return logits, attention, p_gen

    def forward(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor) -> tuple[Tensor, Tensor]:
        """Teacher forcing: src (B, S), src_lengths (B,), tgt_in (B, T) -> logits (B, T, V), attention (B, T, S)."""
        logits, attention, _ = self.teacher_force(src, src_lengths, tgt_in)
        return logits, attention


def coverage_loss(attention: Tensor, target: Tensor, *, pad_id: int = PAD_ID) -> Tensor:
    """See et al.'s coverage loss, sum_i min(a_t,i, cov_t,i), summed over the real target steps.

    attention (B, T, S) of teacher forcing, target (B, T) (padding ignored) -> scalar (a sum: divide
    by the token count like the cross-entropy)."""
    coverage = attention.cumsum(dim=1) - attention                                # (B, T, S) before step t
    per_step = torch.minimum(attention, coverage).sum(dim=2)                      # (B, T)
    return per_step[target != pad_id].sum()


class SequenceLoss(NamedTuple):
    loss: Tensor  # label-smoothed cross-entropy per target token (what to backpropagate)
    nll: Tensor   # summed negative log-likelihood without smoothing (for perplexity)
    tokens: int   # number of non-padding target tokens


def sequence_loss(logits: Tensor, target: Tensor, *, pad_id: int = PAD_ID,
                  label_smoothing: float = 0.0) -> SequenceLoss:
    """Cross-entropy of logits (B, T, V) against target (B, T), padding ignored.

    With smoothing eps the target distribution is (1 - eps) one-hot + eps uniform over V, the
    same definition as ``F.cross_entropy(label_smoothing=eps)``.
    """
    lprobs = logits.float().log_softmax(dim=-1)                                   # (B, T, V)
    keep = target != pad_id
    nll = -lprobs.gather(-1, target.unsqueeze(-1)).squeeze(-1)                    # (B, T)
    smooth = -lprobs.mean(dim=-1)                                                 # (B, T)
    per_token = (1.0 - label_smoothing) * nll + label_smoothing * smooth
    n = int(keep.sum())
    return SequenceLoss(per_token[keep].sum() / max(n, 1), nll[keep].sum(), n)


def build_seq2seq(model_cfg, src_vocab_size: int, tgt_vocab_size: int) -> AttentionSeq2Seq:
    """The model a config's ``model`` group describes, with the vocabulary sizes filled in."""
    from hydra.utils import instantiate

    return instantiate(model_cfg, src_vocab_size=src_vocab_size, tgt_vocab_size=tgt_vocab_size)
