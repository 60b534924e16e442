"""Train a model from a Hydra config: `python -m toolkit.bin.train [--config-name asr] key=value ...`.

The primary config's `task` picks the trainer set-up (asr: conf/asr.yaml, translation: conf/translation.yaml).
"""
from pathlib import Path

import hydra
from omegaconf import DictConfig

from toolkit.utils.config import register_resolvers

CONF_DIR = str(Path(__file__).resolve().parents[2] / "conf")
register_resolvers()


def _tasks():
    from toolkit.training.asr import train_asr
    from toolkit.training.translation import train_translation
    return {"asr": train_asr, "translation": train_translation}


@hydra.main(config_path=CONF_DIR, config_name="asr", version_base="1.3")
def main(cfg: DictConfig) -> None:
    tasks = _tasks()
    if cfg.task not in tasks:
        raise ValueError(f"unknown task '{cfg.task}', expected one of {sorted(tasks)}")
    tasks[cfg.task](cfg)


if __name__ == "__main__":
    main()
