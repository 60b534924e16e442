"""TIMIT data preparation: the standard split on a tree with the real speaker lists, the phone
map, upper/lower case layouts, and clear errors for broken corpora."""
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from toolkit.corpora.timit import TimitError, find_utterances, map_to_48, prepare_timit, read_phn
from toolkit.corpora.timit_protocol import (CORE_TEST_SPEAKERS, DEV_SPEAKERS, MAP_48_TO_39, PHONE_MAP,
                                            PHONES_39, PHONES_48)
from toolkit.data.alignment import read_ctm
from toolkit.data.datadir import DataDir, validate_data_dir

SAMPLES = 1600  # 0.1 s of audio per utterance keeps the 6300-file tree small
PHN = "0 400 h#\n400 800 q\n800 1200 ae\n1200 1600 h#\n"
UTTS = ["sa1", "sa2", "si1", "si2", "si3", "sx1", "sx2", "sx3", "sx4", "sx5"]


def write_utt(spk_dir: Path, name: str, *, upper: bool = True, phn: str = PHN, samples: int = SAMPLES) -> None:
    spk_dir.mkdir(parents=True, exist_ok=True)
    stem = name.upper() if upper else name
    ext = (lambda e: e.upper()) if upper else (lambda e: e)
    sf.write(spk_dir / f"{stem}.{ext('wav')}", np.zeros(samples, dtype=np.int16), 16000, format="NIST",
             subtype="PCM_16")
    (spk_dir / f"{stem}.{ext('phn')}").write_text(phn)


def make_tree(root: Path, train_speakers: list[str], test_speakers: list[str], upper: bool = True) -> Path:
    case = str.upper if upper else str.lower
    for part, speakers in (("train", train_speakers), ("test", test_speakers)):
        for i, spk in enumerate(speakers):
            spk_dir = root / case(part) / case(f"dr{i % 8 + 1}") / case(spk)
            for utt in UTTS:
                write_utt(spk_dir, utt, upper=upper)
    return root


def test_full_protocol_counts_with_the_real_speaker_lists(tmp_path):
    # 462 training speakers and 168 test speakers: the 50 dev, the 24 core test and 94 others.
    train = [f"m{i:03d}x" for i in range(462)]
    others = [f"f{i:03d}y" for i in range(94)]
    make_tree(tmp_path / "TIMIT", train, list(DEV_SPEAKERS) + list(CORE_TEST_SPEAKERS) + others)
    counts = prepare_timit(tmp_path / "TIMIT", tmp_path / "data")
    assert counts == {"train": (462, 3696), "dev": (50, 400), "test": (24, 192)}
    for name in ("train", "dev", "test"):
        assert validate_data_dir(tmp_path / "data" / name, need_text=True) == []
        data = DataDir.load(tmp_path / "data" / name)
        assert not any(u.endswith(("_sa1", "_sa2")) for u in data.utts)  # SA sentences excluded
    assert set(DataDir.load(tmp_path / "data" / "test").spk2utt) == set(CORE_TEST_SPEAKERS)
    assert set(DataDir.load(tmp_path / "data" / "dev").spk2utt) == set(DEV_SPEAKERS)


def test_lower_case_tree_and_q_deletion(tmp_path):
    make_tree(tmp_path / "timit", ["fabc0"], [DEV_SPEAKERS[0], CORE_TEST_SPEAKERS[0]], upper=False)
    prepare_timit(tmp_path / "timit", tmp_path / "data")
    data = DataDir.load(tmp_path / "data" / "train")
    assert data.utts[0] == "fabc0_si1"
    assert data.text["fabc0_si1"] == ["sil", "ae", "sil"]          # h# -> sil, q deleted
    # q's time goes to the phone before it, so the alignment stays contiguous over the audio.
    segments = read_ctm(tmp_path / "data" / "train" / "phones.ctm")["fabc0_si1"]
    assert [(round(s, 4), round(e, 4), p) for s, e, p in segments] == [(0.0, 0.05, "sil"), (0.05, 0.075, "ae"),
                                                                        (0.075, 0.1, "sil")]
    lang = tmp_path / "data" / "lang"
    assert len((lang / "phones.txt").read_text().splitlines()) == 48
    fold = dict(line.split() for line in (lang / "score.map").read_text().splitlines())
    assert len(set(fold.values())) == 39 and fold["vcl"] == "sil" and fold["ao"] == "aa"


def test_phone_map_60_48_39():
    assert len(PHONE_MAP) == 61 and PHONE_MAP["q"] is None
    assert len(PHONES_48) == 48 and len(PHONES_39) == 39
    for phone61, (p48, p39) in ((p, v) for p, v in PHONE_MAP.items() if v):
        assert MAP_48_TO_39[p48] == p39, phone61
    # The classic folds.
    assert PHONE_MAP["ax-h"] == ("ax", "ah") and PHONE_MAP["hv"] == ("hh", "hh") and PHONE_MAP["zh"] == ("zh", "sh")
    assert {PHONE_MAP[p][1] for p in ("bcl", "dcl", "gcl", "pcl", "tcl", "kcl", "h#", "pau", "epi")} == {"sil"}
    assert map_to_48([(0, 5, "q"), (5, 9, "ix")]) == [(0, 9, "ix")]  # a leading q joins the next phone


