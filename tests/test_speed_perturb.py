"""Speed perturbation: a perturbed data dir has prefixed utterance and speaker ids, times divided by
the factor, audio 1/factor as long (and pitch times the factor), and passes validation; its wav.scp
entries give the same samples in-process and run as shell pipes."""
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from toolkit.bin import perturb_speed as perturb_cli, validate_data_dir as validate_cli
from toolkit.data.alignment import read_ctm
from toolkit.data.audio import probe_audio, read_audio
from toolkit.data.datadir import DataDir, Segment, read_table, write_table
from toolkit.data.speed import parse_speed_entry, speed_entry
from toolkit.data.speed_perturb import perturb_speed, speed_perturb_data_dir

RATE = 16000


def tone(seconds: float, hz: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def peak_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(len(samples), 1 / RATE)[spectrum.argmax()])


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """Two speakers, three utterances of 1000 Hz tones, with utt2dur, text and phones.ctm."""
    d = tmp_path / "train"
    d.mkdir()
    durations = {"spkA-u1": 0.5, "spkA-u2": 0.3, "spkB-u1": 0.4}
    for utt, seconds in durations.items():
        sf.write(tmp_path / f"{utt}.wav", tone(seconds, 1000), RATE, subtype="PCM_16")
    write_table(d / "wav.scp", {u: str(tmp_path / f"{u}.wav") for u in durations})
    write_table(d / "utt2spk", {u: u.split("-")[0] for u in durations})
    write_table(d / "spk2utt", {"spkA": "spkA-u1 spkA-u2", "spkB": "spkB-u1"})
    write_table(d / "text", {u: "ah b" for u in durations})
    write_table(d / "utt2dur", {u: f"{s:.3f}" for u, s in durations.items()})
    write_table(d / "spk2gender", {"spkA": "f", "spkB": "m"})
    (d / "phones.ctm").write_text("".join(f"{u} 1 0.1000 0.2000 ah\n{u} 1 0.3000 0.0500 b\n" for u in durations))
    return d


def test_perturbed_dir_prefixes_ids_scales_times_and_validates(data_dir, tmp_path, capsys):
    out = tmp_path / "train_sp"
    assert perturb_cli.main([str(data_dir), str(out), "--factors", "0.9,1.0,1.1"]) == 0
    assert validate_cli.main([str(out)]) == 0
    data = DataDir.load(out)
    assert len(data.utt2spk) == 9
    assert data.utt2spk["sp0.9-spkA-u2"] == "sp0.9-spkA" and data.utt2spk["spkA-u2"] == "spkA"
    assert data.spk2utt["sp1.1-spkB"] == ["sp1.1-spkB-u1"]
    assert data.spk2gender["sp0.9-spkB"] == "m" and data.text["sp1.1-spkA-u1"] == ["ah", "b"]
    assert not (out / "feats.scp").exists()
    utt2dur, uniq, ctm = data.extra["utt2dur"], read_table(out / "utt2uniq"), read_ctm(out / "phones.ctm")
    for factor, prefix in ((0.9, "sp0.9-"), (1.0, ""), (1.1, "sp1.1-")):
        assert float(utt2dur[prefix + "spkA-u1"]) == pytest.approx(0.5 / factor, abs=1e-3)
        assert uniq[prefix + "spkA-u1"] == "spkA-u1"
        (s1, e1, p1), (s2, e2, p2) = ctm[prefix + "spkB-u1"]
        assert (p1, p2) == ("ah", "b")
        assert (s1, e1, s2, e2) == pytest.approx((0.1 / factor, 0.3 / factor, 0.3 / factor, 0.35 / factor), abs=1e-4)


def test_perturbed_audio_is_longer_or_shorter_and_lower_or_higher(data_dir, tmp_path):
    out = tmp_path / "train_sp"
    speed_perturb_data_dir(data_dir, out, [0.9, 1.0, 1.1])
    wav = DataDir.load(out).wav_scp
    original, _ = read_audio(wav["spkA-u1"])
    assert len(original) == 8000
    for factor in (0.9, 1.1):
        entry = wav[f"sp{factor:g}-spkA-u1"]
        samples, rate = read_audio(entry, expected_sr=RATE)
        assert rate == RATE and abs(len(samples) - 8000 / factor) <= 1
        assert probe_audio(entry) == (len(samples), RATE)
        assert peak_hz(samples) == pytest.approx(1000 * factor, rel=0.01)   # sox `speed`: pitch moves too


def test_speed_entries_run_as_pipes_give_the_same_samples(tmp_path):
    path = str(tmp_path / "a b.wav")                                          # a path with a space
    sf.write(path, tone(0.25, 440), RATE, subtype="PCM_16")
    entry = speed_entry(path, 0.9)
    assert parse_speed_entry(entry) == (path, 0.9)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(entry.rstrip().rstrip("|"), shell=True, capture_output=True, env=env)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    piped, rate = sf.read(io.BytesIO(proc.stdout), dtype="float32")
    in_process, _ = read_audio(entry)
    assert rate == RATE and np.array_equal(piped, in_process) and abs(len(piped) - 4000 / 0.9) <= 1
    # An entry that is itself a command gets the speed change after it: `<command> | speed_audio ... - |`.
    inner = f"cat '{path}' |"
    assert parse_speed_entry(speed_entry(inner, 1.1)) == (inner, 1.1)
    assert np.array_equal(read_audio(speed_entry(inner, 1.1))[0], read_audio(speed_entry(path, 1.1))[0])


def test_refuses_a_features_only_dir_and_the_same_dir(data_dir, tmp_path):
    (data_dir / "wav.scp").unlink()
    write_table(data_dir / "feats.scp", {u: "x.ark:1" for u in ("spkA-u1", "spkA-u2", "spkB-u1")})
    assert perturb_cli.main([str(data_dir), str(tmp_path / "sp")]) == 1
    assert perturb_cli.main([str(data_dir), str(data_dir)]) == 1


def test_segments_follow_their_recordings():
    data = DataDir(utt2spk={"s1-a": "s1", "s1-b": "s1"}, wav_scp={"rec": "rec.wav"},
                   segments={"s1-a": Segment("rec", 0.9, 1.8), "s1-b": Segment("rec", 1.8, -1)})
    copy, _, uniq = perturb_speed(data, 0.9)
    assert copy.wav_scp == {"sp0.9-rec": speed_entry("rec.wav", 0.9)}
    a, b = copy.segments["sp0.9-s1-a"], copy.segments["sp0.9-s1-b"]
    assert (a.recording, a.start, a.end) == ("sp0.9-rec", pytest.approx(1.0), pytest.approx(2.0))
    assert (b.start, b.end) == (pytest.approx(2.0), -1) and uniq["sp0.9-s1-b"] == "s1-b"
