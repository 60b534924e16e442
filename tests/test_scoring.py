"""Tests for toolkit.scoring: Levenshtein alignment, the error-rate report and the score CLI."""
import json
import logging
import math
import random
import time

import pytest
import torchaudio.functional as AF
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.bin import score as score_cli
from toolkit.corpora.timit_protocol import MAP_48_TO_39, PHONES_48
from toolkit.scoring.alignment import Edit, ErrorCounts, Op, align, count_edits, format_alignment
from toolkit.scoring.per import UtteranceMismatchError, read_token_map, read_transcripts, read_utt2spk, score


def ops(ref: str, hyp: str) -> str:
    return "".join(e.op.value for e in align(ref.split(), hyp.split()))


# ----------------------------------------------------------------------------- alignment

@pytest.mark.parametrize("ref, hyp, expected", [
    ("a b c", "a b c", "CCC"),
    ("a b c", "a x c", "CSC"),
    ("a b c", "a c", "CDC"),
    ("a c", "a b c", "CIC"),
    ("", "a b", "II"),                      # empty reference: all insertions
    ("a b", "", "DD"),                      # empty hypothesis: all deletions
    ("", "", ""),
    ("a b c d", "x y", "SSDD"),             # 2 subs + 2 dels is the minimum (4 errors)
    ("a b c", "c b a", "SCS"),
    ("the cat sat on the mat", "the cat sat the mat", "CCCDCC"),
    ("a b c", "x a b", "ICCD"),             # 2 errors beats the 3 substitutions of the diagonal
    # ties (same error count): fewest substitutions first ...
    ("a b", "b c", "DCI"),                  # not SS
    # ... then diagonal before deletion before insertion, left to right
    ("a a", "a", "CD"),                     # not DC
    ("a b", "b a", "DCI"),                  # not ICD
    ("a", "b c", "SI"),                     # not IS
])
def test_hand_worked_alignments(ref, hyp, expected):
    assert ops(ref, hyp) == expected


def test_alignment_carries_tokens_and_counts():
    edits = align("sil dh ax k sil".split(), "sil dh ah sil sil".split())
    assert edits == [Edit(Op.CORRECT, "sil", "sil"), Edit(Op.CORRECT, "dh", "dh"),
                     Edit(Op.SUBSTITUTION, "ax", "ah"), Edit(Op.SUBSTITUTION, "k", "sil"),
                     Edit(Op.CORRECT, "sil", "sil")]
    assert count_edits(edits) == ErrorCounts(snt=1, snt_err=1, n=5, cor=3, sub=2, dele=0, ins=0)
    assert count_edits(edits).errors == 2
    assert count_edits(edits[:2]) == ErrorCounts(snt=1, snt_err=0, n=2, cor=2)


def _min_errors_then_subs(ref, hyp):
    """Independent plain-Python DP over (errors, substitutions) tuples."""
    n, m = len(ref), len(hyp)
    d = [[(j, 0) for j in range(m + 1)]] + [[(i, 0)] + [None] * m for i in range(1, n + 1)]
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            e, s = d[i - 1][j - 1]
            diag = (e, s) if ref[i - 1] == hyp[j - 1] else (e + 1, s + 1)
            d[i][j] = min(diag, (d[i - 1][j][0] + 1, d[i - 1][j][1]), (d[i][j - 1][0] + 1, d[i][j - 1][1]))
    return d[n][m]


tokens = st.lists(st.sampled_from("abcd"), max_size=12)


@settings(max_examples=300, deadline=None)
@given(tokens, tokens)
def test_alignment_is_minimal_and_consistent(ref, hyp):
    edits = align(ref, hyp)
    c = count_edits(edits)
    # the error count is the edit distance (checked against torchaudio's implementation)
    assert c.errors == AF.edit_distance(ref, hyp)
    # among minimum-error alignments, fewest substitutions (sclite-like)
    assert (c.errors, c.sub) == _min_errors_then_subs(ref, hyp)
    # the edits read back the two sequences, and each op matches its tokens
    assert [e.ref for e in edits if e.ref is not None] == ref
    assert [e.hyp for e in edits if e.hyp is not None] == hyp
    for e in edits:
        assert (e.op is Op.CORRECT) == (e.ref is not None and e.ref == e.hyp)
        assert (e.op is Op.SUBSTITUTION) == (e.ref is not None and e.hyp is not None and e.ref != e.hyp)


def test_format_alignment_lines_up_columns():
    ref_row, hyp_row, eval_row = format_alignment(align("the cat sat".split(), "the dog sat on".split()))
    assert ref_row == "the cat sat ***"
    assert hyp_row == "the dog sat on"
    assert eval_row == "    S       I"
    ref_row, hyp_row, op_row = format_alignment(align(["aa", "k"], ["aa"]), mark_correct=True)
    assert (ref_row, hyp_row, op_row) == ("aa k", "aa ***", "C  D")


