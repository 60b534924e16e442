"""Tests for toolkit.decoding: phone bigram LM, frame-posterior Viterbi, CTC greedy and prefix beam search."""
import itertools
import math

import pytest
import torch

from toolkit.decoding.ctc import ctc_prefix_beam_search
from toolkit.models.greedy import ctc_greedy_decode
from toolkit.decoding.frame_viterbi import viterbi_decode
from toolkit.models.greedy import argmax_collapse
from toolkit.decoding.phone_lm import PhoneBigramLM

NEG_INF = -math.inf


def probs_to_log(rows) -> torch.Tensor:
    """Hand-written per-frame probabilities (T, V) -> log-probabilities (log 0 = -inf)."""
    return torch.tensor(rows, dtype=torch.float64).log()


# ----------------------------------------------------------------------------- phone bigram

TOY = [["a", "b", "a"], ["b", "b"], []]


def test_witten_bell_by_hand():
    lm = PhoneBigramLM.estimate(TOY, ["a", "b", "c"])
    p = lm.log_probs.exp()
    # Predicted-token counts: a 2, b 3, c 0, </s> 3 (N=8, 3 types) -> P1 = (c + 3/4) / 11
    p1 = torch.tensor([2.75, 3.75, 0.75, 3.75], dtype=torch.float64) / 11
    assert torch.allclose(lm.unigram_log_probs.exp(), p1)
    # history a: followed by b, </s> (c=2, T=2): P(w|a) = (c(a,w) + 2 P1(w)) / 4
    assert torch.allclose(p[0], (torch.tensor([0, 1, 0, 1.0], dtype=torch.float64) + 2 * p1) / 4)
    assert p[0, 0].item() == pytest.approx(0.125)
    # history c never seen: the unigram; row <s> (index 3): followed by a, b, </s>
    assert torch.allclose(p[2], p1)
    assert torch.allclose(p[3], (torch.tensor([1, 1, 0, 1.0], dtype=torch.float64) + 3 * p1) / 6)
    # an unseen bigram is backoff(h) * P1(w), the ARPA reading of the model
    assert torch.allclose(lm.log_probs[0, 2], lm.backoff[0] + lm.unigram_log_probs[2])


@pytest.mark.parametrize("smoothing", ["witten_bell", "add_k"])
def test_bigram_rows_sum_to_one(smoothing):
    g = torch.Generator().manual_seed(0)
    symbols = [f"p{i}" for i in range(12)]
    sents = [[symbols[j] for j in torch.randint(0, 10, (int(n),), generator=g)]
             for n in torch.randint(0, 20, (40,), generator=g)]
    lm = PhoneBigramLM.estimate(sents, symbols, smoothing=smoothing, k=0.5)
    assert lm.log_probs.shape == (13, 13)
    assert torch.allclose(lm.log_probs.exp().sum(1), torch.ones(13, dtype=torch.float64))
    assert torch.isfinite(lm.log_probs).all()  # unseen phones p10, p11 keep some probability
    assert torch.allclose(lm.unigram_log_probs.exp().sum(), torch.tensor(1.0, dtype=torch.float64))


def test_add_k_by_hand_and_sentence_scores():
    lm = PhoneBigramLM.estimate(TOY, ["a", "b", "c"], smoothing="add_k", k=1.0)
    # history b: followed by a, b, </s> once each (c=3); V+1 = 4 outcomes
    assert lm.log_probs[1].exp().tolist() == pytest.approx([2 / 7, 2 / 7, 1 / 7, 2 / 7])
    lp = lm.sentence_log_prob(["b", "a"])
    assert lp == pytest.approx(float(lm.log_probs[3, 1] + lm.log_probs[1, 0] + lm.log_probs[0, 3]))
    assert lm.perplexity([["b", "a"]]) == pytest.approx(math.exp(-lp / 3))


