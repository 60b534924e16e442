"""Training objectives of acoustic models, as `Task`s for the trainer.

`FrameCETask`: per-frame cross-entropy against phone alignments (the hybrid recipe). Its dev
metric is the phone error rate of a quick greedy decode (frame argmax, repeats collapsed),
scored after the scoring fold (e.g. TIMIT 48 -> 39), so checkpoint_best is chosen by dev PER.
"""
from typing import Iterable, Mapping

import torch
from torch import nn
from torch.nn import functional as F

from toolkit.data.asr_dataset import IGNORE
from toolkit.data.symbols import SymbolTable
from toolkit.decoding.frame_viterbi import argmax_collapse
from toolkit.scoring.per import score


class FrameCETask:
    metric, mode = "per", "min"

    def __init__(self, symbols: SymbolTable, references: Mapping[str, list[str]],
                 score_map: Mapping[str, str | None] | None = None, label_smoothing: float = 0.0):
        self.symbols, self.references, self.score_map = symbols, references, score_map
        self.label_smoothing = label_smoothing

    def _summed_ce(self, logits: torch.Tensor, batch: dict, smoothing: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Summed cross-entropy over real frames, and the frame targets cut to the logits' length."""
        target = batch["target"][:, :logits.shape[1]]                      # (B, T)
        loss = F.cross_entropy(logits.transpose(1, 2).float(), target, ignore_index=IGNORE, reduction="sum",
                               label_smoothing=smoothing)
        return loss, target

    def loss(self, model: nn.Module, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        logits, _ = model(batch["input"], batch["input_lengths"])           # (B, T, V)
        loss_sum, target = self._summed_ce(logits, batch, self.label_smoothing)
        frames = int((target != IGNORE).sum())
        return loss_sum / max(frames, 1), {"loss": loss_sum.item(), "count": frames}

    def evaluate(self, model: nn.Module, batches: Iterable[dict]) -> dict[str, float]:
        total, frames, correct, hyps = 0.0, 0, 0, {}
        for batch in batches:
            logits, lengths = model(batch["input"], batch["input_lengths"])
            loss_sum, target = self._summed_ce(logits, batch, 0.0)
            total += float(loss_sum)
            valid = target != IGNORE
            frames += int(valid.sum())
            correct += int(((logits.argmax(-1) == target) & valid).sum())
            log_post = logits.float().log_softmax(-1)
            for utt, lp, n in zip(batch["utts"], log_post, lengths.tolist()):
                hyps[utt] = self.symbols.decode(argmax_collapse(lp[:n]))
        refs = {u: self.references[u] for u in hyps}
        report = score(refs, hyps, token_map=self.score_map)
        return {"loss": total / max(frames, 1), "frame_acc": correct / max(frames, 1), "per": report.totals.err}
