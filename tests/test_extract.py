"""Feature extraction into dump dirs: parallel jobs, segments, CMVN files, CLIs and audio errors."""
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio.compliance.kaldi as kaldi
from omegaconf import OmegaConf
from hydra.utils import instantiate

from toolkit.data.audio import AudioError
from toolkit.data.datadir import read_table, validate_data_dir, write_table
from toolkit.features import (Fbank, GlobalCMVN, Mfcc, apply_cmvn, compute_cmvn_stats, extract_features,
                              read_cmvn_stats)
from toolkit.features.extract import frontend_sample_rate
from toolkit.utils.config import compose_config



def _make_data_dir(root: Path, n_per_spk: int = 3, sr: int = 16000, seed: int = 0) -> Path:
    """Two speakers, tone + noise WAVs of 0.3-1.2 s; returns the data dir."""
    rng = np.random.default_rng(seed)
    wav_dir, data = root / "wav", root / "data"
    wav_dir.mkdir(parents=True)
    wav_scp, utt2spk, text = {}, {}, {}
    for spk in ("spk1", "spk2"):
        for i in range(n_per_spk):
            utt = f"{spk}_u{i}"
            n = int(rng.integers(int(0.3 * sr), int(1.2 * sr)))
            x = 0.2 * np.sin(2 * np.pi * rng.uniform(100, 2000) * np.arange(n) / sr) + 0.02 * rng.normal(size=n)
            sf.write(wav_dir / f"{utt}.wav", x.astype(np.float32), sr, subtype="PCM_16")
            wav_scp[utt], utt2spk[utt], text[utt] = str(wav_dir / f"{utt}.wav"), spk, "a b"
    write_table(data / "wav.scp", wav_scp)
    write_table(data / "utt2spk", utt2spk)
    write_table(data / "text", text)
    write_table(data / "spk2utt", {"spk1": [u for u in utt2spk if u.startswith("spk1")],
                                   "spk2": [u for u in utt2spk if u.startswith("spk2")]})
    return data


def _read_feats(dump: Path) -> dict[str, np.ndarray]:
    return {utt: np.asarray(mat) for utt, mat in kaldiio.load_scp(str(dump / "feats.scp")).items()}


def test_parallel_extraction_equals_serial_and_kaldi(tmp_path):
    data = _make_data_dir(tmp_path)
    frontend = Fbank(num_mel_bins=40)
    one = extract_features(data, tmp_path / "dump1", frontend, nj=1, batch_size=4)
    two = extract_features(data, tmp_path / "dump2", frontend, nj=2, batch_size=2)
    assert one["utterances"] == two["utterances"] == 6 and one["frames"] == two["frames"]
    assert sorted((tmp_path / "dump2" / "data").glob("feats.*.ark")) == [
        tmp_path / "dump2" / "data" / "feats.1.ark", tmp_path / "dump2" / "data" / "feats.2.ark"]
    f1, f2 = _read_feats(tmp_path / "dump1"), _read_feats(tmp_path / "dump2")
    assert sorted(f1) == sorted(f2) == sorted(read_table(data / "utt2spk"))
    for utt in f1:
        assert f1[utt].dtype == np.float32 and f1[utt].shape[1] == 40
        np.testing.assert_allclose(f1[utt], f2[utt], atol=1e-4)
    # the archive holds Kaldi's features of the int16 file
    samples, _ = sf.read(data.parent / "wav" / "spk2_u1.wav", dtype="int16")
    ref = kaldi.fbank(torch.tensor(samples, dtype=torch.float32)[None], **frontend.kaldi_options()).numpy()
    np.testing.assert_allclose(f2["spk2_u1"], ref, atol=1e-3)
    dump = tmp_path / "dump2"
    assert validate_data_dir(dump) == []
    assert read_table(dump / "text") == read_table(data / "text")
    assert {u: int(n) for u, n in read_table(dump / "utt2num_frames").items()} == {u: len(m) for u, m in f2.items()}


