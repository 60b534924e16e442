"""Faults that must never pass silently: NaN/inf audio and features, a NaN dev metric, epochs or runs in
which steps keep failing, a kill between the best and last checkpoint writes, crafted pickles in an
experiment dir, and empty, truncated or corrupt checkpoints."""
import logging
import math
import os
import subprocess
import sys
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile as sf
import torch
from torch import nn

from toolkit.data.asr_dataset import AsrDataset
from toolkit.data.audio import AudioError
from toolkit.data.cmvn import accumulate_cmvn_stats, cmvn_stats, write_cmvn_stats
from toolkit.data.datadir import DataDirError, write_table
from toolkit.data.symbols import BLANK, SymbolTable
from toolkit.features import Fbank, extract_features
from toolkit.models.checkpoint import (BEST, LAST, PREV, CheckpointError, UnsafeCheckpointError, load_checkpoint,
                                       load_model_weights)
from toolkit.training.checkpoint import rng_state, save_checkpoint, set_rng_state
from toolkit.training.trainer import TrainingDiverged
from toy_training import LeastSquares, toy_batches, toy_run, toy_trainer

ROOT = Path(__file__).resolve().parents[1]
SR = 16000

pytestmark = pytest.mark.usefixtures("one_thread")


# ------------------------------------------------------------------ NaN/inf audio and features (item 2)
def make_data_dir(root: Path, nan_utt: str | None = None) -> Path:
    """Two speakers with two float WAVs each; `nan_utt`'s recording has a few NaN samples."""
    rng = np.random.default_rng(0)
    data, utt2spk, wav_scp = root / "data", {}, {}
    (root / "wav").mkdir(parents=True)
    for spk in ("spk1", "spk2"):
        for i in range(2):
            utt = f"{spk}_u{i}"
            x = (0.1 * rng.normal(size=SR // 2)).astype(np.float32)
            if utt == nan_utt:
                x[1000:1010] = np.nan
            sf.write(root / "wav" / f"{utt}.wav", x, SR, subtype="FLOAT")
            utt2spk[utt], wav_scp[utt] = spk, str(root / "wav" / f"{utt}.wav")
    write_table(data / "utt2spk", utt2spk)
    write_table(data / "wav.scp", wav_scp)
    write_table(data / "text", {u: "a b" for u in utt2spk})
    return data


def test_nan_audio_stops_feature_extraction_naming_the_utterance(tmp_path):
    data = make_data_dir(tmp_path, nan_utt="spk1_u1")
    with pytest.raises(AudioError, match=r"spk1_u1\.wav \(utterance spk1_u1\): 10 of 8000 samples are NaN"):
        extract_features(data, tmp_path / "dump", Fbank(num_mel_bins=10, dither=0.0))


def test_cmvn_stats_refuse_non_finite_features_naming_utterance_and_speaker():
    good, bad = np.ones((5, 3), np.float32), np.ones((5, 3), np.float32)
    bad[2, 1] = np.inf
    feats = [("spk1_a", good), ("spk1_b", bad)]
    with pytest.raises(ValueError, match=r"utterance spk1_b: .*NaN or infinite.*speaker spk1's CMVN stats"):
        accumulate_cmvn_stats(feats, {"spk1_a": "spk1", "spk1_b": "spk1"})
    with pytest.raises(ValueError, match=r"utterance spk1_b: .*the global CMVN stats"):
        accumulate_cmvn_stats(feats)


def test_dataset_items_with_non_finite_input_name_the_utterance(tmp_path):
    data = make_data_dir(tmp_path, nan_utt="spk2_u0")
    symbols = SymbolTable([BLANK, "a", "b"])
    with pytest.raises(AudioError, match=r"utterance spk2_u0\).*NaN"):
        AsrDataset(data, symbols, source="wav", targets=None)[2]

    # Precomputed features: one utterance with a NaN frame, then one speaker's stats NaN.
    rng = np.random.default_rng(1)
    feats = {u: rng.normal(size=(20, 4)).astype(np.float32) for u in ("spk1_u0", "spk1_u1", "spk2_u0", "spk2_u1")}
    stats = {"spk1": sum(cmvn_stats(feats[u]) for u in ("spk1_u0", "spk1_u1")),
             "spk2": sum(cmvn_stats(feats[u]) for u in ("spk2_u0", "spk2_u1"))}
    feats["spk1_u1"][3, 0] = np.nan
    with kaldiio.WriteHelper(f"ark,scp:{data}/feats.ark,{data}/feats.scp") as writer:
        for utt in sorted(feats):
            writer(utt, feats[utt])
    stats["spk2"][0, 1] = np.nan
    write_cmvn_stats(stats, data / "cmvn.ark")
    dataset = AsrDataset(data, symbols, source="feats", targets=None)
    assert torch.isfinite(dataset[0]["input"]).all()
    with pytest.raises(DataDirError, match=r"feats\.scp: utterance spk1_u1 has NaN or infinite features"):
        dataset[1]
    with pytest.raises(DataDirError, match=r"cmvn\.scp: the CMVN stats of speaker spk2 \(utterance spk2_u0\)"):
        dataset[2]


# ------------------------------------------------------------------ the trainer's counts (item 2)
def test_a_nan_dev_metric_is_never_the_best(tmp_path):
    run = toy_trainer(tmp_path / "a", LeastSquares(dev_metrics=[float("nan"), 2.0, float("nan")]))
    history = run.fit(toy_batches([False] * 2), toy_batches([False]))
    assert math.isnan(history[0]["dev_loss"]) and run.best == 2.0
    assert load_checkpoint(tmp_path / "a" / BEST)["epoch"] == 2

    never = toy_trainer(tmp_path / "b", LeastSquares(dev_metrics=[float("nan"), float("inf"), float("nan")]))
    with pytest.raises(TrainingDiverged, match=r"no epoch gave a finite dev loss .*so there is no checkpoint_best"):
        never.fit(toy_batches([False] * 2), toy_batches([False]))
    assert not (tmp_path / "b" / BEST).exists()


def test_an_epoch_in_which_every_step_was_skipped_fails(tmp_path, caplog):
    run = toy_trainer(tmp_path, max_bad_steps=20)
    with caplog.at_level(logging.WARNING), \
            pytest.raises(TrainingDiverged, match=r"epoch 1: all 3 training steps were skipped .*nothing was learned"):
        run.fit(toy_batches([True] * 3), toy_batches([False]))
    assert not (tmp_path / LAST).exists() and not (tmp_path / BEST).exists()
    with pytest.raises(TrainingDiverged, match="epoch 1: the training data gave no batches"):
        toy_trainer(tmp_path / "empty").fit([], toy_batches([False]))


def test_skipped_steps_are_limited_over_the_run_across_a_resume(tmp_path):
    train = toy_batches([True, False, False])  # one skipped step per epoch, never two in a row
    first = toy_trainer(tmp_path, max_epochs=2, max_bad_steps=5, max_bad_steps_total=2)
    first.fit(train, toy_batches([False]))
    assert first.bad_steps == 2 and load_checkpoint(tmp_path / LAST)["bad_steps"] == 2

    resumed = toy_trainer(tmp_path, max_epochs=3, max_bad_steps=5, max_bad_steps_total=2)
    with pytest.raises(TrainingDiverged, match=r"3 steps skipped .*more than trainer\.max_bad_steps_total=2"):
        resumed.fit(train, toy_batches([False]))
    assert resumed.epoch == 2  # the third epoch never finished


# ------------------------------------------------------------------ kill between the two writes (item 6)
TRAIN_SCRIPT = """
import os, sys, torch
sys.path.insert(0, TESTS_DIR)
from toy_training import toy_run

exp, kill_epoch = sys.argv[1], int(sys.argv[2])
real_save, saved = torch.save, []

def save(obj, f, *args, **kwargs):  # exit when a second checkpoint of `kill_epoch` is about to be written
    if isinstance(obj, dict) and obj.get("epoch") == kill_epoch:
        saved.append(obj["epoch"])
        if len(saved) == 2:
            os._exit(17)
    real_save(obj, f, *args, **kwargs)

torch.save = save
torch.set_num_threads(1)
toy_run(exp)
"""


@pytest.mark.parametrize("kill_epoch", [2, 3])
def test_a_kill_between_the_checkpoint_writes_leaves_best_consistent(tmp_path, kill_epoch):
    toy_run(tmp_path / "straight")
    exp = tmp_path / "killed"
    script = tmp_path / "train_toy.py"
    script.write_text(TRAIN_SCRIPT.replace("TESTS_DIR", repr(str(Path(__file__).parent))))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(script), str(exp), str(kill_epoch)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 17, proc.stderr[-3000:]  # killed between the two writes of epoch `kill_epoch`
    toy_run(exp)                                        # resumed

    last, best = load_checkpoint(exp / LAST), load_checkpoint(exp / BEST)
    history = last["history"]
    losses = [h["dev_loss"] for h in history]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert losses == sorted(losses, reverse=True)  # every epoch improved, the killed one included
    best_epoch = min(history, key=lambda h: h["dev_loss"])["epoch"]
    assert best["epoch"] == best_epoch == 3 and best["best"] == last["best"] == min(losses)
    reference = load_checkpoint(tmp_path / "straight" / BEST)
    assert all(torch.equal(best["model"][k], reference["model"][k]) for k in reference["model"])
    assert all(torch.equal(last["model"][k], reference["model"][k]) for k in reference["model"])
    assert [h["dev_loss"] for h in reference["history"]] == losses


def test_checkpoints_left_by_an_earlier_run_are_never_resumed_from(tmp_path):
    toy_trainer(tmp_path, max_epochs=3).fit(toy_batches([False] * 2), toy_batches([False]))
    (tmp_path / LAST).unlink()  # a user restarts the run by removing its last checkpoint
    fresh = toy_trainer(tmp_path, LeastSquares(dev_metrics=[float("nan")]), max_epochs=1)
    with pytest.raises(TrainingDiverged, match="no epoch gave a finite dev loss"):
        fresh.fit(toy_batches([False] * 2), toy_batches([False]))
    assert not (tmp_path / PREV).exists() and load_checkpoint(tmp_path / BEST)["epoch"] == 3  # the earlier run's

    resumed = toy_trainer(tmp_path, max_epochs=2)
    history = resumed.fit(toy_batches([False] * 2), toy_batches([False]))
    assert len(history) == 2 and math.isnan(history[0]["dev_loss"])  # continued the fresh run
    assert load_checkpoint(tmp_path / BEST)["epoch"] == 2


# ------------------------------------------------------------------ pickles (item 7)
class RunsCode:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_checkpoint_holding_a_pickle_that_runs_code_is_refused(tmp_path):
    marker = tmp_path / "marker"
    exp = tmp_path / "exp"
    exp.mkdir()
    for name in (LAST, BEST):
        torch.save({"model": RunsCode(marker), "epoch": 9}, exp / name)
    with pytest.raises(UnsafeCheckpointError, match=r"checkpoint_last\.pt: refused to load: .*system"):
        load_checkpoint(exp / LAST)
    with pytest.raises(UnsafeCheckpointError, match=r"checkpoint_last\.pt: refused to load"):
        toy_trainer(exp).fit(toy_batches([False]), toy_batches([False]))       # resuming
    with pytest.raises(UnsafeCheckpointError, match=r"checkpoint_best\.pt: refused to load"):
        load_model_weights(nn.Linear(2, 1), exp)                  # decoding
    assert not marker.exists()


def test_checkpoints_hold_only_plain_values_and_restore_every_random_state(tmp_path):
    toy_trainer(tmp_path, max_epochs=1, scheduler=True).fit(toy_batches([False] * 2), toy_batches([False]))
    ckpt = torch.load(tmp_path / LAST, weights_only=True)
    assert ckpt["epoch"] == 1 and ckpt["scheduler"]["epochs"] == 1

    import random
    random.seed(1), np.random.seed(2), torch.manual_seed(3), np.random.normal()  # numpy caches a gaussian
    save_checkpoint(tmp_path / "rng.pt", model={}, rng=rng_state(), metric=np.float64(0.5))
    expected = (random.random(), np.random.normal(), np.random.rand(), torch.rand(2))
    loaded = load_checkpoint(tmp_path / "rng.pt")
    assert type(loaded["metric"]) is float
    set_rng_state(loaded["rng"])
    got = (random.random(), np.random.normal(), np.random.rand(), torch.rand(2))
    assert got[:3] == expected[:3] and torch.equal(got[3], expected[3])

    with pytest.raises(TypeError, match=r"checkpoint\['scheduler'\]\['milestones'\] is a builtins\.set"):
        save_checkpoint(tmp_path / "bad.pt", model={}, scheduler={"milestones": {1, 2}})
    assert not (tmp_path / "bad.pt").exists()


# ------------------------------------------------------------------ broken checkpoints (item 11)
def damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    path.write_bytes({"empty": b"", "truncated": data[:len(data) // 2], "garbage": b"\x80\x02garbage" * 50}[how])


@pytest.mark.parametrize("how", ["empty", "truncated", "garbage"])
def test_a_broken_last_checkpoint_falls_back_to_the_previous_one(tmp_path, caplog, how):
    # Dev loss as a metric better high: checkpoint_best stays at epoch 1, so the fallback must be prev.
    task = lambda: LeastSquares(mode="max")  # noqa: E731
    straight = toy_trainer(tmp_path / "straight", task())
    straight.fit(toy_batches([False] * 2), toy_batches([False]))
    exp = tmp_path / "exp"
    toy_trainer(exp, task(), max_epochs=3).fit(toy_batches([False] * 2), toy_batches([False]))
    assert load_checkpoint(exp / PREV)["epoch"] == 2 and load_checkpoint(exp / BEST)["epoch"] == 1
    damage(exp / LAST, how)

    resumed = toy_trainer(exp, task(), max_epochs=3)
    with caplog.at_level(logging.WARNING):
        resumed.fit(toy_batches([False] * 2), toy_batches([False]))
    assert f"{exp / LAST}: not a readable checkpoint" in caplog.text
    assert f"{exp / LAST} is unreadable: resuming from {exp / PREV} (epoch 2) instead" in caplog.text
    a, b = load_checkpoint(tmp_path / "straight" / LAST), load_checkpoint(exp / LAST)  # repaired
    assert b["epoch"] == 3 and all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])


def test_no_readable_checkpoint_to_resume_from_says_how_to_restart(tmp_path):
    toy_trainer(tmp_path, max_epochs=1).fit(toy_batches([False]), toy_batches([False]))
    damage(tmp_path / LAST, "truncated")
    damage(tmp_path / BEST, "empty")
    with pytest.raises(CheckpointError) as error:
        toy_trainer(tmp_path).fit(toy_batches([False]), toy_batches([False]))
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{tmp_path / LAST}: unreadable")
    assert f"move {tmp_path}/checkpoint_*.pt away" in message


def test_a_broken_best_checkpoint_at_decode_time_is_one_line(tmp_path):
    toy_trainer(tmp_path, max_epochs=1).fit(toy_batches([False]), toy_batches([False]))
    damage(tmp_path / BEST, "truncated")
    with pytest.raises(CheckpointError) as error:
        load_model_weights(nn.Linear(2, 1), tmp_path, "best")
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{tmp_path / BEST}: not a readable checkpoint (truncated")
    assert "--checkpoint last" in message
    assert load_model_weights(nn.Linear(2, 1), tmp_path, "last")["epoch"] == 1
