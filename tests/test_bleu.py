"""BLEU/chrF wrapper: a hand-checked case, agreement with sacrebleu's own API, signature, score file."""
import math

import pytest
import sacrebleu

from toolkit.scoring.bleu import score_translations, write_score_file

HYPS = ["The cat sat on the mat.", "There is a dog in the garden!", "He reads a book every evening."]
REFS = ["The cat sat on a mat.", "A dog is in the garden!", "Every evening he reads a book."]
REFS_B = ["A cat was sitting on the mat.", "There's a dog in the garden!", "He reads a book each evening."]


def test_hand_checkable_bleu():
    # Tokens: the cat sat on the mat | the cat sat on a mat. Clipped n-gram matches:
    # 1-grams 5/6, 2-grams 3/5, 3-grams 2/4, 4-grams 1/3; equal lengths, so no brevity penalty.
    score = score_translations(["the cat sat on the mat"], ["the cat sat on a mat"])
    expected = 100 * math.exp(sum(math.log(p) for p in (5 / 6, 3 / 5, 2 / 4, 1 / 3)) / 4)
    assert score.bleu == pytest.approx(expected)  # 53.73
    assert round(score.bleu, 2) == 53.73
    same = score_translations(["the quick brown fox jumps"], ["the quick brown fox jumps"])
    assert same.bleu == pytest.approx(100) and same.chrf == pytest.approx(100)
    # Fewer than 4 tokens: no 4-gram can match, so sentence-level BLEU is 0 even when identical.
    assert score_translations(["identical output"], ["identical output"]).bleu == 0.0


def test_brevity_penalty_by_hand():
    # Hypothesis is the first 4 of 6 reference tokens: all precisions are 1, BP = exp(1 - 6/4).
    score = score_translations(["a b c d"], ["a b c d e f"])
    assert score.bleu == pytest.approx(100 * math.exp(1 - 6 / 4))


def test_matches_sacrebleu_corpus_functions_single_and_multi_reference():
    single = score_translations(HYPS, REFS)
    assert single.bleu == pytest.approx(sacrebleu.corpus_bleu(HYPS, [REFS]).score, abs=1e-9)
    assert single.chrf == pytest.approx(sacrebleu.corpus_chrf(HYPS, [REFS]).score, abs=1e-9)
    multi = score_translations(HYPS, [REFS, REFS_B])
    assert multi.bleu == pytest.approx(sacrebleu.corpus_bleu(HYPS, [REFS, REFS_B]).score, abs=1e-9)
    assert multi.bleu > single.bleu
    assert "nrefs:2" in multi.bleu_signature
    chrfpp = score_translations(HYPS, REFS, chrf_word_order=2)
    assert chrfpp.chrf == pytest.approx(sacrebleu.corpus_chrf(HYPS, [REFS], word_order=2).score, abs=1e-9)
    lower = score_translations(HYPS, REFS, lowercase=True)
    assert lower.bleu == pytest.approx(sacrebleu.corpus_bleu(HYPS, [REFS], lowercase=True).score, abs=1e-9)


def test_signature_and_score_file(tmp_path):
    score = score_translations(HYPS, REFS)
    assert score.bleu_signature == f"nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:{sacrebleu.__version__}"
    assert score.chrf_signature.startswith("nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no")
    assert score.sentences == 3
    path = tmp_path / "decode" / "scores.txt"
    write_score_file(score, path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith(f"BLEU = {score.bleu:.2f} ")
    assert f"BLEU signature: {score.bleu_signature}" in text and f"chrF2 = {score.chrf:.2f}" in text


def test_length_mismatch_and_empty_input_are_errors():
    with pytest.raises(ValueError, match="3 hypotheses but reference set 2 has 2"):
        score_translations(HYPS, [REFS, REFS_B[:2]])
    with pytest.raises(ValueError, match="no hypotheses"):
        score_translations([], [])