def test_alignment_speed_thousands_of_utterances():
    rng = random.Random(0)
    pairs = [([rng.choice(PHONES_48) for _ in range(100)], [rng.choice(PHONES_48) for _ in range(90)])
             for _ in range(1000)]
    start = time.perf_counter()
    for ref, hyp in pairs:
        align(ref, hyp)
    assert time.perf_counter() - start < 15.0  # ~1 s on one core; pure-Python DP takes several


# ----------------------------------------------------------------------------- score()

REFS = {"spk1_u1": "a b c d".split(), "spk1_u2": "a b".split(), "spk2_u1": "c c d".split()}
HYPS = {"spk1_u1": "a x c d e".split(), "spk1_u2": "a b".split(), "spk2_u1": "c d".split()}
UTT2SPK = {"spk1_u1": "spk1", "spk1_u2": "spk1", "spk2_u1": "spk2"}


def test_score_totals_by_hand():
    r = score(REFS, HYPS, utt2spk=UTT2SPK)
    # u1: C S C C I; u2: C C; spk2_u1: C D C  -> N=9, C=7, S=1, D=1, I=1
    assert r.totals == ErrorCounts(snt=3, snt_err=2, n=9, cor=7, sub=1, dele=1, ins=1)
    assert r.totals.err == pytest.approx(100 * 3 / 9)
    assert r.speakers["spk1"] == ErrorCounts(2, 1, 6, 5, 1, 0, 1)
    assert r.speakers["spk2"] == ErrorCounts(1, 1, 3, 2, 0, 1, 0)
    assert r.summary_line("PER") == "%PER 33.33 [ 3 / 9, 1 ins, 1 del, 1 sub ]"
    assert r.top_substitutions() == [("b", "x", 1)]
    assert r.top_deletions() == [("c", 1)] and r.top_insertions() == [("e", 1)]
    assert "".join(e.op.value for e in r.utterances["spk2_u1"].edits) == "CDC"


def test_per_speaker_sums_equal_totals():
    rng = random.Random(1)
    refs, hyps, utt2spk = {}, {}, {}
    for i in range(60):
        utt = f"s{i % 7}_u{i}"
        refs[utt] = [rng.choice("abcde") for _ in range(rng.randint(0, 15))]
        hyps[utt] = [rng.choice("abcdef") for _ in range(rng.randint(0, 15))]
        utt2spk[utt] = f"s{i % 7}"
    r = score(refs, hyps, utt2spk=utt2spk)
    assert len(r.speakers) == 7
    total = ErrorCounts()
    for c in r.speakers.values():
        total += c
    assert total == r.totals
    assert r.totals.n == sum(len(v) for v in refs.values())
    assert r.totals.cor + r.totals.sub + r.totals.dele == r.totals.n
    assert sum(r.substitutions.values()) == r.totals.sub
    assert sum(r.deletions.values()) == r.totals.dele and sum(r.insertions.values()) == r.totals.ins


def test_timit_48_to_39_fold():
    # each pair differs on 48 phones but is the same phone after the fold
    ref = "ix ax cl vcl epi zh ao el en sil".split()
    hyp = "ih ah sil sil sil sh aa l n vcl".split()
    unfolded = score({"u": ref}, {"u": hyp})
    assert unfolded.totals.sub == 10
    folded = score({"u": ref}, {"u": hyp}, token_map=MAP_48_TO_39)
    assert folded.totals.errors == 0 and folded.totals.n == 10
    assert folded.utterances["u"].ref == "ih ah sil sil sil sh aa l n sil".split()
    assert len(set(MAP_48_TO_39.values())) == 39 and set(MAP_48_TO_39) == set(PHONES_48)


def test_map_to_none_deletes_and_unknown_token_is_an_error():
    token_map = {"a": "a", "b": "b", "q": None}
    r = score({"u": "a q b q".split()}, {"u": "a b q".split()}, token_map=token_map)
    assert r.totals.n == 2 and r.totals.errors == 0
    with pytest.raises(ValueError, match=r"hypothesis utterance u: token 'zz'"):
        score({"u": ["a"]}, {"u": ["zz"]}, token_map=token_map)


