"""Attention encoder-decoder training for the translation and summarization configs
(conf/translation.yaml, conf/summarization.yaml): the task's part of `run_training`. The two tasks
differ only in configuration (copy/coverage in the model, ROUGE as the dev metric, a coverage loss
weight), so they share this builder.

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

from hydra.utils import instantiate
from omegaconf import DictConfig

from toolkit.data.parallel_dataset import ParallelDataset, parallel_loader
from toolkit.data.tokenizer import LANG_DIR, MODEL_NAME, PAD_ID, SYMBOL_TABLE_NAME, SentencePieceTokenizer, \
    load_translation_tokenizers
from toolkit.models.embeddings import embedding_from_vectors, load_vectors
from toolkit.models.seq2seq import AttentionSeq2Seq, build_seq2seq
from toolkit.training.distributed import DistInfo
from toolkit.training.run import TrainingSetup, run_training
from toolkit.training.translation_tasks import METRIC_MODES, TranslationTask

log = logging.getLogger(__name__)

TOKENIZER_LAYOUTS = ("joint", "src", "tgt")


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


def train_translation(cfg: DictConfig) -> list[dict]:
    return run_training(cfg, build_translation, inputs=translation_inputs)


def translation_inputs(cfg: DictConfig) -> dict[str, Path]:
    """The files a translation run reads: the parallel text of train and dev, the tokenizers, and the
    word2vec vectors when configured (they go into the experiment's fingerprint)."""
    files = {f"data.{key}/text.{side}": Path(cfg.data[key]) / f"text.{side}"
             for key in ("train", "dev") for side in (cfg.src, cfg.tgt)}
    lang = Path(cfg.data.lang)
    files.update({f"data.lang/{sub}/{name}": lang / sub / name for sub in TOKENIZER_LAYOUTS
                  for name in (MODEL_NAME, SYMBOL_TABLE_NAME) if (lang / sub / name).is_file()})
    files.update({f"embeddings.{side}": Path(cfg.embeddings[side]) for side in ("src", "tgt")
                  if cfg.embeddings.get(side)})
    return files


def build_translation(cfg: DictConfig, dist: DistInfo, resuming: bool) -> TrainingSetup:
    """Data, model (word2vec-initialised on a fresh run, if configured) and task of a translation config."""
    exp_dir, lang = Path(cfg.exp_dir), Path(cfg.data.lang)
    src_tok, tgt_tok = load_translation_tokenizers(lang)
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

    def save_files(exp_dir: Path) -> None:
        copy_tokenizers(lang, exp_dir / LANG_DIR)
        if emb_report:
            (exp_dir / "embeddings.json").write_text(json.dumps(emb_report, indent=1) + "\n")

    decodes_dev = METRIC_MODES.get(cfg.metric) == "max"  # BLEU/chrF/ROUGE need outputs; loss/ppl do not
    task = TranslationTask(tgt_tok, instantiate(cfg.decode) if decodes_dev else None,
                           label_smoothing=float(cfg.label_smoothing), metric=cfg.metric,
                           coverage_weight=float(cfg.get("coverage_weight", 0.0)))
    description = (f"bidirectional {cfg.model.rnn_type} encoder, {cfg.model.attention} attention, "
                   f"vocab {src_tok.vocab_size} -> {tgt_tok.vocab_size}"
                   + (", copy" if cfg.model.get("copy") else "") + (", coverage" if cfg.model.get("coverage") else ""))
    return TrainingSetup(model, task, train_loader, dev_loader, description=description,
                         model_info={"model": type(model).__name__, "rnn_type": cfg.model.rnn_type,
                                     "attention": cfg.model.attention, "copy": bool(cfg.model.get("copy")),
                                     "coverage": bool(cfg.model.get("coverage")), "src_vocab": src_tok.vocab_size,
                                     "tgt_vocab": tgt_tok.vocab_size},
                         save_files=save_files)
