"""OmegaConf resolvers used by the configs in conf/ (registered by the Hydra entry points)."""
from omegaconf import OmegaConf


def register_resolvers() -> None:
    # ${tag:x} -> "_x", or "" when x is empty: an optional suffix of experiment-dir names.
    if not OmegaConf.has_resolver("tag"):
        OmegaConf.register_new_resolver("tag", lambda text: f"_{text}" if text else "")
