"""Learnable frontends: learnable mel (Fbank with trainable filters) and the ERB gammatone filterbank,
their configs, precomputation, and the filter-plot tool."""
import math
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio.compliance.kaldi as kaldi
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import nn

from toolkit.bin import extract_feats, plot_filters
from toolkit.data.audio import read_audio
from toolkit.data.datadir import write_table
from toolkit.features import Fbank, Gammatone, GammatoneFilterbank
from toolkit.features.gammatone import erb, erb_rate_to_hz, hz_to_erb_rate
from toolkit.features.plots import filter_responses, filter_shape
from toolkit.models.checkpoint import BEST
from toolkit.training.checkpoint import save_checkpoint

REPO = Path(__file__).resolve().parents[1]
FRONTENDS = REPO / "conf" / "frontend"


def _waves(lengths: list[int], seed: int = 0, pad: int = 500) -> torch.Tensor:
    """Padded batch of tones + noise in [-1, 1]; the padding is garbage that must never be read."""
    gen = torch.Generator().manual_seed(seed)
    waves = torch.full((len(lengths), max(lengths) + pad), 0.9)
    for i, n in enumerate(lengths):
        t = torch.arange(n) / 16000
        waves[i, :n] = 0.3 * torch.sin(2 * math.pi * (300 + 700 * i) * t) + 0.05 * torch.randn(n, generator=gen)
    return waves


def _frontend(name: str, **overrides) -> nn.Module:
    return instantiate(OmegaConf.merge(OmegaConf.load(FRONTENDS / f"{name}.yaml"), overrides))


def _tone(freq: float, n: int = 8000) -> torch.Tensor:
    return (0.5 * torch.sin(2 * math.pi * freq * torch.arange(n) / 16000))[None]


# ---------------------------------------------------------------- learnable mel

def test_learnable_mel_at_init_equals_fixed_fbank_and_torchaudio():
    learnable, fixed = _frontend("learnable_mel"), _frontend("fbank")
    assert isinstance(learnable, Fbank) and learnable.trainable and not fixed.trainable
    lengths = [7000, 12000, 400]
    waves = _waves(lengths)
    feats, frame_lengths = learnable(waves, torch.tensor(lengths))
    assert torch.equal(feats, fixed(waves, torch.tensor(lengths))[0])
    for i, n in enumerate(lengths):
        ref = kaldi.fbank(waves[i:i + 1, :n] * 32768, **fixed.kaldi_options())
        assert int(frame_lengths[i]) == ref.shape[0]
        assert (feats[i, :ref.shape[0]] - ref).abs().max() < 1e-3


def test_learnable_mel_gradients_stay_in_each_filter_band_and_filters_stay_non_negative():
    frontend = Fbank(trainable=True)
    support = frontend.mel_weights.detach() > 0
    feats, _ = frontend(_waves([9000, 5000]), torch.tensor([9000, 5000]))
    feats.pow(2).mean().backward()
    grad = frontend.mel_weights.grad
    assert grad[support].abs().sum() > 0 and torch.isfinite(grad).all()
    assert (grad[~support] == 0).all()  # |w| has no gradient at w = 0: filters keep their band
    with torch.no_grad():
        frontend.mel_weights -= 10 * grad.sign()  # a wild step drives weights negative ...
    assert (frontend.mel_weights < 0).any() and (frontend.filter_weights() >= 0).all()  # ... the filters are not
    assert torch.isfinite(frontend(_waves([3000]), torch.tensor([3000]))[0]).all()


# ---------------------------------------------------------------- gammatone

def test_erb_formulas_follow_glasberg_and_moore():
    f = torch.tensor([0.0, 1000.0, 4000.0])
    assert torch.allclose(erb(f), torch.tensor([24.7, 24.7 * 5.37, 24.7 * (4.37 * 4 + 1)]))
    assert torch.allclose(hz_to_erb_rate(f), 21.4 * torch.log10(torch.tensor([1.0, 5.37, 18.48])))
    assert torch.allclose(erb_rate_to_hz(hz_to_erb_rate(f)), f, atol=1e-3)
    # ERB-rate is the integral of 1 / ERB: its slope is 1 / ERB(f) (up to the rounded 21.4)
    slope = (hz_to_erb_rate(torch.tensor(1001.0)) - hz_to_erb_rate(torch.tensor(999.0))) / 2
    assert abs(float(slope * erb(torch.tensor(1000.0))) - 1) < 0.01


