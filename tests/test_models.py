"""Acoustic models (conf/model/*.yaml): shapes, lengths, gradients, padding invariance, deep training."""
import math
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from toolkit.models.bilstm import BiLSTMLayer
from toolkit.models.cnn import CNN
from toolkit.models.reslstm import ResLSTM

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
NUM_CLASSES = 11
# every acoustic model config (the seq2seq configs in conf/model/ have another interface)
ACOUSTIC = sorted(p.stem for p in CONF_DIR.glob("model/*.yaml")
                  if not OmegaConf.load(p)._target_.startswith("toolkit.models.seq2seq."))
# each config as shipped, plus the options the defaults leave off
CASES = [(name, ()) for name in ACOUSTIC] + [
    ("cnn", ("model.head=bilstm", "model.time_stride=2", "model.hidden_dim=32", "model.num_layers=1")),
    ("cnn", ("model.time_stride=3", "features.delta_order=0")),
    ("reslstm", ("model.connection=highway", "model.norm=none")),
]
IDS = [" ".join((name, *overrides)) for name, overrides in CASES]


@pytest.fixture(autouse=True)
def one_thread():
    """These models are tiny: one thread is faster, and spares the cores that other processes share."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def build(name: str, overrides=()) -> tuple[nn.Module, int, int]:
    """The encoder conf/asr.yaml builds with model=<name>: (model, input_dim, time_stride)."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("asr", overrides=[f"model={name}", *overrides])
    input_dim = instantiate(cfg.frontend).feature_dim * (cfg.features.delta_order + 1)
    torch.manual_seed(0)
    model = instantiate(cfg.model, input_dim=input_dim, num_classes=NUM_CLASSES)
    return model, input_dim, int(cfg.model.get("time_stride", 1))


def disable_dropout(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.eval()


def test_every_model_is_covered():
    assert {"dnn", "bilstm", "cnn", "reslstm"} <= set(ACOUSTIC)


@pytest.mark.parametrize("name,overrides", CASES, ids=IDS)
def test_forward_backward_variable_lengths(name, overrides):
    model, dim, stride = build(name, overrides)
    lengths = torch.tensor([23, 17, 5])
    feats = torch.randn(3, 23, dim)
    logits, out_lengths = model(feats, lengths)
    expected = torch.tensor([math.ceil(n / stride) for n in lengths.tolist()])
    assert logits.shape == (3, math.ceil(23 / stride), NUM_CLASSES)
    assert out_lengths.tolist() == expected.tolist()
    real = torch.arange(logits.shape[1])[None, :] < expected[:, None]
    target = torch.randint(NUM_CLASSES, logits.shape[:2]).masked_fill(~real, -100)
    F.cross_entropy(logits.transpose(1, 2), target, ignore_index=-100).backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0 and torch.isfinite(p.grad).all(), pname


@pytest.mark.parametrize("name,overrides", CASES, ids=IDS)
def test_padding_does_not_change_real_frames(name, overrides):
    """An utterance's logits alone equal its logits in a batch padded to a longer utterance (eval mode)."""
    model, dim, stride = build(name, overrides)
    model.eval()
    short, long = torch.randn(13, dim), torch.randn(30, dim)
    batch = torch.zeros(2, 30, dim)
    batch[0, :13], batch[1] = short, long
    batch[0, 13:] = 1e3                                   # garbage in the padding must not leak
    with torch.no_grad():
        alone, alone_len = model(short[None], torch.tensor([13]))
        padded, padded_len = model(batch, torch.tensor([13, 30]))
    n = int(alone_len[0])
    assert n == padded_len[0] == math.ceil(13 / stride)
    torch.testing.assert_close(padded[0, :n], alone[0, :n], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", [n for n in ACOUSTIC if n in ("dnn", "cnn")])
def test_batchnorm_statistics_ignore_padding(name):
    """In training mode, padding an utterance with extra frames leaves its outputs unchanged."""
    model, dim, _ = build(name)
    model.train()
    disable_dropout(model)
    feats = torch.randn(1, 19, dim)
    padded = torch.cat([feats, torch.full((1, 11, dim), 5.0)], dim=1)
    alone, _ = model(feats, torch.tensor([19]))
    with_padding, _ = model(padded, torch.tensor([19]))
    torch.testing.assert_close(with_padding[:, :19], alone, atol=1e-4, rtol=1e-4)


def test_bilstm_layer_equals_packed_bidirectional_lstm():
    torch.manual_seed(0)
    layer = BiLSTMLayer(6, 5)
    packed_lstm = nn.LSTM(6, 5, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for suffix, lstm in (("", layer.forward_lstm), ("_reverse", layer.backward_lstm)):
            for weight in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(packed_lstm, f"{weight}_l0{suffix}").copy_(getattr(lstm, f"{weight}_l0"))
    lengths = torch.tensor([4, 9, 1, 7])
    x = torch.randn(4, 9, 6, requires_grad=True)
    ours = layer(x, lengths)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    theirs, _ = pad_packed_sequence(packed_lstm(packed)[0], batch_first=True, total_length=9)
    real = (torch.arange(9)[None, :] < lengths[:, None])[:, :, None]
    torch.testing.assert_close(ours * real, theirs, atol=1e-6, rtol=1e-5)
    grad_ours, = torch.autograd.grad((ours * real).square().sum(), x)
    grad_theirs, = torch.autograd.grad(theirs.square().sum(), x)
    torch.testing.assert_close(grad_ours, grad_theirs, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("connection", ["residual", "highway"])
def test_eight_layer_reslstm_trains(connection):
    """8 stacked layers learn a toy task that needs memory: label(t) = symbol(t - 2)."""
    torch.manual_seed(0)
    num_symbols, dim = 4, 8
    codebook = torch.randn(num_symbols, dim)
    symbols = torch.randint(num_symbols, (16, 20))
    feats = codebook[symbols] + 0.1 * torch.randn(16, 20, dim)
    target = torch.cat([symbols[:, :2], symbols[:, :-2]], dim=1)
    lengths = torch.full((16,), 20)
    model = ResLSTM(dim, num_symbols, hidden_dim=16, num_layers=8, connection=connection, dropout=0.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        logits, _ = model(feats, lengths)
        loss = F.cross_entropy(logits.transpose(1, 2), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[0] > 1.2 and losses[-1] < 0.35 * losses[0], losses   # a plain 8-layer BiLSTM stays > 0.8x


def test_bad_model_options_raise():
    with pytest.raises(ValueError, match="delta_order"):
        CNN(40, 5, delta_order=2)
    with pytest.raises(ValueError, match="head"):
        CNN(40, 5, head="transformer")
    with pytest.raises(ValueError, match="odd"):
        CNN(40, 5, kernel_size=(4, 3))
    with pytest.raises(ValueError, match="connection"):
        ResLSTM(40, 5, connection="dense")
