"""Hydra configs of the package: where conf/ is, composing from it, and the resolvers its YAML uses.

conf/ ships inside the package as `toolkit.conf` (the `toolkit/conf` link to the top-level conf/, copied
into wheels), so entry points find it as `pkg://toolkit.conf` however the toolkit is installed.
"""
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from toolkit.utils import naming

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
