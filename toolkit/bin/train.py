"""Train a model from a Hydra config: `python -m toolkit.bin.train [--config-name asr] key=value ...`.

The primary config's `task` picks the trainer set-up (asr: conf/asr.yaml).
"""
from pathlib import Path

import hydra
from omegaconf import DictConfig

CONF_DIR = str(Path(__file__).resolve().parents[2] / "conf")


def _tasks():
    from toolkit.training.asr import train_asr
    return {"asr": train_asr}


@hydra.main(config_path=CONF_DIR, config_name="asr", version_base="1.3")
def main(cfg: DictConfig) -> None:
    tasks = _tasks()
    if cfg.task not in tasks:
        raise ValueError(f"unknown task '{cfg.task}', expected one of {sorted(tasks)}")
    tasks[cfg.task](cfg)


if __name__ == "__main__":
    main()