def test_mismatched_ids_are_an_error_listing_them(caplog):
    refs = {f"u{i:02d}": ["a"] for i in range(20)}
    hyps = {f"u{i:02d}": ["a"] for i in range(3, 20)} | {"extra": ["a"]}
    with pytest.raises(UtteranceMismatchError) as err:
        score(refs, hyps)
    msg = str(err.value)
    assert "3 utterance(s) in the reference but not the hypothesis (u00, u01, u02)" in msg
    assert "1 utterance(s) in the hypothesis but not the reference (extra)" in msg
    assert err.value.only_ref == ["u00", "u01", "u02"] and err.value.n_common == 17
    with caplog.at_level(logging.WARNING):
        r = score(refs, hyps, only_common=True)
    assert r.totals.snt == 17 and "17 common utterances" in caplog.text


def test_mismatch_message_truncates_long_lists():
    with pytest.raises(UtteranceMismatchError, match=r"30 utterance\(s\) in the reference.*u09, \.\.\."):
        score({f"u{i:02d}": [] for i in range(30)}, {})


def test_utt2spk_must_cover_every_utterance():
    with pytest.raises(ValueError, match="not in utt2spk: spk2_u1"):
        score(REFS, HYPS, utt2spk={"spk1_u1": "spk1", "spk1_u2": "spk1"})


def test_empty_reference_with_insertions():
    r = score({"u": []}, {"u": ["a", "b"]})
    assert r.totals == ErrorCounts(1, 1, 0, 0, 0, 0, 2)
    assert math.isinf(r.totals.err) and r.to_dict()["err"] is None
    assert score({"u": []}, {"u": []}).totals.err == 0.0


def test_summary_table_layout():
    table = score(REFS, HYPS, utt2spk=UTT2SPK).summary_table("exp/x/hyp.txt")
    lines = table.splitlines()
    assert len({len(line) for line in lines}) == 1  # a closed box
    assert "exp/x/hyp.txt" in lines[1]
    spk1 = next(line for line in lines if line.startswith("| spk1"))
    assert spk1.split("|")[2].split() == ["2", "6"]
    assert spk1.split("|")[3].split() == ["83.3", "16.7", "0.0", "16.7", "33.3", "50.0"]
    sum_row = next(line for line in lines if "Sum/Avg" in line)
    assert sum_row.split("|")[3].split() == ["77.8", "11.1", "11.1", "11.1", "33.3", "66.7"]
    assert any("Mean" in line for line in lines) and any("Median" in line for line in lines)
    # without speakers only the sum row remains; a long title widens the box
    long_title = "x" * 120
    table = score(REFS, HYPS).summary_table(long_title).splitlines()
    assert len({len(line) for line in table}) == 1 and long_title in table[1]
    assert sum("|" in line and "Sum/Avg" in line for line in table) == 1 and "Mean" not in "".join(table)


def test_write_report_files(tmp_path):
    r = score(REFS, HYPS, utt2spk=UTT2SPK)
    r.write(tmp_path / "scoring", metric="PER", title="hyp")
    out = tmp_path / "scoring"
    result = json.loads((out / "result.json").read_text())
    assert result == {"metric": "PER", "err": pytest.approx(100 / 3), "n": 9, "cor": 7, "sub": 1,
                      "del": 1, "ins": 1, "errors": 3, "snt": 3, "snt_err": 2}
    align_txt = (out / "alignments.txt").read_text()
    assert "id: (spk1_u1)\nSpeaker: spk1\nScores: (#C #S #D #I) 3 1 0 1\n" in align_txt
    assert "REF:  a b c d ***\nHYP:  a x c d e\nEVAL:   S     I\n" in align_txt
    per_utt = (out / "per_utt").read_text().splitlines()
    assert per_utt[:4] == ["spk1_u1 ref  a b c d ***", "spk1_u1 hyp  a x c d e",
                           "spk1_u1 op   C S C C I", "spk1_u1 #csid 3 1 1 0"]  # Kaldi order C S I D
    per_spk = [line.split() for line in (out / "per_spk").read_text().splitlines()]
    assert per_spk[0][:4] == ["SPEAKER", "id", "#SENT", "#WORD"]
    assert ["SUM", "raw", "3", "9", "7", "1", "1", "1", "3", "2"] in per_spk
    assert ["spk2", "sys", "1", "3", "66.67", "0.00", "33.33", "0.00", "33.33", "100.00"] in per_spk
    confusions = (out / "confusions.txt").read_text()
    assert "b -> x" in confusions and "DELETIONS: 1" in confusions
    assert "%PER 33.33" in (out / "summary.txt").read_text()


# ----------------------------------------------------------------------------- readers and CLI

