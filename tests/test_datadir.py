"""Kaldi data directories: validation names the file and line of every problem, fixing keeps the
utterances present everywhere, subsets and splits stay consistent."""
import pytest

from toolkit.data.datadir import (DataDir, DataDirError, fix_data_dir, read_table, shell_commands, validate_data_dir,
                                  write_table)


def make_dir(path, n_spk=2, n_utt=3):
    utt2spk = {f"spk{s}_u{u}": f"spk{s}" for s in range(n_spk) for u in range(n_utt)}
    data = DataDir(utt2spk=utt2spk, wav_scp={u: f"/audio/{u}.wav" for u in utt2spk},
                   text={u: ["a", "b"] for u in utt2spk})
    data.save(path)
    return data


def test_round_trip_and_valid(tmp_path):
    data = make_dir(tmp_path)
    assert validate_data_dir(tmp_path, need_text=True) == []
    loaded = DataDir.load(tmp_path)
    assert loaded.utt2spk == data.utt2spk and loaded.text == data.text
    assert loaded.spk2utt == {"spk0": ["spk0_u0", "spk0_u1", "spk0_u2"], "spk1": ["spk1_u0", "spk1_u1", "spk1_u2"]}
    assert (tmp_path / "spk2utt").read_text().splitlines()[0] == "spk0 spk0_u0 spk0_u1 spk0_u2"


def test_mismatched_ids_are_named(tmp_path):
    make_dir(tmp_path)
    text = read_table(tmp_path / "text")
    del text["spk1_u2"]
    text["spk9_x"] = "a"
    write_table(tmp_path / "text", text)
    problems = validate_data_dir(tmp_path)
    assert any("text: 1 id(s) of utt2spk missing, e.g. 'spk1_u2'" in p for p in problems)
    assert any("text: 1 id(s) not in utt2spk, e.g. 'spk9_x'" in p for p in problems)
    with pytest.raises(DataDirError, match="(?s)invalid data directory.*spk1_u2.*fix_data_dir"):
        DataDir.load(tmp_path)


def test_empty_transcript_unsorted_duplicate_and_empty_file(tmp_path):
    make_dir(tmp_path)
    lines = (tmp_path / "text").read_text().splitlines()
    lines[1] = "spk0_u1"                       # empty transcript on line 2
    (tmp_path / "text").write_text("\n".join(lines) + "\n")
    assert any(p.endswith("text:2: empty transcript for utterance 'spk0_u1'") for p in validate_data_dir(tmp_path))

    lines = (tmp_path / "wav.scp").read_text().splitlines()
    (tmp_path / "wav.scp").write_text("\n".join([lines[1], lines[0]] + lines[2:]) + "\n")
    assert any("wav.scp:2: not sorted" in p for p in validate_data_dir(tmp_path))

    (tmp_path / "utt2spk").write_text("spk0_u0 spk0\nspk0_u0 spk0\n")
    assert any("utt2spk:2: duplicate key 'spk0_u0'" in p for p in validate_data_dir(tmp_path))

    (tmp_path / "utt2spk").write_text("")
    assert any("utt2spk: empty file" in p for p in validate_data_dir(tmp_path))


def test_speaker_must_prefix_utterance(tmp_path):
    DataDir(utt2spk={"u1": "spkA"}, wav_scp={"u1": "/a.wav"}).save(tmp_path)
    assert any("do not start with their speaker id, e.g. 'u1'" in p for p in validate_data_dir(tmp_path))


def test_fix_keeps_the_intersection_and_backs_up(tmp_path):
    make_dir(tmp_path)
    wav = read_table(tmp_path / "wav.scp")
    del wav["spk0_u1"]
    write_table(tmp_path / "wav.scp", wav)
    lines = (tmp_path / "text").read_text().splitlines()
    lines[-1] = "spk1_u2"                      # empty transcript
    (tmp_path / "text").write_text("\n".join(lines) + "\n")
    assert fix_data_dir(tmp_path) == {"kept": 4, "removed": 2}
    assert validate_data_dir(tmp_path, need_text=True) == []
    assert "spk0_u1" in (tmp_path / ".backup" / "utt2spk").read_text()  # nothing lost


def test_subset_and_split(tmp_path):
    data = make_dir(tmp_path, n_spk=3, n_utt=4)
    parts = data.split(5)
    assert sum(len(p.utts) for p in parts) == 12 and sorted(u for p in parts for u in p.utts) == data.utts
    by_spk = data.split(3, by_speaker=True)
    assert [sorted(set(p.utt2spk.values())) for p in by_spk] == [["spk0"], ["spk1"], ["spk2"]]
    with pytest.raises(DataDirError, match="cannot split 3 speakers into 4 parts"):
        data.split(4, by_speaker=True)
    with pytest.raises(DataDirError, match="unknown utterance"):
        data.subset(["nope"])


def test_validate_and_fix_command_lines(tmp_path, capsys):
    from toolkit.bin import fix_data_dir as fix_cli, validate_data_dir as validate_cli

    make_dir(tmp_path)
    utt2spk = read_table(tmp_path / "utt2spk")
    del utt2spk["spk0_u0"]
    write_table(tmp_path / "utt2spk", utt2spk)
    assert validate_cli.main([str(tmp_path)]) == 1
    assert "wav.scp: 1 id(s) not in utt2spk, e.g. 'spk0_u0'" in capsys.readouterr().err
    assert fix_cli.main([str(tmp_path)]) == 0
    assert validate_cli.main(["--need-text", str(tmp_path)]) == 0
    assert "spk0_u0" not in (tmp_path / "wav.scp").read_text()


