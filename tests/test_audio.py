"""Audio input: NIST SPHERE, WAV and FLAC read through soundfile; every bad file is named."""
import numpy as np
import pytest
import soundfile as sf

from toolkit.data.audio import AudioError, probe_audio, read_audio

SIGNAL = (np.sin(np.arange(8000) * 0.05) * 10000).astype(np.int16)


@pytest.mark.parametrize("fmt, name", [("NIST", "a.sph"), ("WAV", "a.wav"), ("FLAC", "a.flac")])
def test_formats_read_back_exactly(tmp_path, fmt, name):
    sf.write(tmp_path / name, SIGNAL, 16000, format=fmt, subtype="PCM_16")
    samples, sr = read_audio(tmp_path / name, expected_sr=16000)
    assert sr == 16000 and samples.dtype == np.float32
    assert np.array_equal(np.round(samples * 32768).astype(np.int16), SIGNAL)
    assert probe_audio(tmp_path / name) == (8000, 16000)


def test_kaldi_pipe_entry(tmp_path):
    sf.write(tmp_path / "a.wav", SIGNAL, 16000)
    samples, _ = read_audio(f"cat {tmp_path / 'a.wav'} |")
    assert len(samples) == 8000
    with pytest.raises(AudioError, match="command failed with exit code"):
        read_audio(f"cat {tmp_path / 'missing.wav'} |", utt="u1")


@pytest.mark.parametrize("fmt", ["WAV", "NIST"])
def test_truncated_file(tmp_path, fmt):
    sf.write(tmp_path / "a", SIGNAL, 16000, format=fmt, subtype="PCM_16")
    data = (tmp_path / "a").read_bytes()
    (tmp_path / "a").write_bytes(data[:len(data) // 2])
    with pytest.raises(AudioError, match=r"a \(utterance u7\): truncated audio, header declares 8000 samples"):
        read_audio(tmp_path / "a", utt="u7")


def test_corrupt_empty_missing_and_wrong_rate(tmp_path):
    (tmp_path / "bad.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 4)
    with pytest.raises(AudioError, match=r"bad.wav \(utterance u1\): unreadable audio"):
        read_audio(tmp_path / "bad.wav", utt="u1")
    sf.write(tmp_path / "empty.wav", np.zeros(0, dtype=np.int16), 16000)
    with pytest.raises(AudioError, match="empty audio"):
        read_audio(tmp_path / "empty.wav")
    with pytest.raises(AudioError, match="audio file not found"):
        read_audio(tmp_path / "nothere.wav")
    sf.write(tmp_path / "hi.wav", SIGNAL, 22050)
    with pytest.raises(AudioError, match="sample rate 22050 Hz, expected 16000 Hz"):
        read_audio(tmp_path / "hi.wav", expected_sr=16000)