def test_readers(tmp_path):
    text = tmp_path / "text"
    text.write_text("u1 a b\n\nu2\n")
    assert read_transcripts(text) == {"u1": ["a", "b"], "u2": []}
    text.write_text("u1 a\nu2 b\nu1 c\n")
    with pytest.raises(ValueError, match=r"text:3: duplicate utterance id 'u1' \(first on line 1\)"):
        read_transcripts(text)
    with pytest.raises(FileNotFoundError, match="nope"):
        read_transcripts(tmp_path / "nope")
    m = tmp_path / "map"
    m.write_text("aa aa\nao aa\nq\n")
    assert read_token_map(m) == {"aa": "aa", "ao": "aa", "q": None}
    m.write_text("aa aa\nao aa aa\n")
    with pytest.raises(ValueError, match=r"map:2: expected 'from \[to\]', got 3 fields"):
        read_token_map(m)
    u2s = tmp_path / "utt2spk"
    u2s.write_text("u1 s1\nu2\n")
    with pytest.raises(ValueError, match=r"utt2spk:2: expected 'utt spk'"):
        read_utt2spk(u2s)


def _write(path, lines):
    path.write_text("".join(line + "\n" for line in lines))
    return str(path)


def test_cli_scores_and_writes(tmp_path, capsys):
    ref = _write(tmp_path / "text", ["fadg0_si1279 sil ix n ao sil", "mdab0_si1039 sil dh ax sil"])
    hyp = _write(tmp_path / "hyp.txt", ["fadg0_si1279 sil ih n aa sil", "mdab0_si1039 sil dh sil k"])
    u2s = _write(tmp_path / "utt2spk", ["fadg0_si1279 fadg0", "mdab0_si1039 mdab0"])
    fold = _write(tmp_path / "phones.48-39.map", [f"{a} {b}" for a, b in sorted(MAP_48_TO_39.items())])
    out = tmp_path / "scoring"
    rc = score_cli.main(["--ref", ref, "--hyp", hyp, "--utt2spk", u2s, "--map", fold, "--out-dir", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "| fadg0 " in printed and "Sum/Avg" in printed
    assert "%PER 22.22 [ 2 / 9, 1 ins, 1 del, 0 sub ]" in printed
    assert json.loads((out / "result.json").read_text())["err"] == pytest.approx(200 / 9)
    assert {p.name for p in out.iterdir()} >= {"per_utt", "alignments.txt", "per_spk", "confusions.txt",
                                               "result.json"}


def test_cli_errors_name_file_and_line(tmp_path, capsys):
    ref = _write(tmp_path / "text", ["u1 a b", "u2 a"])
    hyp = _write(tmp_path / "hyp.txt", ["u1 a b"])
    bad_map = _write(tmp_path / "bad.map", ["a a", "b b c"])
    assert score_cli.main(["--ref", ref, "--hyp", ref, "--map", bad_map, "--out-dir", str(tmp_path)]) == 1
    assert "bad.map:2: expected 'from [to]'" in capsys.readouterr().err
    assert score_cli.main(["--ref", ref, "--hyp", hyp, "--out-dir", str(tmp_path / "s")]) == 1
    err = capsys.readouterr().err
    assert "(u2)" in err and "hyp.txt" in err
    assert not (tmp_path / "s").exists()
    assert score_cli.main(["--ref", ref, "--hyp", hyp, "--only-common", "--out-dir", str(tmp_path / "s")]) == 0
    assert json.loads((tmp_path / "s" / "result.json").read_text())["snt"] == 1


def test_show_results_table_and_models_by_frontends_grid(tmp_path, capsys):
    from toolkit.bin.show_results import main

    def result(exp, subset, err, n=100):
        d = tmp_path / exp / f"decode_{subset}" / "scoring"
        d.mkdir(parents=True)
        d.joinpath("result.json").write_text(json.dumps(
            {"metric": "PER", "err": err, "n": n, "sub": 3, "del": 2, "ins": 1}))

    result("dnn_fbank", "dev", 30.0)
    result("dnn_fbank", "test", 31.0)
    result("bilstm_learnable_mel", "dev", 20.5)
    (tmp_path / "dnn_fbank" / "history.json").write_text(json.dumps([{"seconds": 60.0}, {"seconds": 30.0}]))
    assert main([str(tmp_path)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[2] == "| bilstm_learnable_mel | dev |  |  |  | **20.50** | 3.0 | 2.0 | 1.0 | 100 |"
    assert table[3] == "| dnn_fbank | dev |  | 2 | 1.5 | **30.00** | 3.0 | 2.0 | 1.0 | 100 |"
    assert main([str(tmp_path), "--grid", "dev"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "| PER on dev | fbank | learnable_mel |", "|---|---|---|", "| bilstm |  | 20.50 |", "| dnn | 30.00 |  |"]
    assert main([str(tmp_path), "--grid", "eval"]) == 1
    assert "no scored decodes of set 'eval'" in capsys.readouterr().err
