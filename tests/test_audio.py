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


def test_truncated_pipe_output_is_detected_from_its_wav_header(tmp_path):
    sf.write(tmp_path / "a.wav", SIGNAL, 16000, subtype="PCM_16")
    cut = f"head -c 3000 {tmp_path / 'a.wav'} |"     # the header still promises 8000 samples
    with pytest.raises(AudioError, match=r"\(utterance u3\): truncated audio, header declares 8000 samples but "
                                         r"only 1478 arrived"):
        read_audio(cut, utt="u3")
    with pytest.raises(AudioError, match="truncated audio"):
        probe_audio(cut, utt="u3")


def test_pipes_are_probed_like_files(tmp_path):
    sf.write(tmp_path / "a.wav", SIGNAL, 16000, subtype="PCM_16")
    assert probe_audio(f"cat {tmp_path / 'a.wav'} |") == probe_audio(tmp_path / "a.wav") == (8000, 16000)


def test_multichannel_audio_needs_an_explicit_channel(tmp_path):
    speech_on_1 = np.stack([np.zeros_like(SIGNAL), SIGNAL], axis=1)  # channel 0 silent
    sf.write(tmp_path / "st.wav", speech_on_1, 16000, subtype="PCM_16")
    for entry in (tmp_path / "st.wav", f"cat {tmp_path / 'st.wav'} |"):
        with pytest.raises(AudioError, match=r"\(utterance u1\): 2 channels, and the toolkit does not pick one"):
            read_audio(entry, utt="u1")
    with pytest.raises(AudioError, match="2 channels"):
        probe_audio(tmp_path / "st.wav", utt="u1")
    samples, _ = read_audio(tmp_path / "st.wav", channel=1)
    assert np.array_equal(np.round(samples * 32768).astype(np.int16), SIGNAL)
    with pytest.raises(AudioError, match="has 2 channel"):
        read_audio(tmp_path / "st.wav", channel=2)


def test_no_pipes_setting_refuses_commands_before_running_them(tmp_path, monkeypatch):
    sf.write(tmp_path / "a.wav", SIGNAL, 16000, subtype="PCM_16")
    entry = f"touch {tmp_path / 'ran'}; cat {tmp_path / 'a.wav'} |"
    monkeypatch.setenv("TOOLKIT_NO_PIPES", "1")
    for read in (read_audio, probe_audio):
        with pytest.raises(AudioError, match=r"\(utterance u5\): is a shell command and TOOLKIT_NO_PIPES is set"):
            read(entry, utt="u5")
    assert not (tmp_path / "ran").exists()
    monkeypatch.setenv("TOOLKIT_NO_PIPES", "0")
    assert len(read_audio(entry)[0]) == 8000 and (tmp_path / "ran").exists()
