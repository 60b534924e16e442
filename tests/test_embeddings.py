"""word2vec: streamed corpus, training, save/load, evaluation on gensim's shipped sets, nn.Embedding export."""
import math
import random

import numpy as np
import pytest
import torch
from gensim.test.utils import datapath

from toolkit.data.tokenizer import PAD_ID, train_sentencepiece
from toolkit.models.embeddings import (
    TokenizedCorpus, analogy, embedding_from_vectors, evaluate_analogies, evaluate_similarity, load_vectors,
    most_similar, save_vectors, train_word2vec)

ANIMALS = "tiger cat dog lion horse mouse".split()
TECH = "computer keyboard internet software phone radio".split()
CAPITALS = ["Athens Greece", "Berlin Germany", "Madrid Spain", "Paris France", "Rome Italy"]


def topic_corpus(path, n=400, seed=0):
    """Sentences drawn from one topic each (animals, tech, capital-country pairs)."""
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        topic = i % 3
        if topic == 2:
            words = " ".join(rng.sample(CAPITALS, 3)).split()
        else:
            words = [rng.choice(ANIMALS if topic == 0 else TECH) for _ in range(8)]
        lines.append(" ".join(words))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    return topic_corpus(tmp_path_factory.mktemp("w2v") / "corpus.txt")


@pytest.fixture(scope="module")
def model(corpus_file):
    # sample=0: no frequent-word subsampling, every word of this 22-word toy vocabulary is "frequent"
    return train_word2vec(TokenizedCorpus(corpus_file), architecture="skipgram", vector_size=24, window=3,
                          min_count=1, negative=5, sample=0, epochs=8, workers=1, seed=1)


