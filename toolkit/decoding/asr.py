"""Decode a data dir with a trained acoustic model: frame log-posteriors -> phone sequences.

`viterbi` searches the phone loop with a phone bigram (hybrid decoding: posteriors divided by
the training priors); `argmax` takes the best phone per frame and merges repeats. CTC models use
`ctc_beam` (prefix beam search, optionally with the bigram) or `ctc_greedy`. The LM weight and
phone insertion penalty can be tuned on a dev set: the grid and its PERs are logged.
"""
import itertools
import logging
from pathlib import Path

import torch
from omegaconf import OmegaConf
from torch.nn.utils.rnn import pad_sequence
from tqdm import tqdm

from toolkit.data.asr_dataset import AsrDataset, dataset_from_spec, loader_from_config
from toolkit.data.feature_spec import FeatureSpec
from toolkit.data.symbols import BLANK, SymbolTable
from toolkit.decoding.ctc import ctc_prefix_beam_search
from toolkit.models.greedy import ctc_greedy_decode
from toolkit.decoding.frame_viterbi import viterbi_decode
from toolkit.models.greedy import argmax_collapse
from toolkit.decoding.phone_lm import PhoneBigramLM
from toolkit.models.acoustic import AcousticModel, acoustic_forward, attach_speaker_means, build_acoustic_model
from toolkit.scoring.per import read_token_map, score
from toolkit.models.checkpoint import load_model_weights

log = logging.getLogger(__name__)


class TrainedAcousticModel:
    """A model restored from its experiment dir (config.yaml, phones.txt, checkpoint)."""

    def __init__(self, exp_dir: str | Path, checkpoint: str = "best", device: str = "cpu"):
        self.exp_dir = Path(exp_dir)
        self.cfg = OmegaConf.load(self.exp_dir / "config.yaml")
        self.symbols = SymbolTable.load(self.exp_dir / "phones.txt")
        score_map = self.exp_dir / "score.map"
        self.score_map = read_token_map(score_map) if score_map.is_file() else None
        self.device = torch.device(device)
        self.spec = FeatureSpec.from_config(self.cfg)
        self.model: AcousticModel = build_acoustic_model(self.cfg, len(self.symbols), self.spec)
        ckpt = load_model_weights(self.model, self.exp_dir, checkpoint)
        self.model.to(self.device).eval()
        log.info("loaded %s checkpoint of %s (epoch %d)", checkpoint, self.exp_dir, ckpt["epoch"])

    def dataset(self, data_dir: str | Path, targets: str | None) -> AsrDataset:
        """A data dir as the model reads it (features, or waveforms with its speakers' means under the
        trained frontend when it normalises by speaker, as in training)."""
        dataset = dataset_from_spec(self.spec, data_dir, self.symbols, targets=targets)
        if self.model.per_speaker_cmn:
            attach_speaker_means(self.model, dataset, self.cfg)
        return dataset

    @torch.no_grad()
    def log_posteriors(self, data_dir: str | Path) -> dict[str, torch.Tensor]:
        """{utt: (T, V) log-posteriors} for every utterance of a data dir."""
        dataset = self.dataset(data_dir, targets=None)
        out = {}
        for batch in tqdm(loader_from_config(dataset, self.cfg, shuffle=False), desc="forward",
                          leave=False, disable=None):
            batch = {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
            logits, lengths = acoustic_forward(self.model, batch)
            for utt, lp, n in zip(batch["utts"], logits.float().log_softmax(-1).cpu(), lengths.tolist()):
                out[utt] = lp[:n]
        return out


METHODS = ("viterbi", "argmax", "ctc_greedy", "ctc_beam")


def default_method(model: "TrainedAcousticModel") -> str:
    return "ctc_beam" if model.cfg.loss == "ctc" else "viterbi"


def search(log_post: dict[str, torch.Tensor], model: TrainedAcousticModel, *, method: str = "viterbi",
           lm: torch.Tensor | None = None, lm_weight: float = 1.0, insertion_penalty: float = 0.0,
           prior_scale: float = 1.0, min_duration: int = 1, beam_size: int = 8,
           batch_size: int = 32) -> dict[str, list[str]]:
    """Phone sequences from log-posteriors {utt: (T, V)}.

    viterbi / argmax: frame classifiers (hybrid); ctc_greedy / ctc_beam: CTC models (blank = 0).
    lm: (V+1, V+1) bigram matrix (`load_lm_matrix`) for viterbi and ctc_beam; insertion_penalty is
    subtracted per output phone (for CTC, a negative insertion bonus).
    """
    if method not in METHODS:
        raise ValueError(f"unknown decoding method '{method}' ({', '.join(METHODS)})")
    if method == "argmax":
        return {u: model.symbols.decode(argmax_collapse(lp)) for u, lp in log_post.items()}
    utts = list(log_post)
    hyps = {}
    for i in range(0, len(utts), batch_size):  # the searches are vectorised over a batch of utterances
        chunk = utts[i:i + batch_size]
        padded = pad_sequence([log_post[u] for u in chunk], batch_first=True)       # (B, T, V)
        lengths = torch.tensor([len(log_post[u]) for u in chunk])
        if method == "viterbi":
            paths = viterbi_decode(padded, lengths, lm=lm, lm_weight=lm_weight, insertion_penalty=insertion_penalty,
                                   log_prior=model.model.log_priors.cpu(), prior_scale=prior_scale,
                                   min_duration=min_duration)
        elif method == "ctc_greedy":
            paths = ctc_greedy_decode(padded, lengths, blank=0)
        else:
            paths = ctc_prefix_beam_search(padded, lengths, blank=0, beam_size=beam_size, lm=lm,
                                           lm_weight=lm_weight if lm is not None else 0.0,
                                           insertion_bonus=-insertion_penalty)
        hyps.update({u: model.symbols.decode(ids) for u, ids in zip(chunk, paths)})
    return hyps


def tune(log_post: dict[str, torch.Tensor], refs: dict[str, list[str]], model: TrainedAcousticModel,
         lm: torch.Tensor, lm_weights: list[float], penalties: list[float], **search_args) -> tuple[float, float, list]:
    """Grid search of (lm_weight, insertion_penalty) by PER on a dev set; returns the best pair and the grid."""
    grid = []
    for w, p in itertools.product(lm_weights, penalties):
        hyps = search(log_post, model, lm=lm, lm_weight=w, insertion_penalty=p, **search_args)
        per = score({u: refs[u] for u in hyps}, hyps, token_map=model.score_map).totals.err
        grid.append({"lm_weight": w, "insertion_penalty": p, "per": per})
        log.info("tuning: lm_weight %-5g insertion_penalty %-5g -> dev PER %.2f%%", w, p, per)
    best = min(grid, key=lambda g: g["per"])
    return best["lm_weight"], best["insertion_penalty"], grid


def load_lm_matrix(path: str | Path, symbols: SymbolTable) -> torch.Tensor:
    """A phone bigram ARPA file as the (V+1, V+1) matrix the searches take, in the model's symbol
    order (a CTC blank gets -inf rows and columns)."""
    return PhoneBigramLM.load_arpa(path).log_prob_matrix(symbols.symbols, missing=[BLANK]).float()