@pytest.mark.parametrize("low, high, channels", [(50.0, 0.0, 40), (100.0, 6000.0, 24)])
def test_gammatone_centres_on_erb_scale_and_bandwidths_1019_erb(low, high, channels):
    frontend = Gammatone(num_channels=channels, low_freq=low, high_freq=high)
    centres, bandwidths = frontend.centre_frequencies().double(), frontend.bandwidths().double()
    assert frontend.feature_dim == channels and centres.shape == bandwidths.shape == (channels,)
    assert abs(float(centres[0]) - low) < 1e-2 and abs(float(centres[-1]) - (high or 8000.0)) < 0.1
    steps = hz_to_erb_rate(centres).diff()
    assert (steps > 0).all() and (steps - steps.mean()).abs().max() < 1e-4
    assert torch.allclose(bandwidths, 1.019 * erb(centres), rtol=1e-5)
    # the equivalent rectangular bandwidth of each 4th-order power response is then ERB(fc)
    freqs = torch.linspace(0, 40000, 400001)
    area = frontend.frequency_response(freqs).double().sum(1) * float(freqs[1] - freqs[0])
    assert torch.allclose(area[1:], erb(centres[1:]), rtol=3e-3)  # channel 0 loses its tail below 0 Hz
    assert torch.allclose(frontend.frequency_response(centres.float()).diagonal(), torch.ones(channels))


@pytest.mark.parametrize("freq", [250.0, 640.0, 1234.0, 2500.0, 4321.0, 7000.0])
def test_pure_tone_excites_the_channel_nearest_its_frequency(freq):
    frontend = Gammatone()
    feats, _ = frontend(_tone(freq), torch.tensor([8000]))
    nearest = (frontend.centre_erb_rate - hz_to_erb_rate(torch.tensor(freq))).abs().argmin()
    assert int(feats[0].mean(0).argmax()) == int(nearest)


def test_gammatone_gradients_reach_centres_and_bandwidths_on_both_compute_paths():
    lengths = torch.tensor([9000, 4000])
    for chunk in (256, 0):
        frontend = Gammatone(trainable=True)
        frontend.cpu_chunk_frames = chunk
        feats, _ = frontend(_waves(lengths.tolist()), lengths)
        feats.pow(2).mean().backward()
        for p in (frontend.centre_erb_rate, frontend.log_bandwidth):
            assert p.grad is not None and torch.isfinite(p.grad).all() and (p.grad != 0).sum() > 30
    frozen = Gammatone()
    assert not frozen.trainable and [n for n, p in frozen.named_parameters() if p.requires_grad] == []
    frozen.load_state_dict(frontend.state_dict())  # checkpoints load across the trainable flag


def test_gammatone_ignores_padding_and_frames_like_fbank():
    lengths = [5000, 12000, 801, 300]
    waves = _waves(lengths, pad=3000)
    for options in ({}, {"snip_edges": False, "compression": "cube_root"}):
        frontend = Gammatone(**options)
        alone = [frontend(waves[i:i + 1, :n], torch.tensor([n]))[0][0] for i, n in enumerate(lengths)]
        assert torch.equal(frontend.frame_lengths(torch.tensor(lengths)),
                           Fbank(snip_edges=frontend.snip_edges).frame_lengths(torch.tensor(lengths)))
        for chunk in (256, 0):
            frontend.cpu_chunk_frames = chunk
            batch, frame_lengths = frontend(waves, torch.tensor(lengths))
            for i, ref in enumerate(alone):
                assert int(frame_lengths[i]) == ref.shape[0]
                assert (batch[i, ref.shape[0]:] == 0).all()
                if ref.shape[0]:  # (300 samples give no frame with snip_edges)
                    assert (batch[i, :ref.shape[0]] - ref).abs().max() < 1e-3 * max(1.0, float(ref.abs().max()))


def test_cube_root_compression_is_the_cube_root_of_the_log_features_energy():
    waves, lengths = _waves([6000]), torch.tensor([6000])
    log_feats, _ = Gammatone()(waves, lengths)
    cube, _ = Gammatone(compression="cube_root")(waves, lengths)
    assert torch.allclose(cube, (log_feats / 3).exp(), rtol=1e-4)