def test_segments_and_cmvn_files(tmp_path):
    data = _make_data_dir(tmp_path, n_per_spk=1)
    recs = read_table(data / "wav.scp")
    segments = {"spk1_u0-a": "spk1_u0 0.00 0.25", "spk1_u0-b": "spk1_u0 0.10 -1",
                "spk2_u0-a": "spk2_u0 0.05 0.30"}
    write_table(data / "segments", segments)
    write_table(data / "utt2spk", {u: u.split("_")[0] for u in segments})
    write_table(data / "spk2utt", {"spk1": ["spk1_u0-a", "spk1_u0-b"], "spk2": ["spk2_u0-a"]})
    (data / "text").unlink()
    dump = tmp_path / "dump"
    extract_features(data, dump, Mfcc(use_energy=False), nj=2)
    feats = _read_feats(dump)
    samples, sr = sf.read(recs["spk1_u0"], dtype="int16")
    cut = torch.tensor(samples[1600:], dtype=torch.float32)[None]  # 0.10 s to the end
    np.testing.assert_allclose(feats["spk1_u0-b"], kaldi.mfcc(cut, **Mfcc(use_energy=False).kaldi_options()).numpy(),
                               atol=1e-3)
    assert len(feats["spk1_u0-a"]) == 1 + (4000 - 400) // 160
    parse = lambda table: {u: (r, float(a), float(b)) for u, (r, a, b) in
                           ((u, v.split()) for u, v in table.items())}
    assert parse(read_table(dump / "segments")) == parse(segments)

    scp = compute_cmvn_stats(dump)
    assert scp == (dump / "cmvn.scp").absolute() and validate_data_dir(dump) == []
    stats = read_cmvn_stats(scp)
    spk1 = np.concatenate([feats["spk1_u0-a"], feats["spk1_u0-b"]]).astype(np.float64)
    np.testing.assert_allclose(stats["spk1"][0, :-1], spk1.sum(0), rtol=1e-6)
    assert stats["spk1"][0, -1] == len(spk1)
    np.testing.assert_allclose(apply_cmvn(feats["spk2_u0-a"], stats["spk2"]).mean(0), 0.0, atol=1e-4)

    glob = compute_cmvn_stats(dump, per_speaker=False)
    assert glob.name == "global_cmvn.ark"
    np.testing.assert_allclose(read_cmvn_stats(glob)["global"], stats["spk1"] + stats["spk2"])
    norm = GlobalCMVN.from_file(glob, norm_vars=True)
    everything = np.concatenate(list(feats.values())).astype(np.float64)
    np.testing.assert_allclose(norm.mean.numpy(), everything.mean(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(norm.std.numpy(), everything.std(0), rtol=1e-4)


def test_corrupt_wav_names_the_utterance(tmp_path):
    data = _make_data_dir(tmp_path)
    bad = Path(read_table(data / "wav.scp")["spk2_u1"])
    bad.write_bytes(bad.read_bytes()[:len(bad.read_bytes()) // 2])  # header promises more than is there
    for nj in (1, 2):
        with pytest.raises(AudioError, match=r"spk2_u1\.wav \(utterance spk2_u1\): truncated"):
            extract_features(data, tmp_path / f"dump{nj}", Fbank(), nj=nj)
        assert not (tmp_path / f"dump{nj}" / "feats.scp").exists()


def test_wrong_sample_rate_fails_clearly(tmp_path):
    data = _make_data_dir(tmp_path, n_per_spk=1, sr=8000)
    with pytest.raises(AudioError, match=r"spk[12]_u0\.wav \(utterance spk[12]_u0\): sample rate 8000 Hz, expected 16000 Hz"):
        extract_features(data, tmp_path / "dump", Fbank(), nj=2)
    assert frontend_sample_rate(Fbank(sample_frequency=8000)) == 8000
    counts = extract_features(data, tmp_path / "dump8k", Fbank(sample_frequency=8000, num_mel_bins=23))
    assert counts["utterances"] == 2


def test_dump_dir_with_a_comma_is_refused_before_anything_is_written(tmp_path):
    data = _make_data_dir(tmp_path, n_per_spk=1)
    (tmp_path / "dump").mkdir()
    with pytest.raises(ValueError, match=r"fbank_a=1,b=2: a dump dir path must not contain ','"):
        extract_features(data, tmp_path / "dump" / "fbank_a=1,b=2", Fbank())
    assert list((tmp_path / "dump").iterdir()) == []


def test_too_short_utterance_is_dropped(tmp_path):
    data = _make_data_dir(tmp_path, n_per_spk=2)
    sf.write(read_table(data / "wav.scp")["spk1_u1"], np.zeros(200, dtype=np.float32), 16000, subtype="PCM_16")
    counts = extract_features(data, tmp_path / "dump", Fbank())
    assert counts == {"utterances": 3, "frames": counts["frames"], "dropped": 1, "jobs": 1}
    assert "spk1_u1" not in read_table(tmp_path / "dump" / "utt2spk")
    assert validate_data_dir(tmp_path / "dump") == []


@pytest.mark.parametrize("name, cls, dim", [("fbank", Fbank, 40), ("mfcc", Mfcc, 13)])
def test_frontend_configs_instantiate(name, cls, dim):
    config = compose_config([f"+frontend={name}"]).frontend
    frontend = instantiate(config)
    assert type(frontend) is cls and frontend.feature_dim == dim and not frontend.trainable
    config.trainable = True
    assert instantiate(config).trainable


def test_command_line_tools(tmp_path):
    from toolkit.bin import compute_cmvn, extract_feats
    data = _make_data_dir(tmp_path, n_per_spk=2)
    dump = tmp_path / "dump"
    assert extract_feats.main(["--frontend", "mfcc", "--nj", "2", str(data), str(dump), "frontend.num_ceps=11"]) == 0
    assert all(m.shape[1] == 11 for m in _read_feats(dump).values())
    assert OmegaConf.load(dump / "frontend.yaml") == compose_config(["+frontend=mfcc", "frontend.num_ceps=11"]).frontend
    assert compute_cmvn.main([str(dump)]) == 0
    assert compute_cmvn.main(["--global", str(dump)]) == 0
    assert sorted(read_cmvn_stats(dump / "cmvn.scp")) == ["spk1", "spk2"]
    assert (dump / "global_cmvn.ark").is_file()


def test_extract_feats_composes_frontends_with_hydra(tmp_path, capsys):
    """A user's frontend config comes from --config-dir; a YAML path, a key the frontend lacks or an
    override of something else is one clear line, before any file is written."""
    from toolkit.bin import extract_feats
    data = _make_data_dir(tmp_path, n_per_spk=1)
    mine = tmp_path / "myconf" / "frontend"
    mine.mkdir(parents=True)
    (mine / "fbank23.yaml").write_text("_target_: toolkit.features.kaldi.Fbank\nnum_mel_bins: 23\n")
    extract_feats.main(["--frontend", "fbank23", "--config-dir", str(tmp_path / "myconf"), str(data),
                        str(tmp_path / "dump23")])
    assert all(m.shape[1] == 23 for m in _read_feats(tmp_path / "dump23").values())
    for args, message in [(["--frontend", "conf/frontend/fbank.yaml"], "give a config name such as fbank"),
                          (["--frontend", "fbank", "frontend.num_bins=3"], "Could not override 'frontend.num_bins'"),
                          (["--frontend", "fbank", "optim.lr=3"], "must change the frontend"),
                          (["--frontend", "nope"], "Could not find 'frontend/nope'")]:
        with pytest.raises(SystemExit):
            extract_feats.main([*args[:2], str(data), str(tmp_path / "bad"), *args[2:]])
        assert message in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def _truncate_last_matrix(dump: Path) -> tuple[str, str, int]:
    """Cut the last archive short inside its last matrix; returns (utt, "ark:offset", scp line)."""
    scp = read_table(dump / "feats.scp")
    lineno, (utt, spec) = max(enumerate(scp.items(), 1), key=lambda x: (x[1][1].rsplit(":", 1)[0],
                                                                       int(x[1][1].rsplit(":", 1)[1])))
    ark = Path(spec.rsplit(":", 1)[0])
    ark.write_bytes(ark.read_bytes()[:-100])
    return utt, spec, lineno


def test_truncated_feature_ark_names_scp_line_utterance_and_offset(tmp_path):
    from toolkit.data.asr_dataset import AsrDataset
    from toolkit.data.scp import MatrixReadError
    from toolkit.data.symbols import SymbolTable

    dump = tmp_path / "dump"
    extract_features(_make_data_dir(tmp_path, n_per_spk=2), dump, Fbank(num_mel_bins=23))
    utt, spec, lineno = _truncate_last_matrix(dump)
    message = rf"feats\.scp:{lineno}: cannot read the matrix of '{utt}' at {spec} \(.*\); the archive is missing, " \
              "truncated or corrupt"
    with pytest.raises(MatrixReadError, match=message):
        compute_cmvn_stats(dump)
    data = AsrDataset(dump, SymbolTable(["a", "b"]), source="feats", targets=None, cmvn="none")
    with pytest.raises(MatrixReadError, match=message):
        data[data.utts.index(utt)]


def test_commands_in_feats_scp_are_refused(tmp_path):
    from toolkit.data.scp import MatrixReadError

    dump = tmp_path / "dump"
    extract_features(_make_data_dir(tmp_path, n_per_spk=1), dump, Fbank(num_mel_bins=23))
    scp = read_table(dump / "feats.scp")
    scp["spk2_u0"] = f"touch {tmp_path / 'ran'}; cat {scp['spk2_u0'].rsplit(':', 1)[0]} |"
    write_table(dump / "feats.scp", scp)
    with pytest.raises(MatrixReadError, match=r"feats\.scp:2: entry 'spk2_u0' is a shell command .* the toolkit "
                                              "runs commands only from wav.scp"):
        compute_cmvn_stats(dump)
    assert not (tmp_path / "ran").exists()


def test_waveform_dataset_reads_the_wav_scp_pipes_that_extraction_reads(tmp_path):
    from toolkit.data.asr_dataset import AsrDataset
    from toolkit.data.symbols import SymbolTable

    data = _make_data_dir(tmp_path, n_per_spk=1)
    files = read_table(data / "wav.scp")
    piped = tmp_path / "piped"
    piped.mkdir()
    for name in ("utt2spk", "spk2utt", "text"):
        (piped / name).write_bytes((data / name).read_bytes())
    write_table(piped / "wav.scp", {u: f"cat {path} |" for u, path in files.items()})
    symbols = SymbolTable(["a", "b"])
    by_file = AsrDataset(data, symbols, source="wav", targets=None)
    by_pipe = AsrDataset(piped, symbols, source="wav", targets=None)
    assert by_pipe.lengths() == by_file.lengths()
    assert all(torch.equal(by_pipe[i]["input"], by_file[i]["input"]) for i in range(len(by_file)))
    extract_features(piped, tmp_path / "dump", Fbank(num_mel_bins=23))
    assert sorted(_read_feats(tmp_path / "dump")) == sorted(files)
