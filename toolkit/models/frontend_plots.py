"""An experiment's learned frontend filters against their initialisation (`filters.png`).

The initialisation is re-instantiated from the experiment's `config.yaml` (a `random` gammatone init is
seeded, so it comes back identical); the learned filters are the `frontend.*` weights of its checkpoint.
"""
import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from toolkit.features.plots import plot_filters
from toolkit.models.checkpoint import BEST, LAST, load_checkpoint

log = logging.getLogger(__name__)


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
