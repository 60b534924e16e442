"""Parallel text: reading both layouts, cleaning with drop counts, bad input, source-disjoint splits."""
import logging

import pytest

from toolkit.data.parallel_text import (
    ParallelText, anki_columns, clean_pairs, normalize_text, read_moses, read_tsv, split_pairs, write_moses)


def write_bytes(path, lines: list[bytes]):
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def test_normalize_text_nfc_whitespace_and_invisibles():
    decomposed = "Mu\u0308ller"  # u + combining diaeresis
    assert normalize_text(decomposed) == "M\u00fcller"
    assert normalize_text("  Guten\u00a0Tag,\t Welt \u200b! ") == "Guten Tag, Welt !"
    assert normalize_text("Zu\u00adcker") == "Zucker"


def test_anki_columns_from_file_name(tmp_path):
    assert anki_columns("deu-eng.tsv") == ("eng", "deu")
    assert anki_columns("data/fra.txt") == ("eng", "fra")
    with pytest.raises(ValueError, match="pairs.tsv"):
        anki_columns("pairs.tsv")


def test_read_tsv_picks_columns_by_language_and_ignores_attribution(tmp_path):
    path = write_bytes(tmp_path / "deu-eng.tsv", [
        "Hi.\tHallo!\tCC-BY 2.0 (France) Attribution: tatoeba.org #538123 (CM)".encode(),
        "Run!\tLauf!\tCC-BY 2.0 (France) Attribution: tatoeba.org #906328 (sysko)".encode(),
    ])
    de_en = [(p.src, p.tgt) for p in read_tsv(path, src_lang="deu", tgt_lang="eng")]
    assert de_en == [("Hallo!", "Hi."), ("Lauf!", "Run!")]
    en_de = [(p.src, p.tgt) for p in read_tsv(path, "eng", "deu", columns=("eng", "deu"))]
    assert en_de == [("Hi.", "Hallo!"), ("Run!", "Lauf!")]
    with pytest.raises(ValueError, match="'fra' is not one of the columns"):
        list(read_tsv(path, "fra", "eng"))


def test_tsv_line_without_tab_is_an_error_with_file_and_line(tmp_path):
    path = write_bytes(tmp_path / "deu-eng.tsv", [b"Hi.\tHallo!", b"no tab here"])
    with pytest.raises(ValueError, match=r"deu-eng\.tsv:2: expected at least 2"):
        list(read_tsv(path, "deu", "eng"))


def test_clean_drops_and_counts_each_reason(tmp_path, caplog):
    lines = [
        "Hi.\tHallo!".encode(),                                   # kept
        b"",                                                      # blank line -> empty
        "Yes.\t   ".encode(),                                     # empty target after normalisation
        b"Bad \xff byte.\tKaputt.",                               # invalid UTF-8 -> non_utf8
        ("word " * 30 + "\tWort").encode(),                       # 30 vs 1 tokens -> ratio (9x)
        ("a " * 120 + "\t" + "b " * 120).encode(),                # over max_tokens -> too_long
        "Tom\u00a0ran.\tTom  rannte.".encode(),                   # kept, normalised
    ]
    path = write_bytes(tmp_path / "deu-eng.tsv", lines)
    with caplog.at_level(logging.WARNING):
        corpus = clean_pairs(read_tsv(path, "eng", "deu"), max_tokens=100, max_ratio=9)
    assert isinstance(corpus, ParallelText)
    assert corpus.pairs == [("Hi.", "Hallo!"), ("Tom ran.", "Tom rannte.")]
    assert corpus.read == 7
    assert dict(corpus.dropped) == {"empty": 2, "non_utf8": 1, "ratio": 1, "too_long": 1}
    assert f"{path}:4: invalid UTF-8 byte 0xff" in caplog.text
    assert corpus.summary() == ("read 7 pairs, kept 2, dropped 5 "
                                "(non_utf8=1 empty=2 too_long=1 ratio=1)")


def test_strict_mode_raises_on_invalid_utf8_with_file_and_line(tmp_path):
    path = write_bytes(tmp_path / "deu-eng.tsv", [b"Hi.\tHallo!", b"Hi.\tHall\xe4chen"])
    with pytest.raises(ValueError, match=r"deu-eng\.tsv:2: invalid UTF-8 byte 0xe4"):
        list(read_tsv(path, "deu", "eng", strict=True))
    src = write_bytes(tmp_path / "train.de", [b"eins", b"zw\xc3"])
    tgt = write_bytes(tmp_path / "train.en", [b"one", b"two"])
    with pytest.raises(ValueError, match=r"train\.de:2: invalid UTF-8"):
        list(read_moses(src, tgt, strict=True))


def test_moses_files_read_aligned_and_bad_side_drops_pair(tmp_path, caplog):
    src = write_bytes(tmp_path / "train.de", [b"eins", b"zwei", b"drei"])
    tgt = write_bytes(tmp_path / "train.en", [b"one", b"tw\x80o", b"three"])
    with caplog.at_level(logging.WARNING):
        corpus = clean_pairs(read_moses(src, tgt))
    assert corpus.pairs == [("eins", "one"), ("drei", "three")]
    assert corpus.dropped["non_utf8"] == 1
    assert f"{tgt}:2: invalid UTF-8" in caplog.text


