"""Subword tokenisation with sentencepiece (unigram LM or BPE), with a Kaldi-style ``tokens.txt``.

Every model trained here reserves the same four ids, so models, batches and search share one
convention without looking anything up:

    ====  =======  ===========================================
    id    piece    use
    ====  =======  ===========================================
    0     <pad>    padding; ignored by the loss and attention
    1     <unk>    pieces not in the vocabulary
    2     <s>      begin of sentence (decoder's first input)
    3     </s>     end of sentence (decoder stops here)
    ====  =======  ===========================================

A model directory holds ``spm.model`` and ``tokens.txt`` (``<piece> <id>`` per line, the Kaldi
symbol-table format of `toolkit.data.symbols`), so the vocabulary can be read, diffed and
aligned with word2vec vectors without sentencepiece. For translation, `train_translation_tokenizers` trains one joint model
(``<dir>/joint/``) or one model per side (``<dir>/src/``, ``<dir>/tgt/``), and
`load_translation_tokenizers` loads either layout back.
"""
from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import Sequence

import sentencepiece as spm

from toolkit.data.symbols import SymbolTable
from toolkit.utils.atomic import atomic_write

log = logging.getLogger(__name__)

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
MODEL_NAME, SYMBOL_TABLE_NAME = "spm.model", "tokens.txt"
LANG_DIR = "lang"  # the sentencepiece models inside an experiment dir (a copy: decoding needs nothing else)


