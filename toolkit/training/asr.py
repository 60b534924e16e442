"""Acoustic-model training for the ASR config (conf/asr.yaml): the task's part of `run_training`.

`loss=frame_ce` trains a frame classifier on the `phones.ctm` alignments (hybrid decoding);
`loss=ctc` trains on the phone sequences in `text` with a blank symbol added.
The experiment dir receives `config.yaml` (resolved), `phones.txt` (the model's output symbols,
with the CTC blank first when there is one) and `score.map`, so decoding needs nothing else;
then the checkpoints, `history.json`, `learning_curves.png` and TensorBoard events; a trained frontend
also gets `filters.png` (its learned filters against their initialisation).
"""
import logging
import shutil
from pathlib import Path

import torch
from omegaconf import DictConfig
from torch.utils.data import DataLoader

from toolkit.data.asr_dataset import AsrDataset, collate_asr, dataset_from_spec, loader_from_config
from toolkit.data.feature_spec import FeatureSpec
from toolkit.data.inputs import data_dir_files
from toolkit.data.symbols import SymbolTable, ctc_symbols
from toolkit.models.acoustic import AcousticModel, attach_speaker_means, build_acoustic_model, check_acoustic_model_config
from toolkit.models.frontend_plots import plot_experiment_filters
from toolkit.scoring.per import read_token_map
from toolkit.training.asr_tasks import CTCTask, FrameCETask
from toolkit.training.distributed import DistInfo
from toolkit.training.run import TrainingSetup, run_training
from toolkit.utils.errors import UserError

log = logging.getLogger(__name__)

LOSSES = ("frame_ce", "ctc")


def train_asr(cfg: DictConfig) -> list[dict]:
    check_asr_config(cfg)
    return run_training(cfg, build_asr, inputs=asr_inputs)


def check_asr_config(cfg: DictConfig) -> None:
    """The ASR parts of a config, checked before any work: loss, feature spec, an acoustic model."""
    if cfg.loss not in LOSSES:
        raise UserError(f"loss={cfg.loss}: unknown loss (choose one of {', '.join(LOSSES)})")
    FeatureSpec.from_config(cfg)
    check_acoustic_model_config(cfg.model)


def asr_inputs(cfg: DictConfig) -> dict[str, Path]:
    """The files an ASR training run reads: the training and dev dirs' (tables, features, their records)
    and the lang dir's symbol table and scoring map."""
    files = {}
    for key in ("train", "dev"):
        path = Path(cfg.data[key])
        if not path.is_dir():
            raise UserError(f"data.{key}={path}: no such dir (extract its features first: the recipe's stage 2, "
                            "or python -m toolkit.bin.extract_feats)")
        files.update({f"data.{key}/{name}": p for name, p in data_dir_files(path).items()})
    lang = Path(cfg.data.lang)
    if not (lang / "phones.txt").is_file():
        raise UserError(f"data.lang={lang}: no phones.txt there (the corpus recipe's data preparation writes it)")
    files.update({f"data.lang/{name}": lang / name for name in ("phones.txt", "score.map") if (lang / name).is_file()})
    return files


