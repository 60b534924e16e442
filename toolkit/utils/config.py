"""Hydra configs of the package: where conf/ is, composing from it, and the resolvers its YAML uses.

conf/ ships inside the package as `toolkit.conf` (the `toolkit/conf` link to the top-level conf/, copied
into wheels), so entry points find it as `pkg://toolkit.conf` however the toolkit is installed.
"""
import json
import re
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from toolkit.utils import naming
from toolkit.utils.errors import UserError

CONFIG_MODULE = "toolkit.conf"
CONFIG_PATH = f"pkg://{CONFIG_MODULE}"
VERSION_BASE = "1.3"


def register_resolvers() -> None:
    """Resolvers of conf/*.yaml; the Hydra entry points register them before composing."""
    resolvers = {
        # ${asr_exp_dir:model,frontend,${hydra:overrides.task}} -> exp/<model>_<frontend>[_<overrides>]
        "asr_exp_dir": lambda model, frontend, overrides: naming.asr_exp_dir(model, frontend, list(overrides)),
        # ${feats_dir:frontend,${hydra:overrides.task}} -> dump/<frontend>[_<frontend overrides>]
        "feats_dir": lambda frontend, overrides: naming.feats_dir(frontend, list(overrides)),
        # ${translation_exp_dir:model,src,tgt} -> exp/<model>_<src>-<tgt>
        "translation_exp_dir": naming.translation_exp_dir,
    }
    for name, resolver in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)


def compose_config(overrides: list[str] = (), config_name: str | None = None,
                   config_dir: str | Path | None = None) -> DictConfig:
    """Compose a config with Hydra from the package's conf/ (overrides in Hydra's syntax), like the
    entry points do. `config_dir` (like Hydra's --config-dir) is searched first, e.g. for a user's own
    `frontend/<name>.yaml`, or an experiment dir whose `config.yaml` is the primary config.
    Hydra's exceptions (an unknown config or key, a malformed override) say what is wrong."""
    from hydra import compose, initialize_config_dir, initialize_config_module

    register_resolvers()
    if config_dir is None:
        with initialize_config_module(CONFIG_MODULE, version_base=VERSION_BASE):
            return compose(config_name, overrides=list(overrides))
    with initialize_config_dir(str(Path(config_dir).absolute()), version_base=VERSION_BASE):
        return compose(config_name, overrides=[f"hydra.searchpath=[{CONFIG_PATH}]", *overrides])


def hydra_error_line(e: Exception) -> str:
    """A Hydra composition error on one line: its message without the config search path, and the
    available options of a missing config listed inline ("Could not find 'frontend/foo' (available:
    fbank, mfcc)")."""
    text = str(e).split("Config search path:")[0]
    options = re.search(r"Available options in '[^']*':\s*\n((?:\s*\S+\n?)*)", text)
    if options:
        text = text[:options.start()].rstrip() + f" (available: {', '.join(options.group(1).split())})"
    return " ".join(text.split())


def _kind(value) -> str | None:
    """The kind of value a setting must keep when overridden: None when anything goes (strings, which
    may hold paths or names; unset values; interpolations)."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return None


def _lookup(tree, key: str):
    for part in key.split("."):
        if not isinstance(tree, dict) or part not in tree:
            return None
        tree = tree[part]
    return tree


def check_override_types(cfg: DictConfig, base: DictConfig, overrides: list[str]) -> None:
    """UserError naming the first command-line override whose value is of another kind than the setting's
    default in `base` (the config composed without value overrides): `optim.lr=abc` is not a number.
    Values the constructors would take as strings and fail on much later, after data and model loading."""
    new = OmegaConf.to_container(cfg, resolve=False)
    old = OmegaConf.to_container(base, resolve=False)
    for override in overrides:
        if override.startswith("~") or "=" not in override:
            continue
        key = naming.override_key(override)
        default, value = _lookup(old, key), _lookup(new, key)
        kind = _kind(default)
        if kind is None or value is None or _kind(value) == kind or str(value).startswith("${"):
            continue
        raise UserError(f"{override}: {key} must be {kind}, like its default {json.dumps(default)}")
