"""Plots of filterbank frontends: the filters' frequency responses, learned against their initialisation.

Works for every frontend with `filter_weights()` and `fft_frequencies()` (`Fbank`, `Mfcc` — the
learnable mel — and `Gammatone`). The initialisation is re-instantiated from the experiment's
`config.yaml` (a `random` gammatone init is seeded, so it comes back identical); the learned filters
are the `frontend.*` weights of its checkpoint.
"""
import logging
from pathlib import Path

import matplotlib
import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from toolkit.training.checkpoint import BEST, LAST, load_checkpoint

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

log = logging.getLogger(__name__)

FINE_GRID = 2048  # points from 0 Hz to Nyquist for frontends with an analytic `frequency_response`


@torch.no_grad()
def filter_responses(frontend: nn.Module) -> tuple[np.ndarray, np.ndarray]:
    """(freqs (F,) Hz, responses (C, F)): the power responses of a filterbank frontend, on its FFT bins
    or, where the filters are analytic (gammatone), on a fine grid up to Nyquist."""
    if hasattr(frontend, "frequency_response"):
        freqs = torch.linspace(0.0, frontend.sample_frequency / 2, FINE_GRID)
        responses = frontend.frequency_response(freqs)
    else:
        freqs, responses = frontend.fft_frequencies(), frontend.filter_weights()
    return freqs.numpy(), responses.detach().float().cpu().numpy()


def filter_shape(freqs: np.ndarray, responses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each filter's centroid frequency (C,) and equivalent rectangular bandwidth (C,), both in Hz:
    sum(w f) / sum(w) and sum(w) df / max(w), from responses (C, F) sampled at evenly spaced freqs (F,)."""
    total = responses.sum(1).clip(min=1e-30)
    centroid = responses @ freqs / total
    bandwidth = total * (freqs[1] - freqs[0]) / responses.max(1).clip(min=1e-30)
    return centroid, bandwidth


def plot_filters(init: nn.Module, learned: nn.Module | None, path: str | Path, title: str = "") -> Path:
    """Save a figure of the filters of `init` (grey) and, if given, of `learned` (coloured), plus the
    per-channel change of centroid frequency and of bandwidth, learned vs init. Returns the path."""
    freqs, r_init = filter_responses(init)
    rows = 1 if learned is None else 3
    fig, axes = plt.subplots(rows, 1, figsize=(11, 3.6 * rows), squeeze=False,
                             gridspec_kw={"height_ratios": [2] + [1] * (rows - 1)})
    ax, style = axes[0, 0], "-" if learned is None else "--"
    ax.plot(freqs, r_init.T, color="0.55", lw=0.8, ls=style)
    ax.plot([], [], color="0.55", ls=style, label="initialisation")
    if learned is not None:
        _, r_learned = filter_responses(learned)
        colours = plt.cm.viridis(np.linspace(0, 1, len(r_learned)))
        for response, colour in zip(r_learned, colours):
            ax.plot(freqs, response, color=colour, lw=1.0)
        ax.plot([], [], color=colours[len(colours) // 2], label="learned")
    _erb_rate_axis(ax, init.sample_frequency / 2)
    ax.set_ylabel("power response")
    ax.set_title(title or type(init).__name__)
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    if learned is not None:
        c_init, b_init = filter_shape(freqs, r_init)
        c_learned, b_learned = filter_shape(freqs, r_learned)
        channels = np.arange(len(c_init))
        axes[1, 0].bar(channels, c_learned - c_init, color="C0")
        axes[1, 0].set_ylabel("centroid shift (Hz)")
        axes[2, 0].bar(channels, 100 * (b_learned / b_init - 1), color="C1")
        axes[2, 0].set_ylabel("bandwidth change (%)")
        axes[2, 0].set_xlabel("channel")
        for ax in axes[1:, 0]:
            ax.grid(alpha=0.3)
            ax.set_xlim(-0.6, len(channels) - 0.4)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def _hz_to_erb_rate(freq: np.ndarray) -> np.ndarray:
    return 21.4 * np.log10(4.37 * np.clip(freq, 0, None) / 1000 + 1)


def _erb_rate_to_hz(rate: np.ndarray) -> np.ndarray:
    return (10 ** (np.asarray(rate) / 21.4) - 1) * 1000 / 4.37


def _erb_rate_axis(ax, nyquist: float) -> None:
    """Frequency axis on the ERB-rate scale (about even spacing for both mel and gammatone channels),
    labelled in Hz."""
    ax.set_xscale("function", functions=(_hz_to_erb_rate, _erb_rate_to_hz))
    ax.set_xlim(0, nyquist)
    ticks = [t for t in (0, 100, 250, 500, 1000, 2000, 4000, 8000, 16000, 24000) if t <= nyquist]
    ax.set_xticks(ticks, [f"{t // 1000}k" if t >= 1000 else str(t) for t in ticks])
    ax.set_xlabel("frequency (Hz, ERB-rate scale)")


def _frontend_node(cfg: DictConfig) -> DictConfig:
    """The frontend node of a full config (an experiment's config.yaml)."""
    node = cfg.get("frontend")
    if not isinstance(node, DictConfig) or "_target_" not in node:
        raise ValueError("the config has no frontend node with a _target_ (expected an ASR experiment's config.yaml)")
    return node


def plot_experiment_filters(exp_dir: str | Path, out: str | Path | None = None, checkpoint: str = "best") -> Path:
    """Plot the filters of an experiment's frontend (its resolved `config.yaml`), learned (from the
    checkpoint, if any) against their initialisation, into `<exp_dir>/filters.png` by default."""
    config = Path(exp_dir) / "config.yaml"
    if not config.is_file():
        raise FileNotFoundError(f"{config}: no such config (give an experiment dir)")
    try:
        node = _frontend_node(OmegaConf.load(config))
    except ValueError as e:
        raise ValueError(f"{config}: {e}") from None
    return plot_frontend_filters(node, Path(exp_dir) / "filters.png" if out is None else out, exp_dir, checkpoint)


def plot_frontend_filters(node: DictConfig, out: str | Path, exp_dir: str | Path | None = None,
                          checkpoint: str = "best", label: str = "") -> Path:
    """Plot the filters of the frontend `node` (`_target_` + constructor kwargs) at initialisation and,
    when `exp_dir` holds the checkpoint (`best` or `last`; `none`: skip) with `frontend.*` weights, the
    learned ones against them. `label` (default: exp_dir) goes into the title."""
    from hydra.utils import instantiate

    if checkpoint not in ("best", "last", "none"):
        raise ValueError(f"checkpoint must be best, last or none, got '{checkpoint}'")
    init = instantiate(node)
    if not hasattr(init, "filter_weights"):
        raise ValueError(f"frontend {type(init).__name__} has no filters to plot")

    learned, ckpt_path = None, None
    if exp_dir is not None and checkpoint != "none":
        ckpt_path = Path(exp_dir) / (BEST if checkpoint == "best" else LAST)
    if ckpt_path is not None and ckpt_path.is_file():
        weights = {k.removeprefix("frontend."): v for k, v in load_checkpoint(ckpt_path)["model"].items()
                   if k.startswith("frontend.")}
        if weights:
            learned = instantiate(node)
            learned.load_state_dict(weights)
        else:
            log.info("%s: the frontend is not part of the model (trainable: false); plotting its filters only",
                     ckpt_path)
    title = f"{type(init).__name__} filters: {label or exp_dir or ''}"
    if learned is not None:
        title += f" ({ckpt_path.name})"
    return plot_filters(init, learned, out, title=title)