def test_random_init_is_seeded_in_band_and_not_erb_spaced():
    a, b, c = Gammatone(init="random", seed=3), Gammatone(init="random", seed=3), Gammatone(init="random", seed=4)
    assert torch.equal(a.centre_erb_rate, b.centre_erb_rate) and torch.equal(a.log_bandwidth, b.log_bandwidth)
    assert not torch.equal(a.centre_erb_rate, c.centre_erb_rate)
    centres, bandwidths = a.centre_frequencies(), a.bandwidths()
    assert (centres.diff() >= 0).all() and centres.min() >= 50 - 1e-3 and centres.max() <= 8000 + 0.1
    assert bandwidths.min() >= 1.019 * erb(torch.tensor(50.0)) - 1e-3
    assert bandwidths.max() <= 1.019 * erb(torch.tensor(8000.0)) + 1e-2
    assert hz_to_erb_rate(centres).diff().std() > 0.1  # not the gammatone design


def test_bad_gammatone_options_raise():
    for options, match in [({"low_freq": 9000.0}, "band"), ({"init": "mel"}, "init"),
                           ({"compression": "sqrt"}, "compression"), ({"num_channels": 1}, "channels")]:
        with pytest.raises(ValueError, match=match):
            Gammatone(**options)
    with pytest.raises(ValueError, match="float"):
        Gammatone()(torch.zeros(1, 800, dtype=torch.int16), torch.tensor([800]))


# ---------------------------------------------------------------- configs and precomputation

@pytest.mark.parametrize("name, cls, dim", [("fbank", Fbank, 40), ("learnable_mel", Fbank, 40),
                                            ("gammatone", Gammatone, 40)])
def test_frontend_configs_instantiate_with_framing_attributes(name, cls, dim):
    for trainable in (False, True):
        frontend = _frontend(name, trainable=trainable)
        assert type(frontend) is cls and frontend.feature_dim == dim and frontend.trainable == trainable
        assert (frontend.sample_frequency, frontend.frame_length, frontend.frame_shift) == (16000.0, 25.0, 10.0)
    assert GammatoneFilterbank is Gammatone
    random = _frontend("gammatone", init="random")
    assert not torch.equal(random.centre_erb_rate, _frontend("gammatone").centre_erb_rate)


def test_precomputed_gammatone_equals_the_trainable_frontend_at_init(tmp_path):
    """extract_feats --frontend gammatone gives the features the model's first layer computes."""
    wav_scp = {}
    for i, n in enumerate([5000, 9000]):
        path = tmp_path / f"u{i}.wav"
        sf.write(path, _waves([n], seed=i)[0, :n].numpy(), 16000, subtype="PCM_16")
        wav_scp[f"s_u{i}"] = str(path)
    data = tmp_path / "data"
    write_table(data / "wav.scp", wav_scp)
    write_table(data / "utt2spk", {u: "s" for u in wav_scp})
    write_table(data / "spk2utt", {"s": list(wav_scp)})
    write_table(data / "text", {u: "a" for u in wav_scp})
    extract_feats.main(["--frontend", "gammatone", str(data), str(tmp_path / "dump"), "frontend.num_channels=32"])
    learnable = _frontend("gammatone", trainable=True, num_channels=32)
    for utt, feats in kaldiio.load_scp(str(tmp_path / "dump" / "feats.scp")).items():
        wave, _ = read_audio(wav_scp[utt])
        wave = torch.as_tensor(wave, dtype=torch.float32)[None]
        expected, _ = learnable(wave, torch.tensor([wave.shape[1]]))
        np.testing.assert_allclose(feats, expected[0].detach().numpy(), atol=1e-4)


# ---------------------------------------------------------------- filter plots

def _is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_filters_for_configs_without_checkpoint(tmp_path):
    assert plot_filters.main(["gammatone", "--out", str(tmp_path / "gt.png"), "frontend.init=random"]) == 0
    assert _is_png(tmp_path / "gt.png")
    exp = tmp_path / "exp"
    exp.mkdir()
    OmegaConf.save(OmegaConf.create({"frontend": OmegaConf.load(FRONTENDS / "learnable_mel.yaml")}),
                   exp / "config.yaml")
    assert plot_filters.main([str(exp)]) == 0 and _is_png(exp / "filters.png")
    assert plot_filters.main([str(exp), "--out", str(tmp_path / "24.png"), "frontend.num_mel_bins=24"]) == 0
    assert _is_png(tmp_path / "24.png")
    assert plot_filters.main([str(exp), "--out", str(tmp_path / "no.png"), "frontend.bins=24"]) == 1
    assert plot_filters.main([str(tmp_path / "missing")]) == 1
    assert plot_filters.main(["no_such_frontend"]) == 1


