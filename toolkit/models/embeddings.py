"""Word2vec embeddings with gensim, and their hand-over to PyTorch as an aligned `nn.Embedding`.

Pipeline::

    corpus = TokenizedCorpus("data/train/text.en")            # streamed from disk, every epoch
    model = train_word2vec(corpus, architecture="skipgram", vector_size=256, epochs=5)
    save_vectors(model, "exp/w2v/vectors.model")              # gensim native (training can resume)
    save_vectors(model, "exp/w2v/vectors.txt", fmt="text")    # word2vec text format
    kv = load_vectors("exp/w2v/vectors.model")
    evaluate_similarity(kv, "wordsim353"), evaluate_analogies(kv)
    aligned = embedding_from_vectors(kv, SymbolTable.load("data/lang/tgt/tokens.txt").symbols, padding_idx=0)
    aligned.embedding, aligned.coverage

Evaluation uses the data sets shipped inside the gensim wheel (WordSim-353, SimLex-999 and
Mikolov's questions-words analogies), so it runs offline. Out-of-vocabulary ratios are
fractions in [0, 1] (gensim reports percentages).
"""
from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Collection, Iterable, Iterator, Protocol, Sequence

import gensim
import numpy as np
import torch
from gensim.models import KeyedVectors, Word2Vec
from gensim.utils import SaveLoad
from torch import nn

from toolkit.data.tokenizer import BOS, EOS, PAD, UNK
from toolkit.utils.atomic import atomic_write

log = logging.getLogger(__name__)

#: Similarity sets shipped with gensim: name -> file in gensim's test data.
SIMILARITY_SETS = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}
ANALOGY_SET = "questions-words.txt"
#: Symbols never looked up in the vectors (initialised randomly, or zero for padding).
SPECIAL_SYMBOLS = frozenset({PAD, UNK, BOS, EOS, "<eps>"})


class PieceEncoder(Protocol):
    def encode_pieces(self, text: str) -> list[str]: ...


class WordTokenizer:
    """Words and punctuation marks as separate tokens (``"Tom's house."`` -> ``["Tom's", "house", "."]``),
    the usual unit of word-level similarity and analogy test sets."""

    _TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")

    def encode_pieces(self, text: str) -> list[str]:
        return self._TOKEN.findall(text)


class TokenizedCorpus:
    """One or more text files seen as sentences of tokens, re-read from disk on every iteration.

    Each line is one sentence, split on whitespace, or by a `tokenizer` (`WordTokenizer`, or a
    `SentencePieceTokenizer` so word2vec learns vectors for the same pieces a translation model
    uses). Memory stays flat in corpus size; gensim iterates once to build the vocabulary and
    once per epoch.
    """

    def __init__(self, path: str | os.PathLike | Sequence[str | os.PathLike], tokenizer: PieceEncoder | None = None,
                 lowercase: bool = False):
        self.paths = [Path(p) for p in ([path] if isinstance(path, (str, os.PathLike)) else path)]
        for p in self.paths:
            if not p.is_file():
                raise FileNotFoundError(f"corpus not found: {p}")
        self.tokenizer = tokenizer
        self.lowercase = lowercase

    def __iter__(self) -> Iterator[list[str]]:
        for path in self.paths:
            with open(path, "rb") as f:
                for lineno, raw in enumerate(f, 1):
                    try:
                        line = raw.decode("utf-8")
                    except UnicodeDecodeError as e:
                        raise ValueError(f"{path}:{lineno}: invalid UTF-8 ({e.reason})") from None
                    if self.lowercase:
                        line = line.lower()
                    tokens = self.tokenizer.encode_pieces(line.strip()) if self.tokenizer else line.split()
                    if tokens:
                        yield tokens


