"""Attention encoder-decoder and its search: masking, incremental API, loss, greedy vs beam on a trained toy."""
import math

import pytest
import torch
import torch.nn.functional as F

from toolkit.data.tokenizer import BOS_ID, EOS_ID, PAD_ID
from toolkit.models.seq2seq_search import BeamSearch, GreedySearch, LengthPenalty
from toolkit.data.parallel_dataset import make_batch
from toolkit.models.seq2seq import AttentionSeq2Seq, sequence_loss

V = 14  # 4 specials + 10 symbols (ids 4..13)


pytestmark = pytest.mark.usefixtures("one_thread")


def small_model(**kw):
    torch.manual_seed(0)
    opts = dict(emb_dim=16, enc_hidden=12, dec_hidden=24, attn_dim=10, dropout=0.0)
    opts.update(kw)
    return AttentionSeq2Seq(V, V, **opts).eval()


def random_seqs(n, gen, lo=2, hi=7):
    lengths = torch.randint(lo, hi + 1, (n,), generator=gen).tolist()
    return [torch.randint(4, V, (k,), generator=gen).tolist() for k in lengths]


def test_make_batch_layout():
    batch = make_batch([[5, 6, 7], [8]], [[9, 10], [11, 12, 13]])
    assert batch.src.tolist() == [[5, 6, 7], [8, PAD_ID, PAD_ID]] and batch.src_lengths.tolist() == [3, 1]
    assert batch.tgt_in.tolist() == [[BOS_ID, 9, 10, PAD_ID], [BOS_ID, 11, 12, 13]]
    assert batch.tgt_out.tolist() == [[9, 10, EOS_ID, PAD_ID], [11, 12, 13, EOS_ID]]
    assert make_batch([[5]]).tgt_in.shape == (1, 0)
    with pytest.raises(ValueError, match="empty source"):
        make_batch([[5], []])


@pytest.mark.parametrize("rnn_type", ["gru", "lstm"])
@pytest.mark.parametrize("attention,dec_hidden", [("additive", 24), ("general", 24), ("dot", 24)])
@pytest.mark.parametrize("tie", [True, False])
def test_shapes_and_padding_never_attended(rnn_type, attention, dec_hidden, tie):
    model = small_model(rnn_type=rnn_type, attention=attention, dec_hidden=dec_hidden, tie_embeddings=tie,
                        enc_layers=2, dec_layers=2)
    gen = torch.Generator().manual_seed(1)
    src, tgt = random_seqs(5, gen), random_seqs(5, gen)
    batch = make_batch(src, tgt)
    logits, attn = model(batch.src, batch.src_lengths, batch.tgt_in)
    b, s = batch.src.shape
    t = batch.tgt_in.size(1)
    assert logits.shape == (b, t, V) and attn.shape == (b, t, s)
    pad = batch.src == PAD_ID                                                  # (B, S)
    assert torch.all(attn.masked_select(pad.unsqueeze(1).expand_as(attn)) == 0)  # exactly zero
    torch.testing.assert_close(attn.sum(-1), torch.ones(b, t))
    assert (model.output.weight is model.tgt_embed.weight) == tie