def test_missing_or_wrong_timit_path_names_what_was_expected(tmp_path):
    with pytest.raises(TimitError, match="TIMIT directory not found.*TRAIN\\|TEST/DR1..DR8"):
        find_utterances(tmp_path / "nowhere")
    (tmp_path / "somedir" / "TRAIN").mkdir(parents=True)
    with pytest.raises(TimitError, match="TEST/ not found"):
        find_utterances(tmp_path / "somedir")


@pytest.mark.parametrize("phn, message", [
    ("0 400 h#\n400 800 xx\n", r"SI1.PHN:2: unknown phone 'xx'"),
    ("0 400 h#\n400 2000 ae\n", r"SI1.PHN:2: segment ends at sample 2000, past the end of the audio \(1600"),
    ("0 400 h#\n400 300 ae\n", r"SI1.PHN:2: segment end 300 is not after its start 400"),
    ("0 400 h#\nfoo\n", r"SI1.PHN:2: expected '<start-sample> <end-sample> <phone>'"),
    ("", r"SI1.PHN: empty transcription"),
])
def test_broken_phn_files_are_reported_with_file_and_line(tmp_path, phn, message):
    make_tree(tmp_path / "TIMIT", ["fabc0"], [DEV_SPEAKERS[0], CORE_TEST_SPEAKERS[0]])
    spk = tmp_path / "TIMIT" / "TRAIN" / "DR1" / "FABC0"
    (spk / "SI1.PHN").write_text(phn)
    with pytest.raises(TimitError, match=message):
        prepare_timit(tmp_path / "TIMIT", tmp_path / "data")
    assert not (tmp_path / "data" / "train").exists()  # nothing half-written


def test_truncated_audio_is_reported(tmp_path):
    make_tree(tmp_path / "TIMIT", ["fabc0"], [DEV_SPEAKERS[0], CORE_TEST_SPEAKERS[0]])
    wav = tmp_path / "TIMIT" / "TRAIN" / "DR1" / "FABC0" / "SX1.WAV"
    wav.write_bytes(wav.read_bytes()[:1024 + 1000])  # header + 500 of the 1600 samples
    with pytest.raises(TimitError, match=r"SX1.WAV: truncated audio, header declares 1600 samples"):
        prepare_timit(tmp_path / "TIMIT", tmp_path / "data")


def test_read_phn_sphere_round_trip(tmp_path):
    write_utt(tmp_path, "si7")
    info = sf.info(tmp_path / "SI7.WAV")
    assert (info.format, info.samplerate, info.frames) == ("NIST", 16000, SAMPLES)
    assert read_phn(tmp_path / "SI7.PHN", SAMPLES)[2] == (800, 1200, "ae")


def test_names_that_differ_only_in_case_are_refused(tmp_path):
    make_tree(tmp_path / "TIMIT", ["fabc0"], [DEV_SPEAKERS[0], CORE_TEST_SPEAKERS[0]])
    spk = tmp_path / "TIMIT" / "TRAIN" / "DR1" / "FABC0"
    write_utt(spk, "sx1", upper=False)                     # sx1.wav next to SX1.WAV: one utterance id
    with pytest.raises(TimitError, match=r"FABC0: SX1.WAV and sx1.wav differ only in case and would be one id"):
        find_utterances(tmp_path / "TIMIT")
    for name in ("sx1.wav", "sx1.phn"):
        (spk / name).unlink()
    write_utt(tmp_path / "TIMIT" / "TRAIN" / "DR1" / "fabc0", "si9", upper=False)   # the speaker dir twice
    with pytest.raises(TimitError, match=r"DR1: FABC0 and fabc0 differ only in case"):
        find_utterances(tmp_path / "TIMIT")


def test_mixed_case_file_names_are_found(tmp_path):
    make_tree(tmp_path / "TIMIT", ["fabc0"], [DEV_SPEAKERS[0], CORE_TEST_SPEAKERS[0]])
    spk = tmp_path / "TIMIT" / "TRAIN" / "DR1" / "FABC0"
    for ext in ("WAV", "PHN"):
        (spk / f"SI1.{ext}").rename(spk / f"Si1.{ext.capitalize()}")   # Si1.Wav next to Si1.Phn
    utts = {u.utt_id: u for u in find_utterances(tmp_path / "TIMIT")}
    assert utts["fabc0_si1"].phn == spk / "Si1.Phn"
    prepare_timit(tmp_path / "TIMIT", tmp_path / "data")
    assert "fabc0_si1" in DataDir.load(tmp_path / "data" / "train").utts