def train_word2vec(corpus: Iterable[list[str]], *, architecture: str = "skipgram", vector_size: int = 100,
                   window: int = 5, min_count: int = 5, negative: int = 5, sample: float = 1e-3,
                   epochs: int = 5, workers: int = 1, seed: int = 0) -> Word2Vec:
    """Train word2vec (negative sampling) on a re-iterable corpus of token lists.

    architecture: "skipgram" or "cbow". With ``workers=1`` the result depends only on the
    corpus and the arguments (bit-identical reruns); more workers train faster but in a
    thread-dependent order.
    """
    if architecture not in ("skipgram", "cbow"):
        raise ValueError(f"architecture must be 'skipgram' or 'cbow', got {architecture!r}")
    if iter(corpus) is corpus:
        raise TypeError("corpus must be re-iterable (e.g. TokenizedCorpus), not a one-shot iterator")
    model = Word2Vec(sentences=corpus, sg=int(architecture == "skipgram"), vector_size=vector_size,
                     window=window, min_count=min_count, negative=negative, hs=0, sample=sample,
                     epochs=epochs, workers=workers, seed=seed)
    log.info("word2vec %s: %d words x %d dims, %d epochs over %d tokens", architecture,
             len(model.wv), vector_size, epochs, model.corpus_total_words)
    return model


@contextlib.contextmanager
def _temporary_path_for(path: Path) -> Iterator[str]:
    """A temporary file name next to `path`, renamed over `path` when the block succeeds."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def save_vectors(vectors: Word2Vec | KeyedVectors, path: str | os.PathLike, fmt: str = "native") -> None:
    """Save atomically as gensim native (a whole `Word2Vec` keeps its training state), or word2vec "text"/"binary"."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "native":
        with atomic_write(path, "wb") as f:
            vectors.save(f)  # one pickle, arrays included, so a single file to rename
    elif fmt in ("text", "binary"):
        kv = vectors.wv if isinstance(vectors, Word2Vec) else vectors
        with _temporary_path_for(path) as tmp:
            kv.save_word2vec_format(tmp, binary=fmt == "binary")
    else:
        raise ValueError(f"fmt must be 'native', 'text' or 'binary', got {fmt!r}")