@pytest.mark.parametrize("n_src,n_tgt", [(3, 5), (4, 2)])
def test_misaligned_moses_files_name_both_files_and_counts(tmp_path, n_src, n_tgt):
    src = write_bytes(tmp_path / "train.src", [b"s"] * n_src)
    tgt = write_bytes(tmp_path / "train.tgt", [b"t"] * n_tgt)
    with pytest.raises(ValueError) as err:
        list(read_moses(src, tgt))
    msg = str(err.value)
    assert f"{src} has {n_src} lines" in msg and f"{tgt} has {n_tgt} lines" in msg


def make_pairs():
    """240 pairs over 120 distinct sources, several with more than one translation; some differ only in case."""
    pairs = []
    for i in range(120):
        for j in range(1 + i % 3):
            src = f"Satz nummer {i}." if j != 2 else f"SATZ  nummer {i}."
            pairs.append((src, f"sentence {i} version {j}"))
    return pairs


def source_keys(pairs):
    return {" ".join(s.split()).casefold() for s, _ in pairs}


def test_split_keeps_each_source_on_one_side_and_is_deterministic():
    pairs = make_pairs()
    splits = split_pairs(pairs, dev=30, test=0.125, seed=3)
    train, dev, test = (source_keys(splits[k]) for k in ("train", "dev", "test"))
    assert not (train & dev) and not (train & test) and not (dev & test)
    assert sum(len(v) for v in splits.values()) == len(pairs)
    # A split is at least its size and overshoots by less than one source's translations (<= 3).
    assert 30 <= len(splits["test"]) < 30 + 3 and 30 <= len(splits["dev"]) < 30 + 3
    assert split_pairs(pairs, dev=30, test=0.125, seed=3) == splits
    # The split depends on the text, not on the input order.
    shuffled = split_pairs(pairs[::-1], dev=30, test=0.125, seed=3)
    assert sorted(shuffled["test"]) == sorted(splits["test"])
    assert split_pairs(pairs, dev=30, test=0.125, seed=4)["test"] != splits["test"]


def test_split_rejects_impossible_sizes():
    with pytest.raises(ValueError, match="exceed"):
        split_pairs(make_pairs(), dev=200, test=200)
    with pytest.raises(ValueError, match="fraction"):
        split_pairs(make_pairs(), dev=1.5, test=0)


def test_write_moses_round_trip(tmp_path):
    pairs = [("Hallo Welt", "hello world"), ("Tschüss", "bye")]
    n = write_moses(pairs, tmp_path / "d" / "text.de", tmp_path / "d" / "text.en")
    assert n == 2
    again = clean_pairs(read_moses(tmp_path / "d" / "text.de", tmp_path / "d" / "text.en"))
    assert again.pairs == pairs and not again.dropped


def test_read_lines_names_file_and_line_of_invalid_utf8(tmp_path):
    from toolkit.data.parallel_text import read_lines, text_file

    path = write_bytes(tmp_path / "hyp.txt", ["Grüße".encode(), b"", b"ok\r"])
    assert read_lines(path) == ["Grüße", "", "ok"]
    write_bytes(path, [b"fine", b"bad \xe4"])
    with pytest.raises(ValueError, match=r"hyp\.txt:2: invalid UTF-8 byte 0xe4"):
        read_lines(path)
    assert text_file(tmp_path / "train", "deu") == tmp_path / "train" / "text.deu"


def test_latin1_file_is_refused_as_utf8_and_read_with_its_encoding(tmp_path):
    lines = ["Hi.\tHallo!", "Bye.\tTschüss!", "Go.\tGeh.", "Beautiful.\tSchön.", "Cheese.\tKäse."]
    path = write_bytes(tmp_path / "deu-eng.tsv", [line.encode("latin-1") for line in lines])
    with pytest.raises(ValueError, match=r"deu-eng\.tsv:2: invalid UTF-8 byte 0xfc at byte offset 9: .*deu-eng\.tsv "
                                         r"is not UTF-8: none of its 3 lines with non-ASCII bytes decodes.*"
                                         r"--encoding latin-1"):
        clean_pairs(read_tsv(path, "deu", "eng"))
    corpus = clean_pairs(read_tsv(path, "deu", "eng", encoding="latin-1"))
    assert corpus.read == 5 and not corpus.dropped and ("Käse.", "Cheese.") in corpus.pairs
    src = write_bytes(tmp_path / "train.de", [b"Sch\xf6n.", b"K\xe4se."])
    tgt = write_bytes(tmp_path / "train.en", [b"Beautiful.", b"Cheese."])
    with pytest.raises(ValueError, match=r"train\.de is not UTF-8"):
        list(read_moses(src, tgt))
    assert [p.src for p in read_moses(src, tgt, encoding="latin-1")] == ["Schön.", "Käse."]


def test_tab_inside_a_sentence_is_an_error_naming_the_line(tmp_path):
    path = write_bytes(tmp_path / "deu-eng.tsv", [b"Hi.\tHallo!\tCC-BY", b"Oh\tno.\tAch nein.\tCC-BY",
                                                  b"Run!\tLauf!\tCC-BY"])
    with pytest.raises(ValueError, match=r"deu-eng\.tsv:2: 4 tab-separated columns, but line 1 has 3; a tab inside "
                                         "a sentence"):
        list(read_tsv(path, "deu", "eng"))