def test_estimate_rejects_unknown_phone_and_bad_options():
    with pytest.raises(ValueError, match="sentence 1: phone 'zz'"):
        PhoneBigramLM.estimate([["a"], ["a", "zz"]], ["a", "b"])
    with pytest.raises(ValueError, match="unknown smoothing"):
        PhoneBigramLM.estimate(TOY, ["a", "b", "c"], smoothing="kneser_ney")
    with pytest.raises(ValueError, match="must not include <s>"):
        PhoneBigramLM.estimate([], ["a", "<s>"])


@pytest.mark.parametrize("smoothing", ["witten_bell", "add_k"])
def test_arpa_round_trip(tmp_path, smoothing):
    lm = PhoneBigramLM.estimate(TOY, ["a", "b", "c"], smoothing=smoothing)
    path = tmp_path / "lm.arpa"
    lm.save_arpa(path)
    text = path.read_text()
    assert text.startswith("\\data\\\nngram 1=5\nngram 2=16\n") and text.rstrip().endswith("\\end\\")
    assert "-99.000000\t<s>" in text
    back = PhoneBigramLM.load_arpa(path)
    assert back.symbols == lm.symbols
    assert torch.allclose(back.log_probs, lm.log_probs, atol=1e-5)
    assert torch.allclose(back.unigram_log_probs, lm.unigram_log_probs, atol=1e-5)
    assert torch.allclose(back.backoff, lm.backoff, atol=1e-5)


def test_load_sparse_arpa_fills_from_backoff(tmp_path):
    # An SRILM-style file that lists only some bigrams.
    path = tmp_path / "sparse.arpa"
    path.write_text("\\data\\\nngram 1=4\nngram 2=3\n\n\\1-grams:\n"
                    "-99\t<s>\t-0.5\n-0.30103\tx\t-0.2\n-0.60206\ty\n-0.60206\t</s>\n\n"
                    "\\2-grams:\n-0.1\t<s> x\n-0.2\tx y\n-0.3\ty </s>\n\n\\end\\\n")
    lm = PhoneBigramLM.load_arpa(path)
    assert lm.symbols == ("x", "y")
    ln10 = math.log(10)
    assert lm.log_probs[2, 0].item() == pytest.approx(-0.1 * ln10)            # listed: <s> x
    assert lm.log_probs[2, 1].item() == pytest.approx((-0.5 - 0.60206) * ln10)  # backoff: <s> y
    assert lm.log_probs[1, 0].item() == pytest.approx(-0.30103 * ln10)        # y has no bow: 0
    path.write_text("\\data\\\nngram 1=4\n\n\\1-grams:\n-99\t<s>\n-1\tx\n-1\n\\end\\\n")
    with pytest.raises(ValueError, match=r"sparse.arpa:7: unexpected line"):
        PhoneBigramLM.load_arpa(path)
    path.write_text("\\data\\\nngram 1=2\nngram 3=1\n\n\\1-grams:\n-99\t<s>\n-1\t</s>\n\n\\3-grams:\n")
    with pytest.raises(ValueError, match="only bigram"):
        PhoneBigramLM.load_arpa(path)


def test_log_prob_matrix_reindexes_to_model_symbols():
    lm = PhoneBigramLM.estimate(TOY, ["a", "b", "c"])
    m = lm.log_prob_matrix(["<blk>", "c", "a", "b"], missing=["<blk>"])
    assert m.shape == (5, 5)
    assert torch.isneginf(m[0]).all() and torch.isneginf(m[:, 0]).all()
    assert m[2, 3] == lm.log_probs[0, 1]   # a -> b
    assert m[4, 1] == lm.log_probs[3, 2]   # <s> -> c
    assert m[3, 4] == lm.log_probs[1, 3]   # b -> </s>
    with pytest.raises(ValueError, match="disagree"):
        lm.log_prob_matrix(["a", "b"])  # c missing from the model
    with pytest.raises(ValueError, match="disagree"):
        lm.log_prob_matrix(["a", "b", "c", "<blk>"])  # blank not declared missing


# ----------------------------------------------------------------------------- frame Viterbi

