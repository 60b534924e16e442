"""Bad training input: a CTC target longer than its frames is skipped and counted (never a NaN or
infinite loss), a non-finite loss skips its step with a log line, and a persistent one aborts."""
import logging
import math

import pytest
import torch
from torch import nn

from toolkit.data.symbols import SymbolTable
from toolkit.data.symbols import BLANK
from toolkit.training.asr_tasks import CTCTask
from toolkit.training.trainer import TrainingDiverged
from toy_training import toy_batches, toy_trainer

SYMBOLS = SymbolTable([BLANK, "a", "b"])


class FrameLogits(nn.Module):
    """(B, T, 1) inputs -> (B, T, 3) logits; lengths unchanged."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(1, len(SYMBOLS))

    def forward(self, feats, lengths):
        return self.proj(feats), lengths


def ctc_batch(frames: list[int], targets: list[list[str]]) -> dict:
    t_max, l_max = max(frames), max(map(len, targets))
    target = torch.full((len(frames), l_max), -100)
    for i, labels in enumerate(targets):
        target[i, :len(labels)] = torch.tensor(SYMBOLS.encode(labels))
    return {"utts": [f"u{i}" for i in range(len(frames))], "input": torch.randn(len(frames), t_max, 1),
            "input_lengths": torch.tensor(frames), "target": target,
            "target_lengths": torch.tensor([len(t) for t in targets])}


def test_ctc_target_longer_than_frames_is_skipped_and_counted(caplog):
    torch.manual_seed(0)
    model = FrameLogits()
    refs = {"u0": ["a", "b"], "u1": ["a", "b", "a", "b"], "u2": ["a", "a"]}
    task = CTCTask(SYMBOLS, refs)
    # u1: 4 labels in 3 frames; u2: "a a" needs a blank between the repeats, so 3 frames > its 2.
    batch = ctc_batch([4, 3, 2], [refs["u0"], refs["u1"], refs["u2"]])
    with caplog.at_level(logging.WARNING):
        loss, stats = task.loss(model, batch)
    assert torch.isfinite(loss)
    assert task.skipped == {"u1", "u2"}
    assert stats["count"] == 2                       # only u0's labels count
    assert "u1" in caplog.text and "left out of the loss" in caplog.text
    first = {k: v[:1] for k, v in batch.items()}
    first["target"] = first["target"][:, :2]
    alone = CTCTask(SYMBOLS, refs).loss(model, first)[0]
    assert loss.item() == pytest.approx(alone.item(), rel=1e-5)  # the feasible utterance, unchanged
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())

    # A batch with nothing feasible gives a zero loss that still back-propagates, and the count stays.
    nothing, stats = task.loss(model, ctc_batch([1], [["a", "b"]]))
    assert nothing.item() == 0.0 and stats["count"] == 0
    nothing.backward()
    with torch.no_grad():
        metrics = task.evaluate(model.eval(), [batch])
    assert metrics["skipped"] == 3 and math.isfinite(metrics["loss"])


def test_nan_loss_step_is_skipped_and_logged(tmp_path, caplog):
    trainer = toy_trainer(tmp_path, max_epochs=1, max_bad_steps=3)
    with caplog.at_level(logging.WARNING):
        history = trainer.fit(toy_batches([False, True, True, False]), toy_batches([False]))
    assert trainer.step == 2                                   # two good steps taken, two skipped
    assert caplog.text.count("non-finite loss, step skipped") == 2
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    assert math.isfinite(history[-1]["train_loss"])


def test_persistent_nan_loss_aborts_with_a_clear_message(tmp_path):
    trainer = toy_trainer(tmp_path, max_epochs=1, max_bad_steps=3)
    with pytest.raises(TrainingDiverged, match=r"3 consecutive steps with a non-finite loss.*optim\.lr.*max_bad_steps"):
        trainer.fit(toy_batches([False, True, True, True, False]), toy_batches([False]))
    assert trainer.step == 1
