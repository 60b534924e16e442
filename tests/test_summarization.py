"""Summarization parts: the headline corpus readers (Reuters SGML quirks, Gigaword files, TSV), the
normalisation, ROUGE against rouge-score itself, pointer-generator copying, coverage, and the search
constraints (no_repeat_ngram_size, min_len)."""
import math
import tarfile

import pytest
import torch

from toolkit.corpora.headlines import normalize_headline, read_gigaword, read_headline_tsv
from toolkit.corpora.reuters import first_sentence, read_reuters
from toolkit.data.tokenizer import EOS_ID
from toolkit.models.seq2seq import AttentionSeq2Seq, coverage_loss
from toolkit.models.seq2seq_search import BeamSearch, GreedySearch
from toolkit.scoring.rouge import baseline_table, score_summaries

pytestmark = pytest.mark.usefixtures("one_thread")

# A hand-made SGML file with the real collection's quirks: a good story (entities, control-character
# entities, a "Reuter" trailer, an abbreviation before the sentence end), one without TITLE, one without
# BODY (a BRIEF), a table of numbers, a Latin-1 byte, a broken entity, and an empty body.
SGML = b"""<!DOCTYPE lewis SYSTEM "lewis.dtd">
<REUTERS TOPICS="YES" LEWISSPLIT="TRAIN" NEWID="1">
<DATE>26-FEB-1987 15:01:01.79</DATE>
<UNKNOWN>&#5;&#5;&#5;C T</UNKNOWN>
<TEXT>&#2;
<TITLE>ACME &lt;ACM> TO BUY BETA CORP</TITLE>
<DATELINE>    NEW YORK, Feb 26 - </DATELINE><BODY>Acme Corp &lt;ACM> said it agreed to buy
Beta Corp. for 12 mln dlrs in the U.S. market. The deal &amp; its terms
are subject to approval.
 Reuter
&#3;</BODY></TEXT>
</REUTERS>
<REUTERS NEWID="2">
<TEXT>&#2;<BODY>A story that lost its headline. It has a body.
 Reuter
&#3;</BODY></TEXT>
</REUTERS>
<REUTERS NEWID="3">
<TEXT TYPE="BRIEF">&#2;
<TITLE>******GAMMA SEES PROFIT</TITLE>
Blah blah blah.
&#3;
</TEXT>
</REUTERS>
<REUTERS NEWID="4">
<TEXT>&#2;
<TITLE>U.S. CORN PRICES</TITLE>
<BODY>1.25 1.30 2.75 3.10 4,500 12.5
 Reuter
&#3;</BODY></TEXT>
</REUTERS>
<REUTERS NEWID="5">
<TEXT>&#2;
<TITLE>CAF\xc9 MAKER &bogus; RAISES PRICES</TITLE>
<BODY>Caf\xe9 Maker Inc raised its prices by 5 pct, the company said on Monday.
 Reuter
&#3;</BODY></TEXT>
</REUTERS>
<REUTERS NEWID="6">
<TEXT>&#2;
<TITLE>EMPTY BODY</TITLE>
<BODY>&#3;</BODY></TEXT>
</REUTERS>
"""


def test_reuters_reader_handles_the_quirks_and_counts_what_it_drops(tmp_path):
    sgm = tmp_path / "reut2-000.sgm"
    sgm.write_bytes(SGML)
    corpus = read_reuters(sgm)
    assert corpus.read == 6
    assert dict(corpus.dropped) == {"no_title": 1, "no_body": 2, "table": 1}
    assert corpus.repaired["latin1"] == 1
    assert corpus.pairs == [
        ("Acme Corp <ACM> said it agreed to buy Beta Corp. for 12 mln dlrs in the U.S. market.",
         "ACME <ACM> TO BUY BETA CORP"),
        ("Café Maker Inc raised its prices by 5 pct, the company said on Monday.", "CAFÉ MAKER RAISES PRICES")]
    assert corpus.ids == ["reut2-000.sgm:1", "reut2-000.sgm:5"]
    assert "dropped 4 (no_body=2 no_title=1 table=1); repaired: latin1=1" in corpus.summary()
    # the same documents from a directory and from the tarball, lowercased
    with tarfile.open(tmp_path / "reuters21578.tar.gz", "w:gz") as tar:
        tar.add(sgm, arcname="reut2-000.sgm")
    for path in (tmp_path, tmp_path / "reuters21578.tar.gz"):
        lower = read_reuters(path, lowercase=True)
        assert lower.pairs[1] == ("café maker inc raised its prices by 5 pct, the company said on monday.",
                                  "café maker raises prices")


