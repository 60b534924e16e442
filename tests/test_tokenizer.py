"""Sentencepiece wrapper: fixed special ids, round trips, tokens.txt, joint vs separate models."""
import random

import pytest
import sentencepiece as spm

from toolkit.data.symbols import SymbolTable
from toolkit.data.tokenizer import (
    BOS_ID, EOS_ID, PAD_ID, UNK_ID, SentencePieceTokenizer, load_translation_tokenizers, train_sentencepiece,
    train_translation_tokenizers)

DE = "der die das Haus Katze Hund läuft schläft groß klein rot blau Straße Brücke".split()
EN = "the a house cat dog runs sleeps big small red blue street bridge over".split()


def corpus(path, words, n=300, seed=0):
    rng = random.Random(seed)
    path.write_text("".join(" ".join(rng.choice(words) for _ in range(rng.randint(3, 9))) + "\n"
                            for _ in range(n)), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def text_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("text")
    return corpus(d / "train.de", DE), corpus(d / "train.en", EN, seed=1)


@pytest.mark.parametrize("model_type", ["unigram", "bpe"])
def test_train_round_trip_special_ids_and_symbol_table(tmp_path, text_files, model_type):
    tok = train_sentencepiece([text_files[0]], tmp_path / "lang", vocab_size=60, model_type=model_type)
    assert (tmp_path / "lang" / "spm.model").is_file()
    assert tok.pieces[:4] == ["<pad>", "<unk>", "<s>", "</s>"]
    assert (PAD_ID, UNK_ID, BOS_ID, EOS_ID) == (0, 1, 2, 3)
    assert 4 < tok.vocab_size <= 60
    text = "die Katze läuft über die Brücke"
    ids = tok.encode(text, add_bos=True, add_eos=True)
    assert ids[0] == BOS_ID and ids[-1] == EOS_ID and PAD_ID not in ids
    assert tok.decode(ids + [PAD_ID, PAD_ID]) == text  # specials and padding vanish on decode
    pieces = tok.encode_pieces(text)
    assert pieces[0].startswith("\u2581") and tok.decode_pieces(pieces) == text
    assert tok.encode_batch([text, "das Haus"]) == [tok.encode(text), tok.encode("das Haus")]
    assert tok.ids_to_pieces(ids) == ["<s>", *pieces, "</s>"]
    # tokens.txt is Kaldi's "<symbol> <id>" and matches the model's pieces by id.
    lines = (tmp_path / "lang" / "tokens.txt").read_text(encoding="utf-8").splitlines()
    assert lines[:4] == ["<pad> 0", "<unk> 1", "<s> 2", "</s> 3"]
    assert SymbolTable.load(tmp_path / "lang" / "tokens.txt").symbols == tok.pieces == tok.symbol_table().symbols


def test_unknown_characters_map_to_unk(tmp_path, text_files):
    tok = train_sentencepiece([text_files[1]], tmp_path, vocab_size=40)
    assert UNK_ID in tok.encode("the cat ∑ runs")


def test_joint_and_separate_translation_tokenizers(tmp_path, text_files):
    src, tgt = train_translation_tokenizers(*text_files, tmp_path / "joint_case", vocab_size=80, joint=True)
    assert src is tgt
    assert src.encode_pieces("Katze")[0] != "<unk>" and src.encode_pieces("cat")[0] != "<unk>"
    src2, tgt2 = load_translation_tokenizers(tmp_path / "joint_case")
    assert src2 is tgt2 and src2.pieces == src.pieces

    src, tgt = train_translation_tokenizers(*text_files, tmp_path / "sep", vocab_size=50, joint=False,
                                            model_type="bpe")
    assert src is not tgt and set(src.pieces[4:]) != set(tgt.pieces[4:])
    # Each side only knows its own alphabet: 'v' is English-only, 'ß' German-only.
    assert UNK_ID in src.encode("over") and UNK_ID not in tgt.encode("over")
    assert UNK_ID in tgt.encode("groß") and UNK_ID not in src.encode("groß")
    src2, tgt2 = load_translation_tokenizers(tmp_path / "sep")
    assert (src2.pieces, tgt2.pieces) == (src.pieces, tgt.pieces)


def test_training_is_deterministic(tmp_path, text_files):
    a = train_sentencepiece([text_files[0]], tmp_path / "a", vocab_size=50)
    b = train_sentencepiece([text_files[0]], tmp_path / "b", vocab_size=50)
    assert (tmp_path / "a" / "spm.model").read_bytes() == (tmp_path / "b" / "spm.model").read_bytes()
    assert a.pieces == b.pieces


def test_mismatched_symbol_table_and_bad_inputs_are_errors(tmp_path, text_files):
    tok = train_sentencepiece([text_files[0]], tmp_path, vocab_size=50)
    SymbolTable(list(reversed(tok.pieces))).save(tmp_path / "tokens.txt")
    with pytest.raises(ValueError, match="does not match"):
        SentencePieceTokenizer(tmp_path / "spm.model")
    with pytest.raises(FileNotFoundError):
        SentencePieceTokenizer(tmp_path / "missing.model")
    # A model trained elsewhere with sentencepiece's default ids (unk 0, bos 1, eos 2, no pad) is refused.
    spm.SentencePieceTrainer.train(input=str(text_files[0]), model_prefix=str(tmp_path / "other"),
                                   vocab_size=40, hard_vocab_limit=False, minloglevel=2)
    with pytest.raises(ValueError, match=r"other\.model: special ids"):
        SentencePieceTokenizer(tmp_path / "other.model")
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        train_sentencepiece([tmp_path / "nope.txt"], tmp_path / "x", vocab_size=50)
    with pytest.raises(ValueError, match="model_type"):
        train_sentencepiece([text_files[0]], tmp_path / "x", vocab_size=50, model_type="wordpiece")