class SentencePieceTokenizer:
    """A trained sentencepiece model: text <-> ids or pieces. Load with ``SentencePieceTokenizer(path)``.

    Ids follow the module convention (pad 0, unk 1, bos 2, eos 3); a model with other ids is
    rejected. If a ``tokens.txt`` sits next to the model it must match the model's pieces.
    """

    def __init__(self, model_path: str | os.PathLike):
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise FileNotFoundError(f"sentencepiece model not found: {self.model_path}")
        self.sp = spm.SentencePieceProcessor(model_file=str(self.model_path))
        ids = (self.sp.pad_id(), self.sp.unk_id(), self.sp.bos_id(), self.sp.eos_id())
        if ids != (PAD_ID, UNK_ID, BOS_ID, EOS_ID):
            raise ValueError(f"{self.model_path}: special ids (pad, unk, bos, eos) are {ids}, "
                             f"expected {(PAD_ID, UNK_ID, BOS_ID, EOS_ID)}; retrain with train_sentencepiece")
        table = self.model_path.with_name(SYMBOL_TABLE_NAME)
        if table.is_file() and SymbolTable.load(table) != self.symbol_table():
            raise ValueError(f"{table} does not match the pieces of {self.model_path}")

    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    @property
    def pieces(self) -> list[str]:
        """All pieces, indexed by id (this is what ``tokens.txt`` holds)."""
        return [self.sp.id_to_piece(i) for i in range(self.vocab_size)]

    def encode(self, text: str, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """Text -> ids, optionally framed by <s> / </s>."""
        return self.sp.encode(text, add_bos=add_bos, add_eos=add_eos)

    def encode_batch(self, texts: Sequence[str], add_bos: bool = False, add_eos: bool = False) -> list[list[int]]:
        """Many texts -> ids (sentencepiece encodes them in parallel threads)."""
        return self.sp.encode(list(texts), add_bos=add_bos, add_eos=add_eos)

    def encode_pieces(self, text: str) -> list[str]:
        """Text -> pieces, e.g. ``'Hallo Welt'`` -> ``['▁Hall', 'o', '▁Welt']``."""
        return self.sp.encode(text, out_type=str)

    def decode(self, ids: Sequence[int]) -> str:
        """Ids -> detokenised text; <pad>, <s> and </s> are skipped, <unk> shows as ' ⁇ '."""
        return self.sp.decode(list(ids))

    def ids_to_pieces(self, ids: Sequence[int]) -> list[str]:
        """Ids -> pieces, specials included (for attention plots and debugging)."""
        return [self.sp.id_to_piece(int(i)) for i in ids]

    def decode_pieces(self, pieces: Sequence[str]) -> str:
        """Pieces -> detokenised text."""
        return self.sp.decode_pieces(list(pieces))

    def symbol_table(self) -> SymbolTable:
        """The pieces as a `SymbolTable` (what ``tokens.txt`` next to the model holds)."""
        return SymbolTable(self.pieces)


def train_sentencepiece(inputs: Sequence[str | os.PathLike], out_dir: str | os.PathLike, vocab_size: int, *,
                        model_type: str = "unigram", character_coverage: float = 1.0,
                        max_sentences: int = 0, normalization: str = "nmt_nfkc", seed: int = 0,
                        num_threads: int | None = None) -> SentencePieceTokenizer:
    """Train a sentencepiece model on text files (one sentence per line) -> ``out_dir/spm.model`` + ``tokens.txt``.

    model_type: "unigram" or "bpe". vocab_size counts the four special pieces and is an upper
    bound: a corpus too small for it yields fewer pieces rather than an error.
    character_coverage: share of characters kept as pieces (1.0 for alphabetic scripts; ~0.9995
    for Chinese/Japanese). max_sentences: train on a random sample of this many lines (0 = all).
    normalization: sentencepiece's normalisation rule ("nmt_nfkc", "nfkc", "identity", ...).
    """
    if model_type not in ("unigram", "bpe"):
        raise ValueError(f"model_type must be 'unigram' or 'bpe', got {model_type!r}")
    for path in inputs:
        if not Path(path).is_file():
            raise FileNotFoundError(f"tokenizer training text not found: {path}")
    out_dir = Path(out_dir)
    spm.set_random_generator_seed(seed)
    proto = io.BytesIO()
    with open(os.devnull, "w") as quiet:
        spm.SentencePieceTrainer.train(
            input=[str(p) for p in inputs], model_writer=proto, logstream=quiet,
            model_type=model_type, vocab_size=vocab_size, hard_vocab_limit=False,
            character_coverage=character_coverage, normalization_rule_name=normalization,
            input_sentence_size=max_sentences, shuffle_input_sentence=max_sentences > 0,
            pad_id=PAD_ID, unk_id=UNK_ID, bos_id=BOS_ID, eos_id=EOS_ID,
            pad_piece=PAD, unk_piece=UNK, bos_piece=BOS, eos_piece=EOS,
            num_threads=num_threads or os.cpu_count() or 1)
    model_path = out_dir / MODEL_NAME
    with atomic_write(model_path, "wb") as f:
        f.write(proto.getvalue())
    trained = spm.SentencePieceProcessor(model_proto=proto.getvalue())
    SymbolTable([trained.id_to_piece(i) for i in range(trained.get_piece_size())]).save(out_dir / SYMBOL_TABLE_NAME)
    tok = SentencePieceTokenizer(model_path)
    log.info("trained %s sentencepiece model %s: %d pieces (asked for %d)",
             model_type, model_path, tok.vocab_size, vocab_size)
    return tok


def train_translation_tokenizers(src_text: str | os.PathLike, tgt_text: str | os.PathLike,
                                 out_dir: str | os.PathLike, vocab_size: int, *, joint: bool = True,
                                 **options) -> tuple[SentencePieceTokenizer, SentencePieceTokenizer]:
    """One model on both sides (``out_dir/joint``, returned twice) or one per side (``out_dir/src``, ``out_dir/tgt``).

    `options` go to `train_sentencepiece` (model_type, character_coverage, ...). With separate
    models each side gets `vocab_size` pieces.
    """
    out_dir = Path(out_dir)
    if joint:
        tok = train_sentencepiece([src_text, tgt_text], out_dir / "joint", vocab_size, **options)
        return tok, tok
    return (train_sentencepiece([src_text], out_dir / "src", vocab_size, **options),
            train_sentencepiece([tgt_text], out_dir / "tgt", vocab_size, **options))


def load_translation_tokenizers(out_dir: str | os.PathLike) -> tuple[SentencePieceTokenizer, SentencePieceTokenizer]:
    """Load what `train_translation_tokenizers` wrote: (source, target), the same object when joint."""
    out_dir = Path(out_dir)
    if (out_dir / "joint" / MODEL_NAME).is_file():
        tok = SentencePieceTokenizer(out_dir / "joint" / MODEL_NAME)
        return tok, tok
    if not (out_dir / "src" / MODEL_NAME).is_file():
        raise FileNotFoundError(f"no tokenizer in {out_dir}: expected joint/{MODEL_NAME} or src/ and tgt/{MODEL_NAME}")
    return (SentencePieceTokenizer(out_dir / "src" / MODEL_NAME),
            SentencePieceTokenizer(out_dir / "tgt" / MODEL_NAME))