def test_reuters_reader_errors_are_one_clear_line(tmp_path):
    with pytest.raises(FileNotFoundError, match="no reut2-"):
        read_reuters(tmp_path)
    (tmp_path / "reut2-000.sgm").write_bytes(b"not sgml at all\n")
    with pytest.raises(ValueError, match="no <REUTERS> documents"):
        read_reuters(tmp_path / "reut2-000.sgm")


def test_first_sentence_skips_abbreviations_and_the_signature():
    assert first_sentence("Mr. J. Smith of Acme Inc. said so. More text.") == "Mr. J. Smith of Acme Inc. said so."
    assert first_sentence("No sentence end at all Reuter") == "No sentence end at all"


def test_normalisation_masks_digits_lowercases_and_passes_unk_through():
    assert normalize_headline("Acme  UNK rose 12.5 pct <unk>\x07", lowercase=True, digits=True) == \
        "acme UNK rose ##.# pct UNK"
    assert normalize_headline("Acme UNK", lowercase=False) == "Acme UNK"


def test_gigaword_files_and_tsv(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"australia 's share prices rose 1.5 pct UNK\n\n\xff bad\nok lead\n")
    (tmp_path / "t.txt").write_bytes(b"australian shares up\nempty source\ntitle\nok title\n")
    corpus = read_gigaword(tmp_path / "a.txt", tmp_path / "t.txt", digits=True)
    assert corpus.pairs == [("australia 's share prices rose #.# pct UNK", "australian shares up"),
                            ("ok lead", "ok title")]
    assert corpus.read == 4 and dict(corpus.dropped) == {"empty": 1, "non_utf8": 1}
    (tmp_path / "short.txt").write_text("one\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"a.txt has 4 lines, .*short.txt has 1 lines"):
        read_gigaword(tmp_path / "a.txt", tmp_path / "short.txt")
    (tmp_path / "p.tsv").write_text("lead one\theadline one\n\nlead two\theadline two\n", encoding="utf-8")
    tsv = read_headline_tsv(tmp_path / "p.tsv")
    assert tsv.pairs == [("lead one", "headline one"), ("lead two", "headline two")] and tsv.dropped["empty"] == 1
    # A stray tab would pair the wrong columns: an error naming the line, never a silent pick.
    (tmp_path / "p.tsv").write_text("lead one\theadline one\nlead two\theadline\ttwo\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"p.tsv:2: 3 tab-separated columns"):
        read_headline_tsv(tmp_path / "p.tsv")


def test_prepare_headlines_errors(tmp_path):
    from toolkit.bin import prepare_headlines

    (tmp_path / "p.tsv").write_text("\n\n", encoding="utf-8")
    assert prepare_headlines.main(["--pairs", str(tmp_path / "p.tsv"), "--out", str(tmp_path / "d")]) == 1
    (tmp_path / "a.txt").write_text("x\ny\n", encoding="utf-8")
    (tmp_path / "t.txt").write_text("x\n", encoding="utf-8")
    assert prepare_headlines.main(["--train-src", str(tmp_path / "a.txt"), "--train-tgt", str(tmp_path / "t.txt"),
                                   "--out", str(tmp_path / "d")]) == 1


def test_rouge_equals_rouge_score_on_a_known_pair():
    from rouge_score import rouge_scorer

    ref, hyp = "police killed the gunman", "the gunman was shot and killed by police"
    expected = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True).score(ref, hyp)
    score = score_summaries([hyp], [ref])
    assert score.rouge1 == pytest.approx(100 * expected["rouge1"].fmeasure)
    assert score.rouge2 == pytest.approx(100 * expected["rouge2"].fmeasure)
    assert score.rougeL == pytest.approx(100 * expected["rougeL"].fmeasure)
    assert score.rouge1 == pytest.approx(100 * 2 * (4 / 8) * 1.0 / (4 / 8 + 1.0))   # 4 of 8 words, all 4 recalled
    table = baseline_table(["a b c d e f g h i j k l m"], ["a b c"])
    assert table["prefix-8"].rouge1 == pytest.approx(100 * 2 * (3 / 8) / (3 / 8 + 1))
    assert table["source"].sentences == 1


V = 20


def model(**kw) -> AttentionSeq2Seq:
    torch.manual_seed(0)
    return AttentionSeq2Seq(V, V, emb_dim=8, enc_hidden=6, dec_hidden=12, attn_dim=6, dropout=0.0, **kw).eval()


def test_copy_with_p_gen_zero_produces_a_word_the_decoder_never_generates():
    rare = 17
    plain, copying = model(), model(copy=True)
    with torch.no_grad():
        for m in (plain, copying):
            m.output.bias[rare] = -1e4        # the target vocabulary has (practically) no `rare`
        copying.gen_gate.weight.zero_()
        copying.gen_gate.bias.fill_(-1e4)     # p_gen = 0: copy only
    src, lengths = torch.tensor([[rare, 5, 6]]), torch.tensor([3])
    search = GreedySearch(max_len_a=0, max_len_b=4)
    assert rare not in search(plain, src, lengths)[0][0].tokens
    out = search(copying, src, lengths)[0][0].tokens
    assert out and set(out) <= {rare, 5, 6} and rare in out
    # the copy distribution is a distribution: log P sums to one over the vocabulary, p_gen in [0, 1]
    torch.manual_seed(1)
    logp, attention, p_gen = model(copy=True).teacher_force(torch.randint(4, V, (2, 5)), torch.tensor([5, 3]),
                                                            torch.randint(4, V, (2, 4)))
    assert torch.allclose(logp.exp().sum(-1), torch.ones(2, 4), atol=1e-5)
    assert p_gen.shape == (2, 4) and bool(((p_gen > 0) & (p_gen < 1)).all())
    with pytest.raises(ValueError, match="one vocabulary"):
        AttentionSeq2Seq(V, V + 1, copy=True)


def test_copy_and_coverage_off_leave_the_model_as_it_was():
    plain = model()
    assert not hasattr(plain, "gen_gate") and plain.attention.coverage_proj is None
    covered = model(coverage=True)
    assert {n for n, _ in covered.named_parameters()} - {n for n, _ in plain.named_parameters()} == \
        {"attention.coverage_proj.weight"}
    src, lengths, tgt = torch.randint(4, V, (2, 5)), torch.tensor([5, 3]), torch.randint(4, V, (2, 4))
    _, attention, _ = covered.teacher_force(src, lengths, tgt)
    # coverage loss: sum_t sum_i min(a_t,i, sum_{t'<t} a_t',i), by hand
    attention = attention.detach()
    expected = sum(float(torch.minimum(attention[b, t], attention[b, :t].sum(0)).sum())
                   for b in range(2) for t in range(4))
    assert float(coverage_loss(attention, tgt)) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="additive"):
        AttentionSeq2Seq(V, V, attention="general", coverage=True)


