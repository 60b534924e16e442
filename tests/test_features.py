"""Kaldi frontends against torchaudio.compliance.kaldi, CMVN / deltas / splicing against hand computations."""
import inspect
from dataclasses import fields

import numpy as np
import pytest
import torch
import torchaudio.compliance.kaldi as kaldi

from toolkit.features import (AddDeltas, Fbank, GlobalCMVN, Mfcc, Splice, accumulate_cmvn_stats, add_deltas,
                              apply_cmvn, cmvn_stats, read_cmvn_stats, splice_feats, write_cmvn_stats)
from toolkit.features.kaldi import FbankOptions, MfccOptions


def _waves(lengths: list[int], seed: int = 0, pad: int = 300) -> torch.Tensor:
    """Padded batch of tone + noise in [-1, 1]; the padding is garbage that must never be read."""
    gen = torch.Generator().manual_seed(seed)
    waves = torch.full((len(lengths), max(lengths) + pad), 0.9)
    for i, n in enumerate(lengths):
        t = torch.arange(n) / 16000
        freq = 200 + 300 * i
        waves[i, :n] = 0.3 * torch.sin(2 * torch.pi * freq * t) + 0.05 * torch.randn(n, generator=gen)
    return waves


def _reference(frontend, wave: torch.Tensor) -> torch.Tensor:
    fn = kaldi.mfcc if isinstance(frontend, Mfcc) else kaldi.fbank
    return fn(wave[None] * 32768, **frontend.kaldi_options())


def _check_against_torchaudio(frontend, lengths: list[int], tol: float = 1e-3) -> None:
    """Both compute paths (CPU pieces of 256 frames, and the whole padded batch as on GPU) equal torchaudio."""
    waves = _waves(lengths)
    refs = [_reference(frontend, waves[i, :n]) for i, n in enumerate(lengths)]
    for chunk in (256, 0):
        frontend.cpu_chunk_frames = chunk
        feats, frame_lengths = frontend(waves, torch.tensor(lengths))
        assert feats.shape == (len(lengths), int(frame_lengths.max()), frontend.feature_dim)
        for i, (n, ref) in enumerate(zip(lengths, refs)):
            assert int(frame_lengths[i]) == ref.shape[0] == int(frontend.frame_lengths(torch.tensor([n]))[0])
            got = feats[i, :ref.shape[0]]
            assert (got - ref).abs().max() < tol * max(1.0, float(ref.abs().max()) / 100)
            assert (feats[i, ref.shape[0]:] == 0).all()


RANDOM_LENGTHS = [int(n) for n in np.random.default_rng(0).integers(400, 24000, size=4)]


@pytest.mark.parametrize("options", [
    {},
    {"snip_edges": False, "use_energy": True},
    {"num_mel_bins": 23, "window_type": "hamming", "raw_energy": False, "use_energy": True, "energy_floor": 1.0,
     "htk_compat": True},
    {"sample_frequency": 8000, "low_freq": 60, "high_freq": -400, "round_to_power_of_two": False,
     "remove_dc_offset": False, "preemphasis_coefficient": 0.0},
    {"use_log_fbank": False, "use_power": False, "subtract_mean": True},
    {"window_type": "blackman", "frame_length": 20.0, "frame_shift": 5.0, "vtln_warp": 0.9},
])
def test_fbank_equals_torchaudio(options):
    _check_against_torchaudio(Fbank(**options), RANDOM_LENGTHS + [400, 16000])


@pytest.mark.parametrize("options", [
    {},
    {"use_energy": False},
    {"snip_edges": False, "htk_compat": True, "use_energy": False, "cepstral_lifter": 0.0},
    {"num_mel_bins": 40, "num_ceps": 20, "window_type": "hanning", "energy_floor": 1.0, "raw_energy": False},
])
def test_mfcc_equals_torchaudio(options):
    _check_against_torchaudio(Mfcc(**options), RANDOM_LENGTHS + [401])


def test_batch_padding_does_not_change_features():
    frontend = Mfcc(snip_edges=False)
    lengths = [5000, 12000, 800]
    waves = _waves(lengths, pad=4000)
    alone = [frontend(waves[i:i + 1, :n], torch.tensor([n]))[0][0] for i, n in enumerate(lengths)]
    batch, frame_lengths = frontend(waves, torch.tensor(lengths))
    for i, ref in enumerate(alone):
        assert torch.equal(frame_lengths[i], torch.tensor(ref.shape[0]))
        assert (batch[i, :ref.shape[0]] - ref).abs().max() < 1e-4


def test_short_utterance_gives_no_frames_with_snip_edges():
    frontend = Fbank()
    feats, frame_lengths = frontend(_waves([300, 2000]), torch.tensor([300, 2000]))
    assert frame_lengths.tolist() == [0, 11]
    assert (feats[0] == 0).all()