def test_non_utf8_bytes_are_named_by_file_and_line(tmp_path):
    make_dir(tmp_path)
    lines = (tmp_path / "text").read_bytes().splitlines()
    lines[2] = b"spk0_u2 caf\xe9"                    # Latin-1, not UTF-8
    (tmp_path / "text").write_bytes(b"\n".join(lines) + b"\n")
    assert any(p.endswith("text:3: not valid UTF-8 (byte 0xe9 at byte 12 of the line); convert the file to "
                          "UTF-8, e.g. with iconv -f LATIN1 -t UTF-8") for p in validate_data_dir(tmp_path))
    make_dir(tmp_path / "b")
    (tmp_path / "b" / "utt2spk").write_bytes(b"spk0_u0 spk0\nspk0_u1 spk\xff\n")
    with pytest.raises(DataDirError, match=r"utt2spk:2: not valid UTF-8"):
        fix_data_dir(tmp_path / "b")


def test_fix_twice_keeps_every_backup(tmp_path):
    make_dir(tmp_path)
    wav = read_table(tmp_path / "wav.scp")
    del wav["spk0_u1"]
    write_table(tmp_path / "wav.scp", wav)
    assert fix_data_dir(tmp_path)["removed"] == 1
    assert fix_data_dir(tmp_path)["removed"] == 0
    assert "spk0_u1" in (tmp_path / ".backup" / "utt2spk").read_text()        # the first run's originals
    assert "spk0_u1" not in (tmp_path / ".backup.2" / "utt2spk").read_text()  # the second run's


def test_tab_separated_tables_are_read_as_kaldi_does(tmp_path):
    make_dir(tmp_path)
    for name in ("utt2spk", "text", "wav.scp"):
        lines = (tmp_path / name).read_text().splitlines()
        (tmp_path / name).write_text("".join(line.replace(" ", "\t", 1) + "\n" for line in lines))
    assert validate_data_dir(tmp_path, need_text=True) == []
    assert read_table(tmp_path / "utt2spk")["spk0_u0"] == "spk0"
    assert DataDir.load(tmp_path).text["spk1_u2"] == ["a", "b"]


def test_lang_option_checks_phones_of_text_and_ctm(tmp_path):
    make_dir(tmp_path)
    lang = tmp_path / "lang"
    lang.mkdir()
    (lang / "phones.txt").write_text("a 0\nb 1\n")
    assert validate_data_dir(tmp_path, lang=lang) == []
    lines = (tmp_path / "text").read_text().splitlines()
    lines[1] = "spk0_u1\ta zz"
    lines[4] = "spk1_u1 zz b"
    (tmp_path / "text").write_text("\n".join(lines) + "\n")
    (tmp_path / "phones.ctm").write_text("spk0_u0 1 0.00 0.10 a\nspk0_u0 1 0.10 0.10 qq\n")
    problems = validate_data_dir(tmp_path, lang=lang / "phones.txt")
    assert f"{tmp_path / 'text'}:2: unknown phone 'zz' in utterance 'spk0_u1' (not in {lang / 'phones.txt'}); " \
           "1 more line(s) with unknown phones" in problems
    assert any(p.startswith(f"{tmp_path / 'phones.ctm'}:2: unknown phone 'qq' in utterance 'spk0_u0'")
               for p in problems)
    assert len(problems) == 2


def test_commands_in_scp_files_are_listed_or_refused(tmp_path, capsys, monkeypatch):
    from toolkit.bin import validate_data_dir as validate_cli

    make_dir(tmp_path)
    wav = read_table(tmp_path / "wav.scp")
    wav["spk0_u1"] = f"touch {tmp_path / 'x'}; cat /audio/spk0_u1.wav |"
    write_table(tmp_path / "wav.scp", wav)
    where, command = f"{tmp_path / 'wav.scp'}:2 (spk0_u1)", f"touch {tmp_path / 'x'}; cat /audio/spk0_u1.wav"
    assert shell_commands(tmp_path) == [(where, command)]
    assert validate_data_dir(tmp_path) == []
    assert validate_cli.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"  {where}: {command}\n" in out and "OK (runs 1 command(s))" in out
    refused = f"{where}: shell command refused (--no-pipes or TOOLKIT_NO_PIPES): {command}"
    assert validate_cli.main(["--no-pipes", str(tmp_path)]) == 1
    assert refused in capsys.readouterr().err
    monkeypatch.setenv("TOOLKIT_NO_PIPES", "1")
    assert refused in validate_data_dir(tmp_path)
    monkeypatch.delenv("TOOLKIT_NO_PIPES")
    write_table(tmp_path / "feats.scp", {u: "gunzip -c f.ark.gz |" if u == "spk1_u0" else f"f.ark:{i}"
                                         for i, u in enumerate(wav)})
    assert any("feats.scp:4: entry 'spk1_u0' is a shell command ('gunzip -c f.ark.gz |'); the toolkit runs "
               "commands only from wav.scp" in p for p in validate_data_dir(tmp_path))
    assert not (tmp_path / "x").exists()