class _TinyModel(nn.Module):
    """A frontend as first layer under the `frontend.` prefix, like toolkit.models.acoustic.AcousticModel."""

    def __init__(self, frontend: nn.Module):
        super().__init__()
        self.frontend, self.out = frontend, nn.Linear(frontend.feature_dim, 3)

    def forward(self, waves, lengths):
        return self.out(self.frontend(waves, lengths)[0])


def test_plot_filters_of_a_trained_checkpoint_against_init(tmp_path):
    node = OmegaConf.merge(OmegaConf.load(FRONTENDS / "gammatone.yaml"), {"trainable": True, "num_channels": 16})
    exp = tmp_path / "exp"
    exp.mkdir()
    OmegaConf.save(OmegaConf.create({"frontend": node, "model": {"_target_": "unused"}}), exp / "config.yaml")
    model = _TinyModel(instantiate(node))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    waves, lengths = _waves([4000, 3000]), torch.tensor([4000, 3000])
    for _ in range(5):  # push the filters towards predicting class 0 everywhere
        optimizer.zero_grad()
        model(waves, lengths).log_softmax(-1)[..., 0].mean().neg().backward()
        optimizer.step()
    save_checkpoint(exp / BEST, model=model.state_dict(), epoch=1)
    assert plot_filters.main([str(exp)]) == 0 and _is_png(exp / "filters.png")

    init = instantiate(node)
    learned = instantiate(node)
    learned.load_state_dict({k.removeprefix("frontend."): v for k, v in model.state_dict().items()
                             if k.startswith("frontend.")})
    centroid_init, width_init = filter_shape(*filter_responses(init))
    centroid_learned, width_learned = filter_shape(*filter_responses(learned))
    assert np.abs(centroid_learned - centroid_init).max() > 1.0 or np.abs(width_learned / width_init - 1).max() > 0.01
    # the descriptors themselves: gammatone centroids sit near the centres (skewed up by the wider upper skirt)
    assert np.allclose(centroid_init[2:], init.centre_frequencies().detach().numpy()[2:], rtol=0.05)


# ------------------------------------------------------------------ utterance CMN (features.cmvn=utterance)
def test_utterance_cmn_zero_means_each_utterance_over_its_own_frames_only():
    from toolkit.features import utterance_cmn

    feats = torch.randn(2, 7, 3) + torch.tensor([5.0, -2.0, 0.5])
    lengths = torch.tensor([7, 4])
    out = utterance_cmn(feats, lengths)
    assert torch.allclose(out[0].mean(0), torch.zeros(3), atol=1e-5)
    assert torch.allclose(out[1, :4].mean(0), torch.zeros(3), atol=1e-5)
    assert (out[1, 4:] == 0).all()                                         # padding stays 0
    alone = utterance_cmn(feats[1:, :4], lengths[1:])
    assert torch.allclose(alone[0], out[1, :4], atol=1e-6)                # same alone as padded in a batch


def spec_of(source: str, cmvn: str, trainable: bool):
    from toolkit.data.feature_spec import FeatureSpec

    return FeatureSpec.from_config(OmegaConf.create({
        "features": {"source": source, "cmvn": cmvn, "delta_order": 0},
        "frontend": {"_target_": "toolkit.features.kaldi.Fbank", "trainable": trainable}}))


def test_cmvn_options_for_precomputed_and_in_model_features():
    precomputed, utterance_wav = spec_of("feats", "speaker", False), spec_of("wav", "utterance", True)
    assert (precomputed.cmvn, precomputed.utterance_cmn) == ("speaker", False)     # Kaldi stats, by the dataset
    assert (utterance_wav.cmvn, utterance_wav.utterance_cmn) == ("none", True)     # by the model
    assert spec_of("feats", "utterance", False).cmvn == "none"
    speaker_wav = spec_of("wav", "speaker", True)
    assert (speaker_wav.cmvn, speaker_wav.utterance_cmn) == ("none", False)
    assert "features.speaker_cmn_in_model=true" in speaker_wav.note             # training logs it: not silent
    assert precomputed.note == utterance_wav.note == ""
    with pytest.raises(ValueError, match="features.cmvn must be speaker, utterance or none"):
        spec_of("feats", "global", False)