def test_defaults_follow_kaldi_and_dither_is_random():
    assert Fbank().feature_dim == 40 and Mfcc().feature_dim == 13
    assert Mfcc().use_energy and Fbank().dither == 0.0
    waves, lengths = _waves([8000]), torch.tensor([8000])
    assert torch.equal(Fbank()(waves, lengths)[0], Fbank()(waves, lengths)[0])
    dithered = Fbank(dither=1.0)
    a, b = dithered(waves, lengths)[0], dithered(waves, lengths)[0]
    assert not torch.equal(a, b) and (a - b).abs().max() < 0.5


def test_trainable_mel_equals_fixed_at_init_and_learns():
    waves, lengths = _waves([6000, 9000]), torch.tensor([6000, 9000])
    fixed, learnable = Fbank(), Fbank(trainable=True)
    assert not fixed.mel_weights.requires_grad and learnable.mel_weights.requires_grad
    assert [n for n, p in fixed.named_parameters() if p.requires_grad] == []
    feats_fixed, _ = fixed(waves, lengths)
    feats_learn, _ = learnable(waves, lengths)
    assert torch.equal(feats_fixed, feats_learn)
    for chunk in (256, 0):
        learnable.cpu_chunk_frames = chunk
        learnable.mel_weights.grad = None
        learnable(waves, lengths)[0].sum().backward()
        grad = learnable.mel_weights.grad
        assert grad is not None and grad.abs().sum() > 0
    # the same weights load across the flag, so "learnable at init" and "precomputed" share checkpoints
    fixed.load_state_dict(learnable.state_dict())


@pytest.mark.parametrize("cls, options, reference", [(Fbank, FbankOptions, kaldi.fbank),
                                                      (Mfcc, MfccOptions, kaldi.mfcc)])
def test_options_dataclass_lists_every_kaldi_option_once(cls, options, reference):
    names = [f.name for f in fields(options)]
    assert len(names) == len(set(names))
    # every option torchaudio takes (but the waveform, the channel and min_duration) is a field
    assert set(names) == set(inspect.signature(reference).parameters) - {"waveform", "channel", "min_duration"}
    frontend = cls(num_mel_bins=30, dither=0.5)
    assert frontend.kaldi_options() == {f.name: getattr(options(num_mel_bins=30, dither=0.5), f.name)
                                        for f in fields(options)}
    assert frontend.num_mel_bins == 30 and frontend.dither == 0.5
    with pytest.raises(TypeError, match="num_mel_bin"):
        cls(num_mel_bin=30)


def test_bad_options_raise():
    with pytest.raises(ValueError, match="window_type"):
        Fbank(window_type="triangle")
    with pytest.raises(ValueError, match="num_ceps"):
        Mfcc(num_ceps=30)
    with pytest.raises(ValueError, match="mel filterbank"):
        Fbank(low_freq=9000)
    with pytest.raises(ValueError, match="float"):
        Fbank()(torch.zeros(1, 800, dtype=torch.int16), torch.tensor([800]))


# ---------------------------------------------------------------- CMVN

def test_cmvn_stats_layout_and_application():
    rng = np.random.default_rng(1)
    feats = rng.normal(3.0, 2.0, size=(50, 4))
    stats = cmvn_stats(feats)
    assert stats.shape == (2, 5)
    np.testing.assert_allclose(stats[0, :4], feats.sum(0))
    np.testing.assert_allclose(stats[1, :4], (feats ** 2).sum(0))
    assert stats[0, 4] == 50 and stats[1, 4] == 0
    mean, std = feats.mean(0), feats.std(0)
    np.testing.assert_allclose(apply_cmvn(feats, stats), feats - mean, atol=1e-10)
    np.testing.assert_allclose(apply_cmvn(feats, stats, norm_vars=True), (feats - mean) / std, atol=1e-10)
    np.testing.assert_allclose(apply_cmvn(feats, stats, norm_means=False), feats)
    out = apply_cmvn(torch.tensor(feats, dtype=torch.float32), stats, norm_vars=True)
    assert out.dtype == torch.float32 and np.allclose(out.numpy(), (feats - mean) / std, atol=1e-5)
    with pytest.raises(ValueError, match="without means"):
        apply_cmvn(feats, stats, norm_means=False, norm_vars=True)
    with pytest.raises(ValueError, match="dim"):
        apply_cmvn(feats[:, :3], stats)


def test_constant_dimension_variance_is_floored():
    feats = np.ones((10, 2))
    out = apply_cmvn(feats, cmvn_stats(feats), norm_vars=True)
    assert np.all(np.isfinite(out)) and np.allclose(out, 0.0)