def load_vectors(path: str | os.PathLike, fmt: str = "native") -> KeyedVectors:
    """Load vectors saved by `save_vectors` (or by gensim / the original word2vec tool)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"vectors not found: {path}")
    if fmt in ("text", "binary"):
        return KeyedVectors.load_word2vec_format(str(path), binary=fmt == "binary")
    if fmt != "native":
        raise ValueError(f"fmt must be 'native', 'text' or 'binary', got {fmt!r}")
    obj = SaveLoad.load(str(path))
    if isinstance(obj, Word2Vec):
        return obj.wv
    if not isinstance(obj, KeyedVectors):
        raise ValueError(f"{path}: holds a {type(obj).__name__}, not word vectors")
    return obj


def _check_known(kv: KeyedVectors, words: Iterable[str]) -> None:
    for w in words:
        if w not in kv.key_to_index:
            raise ValueError(f"{w!r} is not in the vocabulary ({len(kv)} words)")


def most_similar(kv: KeyedVectors, word: str, topn: int = 10) -> list[tuple[str, float]]:
    """The `topn` nearest words by cosine similarity."""
    _check_known(kv, [word])
    return kv.most_similar(word, topn=topn)


def analogy(kv: KeyedVectors, a: str, b: str, c: str, topn: int = 1) -> list[tuple[str, float]]:
    """``a`` is to ``b`` as ``c`` is to ? (3CosAdd: nearest to b - a + c, inputs excluded)."""
    _check_known(kv, [a, b, c])
    return kv.most_similar(positive=[b, c], negative=[a], topn=topn)


@dataclass
class SimilarityResult:
    dataset: str
    spearman: float   # rank correlation with the human scores over in-vocabulary pairs
    pearson: float
    oov_ratio: float  # share of pairs skipped for an unknown word
    pairs: int        # pairs in the data set


@dataclass
class AnalogyResult:
    accuracy: float      # over questions whose four words are all known
    accuracy_all: float  # over all questions (unknown words count as wrong)
    oov_ratio: float
    questions: int


def _resolve(dataset: str) -> str:
    """A gensim-shipped set by name or file name, or a path to a file in the same format."""
    if Path(dataset).is_file():
        return str(dataset)
    # gensim.test.utils.datapath, without importing that module (it builds test corpora on import)
    return str(Path(gensim.__file__).parent / "test" / "test_data" / SIMILARITY_SETS.get(dataset, dataset))


def evaluate_similarity(kv: KeyedVectors, dataset: str = "wordsim353", restrict_vocab: int = 300_000,
                        case_insensitive: bool = True) -> SimilarityResult:
    """Spearman/Pearson correlation between cosine similarity and human judgements.

    dataset: "wordsim353", "simlex999" or a path (``word1<TAB>word2<TAB>score``, ``#`` comments).
    When no pair is in the vocabulary the correlations are NaN (a toy corpus is not an error).
    """
    path = _resolve(dataset)
    with open(path, encoding="utf-8") as f:
        n = sum(1 for line in f if line.strip() and not line.startswith("#"))
    try:
        pearson, spearman, oov_pct = kv.evaluate_word_pairs(
            path, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive)
    except ValueError:  # gensim: no pair in the vocabulary
        log.warning("%s: no pair in the vocabulary; correlations undefined", dataset)
        return SimilarityResult(dataset, math.nan, math.nan, 1.0, n)
    return SimilarityResult(dataset, float(spearman[0]), float(pearson[0]), oov_pct / 100.0, n)


def evaluate_analogies(kv: KeyedVectors, dataset: str = ANALOGY_SET, restrict_vocab: int = 300_000,
                       case_insensitive: bool = True) -> AnalogyResult:
    """Analogy accuracy (3CosAdd, gensim's protocol) on questions-words.txt or a file in its format."""
    path = _resolve(dataset)
    with open(path, encoding="utf-8") as f:
        n = sum(1 for line in f if len(line.split()) == 4 and not line.startswith(":"))
    _, sections = kv.evaluate_word_analogies(path, restrict_vocab=restrict_vocab,
                                             case_insensitive=case_insensitive)
    total = sections[-1]
    correct, answered = len(total["correct"]), len(total["correct"]) + len(total["incorrect"])
    return AnalogyResult(accuracy=correct / answered if answered else math.nan,
                         accuracy_all=correct / n if n else math.nan,
                         oov_ratio=1.0 - answered / n if n else math.nan, questions=n)


@dataclass
class AlignedEmbedding:
    embedding: nn.Embedding
    coverage: float         # share of the non-special vocabulary found in the vectors
    missing: list[str]      # non-special tokens initialised randomly


def embedding_from_vectors(kv: KeyedVectors, vocab: Sequence[str], *, padding_idx: int | None = None,
                           specials: Collection[str] = SPECIAL_SYMBOLS, seed: int = 0,
                           freeze: bool = False) -> AlignedEmbedding:
    """An ``nn.Embedding(len(vocab), kv.vector_size)`` whose row i is the vector of ``vocab[i]``.

    vocab: tokens by id, e.g. ``SymbolTable.load("tokens.txt").symbols`` (words or subword pieces).
    Rows of tokens found in `kv` are copied exactly; the others (unknown tokens and `specials`)
    are drawn from N(0, std of all vectors) with a generator seeded by `seed`, so they start at
    the same scale as the pretrained rows. The `padding_idx` row is zero. Coverage counts
    non-special tokens only.
    """
    gen = torch.Generator().manual_seed(seed)
    scale = float(np.std(kv.vectors)) if len(kv) else 1.0
    weight = torch.randn(len(vocab), kv.vector_size, generator=gen) * scale
    missing: list[str] = []
    n_regular = 0
    for i, token in enumerate(vocab):
        if token in specials:
            continue
        n_regular += 1
        if token in kv.key_to_index:
            weight[i] = torch.tensor(kv[token], dtype=torch.float32)
        else:
            missing.append(token)
    if padding_idx is not None:
        weight[padding_idx] = 0.0
    coverage = (n_regular - len(missing)) / n_regular if n_regular else 0.0
    log.info("embedding from word2vec: %d/%d tokens covered (%.1f%%)",
             n_regular - len(missing), n_regular, 100 * coverage)
    emb = nn.Embedding.from_pretrained(weight, freeze=freeze, padding_idx=padding_idx)
    return AlignedEmbedding(emb, coverage, missing)