def build_asr(cfg: DictConfig, dist: DistInfo, resuming: bool) -> TrainingSetup:
    """Data, model (with normaliser and priors fitted on a fresh run) and task of an ASR config."""
    lang = Path(cfg.data.lang)
    phones = SymbolTable.load(lang / "phones.txt")
    score_map = read_token_map(lang / "score.map") if (lang / "score.map").is_file() else None
    ctc = cfg.loss == "ctc"
    symbols = ctc_symbols(phones) if ctc else phones   # the model's output symbols
    targets = "tokens" if ctc else "frames"

    spec = FeatureSpec.from_config(cfg)
    if spec.note and dist.is_main:
        log.info(spec.note)
    model = build_acoustic_model(cfg, len(symbols), spec)
    num_frames = model.input_frames if spec.in_model else None
    train_set = dataset_from_spec(spec, cfg.data.train, symbols, targets, num_frames)
    dev_set = dataset_from_spec(spec, cfg.data.dev, symbols, targets, num_frames)
    train_loader = loader_from_config(train_set, cfg, shuffle=True, rank=dist.rank, world_size=dist.world_size)
    dev_loader = loader_from_config(dev_set, cfg, shuffle=False)
    log.info("train: %d utterances in %d batches (%s); dev: %d utterances", len(train_set), len(train_loader),
             cfg.data.train, len(dev_set))
    hooks = {}
    if spec.speaker_cmn_in_model:   # per-speaker means of the frontend's output, as it is now
        train_means, dev_means = SpeakerMeans(model, train_set, cfg), SpeakerMeans(model, dev_set, cfg)
        if not (resuming and spec.trainable):
            train_means()           # the normaliser is fitted on them; a resumed one waits for its weights
        if spec.trainable:          # ... and again as it learns: for each epoch, and for each evaluation
            hooks = {"before_train_epoch": train_means, "before_evaluate": dev_means}
        else:
            dev_means()
    if not resuming:  # a resumed run restores these from its checkpoint
        _fit_statistics(model, train_set, cfg)

    def save_files(exp_dir: Path) -> None:
        symbols.save(exp_dir / "phones.txt")
        if score_map is not None:
            shutil.copyfile(lang / "score.map", exp_dir / "score.map")

    def after_training(exp_dir: Path) -> None:
        if _has_trained_filters(model):
            log.info("learned filters against their initialisation: %s", plot_experiment_filters(exp_dir))

    task = (CTCTask(symbols, dev_set.data.text, score_map) if ctc else
            FrameCETask(symbols, dev_set.data.text, score_map, label_smoothing=cfg.label_smoothing))
    return TrainingSetup(model, task, train_loader, dev_loader, description=type(model.encoder).__name__,
                         param_groups=_parameter_groups(model, cfg),
                         model_info={"encoder": type(model.encoder).__name__},
                         save_files=save_files, after_training=after_training, **hooks)


class SpeakerMeans:
    """Gives a dataset's items their speaker's mean of the model's frontend output (per-speaker CMN of a
    frontend inside the model). Each call makes one pass of the frontend over the data, unless the
    frontend's weights are those of the last pass (the first epoch of a fresh run, a frozen frontend)."""

    def __init__(self, model: AcousticModel, dataset: AsrDataset, cfg: DictConfig):
        self.model, self.dataset, self.cfg = model, dataset, cfg
        self.weights: list[torch.Tensor] | None = None   # the frontend's, at the last pass

    def __call__(self) -> None:
        weights = [p.detach().to("cpu", copy=True) for p in self.model.frontend.parameters()]   # any device
        if self.weights is not None and all(torch.equal(a, b) for a, b in zip(weights, self.weights)):
            return
        attach_speaker_means(self.model, self.dataset, self.cfg)
        self.weights = weights


def _has_trained_filters(model: AcousticModel) -> bool:
    frontend = model.frontend
    return (frontend is not None and hasattr(frontend, "filter_weights")
            and any(p.requires_grad for p in frontend.parameters()))


def _parameter_groups(model: AcousticModel, cfg: DictConfig) -> list[dict]:
    """Trainable parameters; a learnable frontend gets its own learning rate (`features.frontend_lr_scale`
    times the optimiser's): its few parameters barely move at the rate that suits the network."""
    frontend = [p for p in model.frontend.parameters() if p.requires_grad] if model.frontend is not None else []
    ids = {id(p) for p in frontend}
    groups = [{"params": [p for p in model.parameters() if p.requires_grad and id(p) not in ids]}]
    if frontend:
        groups.append({"params": frontend, "lr": cfg.optim.lr * cfg.features.get("frontend_lr_scale", 1.0)})
    return groups


def _fit_statistics(model: AcousticModel, train_set: AsrDataset, cfg: DictConfig) -> None:
    """Global mean/variance normaliser from (up to N utterances of) the training set, and phone priors
    from its alignments."""
    n = min(len(train_set), int(cfg.features.normalizer_utts))
    subset = torch.utils.data.Subset(train_set, torch.randperm(len(train_set), generator=torch.Generator().manual_seed(0))[:n].tolist())
    model.fit_normalizer(DataLoader(subset, batch_size=16, collate_fn=collate_asr))
    if train_set.targets != "frames":
        return  # priors are for hybrid decoding of frame classifiers
    counts = torch.zeros(len(train_set.symbols))
    for utt in train_set.utts:
        for start, end, label in train_set.alignments[utt]:
            counts[train_set.symbols.id(label)] += end - start
    model.set_priors(counts)
