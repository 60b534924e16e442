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

    def index_select(self, index: Tensor) -> "EncoderOutput":
        """Rows `index` of every tensor, e.g. ``arange(B).repeat_interleave(beam)``."""
        return EncoderOutput(*(t.index_select(0, index) for t in (self.memory, self.keys, self.mask, self.final)))


@dataclass
class DecoderState:
    """Recurrent state between decoder steps."""

    hidden: Tensor       # (L, B, Hd)
    cell: Tensor | None  # (L, B, Hd) for LSTM, None for GRU
    feed: Tensor         # (B, O) previous attentional vector (input feeding)

    def index_select(self, index: Tensor) -> "DecoderState":
        """Keep/reorder hypotheses: row i of the result is row index[i] of this state."""
        cell = None if self.cell is None else self.cell.index_select(1, index)
        return DecoderState(self.hidden.index_select(1, index), cell, self.feed.index_select(0, index))


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

    def keys(self, memory: Tensor) -> Tensor:
        """Project the memory once per sentence: (B, S, 2He) -> (B, S, K)."""
        return memory if self.kind == "dot" else self.key_proj(memory)

    def forward(self, query: Tensor, keys: Tensor, memory: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """query (B, Hd) -> context (B, 2He), weights (B, S) summing to 1 over unmasked positions."""
        if self.kind == "additive":
            scores = self.v(torch.tanh(keys + self.query_proj(query).unsqueeze(1))).squeeze(2)
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
                 dropout: float = 0.2, tie_embeddings: bool = True,
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
        return EncoderOutput(memory, self.attention.keys(memory), mask, final)

    def init_state(self, enc: EncoderOutput) -> DecoderState:
        """Decoder state before the first target token: bridged encoder summary, zero input feed."""
        b = enc.final.size(0)
        hidden = torch.tanh(self.bridge(enc.final))                               # (B, L*Hd)
        hidden = hidden.view(b, self.dec_layers, self.dec_hidden).transpose(0, 1).contiguous()
        cell = torch.zeros_like(hidden) if self.is_lstm else None
        return DecoderState(hidden, cell, enc.memory.new_zeros(b, self.out_dim))

    # ---- decoder ---------------------------------------------------------------------------
    def _advance(self, prev: Tensor, state: DecoderState, enc: EncoderOutput) -> tuple[Tensor, Tensor, DecoderState]:
        """One decoder step before the output layer: prev (B,) -> o_t (B, O), attention (B, S), state."""
        u = torch.cat([self.dropout(self.tgt_embed(prev)), state.feed], dim=1).unsqueeze(1)  # (B, 1, E+O)
        if self.is_lstm:
            out, (hidden, cell) = self.decoder(u, (state.hidden, state.cell))
        else:
            out, hidden = self.decoder(u, state.hidden)
            cell = None
        query = out.squeeze(1)                                                    # (B, Hd)
        context, weights = self.attention(query, enc.keys, enc.memory, enc.mask)  # (B, 2He), (B, S)
        feed = torch.tanh(self.combine(torch.cat([query, context], dim=1)))       # (B, O)
        return feed, weights, DecoderState(hidden, cell, feed)

    def step(self, prev: Tensor, state: DecoderState, enc: EncoderOutput) -> tuple[Tensor, Tensor, DecoderState]:
        """Incremental decoding: previous tokens (B,) -> logits (B, V), attention (B, S), new state."""
        feed, weights, state = self._advance(prev, state, enc)
        return self.output(self.dropout(feed)), weights, state

    def forward(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor) -> tuple[Tensor, Tensor]:
        """Teacher forcing: src (B, S), src_lengths (B,), tgt_in (B, T) -> logits (B, T, V), attention (B, T, S)."""
        enc = self.encode(src, src_lengths)
        state = self.init_state(enc)
        feeds, attns = [], []
        for t in range(tgt_in.size(1)):
            feed, weights, state = self._advance(tgt_in[:, t], state, enc)
            feeds.append(feed)
            attns.append(weights)
        logits = self.output(self.dropout(torch.stack(feeds, dim=1)))            # one matmul for all steps
        return logits, torch.stack(attns, dim=1)


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
