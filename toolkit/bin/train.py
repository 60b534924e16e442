"""Train a model from a Hydra config: `python -m toolkit.bin.train [--config-name asr] key=value ...`.

The primary config's `task` picks the trainer set-up (asr: conf/asr.yaml, translation: conf/translation.yaml,
summarization: conf/summarization.yaml).
The configs are the package's (`pkg://toolkit.conf`); Hydra's `--config-dir DIR` adds a dir searched first.
"""
import hydra
from omegaconf import DictConfig

from toolkit.utils.config import CONFIG_PATH, VERSION_BASE, register_resolvers

register_resolvers()


def _tasks():
    from toolkit.training.asr import train_asr
    from toolkit.training.translation import train_translation
    # summarization is translation's builder with other settings (conf/summarization.yaml)
    return {"asr": train_asr, "translation": train_translation, "summarization": train_translation}


@hydra.main(config_path=CONFIG_PATH, config_name="asr", version_base=VERSION_BASE)
def main(cfg: DictConfig) -> None:
    tasks = _tasks()
    if cfg.task not in tasks:
        raise ValueError(f"unknown task '{cfg.task}', expected one of {sorted(tasks)}")
    tasks[cfg.task](cfg)


if __name__ == "__main__":
    main()
