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
    """The frontend node of a full config (conf/asr.yaml style) or the node itself (conf/frontend/*.yaml)."""
    node = cfg.frontend if "frontend" in cfg else cfg
    if "_target_" not in node:
        raise ValueError("the config has no frontend node with a _target_ (expected an experiment's config.yaml, "
                         "an ASR config or a conf/frontend/*.yaml file)")
    return node


def plot_experiment_filters(source: str | Path, out: str | Path | None = None, checkpoint: str = "best",
                            overrides: list[str] = ()) -> Path:
    """Plot the filters of an experiment dir (`config.yaml` + checkpoint) against their initialisation,
    into `<exp_dir>/filters.png` by default; or, for a YAML config or a dir without checkpoint, the
    initial filters only. `overrides` are `key=value` changes of the frontend node; `checkpoint` is
    best, last or none."""
    from hydra.utils import instantiate

    source = Path(source)
    config = source / "config.yaml" if source.is_dir() else source
    if not config.is_file():
        raise FileNotFoundError(f"{config}: no such config (give an experiment dir or a YAML file)")
    if checkpoint not in ("best", "last", "none"):
        raise ValueError(f"checkpoint must be best, last or none, got '{checkpoint}'")
    try:
        node = _frontend_node(OmegaConf.load(config))
    except ValueError as e:
        raise ValueError(f"{config}: {e}") from None
    node = OmegaConf.merge(node, OmegaConf.from_dotlist(list(overrides)))
    init = instantiate(node)
    if not hasattr(init, "filter_weights"):
        raise ValueError(f"{config}: frontend {type(init).__name__} has no filters to plot")

    learned = None
    ckpt_path = source / (BEST if checkpoint == "best" else LAST)
    if source.is_dir() and checkpoint != "none" and ckpt_path.is_file():
        weights = {k.removeprefix("frontend."): v for k, v in load_checkpoint(ckpt_path)["model"].items()
                   if k.startswith("frontend.")}
        if weights:
            learned = instantiate(node)
            learned.load_state_dict(weights)
        else:
            log.info("%s: the frontend is not part of the model (trainable: false); plotting its filters only",
                     ckpt_path)
    out = Path(out) if out is not None else (source / "filters.png" if source.is_dir() else Path("filters.png"))
    title = " ".join([f"{type(init).__name__} filters: {source}", *overrides]
                     + ([f"({ckpt_path.name})"] if learned is not None else []))
    return plot_filters(init, learned, out, title=title)