def test_argmax_collapse():
    x = probs_to_log([[.9, .1, 0], [.8, .1, .1], [.1, .1, .8], [.2, .7, .1], [.1, .8, .1], [.9, .05, .05]])
    assert argmax_collapse(x) == [0, 2, 1, 0]
    assert argmax_collapse(x[:1]) == [0]


def brute_force_viterbi(ac, lm, lm_weight, penalty, min_dur):
    """Best phone sequence by enumerating every frame labelling and every segmentation."""
    t_len, v = ac.shape
    best_score, best = -math.inf, None
    for labels in itertools.product(range(v), repeat=t_len):
        for cuts in itertools.product([False, True], repeat=t_len - 1):
            # A new segment starts before frame t+1 where the label changes, or where a cut
            # re-enters the same phone; cuts between different labels would repeat a case.
            if any(cuts[t] and labels[t + 1] != labels[t] for t in range(t_len - 1)):
                continue
            starts = [0] + [t + 1 for t in range(t_len - 1) if cuts[t] or labels[t + 1] != labels[t]]
            bounds = list(zip(starts, starts[1:] + [t_len]))
            if any(e - s < min_dur for s, e in bounds):
                continue
            phones = [labels[s] for s, _ in bounds]
            score = sum(ac[t, labels[t]].item() for t in range(t_len))
            prev = v
            for p in phones:
                score += lm_weight * lm[prev, p].item() - penalty
                prev = p
            score += lm_weight * lm[prev, v].item()
            if score > best_score:
                best_score, best = score, phones
    return best


@pytest.mark.parametrize("seed", range(40))
def test_viterbi_matches_brute_force(seed):
    g = torch.Generator().manual_seed(seed)
    t_len = int(torch.randint(1, 6, (), generator=g))
    v = int(torch.randint(1, 4, (), generator=g))
    min_dur = 1 + seed % 3
    if t_len < min_dur:
        t_len = min_dur
    post = torch.randn(t_len, v, generator=g, dtype=torch.float64).log_softmax(-1)
    prior = torch.randn(v, generator=g, dtype=torch.float64).log_softmax(-1)
    lm = torch.randn(v + 1, v + 1, generator=g, dtype=torch.float64).log_softmax(-1)
    lm_weight = 2 * float(torch.rand((), generator=g))
    penalty = float(torch.randn((), generator=g))
    prior_scale = 0.7
    expected = brute_force_viterbi(post - prior_scale * prior, lm, lm_weight, penalty, min_dur)
    got = viterbi_decode(post[None], lm=lm, lm_weight=lm_weight, insertion_penalty=penalty,
                         min_duration=min_dur, log_prior=prior, prior_scale=prior_scale)
    assert got == [expected]


def test_viterbi_batch_equals_single_utterances():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(5, 40, 6, generator=g).log_softmax(-1)
    lengths = torch.tensor([40, 7, 23, 3, 31])
    lm = torch.randn(7, 7, generator=g).log_softmax(-1)
    for k in (1, 3):
        batch = viterbi_decode(x, lengths, lm, lm_weight=1.5, insertion_penalty=0.5, min_duration=k)
        single = [viterbi_decode(x[i:i + 1, :n], lm=lm, lm_weight=1.5, insertion_penalty=0.5,
                                 min_duration=k)[0] for i, n in enumerate(lengths.tolist())]
        assert batch == single


def test_viterbi_self_loop_versus_reentry():
    x = probs_to_log([[.9, .1]] * 4)  # phone 0 everywhere
    lm = torch.zeros(3, 3)
    assert viterbi_decode(x[None], lm=lm, insertion_penalty=1.0) == [[0]]
    # a bonus per phone (negative penalty) makes re-entering phone 0 on every frame pay off
    assert viterbi_decode(x[None], lm=lm, insertion_penalty=-1.0) == [[0, 0, 0, 0]]
    assert viterbi_decode(x[None], lm=lm, insertion_penalty=-1.0, min_duration=2) == [[0, 0]]


