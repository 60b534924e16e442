"""Train an attention encoder-decoder from a translation config (conf/translation.yaml).

Data: ``<data.train>/text.<src>`` + ``text.<tgt>`` (and the same for dev), sentencepiece
models in ``data.lang`` (``joint/`` or ``src/`` + ``tgt/``, from `toolkit.bin.train_spm`),
optionally word2vec vectors for the embeddings (``embeddings.src`` / ``embeddings.tgt``).

The experiment dir receives ``config.yaml`` (resolved), ``lang/`` (a copy of the
sentencepiece models, so decoding needs nothing else), ``model.json`` / ``model.txt``,
``embeddings.json`` (word2vec coverage, when used), the checkpoints, ``history.json``,
``learning_curves.png`` and TensorBoard events. Re-running resumes.
"""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from toolkit.data.parallel_dataset import ParallelDataset, parallel_loader
from toolkit.data.tokenizer import MODEL_NAME, PAD_ID, SYMBOL_TABLE_NAME, SentencePieceTokenizer, \
    load_translation_tokenizers
from toolkit.models.embeddings import embedding_from_vectors, load_vectors
from toolkit.models.seq2seq import AttentionSeq2Seq
from toolkit.training.checkpoint import LAST
from toolkit.training.distributed import init_distributed
from toolkit.training.trainer import Trainer, TrainerConfig
from toolkit.training.translation_tasks import METRIC_MODES, TranslationTask

log = logging.getLogger(__name__)

LANG_DIR = "lang"                   # sentencepiece models inside an experiment dir
TOKENIZER_LAYOUTS = ("joint", "src", "tgt")


def build_seq2seq(model_cfg: DictConfig, src_vocab_size: int, tgt_vocab_size: int) -> AttentionSeq2Seq:
    """The model a config's ``model`` group describes, with the vocabulary sizes filled in."""
    return instantiate(model_cfg, src_vocab_size=src_vocab_size, tgt_vocab_size=tgt_vocab_size)


def copy_tokenizers(lang: Path, exp_lang: Path) -> None:
    """Copy the sentencepiece models (and tokens.txt) of `lang` into `exp_lang`, same layout."""
    for sub in TOKENIZER_LAYOUTS:
        if (lang / sub / MODEL_NAME).is_file():
            (exp_lang / sub).mkdir(parents=True, exist_ok=True)
            for name in (MODEL_NAME, SYMBOL_TABLE_NAME):
                shutil.copyfile(lang / sub / name, exp_lang / sub / name)


def check_same_tokenizers(lang: Path, exp_lang: Path) -> None:
    """A resumed experiment must see the vocabularies it started with."""
    for sub in TOKENIZER_LAYOUTS:
        ours, theirs = exp_lang / sub / SYMBOL_TABLE_NAME, lang / sub / SYMBOL_TABLE_NAME
        if ours.is_file() != theirs.is_file() or (ours.is_file() and ours.read_bytes() != theirs.read_bytes()):
            raise ValueError(f"{lang}/{sub} differs from the vocabulary this experiment was started with "
                             f"({exp_lang}/{sub}): the tokenizer was retrained since. Train into a new "
                             "exp_dir=..., or delete the experiment dir to start over")


def _vector_format(path: str) -> str:
    return {".txt": "text", ".bin": "binary"}.get(Path(path).suffix, "native")


def init_embeddings(model: AttentionSeq2Seq, emb_cfg: DictConfig, src_tok: SentencePieceTokenizer,
                    tgt_tok: SentencePieceTokenizer, seed: int) -> dict:
    """Initialise source/target embeddings from word2vec vectors (`embeddings.src`/`.tgt` paths,
    gensim native, or word2vec .txt/.bin); returns the coverage report written to embeddings.json.

    With `embeddings.center` (default) the mean vector is subtracted first: word2vec vectors
    share one dominant direction, which makes all tokens look alike to the model. With
    `embeddings.rescale` (default) each matrix is then multiplied by one factor that gives it the
    standard deviation of the model's own initial embeddings: word2vec vectors of a small corpus
    barely leave gensim's tiny initialisation, and with tied output embeddings such small (or,
    for big corpora, large) rows would stall (or saturate) the first updates.
    """
    report, weights = {}, {}
    for side, tok, emb in (("src", src_tok, model.src_embed), ("tgt", tgt_tok, model.tgt_embed)):
        path = emb_cfg.get(side)
        if not path:
            continue
        kv = load_vectors(path, fmt=_vector_format(path))
        if kv.vector_size != emb.embedding_dim:
            raise ValueError(f"{path}: word2vec vectors have {kv.vector_size} dimensions but model.emb_dim is "
                             f"{emb.embedding_dim}; set model.emb_dim={kv.vector_size} or retrain the vectors")
        aligned = embedding_from_vectors(kv, tok.pieces, padding_idx=PAD_ID, seed=seed)
        weight = aligned.embedding.weight.detach()
        if emb_cfg.get("center", True):  # remove the direction all word2vec vectors share
            weight[1:] -= weight[1:].mean(dim=0)
        scale = 1.0
        if emb_cfg.get("rescale", True):  # one factor for the whole matrix: relative geometry unchanged
            scale = float(emb.weight.detach().std() / weight[1:].std().clamp_min(1e-12))
            weight = weight * scale
        weights[side] = weight
        report[side] = {"vectors": str(path), "coverage": aligned.coverage, "missing": len(aligned.missing),
                        "vocab": tok.vocab_size, "scale": scale, "missing_examples": aligned.missing[:20]}
        log.info("%s embedding from %s: %.1f%% of %d pieces covered%s", side, path, 100 * aligned.coverage,
                 tok.vocab_size - 4, " (the joint vocabulary also holds the other language's pieces)"
                 if src_tok is tgt_tok else "")
    model.load_embeddings(src=weights.get("src"), tgt=weights.get("tgt"))
    return report