def test_corpus_is_streamed_and_reiterable(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("a b  c\n\nd e\n", encoding="utf-8")
    corpus = TokenizedCorpus(path)
    assert list(corpus) == [["a", "b", "c"], ["d", "e"]]
    assert list(corpus) == list(corpus)  # every pass starts again from the top
    path.write_text("x y\n", encoding="utf-8")
    assert list(corpus) == [["x", "y"]]  # ... by re-reading the file, not from a cached copy
    assert list(TokenizedCorpus(path, lowercase=True)) == [["x", "y"]]
    path.write_bytes(b"ok\nbad \xff\n")
    with pytest.raises(ValueError, match=r"c\.txt:2: invalid UTF-8"):
        list(corpus)


def test_training_rejects_one_shot_iterators_and_is_reproducible(corpus_file, model):
    with pytest.raises(TypeError, match="re-iterable"):
        train_word2vec(iter(TokenizedCorpus(corpus_file)), min_count=1)
    again = train_word2vec(TokenizedCorpus(corpus_file), architecture="skipgram", vector_size=24, window=3,
                           min_count=1, negative=5, sample=0, epochs=8, workers=1, seed=1)
    np.testing.assert_array_equal(again.wv.vectors, model.wv.vectors)
    cbow = train_word2vec(TokenizedCorpus(corpus_file), architecture="cbow", vector_size=24, min_count=1, epochs=2)
    assert cbow.sg == 0 and model.sg == 1


def test_neighbours_follow_the_topics(model):
    kv = model.wv
    near = [w for w, _ in most_similar(kv, "tiger", topn=4)]
    assert set(near) <= set(ANIMALS)
    assert analogy(kv, "Greece", "Athens", "Germany", topn=3)  # runs and returns candidates
    with pytest.raises(ValueError, match="'zebra' is not in the vocabulary"):
        most_similar(kv, "zebra")


@pytest.mark.parametrize("fmt", ["native", "text", "binary"])
def test_save_load_round_trip(tmp_path, model, fmt):
    path = tmp_path / "out" / f"vectors.{fmt}"
    save_vectors(model, path, fmt=fmt)
    kv = load_vectors(path, fmt=fmt)
    assert kv.index_to_key == model.wv.index_to_key
    if fmt == "text":  # decimal text keeps ~7 significant digits
        np.testing.assert_allclose(kv.vectors, model.wv.vectors, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_array_equal(kv.vectors, model.wv.vectors)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary files left


def test_native_save_keeps_training_state(tmp_path, model):
    from gensim.models import Word2Vec
    save_vectors(model, tmp_path / "m.model")
    again = Word2Vec.load(str(tmp_path / "m.model"))
    assert again.epochs == model.epochs and again.sg == 1
    save_vectors(model.wv, tmp_path / "kv.model")  # bare KeyedVectors work too
    np.testing.assert_array_equal(load_vectors(tmp_path / "kv.model").vectors, model.wv.vectors)


def known_fraction(path, vocab_upper, n_words, comment):
    rows = [line.split() for line in open(path, encoding="utf-8")
            if line.strip() and not line.startswith(comment)]
    rows = [r[:n_words] for r in rows if len(r) >= n_words]
    return sum(all(w.upper() in vocab_upper for w in r) for r in rows) / len(rows), len(rows)


def test_similarity_and_analogy_evaluation_on_shipped_sets(model):
    kv = model.wv
    vocab_upper = {w.upper() for w in kv.index_to_key}
    sim = evaluate_similarity(kv, "wordsim353")
    known, n = known_fraction(datapath("wordsim353.tsv"), vocab_upper, 2, "#")
    assert sim.pairs == n == 353 and 0 < known < 1
    assert sim.oov_ratio == pytest.approx(1 - known)
    assert -1 <= sim.spearman <= 1 and not math.isnan(sim.spearman)

    simlex = evaluate_similarity(kv, "simlex999")
    known, n = known_fraction(datapath("simlex999.txt"), vocab_upper, 2, "#")
    assert simlex.pairs == n == 999 and simlex.oov_ratio == pytest.approx(1 - known)

    ana = evaluate_analogies(kv)
    known, n = known_fraction(datapath("questions-words.txt"), vocab_upper, 4, ":")
    assert ana.questions == n and 0 < known < 1 and ana.oov_ratio == pytest.approx(1 - known)
    assert 0 <= ana.accuracy <= 1 and ana.accuracy_all == pytest.approx(ana.accuracy * known)


def test_similarity_without_known_words_is_nan_not_an_error(tmp_path, model):
    path = tmp_path / "sim.tsv"
    path.write_text("# w1\tw2\tscore\nzebra\tunicorn\t5.0\nfoo\tbar\t1.0\n", encoding="utf-8")
    sim = evaluate_similarity(model.wv, str(path))
    assert sim.pairs == 2 and sim.oov_ratio == 1.0 and math.isnan(sim.spearman)


def test_export_to_embedding_copies_rows_and_reports_coverage(model):
    kv = model.wv
    vocab = ["<pad>", "<unk>", "<s>", "</s>", "tiger", "zebra", "computer", "Athens", "unicorn"]
    aligned = embedding_from_vectors(kv, vocab, padding_idx=PAD_ID, seed=7)
    w = aligned.embedding.weight.detach()
    assert w.shape == (len(vocab), kv.vector_size)
    for i, token in enumerate(vocab):
        if token in kv.key_to_index:
            assert torch.equal(w[i], torch.tensor(kv[token]))
    assert aligned.coverage == pytest.approx(3 / 5) and aligned.missing == ["zebra", "unicorn"]
    assert torch.count_nonzero(w[PAD_ID]) == 0 and aligned.embedding.padding_idx == PAD_ID
    # Random rows: seeded, and on the scale of the pretrained vectors.
    again = embedding_from_vectors(kv, vocab, padding_idx=PAD_ID, seed=7).embedding.weight
    assert torch.equal(again, aligned.embedding.weight)
    random_rows = w[[1, 2, 3, 5, 8]]
    assert 0.5 < float(random_rows.std() / kv.vectors.std()) < 2.0
    assert aligned.embedding.weight.requires_grad  # trainable unless freeze=True
    assert not embedding_from_vectors(kv, vocab, freeze=True).embedding.weight.requires_grad


def test_subword_pieces_round_trip(tmp_path, corpus_file):
    tok = train_sentencepiece([corpus_file], tmp_path / "sp", vocab_size=40)
    corpus = TokenizedCorpus(corpus_file, tokenizer=tok)
    first = next(iter(corpus))
    assert first == tok.encode_pieces(corpus_file.read_text(encoding="utf-8").splitlines()[0])
    model = train_word2vec(corpus, vector_size=8, min_count=1, epochs=1)
    aligned = embedding_from_vectors(model.wv, tok.pieces, padding_idx=PAD_ID)
    seen = {p for sentence in corpus for p in sentence}
    regular = tok.pieces[4:]
    assert aligned.coverage == pytest.approx(sum(p in seen for p in regular) / len(regular))
    assert aligned.coverage > 0.9
    row = tok.pieces.index(first[0])
    assert torch.equal(aligned.embedding.weight[row].detach(), torch.tensor(model.wv[first[0]]))


def test_word_tokenizer_and_corpus_over_several_files(tmp_path):
    from toolkit.models.embeddings import WordTokenizer

    assert WordTokenizer().encode_pieces("Tom's dog, isn't it?") == ["Tom's", "dog", ",", "isn't", "it", "?"]
    (tmp_path / "a.txt").write_text("The cat.\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("A dog!\n", encoding="utf-8")
    corpus = TokenizedCorpus([tmp_path / "a.txt", tmp_path / "b.txt"], tokenizer=WordTokenizer(), lowercase=True)
    assert list(corpus) == [["the", "cat", "."], ["a", "dog", "!"]]
    with pytest.raises(FileNotFoundError, match="c.txt"):
        TokenizedCorpus([tmp_path / "a.txt", tmp_path / "c.txt"])