def test_viterbi_min_duration_removes_short_blips():
    x = probs_to_log([[.9, .1], [.9, .1], [.4, .6], [.9, .1], [.9, .1]])
    assert viterbi_decode(x[None]) == [[0, 1, 0]]
    assert viterbi_decode(x[None], min_duration=2) == [[0]]
    with pytest.raises(ValueError, match="utterance 0 in the batch has 5 frames"):
        viterbi_decode(x[None], min_duration=6)


def test_viterbi_lm_and_priors_change_decisions():
    x = probs_to_log([[.6, .4]] * 3)
    assert viterbi_decode(x[None]) == [[0]]
    # phone 0 is frequent a priori: its scaled likelihood .6/.8 loses to .4/.2
    prior = torch.tensor([.8, .2]).log()
    assert viterbi_decode(x[None], log_prior=prior) == [[1]]
    assert viterbi_decode(x[None], log_prior=prior, prior_scale=0.0) == [[0]]
    # a bigram that forbids starting with 0 (and lm_weight 0 keeps the -inf a hard constraint)
    lm = torch.zeros(3, 3)
    lm[2, 0] = NEG_INF
    assert viterbi_decode(x[None], lm=lm) == [[1, 0]]
    assert viterbi_decode(x[None], lm=lm, insertion_penalty=2.0) == [[1]]
    assert viterbi_decode(x[None], lm=lm, lm_weight=0.0, insertion_penalty=2.0) == [[1]]
    with pytest.raises(ValueError, match=r"lm must be \(3, 3\)"):
        viterbi_decode(x[None], lm=torch.zeros(4, 4))


# ----------------------------------------------------------------------------- CTC

def test_ctc_greedy_hand_cases():
    # blank = 0; frame argmax: a a _ a b b _ _ -> "a a b"
    x = probs_to_log([[.1, .8, .1], [.2, .7, .1], [.6, .3, .1], [.1, .8, .1],
                      [.1, .1, .8], [.3, .1, .6], [.9, .05, .05], [.9, .05, .05]])
    assert ctc_greedy_decode(x[None]) == [[1, 1, 2]]
    # lengths cut the batch; a different blank index
    batch = torch.stack([x, x.flip(0)])
    assert ctc_greedy_decode(batch, torch.tensor([2, 8])) == [[1], [2, 1, 1]]
    assert ctc_greedy_decode(x[None], blank=2) == [[1, 0, 1, 0]]
    assert ctc_greedy_decode(x[None], torch.tensor([0])) == [[]]


def brute_force_ctc(lp, blank, lm=None, lm_weight=0.0, bonus=0.0):
    """Best label sequence by summing the probability of every alignment (V^T paths)."""
    t_len, v = lp.shape
    totals: dict[tuple, float] = {}
    for path in itertools.product(range(v), repeat=t_len):
        labels = tuple(c for i, c in enumerate(path) if c != blank and (i == 0 or path[i - 1] != c))
        s = sum(lp[t, c].item() for t, c in enumerate(path))
        totals[labels] = float(torch.logaddexp(torch.tensor(totals.get(labels, NEG_INF)), torch.tensor(s)))
    best_score, best = NEG_INF, None
    for labels, s in totals.items():
        if lm is not None:
            prev = v
            for c in labels:
                s += lm_weight * lm[prev, c].item()
                prev = c
            s += lm_weight * lm[prev, v].item()
        s += bonus * len(labels)
        if s > best_score:
            best_score, best = s, list(labels)
    return best


@pytest.mark.parametrize("seed", range(40))
def test_prefix_beam_search_matches_brute_force(seed):
    g = torch.Generator().manual_seed(100 + seed)
    t_len = int(torch.randint(1, 6, (), generator=g))
    v = int(torch.randint(2, 4, (), generator=g))
    blank = int(torch.randint(0, v, (), generator=g))
    lp = (2 * torch.randn(t_len, v, generator=g, dtype=torch.float64)).log_softmax(-1)
    lm = torch.randn(v + 1, v + 1, generator=g, dtype=torch.float64).log_softmax(-1) if seed % 2 else None
    lm_weight, bonus = 2 * float(torch.rand((), generator=g)), float(torch.randn((), generator=g))
    expected = brute_force_ctc(lp, blank, lm, lm_weight, bonus)
    # a beam wider than the number of possible prefixes makes the search exact
    got = ctc_prefix_beam_search(lp[None], blank=blank, beam_size=256, lm=lm, lm_weight=lm_weight,
                                 insertion_bonus=bonus)
    assert got == [expected]