def build_scheduler(cfg: DictConfig, optimizer: torch.optim.Optimizer):
    """The configured LR schedule; one that monitors a dev metric must agree on its direction
    (BLEU and chrF are better high, loss and perplexity low)."""
    if not cfg.get("scheduler"):
        return None
    scheduler = instantiate(cfg.scheduler, optimizer=optimizer)
    monitor, mode = getattr(scheduler, "monitor", None), getattr(scheduler, "mode", None)
    if monitor in METRIC_MODES and mode is not None and mode != METRIC_MODES[monitor]:
        better = "higher" if METRIC_MODES[monitor] == "max" else "lower"
        raise ValueError(f"scheduler.monitor={monitor} is better when {better}, but scheduler.mode={mode}: set "
                         f"scheduler.mode={METRIC_MODES[monitor]} (+scheduler.mode=... when the scheduler config "
                         "has no mode)")
    return scheduler


def train_translation(cfg: DictConfig) -> list[dict]:
    dist = init_distributed()
    if cfg.threads > 0:
        torch.set_num_threads(int(cfg.threads))
    torch.manual_seed(cfg.seed)
    exp_dir, lang = Path(cfg.exp_dir), Path(cfg.data.lang)
    src_tok, tgt_tok = load_translation_tokenizers(lang)
    resuming = (exp_dir / LAST).is_file()
    if resuming:
        check_same_tokenizers(lang, exp_dir / LANG_DIR)

    train_set = ParallelDataset(cfg.data.train, cfg.src, cfg.tgt, src_tok, tgt_tok)
    dev_set = ParallelDataset(cfg.data.dev, cfg.src, cfg.tgt, src_tok, tgt_tok)
    loader_args = dict(max_tokens=int(cfg.data.max_tokens), max_sentences=int(cfg.data.max_sentences),
                       num_workers=int(cfg.data.num_workers), seed=int(cfg.seed))
    train_loader = parallel_loader(train_set, shuffle=True, rank=dist.rank, world_size=dist.world_size,
                                   **loader_args)
    dev_loader = parallel_loader(dev_set, shuffle=False, **loader_args)
    log.info("train: %d pairs in %d batches (%s); dev: %d pairs (%s)", len(train_set), len(train_loader),
             cfg.data.train, len(dev_set), cfg.data.dev)

    model = build_seq2seq(cfg.model, src_tok.vocab_size, tgt_tok.vocab_size)
    emb_report = {} if resuming else init_embeddings(model, cfg.embeddings, src_tok, tgt_tok, int(cfg.seed))
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.info("model: bidirectional %s encoder, %s attention, %.2fM trainable parameters, vocab %d -> %d",
             cfg.model.rnn_type, cfg.model.attention, n_params / 1e6, src_tok.vocab_size, tgt_tok.vocab_size)

    if dist.is_main:
        exp_dir.mkdir(parents=True, exist_ok=True)
        (exp_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
        copy_tokenizers(lang, exp_dir / LANG_DIR)
        (exp_dir / "model.json").write_text(json.dumps({
            "model": type(model).__name__, "rnn_type": cfg.model.rnn_type, "attention": cfg.model.attention,
            "trainable_params": n_params, "src_vocab": src_tok.vocab_size, "tgt_vocab": tgt_tok.vocab_size}) + "\n")
        (exp_dir / "model.txt").write_text(f"{model}\n")
        if emb_report:
            (exp_dir / "embeddings.json").write_text(json.dumps(emb_report, indent=1) + "\n")

    decodes_dev = METRIC_MODES.get(cfg.metric) == "max"  # BLEU/chrF need translations; loss/ppl do not
    task = TranslationTask(tgt_tok, instantiate(cfg.decode) if decodes_dev else None,
                           label_smoothing=float(cfg.label_smoothing), metric=cfg.metric)
    optimizer = instantiate(cfg.optim, params=[p for p in model.parameters() if p.requires_grad])
    scheduler = build_scheduler(cfg, optimizer)
    trainer = Trainer(model, task, optimizer, exp_dir, TrainerConfig(**cfg.trainer), scheduler, dist)
    return trainer.fit(train_loader, dev_loader)