def repeating_model() -> AttentionSeq2Seq:
    """A model whose decoder overwhelmingly prefers token 5, then 6, then 7."""
    m = model()
    with torch.no_grad():
        m.output.bias[5], m.output.bias[6], m.output.bias[7] = 30.0, 20.0, 10.0
    return m


@pytest.mark.parametrize("search_cls", [GreedySearch, BeamSearch])
def test_no_repeat_ngram_size_and_min_len(search_cls):
    m, src, lengths = repeating_model(), torch.tensor([[8, 9, 10]]), torch.tensor([3])
    out = search_cls(max_len_a=0, max_len_b=6)(m, src, lengths)[0][0].tokens
    assert out == [5] * 6
    out = search_cls(max_len_a=0, max_len_b=6, no_repeat_ngram_size=1)(m, src, lengths)[0][0].tokens
    assert len(out) == len(set(out)) and sorted(out[:3]) == [5, 6, 7]   # beam may order ties differently
    out = search_cls(max_len_a=0, max_len_b=6, no_repeat_ngram_size=2)(m, src, lengths)[0][0].tokens
    bigrams = list(zip(out, out[1:]))
    assert len(bigrams) == len(set(bigrams)) and bigrams.count((5, 5)) == 1 and len(out) == 6
    # min_len: with </s> favoured, the output still has at least min_len tokens
    with torch.no_grad():
        m.output.bias[EOS_ID] = 60.0
    assert search_cls(max_len_a=0, max_len_b=6)(m, src, lengths)[0][0].tokens == []
    assert len(search_cls(max_len_a=0, max_len_b=6, min_len=3)(m, src, lengths)[0][0].tokens) == 3
    assert not math.isinf(search_cls(min_len=3)(m, src, lengths)[0][0].logprob)


def test_embedded_sample_is_the_output_of_its_generator():
    import importlib.util
    from pathlib import Path

    local = Path(__file__).resolve().parents[1] / "recipes" / "summarization" / "local"
    spec = importlib.util.spec_from_file_location("make_sample", local / "make_sample.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pairs = module.generate(800, seed=0)
    assert (local / "sample.tsv").read_text(encoding="utf-8").splitlines() == [f"{a}\t{t}" for a, t in pairs]
    # headlines reuse the lead's names and numbers: most headline words occur in the lead
    shared = [len(set(t.split()) & set(a.split())) / len(t.split()) for a, t in pairs]
    assert sum(shared) / len(shared) > 0.6