def test_per_speaker_and_global_stats(tmp_path):
    rng = np.random.default_rng(2)
    utts = {"spkA-u1": rng.normal(size=(7, 3)), "spkA-u2": rng.normal(size=(5, 3)), "spkB-u1": rng.normal(1, 3, (9, 3))}
    utt2spk = {u: u.split("-")[0] for u in utts}
    per_spk = accumulate_cmvn_stats(utts.items(), utt2spk)
    assert sorted(per_spk) == ["spkA", "spkB"]
    a = np.concatenate([utts["spkA-u1"], utts["spkA-u2"]])
    np.testing.assert_allclose(per_spk["spkA"][0, :3] / per_spk["spkA"][0, 3], a.mean(0))
    np.testing.assert_allclose(apply_cmvn(utts["spkA-u2"], per_spk["spkA"], norm_vars=True),
                               (utts["spkA-u2"] - a.mean(0)) / a.std(0), atol=1e-10)
    glob = accumulate_cmvn_stats(utts.items())
    everything = np.concatenate(list(utts.values()))
    np.testing.assert_allclose(glob["global"], per_spk["spkA"] + per_spk["spkB"])
    np.testing.assert_allclose(glob["global"][0, :3] / 21, everything.mean(0))

    scp = write_cmvn_stats(per_spk, tmp_path / "cmvn.ark")
    assert scp == (tmp_path / "cmvn.scp").absolute()
    for path in (scp, tmp_path / "cmvn.ark"):
        back = read_cmvn_stats(path)
        assert sorted(back) == ["spkA", "spkB"]
        np.testing.assert_allclose(back["spkB"], per_spk["spkB"])

    norm = GlobalCMVN.from_file(scp, norm_vars=True)  # summed over speakers = global stats
    batch = torch.tensor(np.stack([everything[:9], everything[9:18]]), dtype=torch.float32)
    out = norm(batch, torch.tensor([9, 4]))
    expected = (everything[:9] - everything.mean(0)) / everything.std(0)
    assert np.allclose(out[0].numpy(), expected, atol=1e-5)
    assert (out[1, 4:] == 0).all()
    restored = GlobalCMVN(3, norm_vars=True)
    restored.load_state_dict(norm.state_dict())
    assert torch.equal(restored(batch), norm(batch))
    assert set(norm.state_dict()) == {"mean", "std"}
    with pytest.raises(ValueError, match="not in utt2spk"):
        accumulate_cmvn_stats(utts.items(), {"spkA-u1": "spkA"})


# ---------------------------------------------------------------- deltas and splicing

def test_deltas_match_kaldi_formula():
    x = torch.tensor([[0.0], [1.0], [4.0], [9.0], [16.0], [25.0]])
    out = add_deltas(x, order=2, window=2)
    assert out.shape == (6, 3)
    padded = np.array([0, 0, 0, 0, 0, 1, 4, 9, 16, 25, 25, 25, 25, 25], dtype=float)  # 4 replicated frames each side

    def delta(seq, t):  # (sum_n n * seq[t + n]) / 10 for n = -2..2
        return sum(n * seq[t + n] for n in range(-2, 3)) / 10.0
    # first-order deltas on the replicated features, second order from those (Kaldi: filters convolved)
    first = np.array([delta(padded, t) for t in range(2, len(padded) - 2)])  # over padded[2:-2]
    second = np.array([delta(first, t) for t in range(2, len(first) - 2)])
    np.testing.assert_allclose(out[:, 0].numpy(), padded[4:-4])
    np.testing.assert_allclose(out[:, 1].numpy(), first[2:-2], atol=1e-6)
    np.testing.assert_allclose(out[:, 2].numpy(), second, atol=1e-6)
    assert out[3, 1] == pytest.approx((-2 * 1 - 4 + 16 + 2 * 25) / 10)


def test_deltas_batched_equal_single():
    rng = np.random.default_rng(3)
    a, b = torch.tensor(rng.normal(size=(12, 5)), dtype=torch.float32), torch.tensor(rng.normal(size=(7, 5)),
                                                                                       dtype=torch.float32)
    batch = torch.zeros(2, 12, 5)
    batch[0], batch[1, :7] = a, b
    batch[1, 7:] = 100.0  # padding must not leak into b's edge frames
    out = AddDeltas(order=1, window=3)(batch, torch.tensor([12, 7]))
    assert out.shape == (2, 12, 10)
    assert torch.allclose(out[0], add_deltas(a, 1, 3), atol=1e-6)
    assert torch.allclose(out[1, :7], add_deltas(b, 1, 3), atol=1e-6)
    assert (out[1, 7:] == 0).all()


def test_splice_edges_and_shape():
    x = torch.arange(5, dtype=torch.float32)[:, None].repeat(1, 2) * torch.tensor([1.0, 10.0])  # (5, 2)
    out = splice_feats(x, left_context=2, right_context=1)
    assert out.shape == (5, 8)
    assert out[0].tolist() == [0, 0, 0, 0, 0, 0, 1, 10]          # frames 0, 0, 0, 1
    assert out[4].tolist() == [2, 20, 3, 30, 4, 40, 4, 40]       # frames 2, 3, 4, 4
    batch = torch.zeros(2, 5, 2)
    batch[0], batch[1, :3] = x, x[:3]
    batch[1, 3:] = -7.0
    spliced = Splice(2, 1)(batch, torch.tensor([5, 3]))
    assert spliced.shape == (2, 5, 8) and Splice(2, 1).output_dim(2) == 8
    assert torch.equal(spliced[0], out)
    assert torch.equal(spliced[1, :3], splice_feats(x[:3], 2, 1))
    assert spliced[1, 2].tolist() == [0, 0, 1, 10, 2, 20, 2, 20]   # right edge replicated within length 3
    assert (spliced[1, 3:] == 0).all()
