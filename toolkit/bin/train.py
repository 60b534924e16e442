"""Train a model from a Hydra config: `python -m toolkit.bin.train [--config-name asr] key=value ...`.

The primary config's `task` picks the trainer set-up (asr: conf/asr.yaml, translation: conf/translation.yaml,
summarization: conf/summarization.yaml).
The configs are the package's (`pkg://toolkit.conf`); Hydra's `--config-dir DIR` adds a dir searched first.

Settings are checked before any data or model is loaded: an override of the wrong kind (`optim.lr=abc`),
optimiser, schedule and trainer settings, a model that does not fit the task, and an experiment dir that
holds a run with other settings (`+overwrite=true` starts it over). Each problem is one line on stderr
and exit status 1; a launch that fails before training starts leaves no experiment dir behind.

    python -m toolkit.bin.train --check [--config-name NAME] [--config-dir DIR] key=value ...

runs only the checks of the config (no files are read or written): the recipes call it before their
first stage.
"""
import argparse
import shutil
import sys
from importlib import resources
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from omegaconf import DictConfig

from toolkit.utils.cli import entry_point
from toolkit.utils.config import (CONFIG_MODULE, CONFIG_PATH, VERSION_BASE, check_override_types, compose_config,
                                  hydra_error_line, register_resolvers)
from toolkit.utils.errors import UserError
from toolkit.utils.naming import override_key

register_resolvers()


def _asr():
    from toolkit.training.asr import check_asr_config, train_asr
    return train_asr, check_asr_config


def _translation():
    from toolkit.training.translation import train_translation
    return train_translation, None


#: {task: () -> (train(cfg), check(cfg) of its config or None)}, imported on use (each pulls in its own
#: libraries).
TASKS = {"asr": _asr, "translation": _translation,
         "summarization": _translation}   # translation's builder with other settings (conf/summarization.yaml)


def _task(cfg: DictConfig):
    if cfg.task not in TASKS:
        raise UserError(f"task={cfg.task}: unknown task (choose one of {', '.join(sorted(TASKS))})")
    return TASKS[cfg.task]()


@entry_point
def _train(cfg: DictConfig) -> int:
    hydra_cfg = HydraConfig.get()
    overrides = list(hydra_cfg.overrides.task)
    groups = set(hydra_cfg.runtime.choices)
    base = hydra.compose(hydra_cfg.job.config_name, overrides=[o for o in overrides if override_key(o) in groups])
    check_override_types(cfg, base, overrides)
    train, _ = _task(cfg)
    train(cfg)
    return 0


def _remove_launch_leftovers(exp_dir: Path) -> None:
    """Undo what Hydra made for a launch that failed before training started: the experiment dir with
    only `.hydra/` and the log in it (and the empty dirs above it, up to the working dir)."""
    if not exp_dir.is_dir() or any(p.name != ".hydra" and p.suffix != ".log" for p in exp_dir.iterdir()):
        return
    shutil.rmtree(exp_dir)
    cwd, parent = Path.cwd().resolve(), exp_dir.resolve().parent
    while parent != cwd and parent.is_relative_to(cwd) and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


@hydra.main(config_path=CONFIG_PATH, config_name="asr", version_base=VERSION_BASE)
def main(cfg: DictConfig) -> None:
    exp_dir = Path(cfg.exp_dir)
    fresh = not (exp_dir / "config.yaml").exists()
    status = _train(cfg)
    if status:
        if fresh and not (exp_dir / "config.yaml").exists():
            _remove_launch_leftovers(exp_dir)
        sys.exit(status)


def _config_groups(config_dir: str | None) -> set[str]:
    dirs = [resources.files(CONFIG_MODULE)] + ([Path(config_dir)] if config_dir else [])
    return {p.name for d in dirs for p in d.iterdir() if p.is_dir() and not p.name.startswith("_")}


@entry_point
def check(argv: list[str] | None = None) -> int:
    """`--check`: compose the config a command line describes and check it, creating nothing."""
    from toolkit.training.run import check_training_config

    parser = argparse.ArgumentParser(prog="python -m toolkit.bin.train --check")
    parser.add_argument("--config-name", "-cn", default="asr")
    parser.add_argument("--config-dir", "-cd")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args(argv)
    groups = _config_groups(args.config_dir)
    try:
        cfg = compose_config(args.overrides, args.config_name, args.config_dir)
        base = compose_config([o for o in args.overrides if override_key(o) in groups], args.config_name,
                              args.config_dir)
    except HydraException as e:
        raise UserError(hydra_error_line(e)) from None
    check_override_types(cfg, base, args.overrides)
    _, check_task = _task(cfg)
    if check_task is not None:
        check_task(cfg)
    check_training_config(cfg)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--check"]:
        sys.exit(check(sys.argv[2:]))
    main()
