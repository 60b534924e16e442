"""Train an acoustic model from an ASR config (conf/asr.yaml): data, model, optimiser, trainer.

The experiment dir receives `config.yaml` (resolved), `phones.txt` and `score.map` (so decoding
needs nothing else), the checkpoints, `history.json`, `learning_curves.png`, TensorBoard events.
"""
import json
import logging
import shutil
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader

from toolkit.data.asr_dataset import AsrDataset, collate_asr, dataset_from_config, loader_from_config
from toolkit.data.symbols import SymbolTable
from toolkit.models.acoustic import AcousticModel, build_acoustic_model
from toolkit.scoring.per import read_token_map
from toolkit.training.asr_tasks import FrameCETask
from toolkit.training.checkpoint import LAST
from toolkit.training.distributed import init_distributed
from toolkit.training.trainer import Trainer, TrainerConfig

log = logging.getLogger(__name__)


def train_asr(cfg: DictConfig) -> list[dict]:
    dist = init_distributed()
    torch.manual_seed(cfg.seed)
    exp_dir = Path(cfg.exp_dir)
    lang = Path(cfg.data.lang)
    symbols = SymbolTable.load(lang / "phones.txt")
    score_map = read_token_map(lang / "score.map") if (lang / "score.map").is_file() else None
    if cfg.loss != "frame_ce":
        raise ValueError(f"unknown loss '{cfg.loss}' (frame_ce)")

    train_set = dataset_from_config(cfg, cfg.data.train, symbols, targets="frames")
    dev_set = dataset_from_config(cfg, cfg.data.dev, symbols, targets="frames")
    train_loader = loader_from_config(train_set, cfg, shuffle=True, rank=dist.rank, world_size=dist.world_size)
    dev_loader = loader_from_config(dev_set, cfg, shuffle=False)
    log.info("train: %d utterances in %d batches (%s); dev: %d utterances", len(train_set), len(train_loader),
             cfg.data.train, len(dev_set))

    model = build_acoustic_model(cfg, len(symbols))
    if not (exp_dir / LAST).is_file():  # a resumed run restores these from its checkpoint
        _fit_statistics(model, train_set, cfg)
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.info("model: %s, %.2fM trainable parameters", type(model.encoder).__name__, n_params / 1e6)

    if dist.is_main:
        exp_dir.mkdir(parents=True, exist_ok=True)
        (exp_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
        symbols.save(exp_dir / "phones.txt")
        (exp_dir / "model.json").write_text(json.dumps({"encoder": type(model.encoder).__name__,
                                                        "trainable_params": n_params}) + "\n")
        (exp_dir / "model.txt").write_text(f"{model}\n")
        if score_map is not None:
            shutil.copyfile(lang / "score.map", exp_dir / "score.map")

    optimizer = instantiate(cfg.optim, params=[p for p in model.parameters() if p.requires_grad])
    scheduler = instantiate(cfg.scheduler, optimizer=optimizer) if cfg.get("scheduler") else None
    task = FrameCETask(symbols, dev_set.data.text, score_map, label_smoothing=cfg.label_smoothing)
    trainer = Trainer(model, task, optimizer, exp_dir, TrainerConfig(**cfg.trainer), scheduler, dist)
    return trainer.fit(train_loader, dev_loader)


def _fit_statistics(model: AcousticModel, train_set: AsrDataset, cfg: DictConfig) -> None:
    """Global mean/variance normaliser and phone priors from (up to N utterances of) the training set."""
    n = min(len(train_set), int(cfg.features.normalizer_utts))
    subset = torch.utils.data.Subset(train_set, torch.randperm(len(train_set), generator=torch.Generator().manual_seed(0))[:n].tolist())
    model.fit_normalizer(DataLoader(subset, batch_size=16, collate_fn=collate_asr))
    counts = torch.zeros(len(train_set.symbols))
    for utt in train_set.utts:
        for start, end, label in train_set.alignments[utt]:
            counts[train_set.symbols.id(label)] += end - start
    model.set_priors(counts)