@pytest.mark.parametrize("rnn_type", ["gru", "lstm"])
@pytest.mark.parametrize("attention", ["additive", "general", "dot"])
def test_outputs_do_not_change_with_extra_padding(rnn_type, attention):
    model = small_model(rnn_type=rnn_type, attention=attention)
    src, tgt = [[4, 5, 6, 7]], [[8, 9, 10]]
    alone = make_batch(src, tgt)
    logits1, attn1 = model(alone.src, alone.src_lengths, alone.tgt_in)
    # Same sentence next to a longer one, plus three extra padding columns on the source.
    batch = make_batch(src + [[11, 12, 13, 4, 5, 6, 7, 8, 9]], tgt + [[4, 5, 6, 7, 8]])
    padded_src = F.pad(batch.src, (0, 3), value=PAD_ID)
    logits2, attn2 = model(padded_src, batch.src_lengths, batch.tgt_in)
    t, s = alone.tgt_in.size(1), alone.src.size(1)
    torch.testing.assert_close(logits2[0, :t], logits1[0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(attn2[0, :t, :s], attn1[0], rtol=1e-5, atol=1e-6)
    assert torch.all(attn2[0, :, s:] == 0)


def test_dot_attention_needs_matching_sizes():
    with pytest.raises(ValueError, match="dot attention"):
        AttentionSeq2Seq(V, V, enc_hidden=12, dec_hidden=30, attention="dot")
    with pytest.raises(ValueError, match="attention must be"):
        AttentionSeq2Seq(V, V, attention="mlp2")
    with pytest.raises(ValueError, match="rnn_type"):
        AttentionSeq2Seq(V, V, rnn_type="transformer")


@pytest.mark.parametrize("rnn_type", ["gru", "lstm"])
def test_incremental_steps_equal_teacher_forcing(rnn_type):
    model = small_model(rnn_type=rnn_type, dec_layers=2)
    gen = torch.Generator().manual_seed(2)
    batch = make_batch(random_seqs(4, gen), random_seqs(4, gen))
    logits, attn = model(batch.src, batch.src_lengths, batch.tgt_in)
    enc = model.encode(batch.src, batch.src_lengths)
    state = model.init_state(enc)
    for t in range(batch.tgt_in.size(1)):
        step_logits, step_attn, state = model.step(batch.tgt_in[:, t], state, enc)
        torch.testing.assert_close(step_logits, logits[:, t])
        torch.testing.assert_close(step_attn, attn[:, t])
    # Reordering the state on the batch dimension moves whole hypotheses.
    idx = torch.tensor([2, 2, 0])
    moved = state.index_select(idx)
    assert torch.equal(moved.hidden[:, 1], state.hidden[:, 2]) and torch.equal(moved.feed[2], state.feed[0])


def test_loss_matches_torch_and_ignores_padding():
    gen = torch.Generator().manual_seed(3)
    logits = torch.randn(3, 5, V, generator=gen)
    target = torch.randint(4, V, (3, 5), generator=gen)
    target[0, 3:] = PAD_ID
    target[2, 1:] = PAD_ID
    out = sequence_loss(logits, target, label_smoothing=0.1)
    ref = F.cross_entropy(logits.view(-1, V), target.view(-1), ignore_index=PAD_ID, label_smoothing=0.1)
    torch.testing.assert_close(out.loss, ref)
    nll = F.cross_entropy(logits.view(-1, V), target.view(-1), ignore_index=PAD_ID, reduction="sum")
    torch.testing.assert_close(out.nll, nll)
    assert out.tokens == 15 - 2 - 4
    changed = logits.clone()
    changed[target == PAD_ID] = 100.0  # whatever the model says at padding does not count
    torch.testing.assert_close(sequence_loss(changed, target, label_smoothing=0.1).loss, out.loss)


def test_embeddings_from_tensors():
    model = small_model(tie_embeddings=True)
    w = torch.randn(V, 16)
    model.load_embeddings(src=w, tgt=2 * w)
    assert torch.equal(model.src_embed.weight[1:], w[1:]) and torch.count_nonzero(model.src_embed.weight[PAD_ID]) == 0
    assert torch.equal(model.output.weight[5], 2 * w[5])  # tied: the output projection follows
    with pytest.raises(ValueError, match="shape"):
        model.load_embeddings(src=torch.zeros(V + 1, 16))


# ---- search on a trained toy model ------------------------------------------------------------

def reverse_batch(n, gen):
    src = random_seqs(n, gen, lo=3, hi=8)
    return src, [list(reversed(s)) for s in src]


@pytest.fixture(scope="module")
def reverse_model():
    """Two seconds of CPU training on sequence reversal (needs attention): good, not perfect, so
    beam search still finds outputs other than greedy's for some sentences."""
    torch.manual_seed(0)
    model = AttentionSeq2Seq(V, V, emb_dim=32, enc_hidden=32, dec_hidden=64, attn_dim=32, dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(0)
    for _ in range(100):
        batch = make_batch(*reverse_batch(64, gen))
        logits, _ = model(batch.src, batch.src_lengths, batch.tgt_in)
        loss = sequence_loss(logits, batch.tgt_out, label_smoothing=0.1).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def test_batch():
    src, tgt = reverse_batch(64, torch.Generator().manual_seed(123))
    return src, tgt, make_batch(src)


def test_toy_model_learned_and_greedy_outputs(reverse_model, test_batch):
    src, tgt, batch = test_batch
    hyps = GreedySearch()(reverse_model, batch.src, batch.src_lengths)
    correct = sum(h[0].tokens == y for h, y in zip(hyps, tgt))
    assert correct >= 0.6 * len(tgt)
    for h, x in zip(hyps, src):
        best = h[0]
        assert best.attention.shape == (len(best.tokens) + 1, len(x))
        torch.testing.assert_close(best.attention.sum(-1), torch.ones(len(best.tokens) + 1))
        assert best.logprob <= 0 and best.score == best.logprob  # no length penalty


def test_beam_1_equals_greedy(reverse_model, test_batch):
    _, _, batch = test_batch
    greedy = GreedySearch()(reverse_model, batch.src, batch.src_lengths)
    beam = BeamSearch(beam_size=1)(reverse_model, batch.src, batch.src_lengths)
    for g, b in zip(greedy, beam):
        assert b[0].tokens == g[0].tokens
        assert b[0].logprob == pytest.approx(g[0].logprob, abs=1e-5)
        torch.testing.assert_close(b[0].attention, g[0].attention)


def test_beam_5_never_worse_than_greedy_in_model_score(reverse_model, test_batch):
    _, _, batch = test_batch
    greedy = GreedySearch()(reverse_model, batch.src, batch.src_lengths)
    beam = BeamSearch(beam_size=5, nbest=5)(reverse_model, batch.src, batch.src_lengths)
    for g, b in zip(greedy, beam):
        assert b[0].logprob >= g[0].logprob - 1e-5
        assert len(b) == 5 and [h.score for h in b] == sorted((h.score for h in b), reverse=True)


@pytest.mark.parametrize("penalty", [LengthPenalty("none"), LengthPenalty("gnmt", alpha=0.6)])
def test_batched_beam_equals_one_sentence_at_a_time(reverse_model, test_batch, penalty):
    src, _, batch = test_batch
    search = BeamSearch(beam_size=4, nbest=2, length_penalty=penalty)
    batched = search(reverse_model, batch.src, batch.src_lengths)
    for x, hyps in zip(src[:12], batched):
        one = make_batch([x])
        alone = search(reverse_model, one.src, one.src_lengths)[0]
        assert [h.tokens for h in alone] == [h.tokens for h in hyps]
        for a, b in zip(alone, hyps):
            assert a.score == pytest.approx(b.score, abs=1e-4)
            torch.testing.assert_close(a.attention, b.attention, rtol=1e-4, atol=1e-5)


def test_length_limits_and_penalties(reverse_model, test_batch):
    _, _, batch = test_batch
    for search in (GreedySearch(max_len_a=0.0, max_len_b=2), BeamSearch(3, max_len_a=0.0, max_len_b=2)):
        for hyps in search(reverse_model, batch.src, batch.src_lengths):
            assert all(len(h.tokens) <= 2 for h in hyps)
    search = BeamSearch(3, max_len_a=0.5, max_len_b=0)  # max length follows the source length
    for x, hyps in zip(test_batch[0], search(reverse_model, batch.src, batch.src_lengths)):
        assert len(hyps[0].tokens) <= len(x) // 2
    assert LengthPenalty("none")(7) == 1.0
    assert LengthPenalty("average", alpha=1.0)(7) == 7
    assert LengthPenalty("gnmt", alpha=0.6)(7) == pytest.approx(2.0 ** 0.6)
    h = GreedySearch(length_penalty=LengthPenalty("average"))(reverse_model, batch.src, batch.src_lengths)[0][0]
    assert h.score == pytest.approx(h.logprob / (len(h.tokens) + 1))
    with pytest.raises(ValueError):
        BeamSearch(beam_size=2, nbest=3)
    with pytest.raises(ValueError):
        LengthPenalty("wu")


def test_search_never_emits_specials(reverse_model, test_batch):
    _, _, batch = test_batch
    for hyps in BeamSearch(5, nbest=5)(reverse_model, batch.src, batch.src_lengths):
        for h in hyps:
            assert not {PAD_ID, BOS_ID, EOS_ID} & set(h.tokens)
            assert math.isfinite(h.logprob)
    assert torch.is_grad_enabled()  # search ran under no_grad and left grad mode as it was