class LinearEncoder(nn.Module):
    """The smallest acoustic encoder: one linear layer per frame, (B, T, dim) -> (B, T, 3)."""

    def __init__(self, dim: int):
        super().__init__()
        self.proj = nn.Linear(dim, 3)

    def forward(self, x, lengths):
        return self.proj(x), lengths


def test_a_model_with_utterance_cmn_ignores_a_constant_channel_offset():
    """What the normalisation is for: a recording channel that adds a constant to every log-mel bin
    changes nothing the model outputs."""
    from toolkit.models.acoustic import AcousticModel

    torch.manual_seed(0)
    model = AcousticModel(LinearEncoder(4), feature_dim=4, num_classes=3, utterance_cmn=True).eval()
    feats, lengths = torch.randn(2, 6, 4), torch.tensor([6, 5])
    logits, _ = model(feats, lengths)
    shifted, _ = model(feats + torch.tensor([3.0, -1.0, 0.5, 2.0]), lengths)
    assert torch.allclose(logits[0], shifted[0], atol=1e-5) and torch.allclose(logits[1, :5], shifted[1, :5], atol=1e-5)
    plain = AcousticModel(LinearEncoder(4), feature_dim=4, num_classes=3).eval()
    assert not torch.allclose(plain(feats, lengths)[0], plain(feats + 1.0, lengths)[0])


def test_per_speaker_cmn_of_an_in_model_frontend_removes_a_speakers_channel_gain():
    """features.speaker_cmn_in_model: the speaker means are those of the frontend's output over all the
    speaker's frames, and a speaker recorded 3x louder (a constant log 9 in every log-mel bin) gets the
    same model outputs once its means are recomputed. A batch without means is refused, not skipped."""
    from toolkit.models.acoustic import AcousticModel

    torch.manual_seed(0)
    model = AcousticModel(LinearEncoder(23), feature_dim=23, num_classes=3, frontend=Fbank(num_mel_bins=23, dither=0.0),
                          speaker_cmn=True).eval()
    utts, utt2spk = ["a1", "a2", "b1"], {"a1": "a", "a2": "a", "b1": "b"}
    lengths = torch.tensor([8000, 5600, 7200])
    waves = 0.1 * torch.randn(3, 8000) * (torch.arange(8000)[None, :] < lengths[:, None])      # (B, S)
    batch = {"utts": utts, "input": waves, "input_lengths": lengths}

    means = model.frontend_speaker_means([batch], utt2spk)
    feats, frames = model.frontend(waves, lengths)                                             # (B, T, 23)
    assert torch.allclose(means["a"], torch.cat([feats[0, :frames[0]], feats[1, :frames[1]]]).mean(0), atol=1e-4)
    assert torch.allclose(means["b"], feats[2, :frames[2]].mean(0), atol=1e-4)

    def outputs(waves):
        spk_means = model.frontend_speaker_means([{**batch, "input": waves}], utt2spk)
        logits, out_lengths = model(waves, lengths, torch.stack([spk_means[utt2spk[u]] for u in utts]))
        return [logits[i, :n] for i, n in enumerate(out_lengths.tolist())]

    louder = waves.clone()
    louder[:2] *= 3.0                                                     # speaker a, both utterances
    for before, after in zip(outputs(waves), outputs(louder)):
        assert torch.allclose(before, after, atol=1e-3)
    with pytest.raises(ValueError, match="speaker_means"):
        model(waves, lengths)


def test_speaker_cmn_in_model_is_asked_for_explicitly():
    from toolkit.data.feature_spec import FeatureSpec

    cfg = {"features": {"source": "wav", "cmvn": "speaker", "delta_order": 0, "speaker_cmn_in_model": True},
           "frontend": {"_target_": "toolkit.features.kaldi.Fbank", "trainable": True}}
    spec = FeatureSpec.from_config(OmegaConf.create(cfg))
    assert spec.speaker_cmn_in_model and not spec.note and spec.cmvn == "none"      # the model, not the dataset
    cfg["features"]["source"] = "feats"
    cfg["frontend"]["trainable"] = False
    precomputed = FeatureSpec.from_config(OmegaConf.create(cfg))
    assert precomputed.cmvn == "speaker" and not precomputed.speaker_cmn_in_model  # Kaldi's cmvn.scp
