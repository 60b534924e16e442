"""SpecAugment: masks stay within their limits and inside each utterance, padding and eval mode are
untouched, a seed repeats the masks, and the ASR model applies it to training batches only."""
import pytest
import torch

from toolkit.features.kaldi import Fbank
from toolkit.features.specaugment import SpecAugment
from toolkit.models.acoustic import AcousticModel
from toolkit.models.dnn import DNN

PAD = 7.0
LENGTHS = torch.tensor([120, 37, 80])


def batch(dim=12, lengths=LENGTHS):
    """Features of ones (B, T, dim), padding set to PAD."""
    x = torch.ones(len(lengths), int(lengths.max()), dim)
    for b, n in enumerate(lengths.tolist()):
        x[b, n:] = PAD
    return x


def runs(row: torch.Tensor) -> list[tuple[int, int]]:
    """(start, width) of each run of True in a 1-D bool tensor."""
    out, start = [], None
    for i, v in enumerate(row.tolist() + [False]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            out.append((start, i - start))
            start = None
    return out


def test_frequency_masks_are_within_width_and_the_same_in_every_block():
    aug = SpecAugment(freq_masks=1, freq_width=3, time_masks=0, blocks=3).train()
    widths = []
    for seed in range(30):
        torch.manual_seed(seed)
        y = aug(batch(dim=12), LENGTHS)
        assert y.shape == (3, 120, 12)
        for b, n in enumerate(LENGTHS.tolist()):
            hidden = y[b, :n] == 0                                              # (n, 12)
            assert torch.equal(hidden, hidden[:1].expand_as(hidden))           # whole bins, every frame
            blocks = hidden[0].view(3, 4)
            assert torch.equal(blocks, blocks[:1].expand_as(blocks))          # same bins in static and deltas
            widths += [w for _, w in runs(blocks[0])]
            assert (y[b, n:] == PAD).all()
    assert widths and max(widths) == 3


def test_time_masks_are_within_limits_and_inside_the_utterance():
    aug = SpecAugment(freq_masks=0, time_masks=1, time_width=10, time_ratio=0.2).train()
    widths = []
    for seed in range(30):
        torch.manual_seed(seed)
        y = aug(batch(), LENGTHS)
        for b, n in enumerate(LENGTHS.tolist()):
            hidden = (y[b] == 0).all(-1)                                        # (T,)
            assert not hidden[n:].any() and (y[b, n:] == PAD).all()
            spans = runs(hidden)
            assert len(spans) <= 1
            for start, width in spans:
                assert width <= min(10, int(0.2 * n)) and start + width <= n
                widths.append(width)
    assert max(widths) >= 5                                                   # masks do get wide


def test_eval_mode_changes_nothing_and_a_seed_repeats_the_masks():
    aug = SpecAugment(freq_masks=2, freq_width=4, time_masks=2, time_width=10, time_warp=3)
    x = torch.randn(3, 120, 12)
    assert aug.eval()(x, LENGTHS) is x
    aug.train()
    torch.manual_seed(5)
    a = aug(x, LENGTHS)
    torch.manual_seed(5)
    b = aug(x, LENGTHS)
    c = aug(x, LENGTHS)
    assert torch.equal(a, b) and not torch.equal(a, c) and not torch.equal(a, x)


def test_time_warp_keeps_ends_order_and_padding():
    aug = SpecAugment(freq_masks=0, time_masks=0, time_warp=5).train()
    lengths = torch.tensor([60, 9, 40])                                        # 9 frames: too short to warp
    ramp = torch.arange(60.0)[None, :, None].expand(3, 60, 2).clone()         # x[b, t] = t
    for b, n in enumerate(lengths.tolist()):
        ramp[b, n:] = PAD
    moved = False
    for seed in range(10):
        torch.manual_seed(seed)
        y = aug(ramp, lengths)
        for b, n in enumerate(lengths.tolist()):
            real = y[b, :n, 0]
            assert real[0] == 0 and abs(float(real[-1]) - (n - 1)) < 1e-4
            assert (real[1:] >= real[:-1] - 1e-5).all()                        # still in time order
            assert (y[b, n:] == PAD).all()
        assert torch.equal(y[1], ramp[1])
        moved |= not torch.allclose(y[0], ramp[0])
    assert moved


@pytest.mark.parametrize("in_model_frontend", [False, True])
def test_acoustic_model_augments_training_batches_only(in_model_frontend):
    """Precomputed features (B, T, 8) or waveforms through an in-model fbank: the same hook."""
    torch.manual_seed(0)
    frontend = Fbank(num_mel_bins=8) if in_model_frontend else None
    encoder = DNN(8 * 3, 5, hidden_dim=16, num_layers=1, context=0, dropout=0.0)
    model = AcousticModel(encoder, 8, 5, frontend=frontend, delta_order=2,
                          augment=SpecAugment(freq_masks=2, freq_width=4, time_masks=2, blocks=3))
    plain = AcousticModel(encoder, 8, 5, frontend=frontend, delta_order=2)
    if in_model_frontend:
        x, lengths = torch.randn(2, 8000) * 0.1, torch.tensor([8000, 5000])
    else:
        x, lengths = torch.randn(2, 50, 8), torch.tensor([50, 30])
    model.eval(), plain.eval()
    assert torch.equal(model(x, lengths)[0], plain(x, lengths)[0])
    model.train(), plain.train()
    assert not torch.allclose(model(x, lengths)[0], plain(x, lengths)[0])
    assert set(model.state_dict()) == set(plain.state_dict())                 # checkpoints stay compatible


@pytest.mark.parametrize("bad", [dict(freq_width=-1), dict(time_ratio=1.5), dict(blocks=0)])
def test_bad_settings_are_refused(bad):
    with pytest.raises(ValueError):
        SpecAugment(**bad)
