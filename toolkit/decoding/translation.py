"""Translate text with a trained attention encoder-decoder restored from its experiment dir.

    translator = Translator("exp/seq2seq_gru_deu-eng")                 # config.yaml, lang/, checkpoint
    search = search_from_config("seq2seq_beam", beam_size=5)           # conf/decode/<name>.yaml
    for out in translator.translate(["Der Hund schläft."], search):
        out.text, out.score, out.attention                            # detokenised, ranked, (T+1, S)

Sentences are sorted by length and batched (at most `max_tokens` padded source pieces and
`max_sentences` per batch), so the search runs many sentences at once; results come back in
input order. An empty input line gives an empty translation.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from tqdm import tqdm

from toolkit.data.parallel_dataset import make_batch
from toolkit.data.tokenizer import LANG_DIR, load_translation_tokenizers
from toolkit.models.checkpoint import load_model_weights
from toolkit.models.seq2seq import build_seq2seq
from toolkit.models.seq2seq_search import Search

log = logging.getLogger(__name__)


def _decode_config(name_or_path: str):
    """The decode config `conf/decode/<name>.yaml` (composed with Hydra from the package's conf/), or a
    user's yaml file; returns (config, where) for messages."""
    from hydra.errors import MissingConfigException

    from toolkit.utils.config import compose_config

    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such decode config")
        return OmegaConf.load(path), str(path)
    try:
        return compose_config([f"+decode={name_or_path}"]).decode, f"conf/decode/{name_or_path}.yaml"
    except MissingConfigException:
        from importlib.resources import files
        choices = sorted(p.name.removesuffix(".yaml") for p in files("toolkit.conf").joinpath("decode").iterdir()
                         if p.name.startswith("seq2seq_"))
        raise FileNotFoundError(f"no decode config {name_or_path!r} (choices: {', '.join(choices)} or a yaml path)") \
            from None


def search_from_config(name_or_path: str, **overrides) -> Search:
    """A search from ``conf/decode/<name>.yaml`` (or a yaml path), with keyword overrides.

    Overrides are config keys (``beam_size=5``, ``max_len_a=1.2``); ``length_penalty`` and
    ``alpha`` set the penalty kind and exponent of a beam search.
    """
    cfg, path = _decode_config(name_or_path)
    kind, alpha = overrides.pop("length_penalty", None), overrides.pop("alpha", None)
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in cfg:
            raise ValueError(f"{path}: {cfg._target_.rsplit('.', 1)[-1]} has no option {key!r}")
        cfg[key] = value
    if (kind is not None or alpha is not None):
        if "length_penalty" not in cfg:
            raise ValueError(f"{path}: this search has no length penalty")
        if kind is not None:
            cfg.length_penalty.kind = kind
        if alpha is not None:
            cfg.length_penalty.alpha = alpha
    return instantiate(cfg)


@dataclass
class Translation:
    text: str               # detokenised output
    pieces: list[str]       # output pieces (without </s>)
    src_pieces: list[str]   # source pieces
    score: float            # length-penalised ranking score
    logprob: float          # model score: summed log-probabilities, </s> included
    attention: torch.Tensor  # (len(pieces) + 1, len(src_pieces)); last row: </s>
    p_gen: list[float] | None = None  # per output step (</s> last), with a copying model: 1 generate, 0 copy


class Translator:
    """A model restored from its experiment dir (config.yaml, lang/, checkpoint_best.pt or _last)."""

    def __init__(self, exp_dir: str | Path, checkpoint: str = "best", device: str = "cpu"):
        self.exp_dir = Path(exp_dir)
        config = self.exp_dir / "config.yaml"
        if not config.is_file():
            raise FileNotFoundError(f"{config}: missing (is {self.exp_dir} a translation experiment dir?)")
        self.cfg = OmegaConf.load(config)
        self.src_tok, self.tgt_tok = load_translation_tokenizers(self.exp_dir / LANG_DIR)
        self.device = torch.device(device)
        self.model = build_seq2seq(self.cfg.model, self.src_tok.vocab_size, self.tgt_tok.vocab_size)
        ckpt = load_model_weights(self.model, self.exp_dir, checkpoint)
        self.model.to(self.device).eval()
        self.epoch = ckpt["epoch"]
        log.info("loaded %s checkpoint of %s (epoch %d)", checkpoint, self.exp_dir, self.epoch)

    def _batches(self, ids: list[list[int]], max_tokens: int, max_sentences: int) -> list[list[int]]:
        """Indices of non-empty sentences, longest first, grouped into batches."""
        order = sorted((i for i in range(len(ids)) if ids[i]), key=lambda i: -len(ids[i]))
        batches, batch = [], []
        for i in order:
            width = len(ids[batch[0]]) if batch else len(ids[i])   # longest first: the first sets the width
            if batch and ((len(batch) + 1) * width > max_tokens or len(batch) >= max_sentences):
                batches.append(batch)
                batch = []
            batch.append(i)
        if batch:
            batches.append(batch)
        return batches

    def _copy_gates(self, batch, outputs: list[list[int]]) -> list[list[float]]:
        """p_gen of each output step of the chosen hypotheses (teacher-forced on them, </s> step included)."""
        forced = make_batch(batch.src.tolist(), outputs)
        _, _, p_gen = self.model.teacher_force(batch.src.to(self.device), batch.src_lengths.to(self.device),
                                               forced.tgt_in.to(self.device))                       # (B, T)
        return [p_gen[k, :len(y) + 1].tolist() for k, y in enumerate(outputs)]

    @torch.no_grad()
    def translate(self, sentences: Sequence[str], search: Search, *, max_tokens: int = 4000,
                  max_sentences: int = 128, progress: bool = False) -> list[Translation]:
        """Translate detokenised sentences; one `Translation` per input, in input order."""
        ids = self.src_tok.encode_batch([s.strip() for s in sentences])
        out: list[Translation | None] = [None] * len(sentences)
        for batch in tqdm(self._batches(ids, max_tokens, max_sentences), desc="translate", leave=False,
                          disable=not progress or None):
            b = make_batch([ids[i] for i in batch])
            nbest = search(self.model, b.src.to(self.device), b.src_lengths.to(self.device))
            p_gen = self._copy_gates(b, [hyps[0].tokens for hyps in nbest]) if self.model.copy else None
            for k, (i, hyps) in enumerate(zip(batch, nbest)):
                best = hyps[0]
                out[i] = Translation(self.tgt_tok.decode(best.tokens), self.tgt_tok.ids_to_pieces(best.tokens),
                                     self.src_tok.ids_to_pieces(ids[i]), best.score, best.logprob,
                                     best.attention, None if p_gen is None else p_gen[k])
        empty = Translation("", [], [], 0.0, 0.0, torch.zeros(1, 0))
        return [t if t is not None else empty for t in out]
