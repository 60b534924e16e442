"""Training objective of attention encoder-decoders, as a `Task` for the trainer.

`TranslationTask`: teacher-forced, label-smoothed cross-entropy per target token (padding
ignored). On dev it reports the unsmoothed per-token negative log-likelihood (``loss``) and
perplexity, and, given a search (needed when BLEU or chrF selects the checkpoint), decodes the dev set with the
configured search and scores the detokenised output with sacrebleu (``bleu``, ``chrf``), so
``checkpoint_best`` is the model with the best dev BLEU (mode max). For summarization the
decoded dev set can be scored with ROUGE-L F1 instead (``metric: rouge``), and with
``coverage_weight`` > 0 the coverage loss of See et al. (2017) is added to the training loss.
"""
from __future__ import annotations

import math
from typing import Iterable

from torch import nn

from toolkit.data.tokenizer import SentencePieceTokenizer
from toolkit.models.seq2seq_search import Search
from toolkit.models.seq2seq import coverage_loss, sequence_loss
from toolkit.scoring.bleu import score_translations
from toolkit.scoring.rouge import score_summaries
from toolkit.training.run import METRIC_MODES as DIRECTIONS

#: The dev metrics that can select checkpoints, with the direction that is better.
METRIC_MODES = {m: DIRECTIONS[m] for m in ("bleu", "chrf", "rouge", "loss", "ppl")}
DECODED_METRICS = ("bleu", "chrf", "rouge")


class TranslationTask:
    def __init__(self, tgt_tokenizer: SentencePieceTokenizer, search: Search | None, *,
                 label_smoothing: float = 0.1, metric: str = "bleu", coverage_weight: float = 0.0):
        if metric not in METRIC_MODES:
            raise ValueError(f"metric must be one of {sorted(METRIC_MODES)}, got {metric!r}")
        if metric in DECODED_METRICS and search is None:
            raise ValueError(f"dev metric {metric!r} needs a search to decode the dev set")
        self.metric, self.mode = metric, METRIC_MODES[metric]
        self.tgt_tokenizer, self.search = tgt_tokenizer, search
        self.label_smoothing, self.coverage_weight = label_smoothing, coverage_weight

    def loss(self, model: nn.Module, batch: dict):
        logits, attention = model(batch["src"], batch["src_lengths"], batch["tgt_in"])  # (B, T, V), (B, T, S)
        out = sequence_loss(logits, batch["tgt_out"], label_smoothing=self.label_smoothing)
        loss = out.loss
        if self.coverage_weight > 0:
            loss = loss + self.coverage_weight * coverage_loss(attention, batch["tgt_out"]) / max(out.tokens, 1)
        return loss, {"loss": out.loss.item() * out.tokens, "count": out.tokens}

    def evaluate(self, model: nn.Module, batches: Iterable[dict]) -> dict[str, float]:
        nll, tokens = 0.0, 0
        hyps: list[str] = []
        refs: list[str] = []
        for batch in batches:
            logits, _ = model(batch["src"], batch["src_lengths"], batch["tgt_in"])
            out = sequence_loss(logits, batch["tgt_out"])
            nll, tokens = nll + float(out.nll), tokens + out.tokens
            if self.search is not None:
                nbest = self.search(model, batch["src"], batch["src_lengths"])
                hyps.extend(self.tgt_tokenizer.decode(h[0].tokens) for h in nbest)
                refs.extend(batch["refs"])
        loss = nll / max(tokens, 1)
        metrics = {"loss": loss, "ppl": math.exp(min(loss, 50.0))}
        if hyps and self.metric == "rouge":
            metrics["rouge"] = score_summaries(hyps, refs).rougeL
        elif hyps:
            score = score_translations(hyps, refs)
            metrics.update(bleu=score.bleu, chrf=score.chrf)
        return metrics