def test_prefix_beam_search_sums_alignments_unlike_greedy():
    # two frames, P(blank) = .6, P(a) = .4: best path "_ _" -> "", but P("a") = .64 > P("") = .36
    x = probs_to_log([[.6, .4], [.6, .4]])
    assert ctc_greedy_decode(x[None]) == [[]]
    assert ctc_prefix_beam_search(x[None], beam_size=1) == [[]]  # beam 1 keeps "" at frame 1
    assert ctc_prefix_beam_search(x[None], beam_size=2) == [[1]]


def test_beam_one_keeps_best_prefix_not_best_path():
    # blank=0, a=1, b=2. Greedy path a _ a -> "a a". Beam 1 keeps "a" after frame 1 (P .6);
    # frame 2 splits it into P_blank .33 / P_label .27; at frame 3 staying "a" = .6*.3 + .27*.45
    # = .3015 beats "a a" = .33*.45 = .1485 and "a b" = .6*.25 = .15.
    x = probs_to_log([[.4, .6, 0], [.55, .45, 0], [.3, .45, .25]])
    assert ctc_greedy_decode(x[None]) == [[1, 1]]
    assert ctc_prefix_beam_search(x[None], beam_size=1) == [[1]]


def test_beam_one_equals_greedy_on_peaky_posteriors():
    g = torch.Generator().manual_seed(7)
    x = (12 * torch.randn(6, 50, 8, generator=g)).log_softmax(-1)
    lengths = torch.tensor([50, 12, 33, 1, 50, 0])
    assert ctc_prefix_beam_search(x, lengths, beam_size=1) == ctc_greedy_decode(x, lengths)


def test_prefix_beam_search_batch_lm_and_bonus():
    g = torch.Generator().manual_seed(11)
    x = torch.randn(4, 30, 5, generator=g).log_softmax(-1)
    lengths = torch.tensor([30, 9, 17, 2])
    lm = PhoneBigramLM.estimate([["a", "b", "c", "d"]] * 5, ["a", "b", "c", "d"])
    matrix = lm.log_prob_matrix(["<blk>", "a", "b", "c", "d"], missing=["<blk>"])
    kwargs = dict(beam_size=8, lm=matrix, lm_weight=0.8, insertion_bonus=0.3)
    batch = ctc_prefix_beam_search(x, lengths, **kwargs)
    assert batch == [ctc_prefix_beam_search(x[i:i + 1, :n], **kwargs)[0] for i, n in enumerate(lengths.tolist())]
    # a large bonus lengthens outputs, a large penalty empties them
    long = ctc_prefix_beam_search(x, lengths, beam_size=8, insertion_bonus=5.0)
    short = ctc_prefix_beam_search(x, lengths, beam_size=8, insertion_bonus=-50.0)
    assert all(len(a) >= len(b) for a, b in zip(long, batch)) and short == [[]] * 4
    # the LM pulls towards its one training sentence
    strong = ctc_prefix_beam_search(x[:1], beam_size=8, lm=matrix, lm_weight=30.0)
    assert strong == [[1, 2, 3, 4]]


def test_ctc_input_checks():
    x = torch.zeros(1, 3, 4)
    with pytest.raises(ValueError, match="blank index 4"):
        ctc_greedy_decode(x, blank=4)
    with pytest.raises(ValueError, match="lengths"):
        ctc_prefix_beam_search(x, torch.tensor([5]))
    with pytest.raises(ValueError, match=r"\(B, T, V\)"):
        ctc_prefix_beam_search(x[0])
