"""Training objectives of acoustic models, as `Task`s for the trainer.

`FrameCETask`: per-frame cross-entropy against phone alignments (the hybrid recipe).
`CTCTask`: CTC on phone sequences, for corpora without time alignments.
The dev metric of both is the phone error rate of a quick greedy decode, scored after the
scoring fold (e.g. TIMIT 48 -> 39), so checkpoint_best is chosen by dev PER.
"""
import logging
from typing import Iterable, Mapping

import torch
from torch import nn
from torch.nn import functional as F

from toolkit.data.asr_dataset import IGNORE
from toolkit.data.symbols import BLANK, SymbolTable, min_ctc_frames
from toolkit.models.acoustic import acoustic_forward
from toolkit.models.greedy import ctc_greedy_decode
from toolkit.models.greedy import argmax_collapse
from toolkit.scoring.per import score

log = logging.getLogger(__name__)


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

    def _forward(self, model: nn.Module, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        logits, out_lengths = acoustic_forward(model, batch)  # (B, T, V), (B,)
        frames = batch["target_lengths"].to(out_lengths.device)
        if not torch.equal(out_lengths, frames):
            raise ValueError("frame cross-entropy needs one output per labelled frame, but the model returns "
                             f"{out_lengths.tolist()[:4]} frames for {frames.tolist()[:4]} labels (time "
                             "subsampling such as model.time_stride > 1 only works with loss=ctc)")
        return logits, out_lengths

    def loss(self, model: nn.Module, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        logits, _ = self._forward(model, batch)                               # (B, T, V)
        loss_sum, target = self._summed_ce(logits, batch, self.label_smoothing)
        frames = int((target != IGNORE).sum())
        return loss_sum / max(frames, 1), {"loss": loss_sum.item(), "count": frames}

    def evaluate(self, model: nn.Module, batches: Iterable[dict]) -> dict[str, float]:
        total, frames, correct, hyps = 0.0, 0, 0, {}
        for batch in batches:
            logits, lengths = self._forward(model, batch)
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


class CTCTask:
    """Connectionist temporal classification on phone sequences (no alignments needed).

    An utterance whose label sequence cannot fit in the model's output frames is left out of the
    loss and counted (`skipped`), never trained on as an infinite or zeroed loss. The dev metric is
    the PER of greedy CTC decoding.
    """
    metric, mode = "per", "min"

    def __init__(self, symbols: SymbolTable, references: Mapping[str, list[str]],
                 score_map: Mapping[str, str | None] | None = None):
        if symbols.symbols[0] != BLANK:
            raise ValueError(f"CTC symbols must start with the blank {BLANK!r}")
        self.symbols, self.references, self.score_map = symbols, references, score_map
        self.skipped: set[str] = set()

    def _summed_loss(self, logits: torch.Tensor, out_lengths: torch.Tensor, batch: dict):
        targets, target_lengths = batch["target"], batch["target_lengths"]
        feasible = torch.tensor([min_ctc_frames(t[:n]) <= int(m) for t, n, m in
                                 zip(targets.cpu(), target_lengths.tolist(), out_lengths.tolist())],
                                device=logits.device)
        for utt, ok in zip(batch["utts"], feasible.tolist()):
            if not ok and utt not in self.skipped:
                self.skipped.add(utt)
                log.warning("CTC: utterance %s has more labels than its output frames allow; left out of the "
                            "loss (%d such utterance(s) so far)", utt, len(self.skipped))
        if not feasible.any():
            return logits.sum() * 0.0, 0
        log_probs = logits[feasible].float().log_softmax(-1).transpose(0, 1)     # (T, B', V)
        loss = F.ctc_loss(log_probs, targets[feasible].clamp_min(0), out_lengths[feasible],
                          target_lengths[feasible], blank=0, reduction="sum")
        return loss, int(target_lengths[feasible].sum())

    def loss(self, model: nn.Module, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        logits, out_lengths = acoustic_forward(model, batch)      # (B, T', V), (B,)
        loss_sum, tokens = self._summed_loss(logits, out_lengths, batch)
        return loss_sum / max(tokens, 1), {"loss": loss_sum.item(), "count": tokens}

    def evaluate(self, model: nn.Module, batches: Iterable[dict]) -> dict[str, float]:
        total, tokens, hyps = 0.0, 0, {}
        for batch in batches:
            logits, out_lengths = acoustic_forward(model, batch)
            loss_sum, n = self._summed_loss(logits, out_lengths, batch)
            total, tokens = total + float(loss_sum), tokens + n
            for utt, ids in zip(batch["utts"], ctc_greedy_decode(logits.float(), out_lengths, blank=0)):
                hyps[utt] = self.symbols.decode(ids)
        report = score({u: self.references[u] for u in hyps}, hyps, token_map=self.score_map)
        return {"loss": total / max(tokens, 1), "per": report.totals.err, "skipped": float(len(self.skipped))}
