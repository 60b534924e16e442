"""OmegaConf helpers for the configs in conf/: resolvers (registered by the Hydra entry points) and the
`frontend.key=value` overrides that the feature tools take on their command line."""
from omegaconf import OmegaConf


def register_resolvers() -> None:
    # ${tag:x} -> "_x", or "" when x is empty: an optional suffix of experiment-dir names.
    if not OmegaConf.has_resolver("tag"):
        OmegaConf.register_new_resolver("tag", lambda text: f"_{text}" if text else "")


def frontend_overrides(overrides: list[str]) -> list[str]:
    """`frontend.key=value` command-line overrides -> `key=value` dotlist entries for the frontend node.
    ValueError names the first one that is not of that form."""
    bad = [o for o in overrides if not o.startswith("frontend.") or "=" not in o]
    if bad:
        raise ValueError(f"overrides must look like frontend.key=value, got {bad[0]!r}")
    return [o.removeprefix("frontend.") for o in overrides]
