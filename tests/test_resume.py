"""A training run killed with SIGKILL and started again resumes from its last checkpoint and ends
with exactly the model an uninterrupted run gives; training under torchrun (gloo) works on CPU."""
import json
import re
import signal
import subprocess
import time

import torch
from conftest import PYTHON, run


def train_cmd(work, exp, epochs=4):
    return [str(PYTHON), "-m", "toolkit.bin.train", "model=dnn", "model.hidden_dim=64", "model.num_layers=2",
            f"trainer.max_epochs={epochs}", "trainer.progress=false", "scheduler=none", "data.max_frames=1500",
            f"data.train={work}/dump/fbank/train", f"data.dev={work}/dump/fbank/dev", f"data.lang={work}/data/lang",
            f"exp_dir={exp}"]


def test_killed_run_resumes_to_the_same_model(tiny_timit, tmp_path):
    run(train_cmd(tiny_timit, tmp_path / "straight"), cwd=tmp_path)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(train_cmd(tiny_timit, killed), cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline:  # kill it as soon as the second epoch's checkpoint is there
        history = killed / "history.json"
        if history.is_file() and len(json.loads(history.read_text() or "[]")) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    epochs_before_kill = torch.load(killed / "checkpoint_last.pt", weights_only=False)["epoch"]
    assert 2 <= epochs_before_kill < 4

    resumed = run(train_cmd(tiny_timit, killed), cwd=tmp_path)
    assert f"resumed from {killed}/checkpoint_last.pt: {epochs_before_kill} epoch(s) done" in resumed.stdout

    a = torch.load(tmp_path / "straight" / "checkpoint_last.pt", weights_only=False)
    b = torch.load(killed / "checkpoint_last.pt", weights_only=False)
    assert a["epoch"] == b["epoch"] == 4
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name
    assert a["history"][-1]["dev_per"] == b["history"][-1]["dev_per"]


def test_ddp_training_with_torchrun_on_cpu(tiny_timit, tmp_path):
    exp = tmp_path / "ddp"
    cmd = [str(PYTHON), "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
           "-m", "toolkit.bin.train"] + train_cmd(tiny_timit, exp, epochs=2)[3:]
    proc = run(cmd, cwd=tmp_path, env={"OMP_NUM_THREADS": "1"})
    history = json.loads((exp / "history.json").read_text())
    assert len(history) == 2 and history[1]["train_loss"] < history[0]["train_loss"]
    # Both ranks trained (on their halves of the batches) and, holding the same synchronised weights,
    # measured the same dev result.
    dev_results = re.findall(r"epoch 2: train loss \S+ \| dev (.*?) \|", proc.stdout + proc.stderr)
    assert len(dev_results) == 2 and dev_results[0] == dev_results[1]
