"""Stale outputs are never reused silently: every stage records what it was made from (a fingerprint),
data preparation and features are made again when their inputs changed, and training refuses to resume
a run with other settings or data, naming what changed."""
import json
import os
import shutil
import subprocess
from pathlib import Path

from conftest import PYTHON, ROOT, run
from toolkit.data.inputs import data_dir_files
from toolkit.utils import fingerprint

RUN_SH = str(ROOT / "recipes" / "timit" / "run.sh")
ENV = {"OMP_NUM_THREADS": "1"}
SMALL_DNN = ["--model", "dnn", "model.hidden_dim=64", "model.num_layers=2", "data.max_frames=2000"]


def hydra_training(exp: Path, *overrides) -> list:
    """The training of the recipe's stage 3 with SMALL_DNN, started the Hydra way (one process less)."""
    return [PYTHON, "-m", "toolkit.bin.train", "model=dnn", f"exp_dir={exp}", "trainer.progress=false",
            *(o for o in SMALL_DNN if "=" in o), *overrides]


def call(cmd: list, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **ENV})


# ---------------------------------------------------------------- the fingerprint itself

def test_small_files_are_known_by_content_large_ones_by_size_and_time(tmp_path, monkeypatch):
    text = tmp_path / "text"
    text.write_text("u1 a b\n")
    fp = fingerprint.fingerprint({"text": text})
    os.utime(text, ns=(1, 1))                      # rewritten with the same bytes: still the same input
    assert fingerprint.compare(fp, fingerprint.fingerprint({"text": text})) == []
    text.write_text("u1 a c\n")
    assert fingerprint.compare(fp, fingerprint.fingerprint({"text": text})) == ["text changed"]

    monkeypatch.setattr(fingerprint, "SMALL", 4)   # now too big to hash: size and mtime decide
    big = fingerprint.fingerprint({"text": text})
    assert set(big["files"]["text"]) == {"path", "size", "mtime_ns"}
    os.utime(text, ns=(2, 2))
    assert fingerprint.compare(big, fingerprint.fingerprint({"text": text})) == ["text changed"]


def test_changes_are_named_by_config_key_and_file(tmp_path):
    for name in ("text", "feats.scp", "utt2spk"):
        (tmp_path / name).write_text(name)
    old = fingerprint.fingerprint({f"data.train/{n}": tmp_path / n for n in ("text", "feats.scp")},
                                  {"optim": {"lr": 1e-3, "_target_": "Adam"}, "seed": 1})
    (tmp_path / "text").write_text("other")
    new = fingerprint.fingerprint({f"data.train/{n}": tmp_path / n for n in ("text", "utt2spk")},
                                  {"optim": {"lr": 5e-4, "_target_": "Adam"}, "loss": "ctc", "seed": 1})
    assert fingerprint.compare(old, new) == [
        'loss: (unset) -> "ctc"', "optim.lr: 0.001 -> 0.0005",
        "data.train changed (feats.scp no longer read, text, utt2spk new)"]

    assert fingerprint.check(tmp_path, new) is None            # no record yet
    fingerprint.write(tmp_path, new)
    assert fingerprint.check(tmp_path, new) == []
    assert fingerprint.check(tmp_path, old) == fingerprint.compare(new, old)
    assert fingerprint.changed_files(fingerprint.load(tmp_path)) == []
    (tmp_path / "utt2spk").write_text("changed")
    assert fingerprint.changed_files(fingerprint.load(tmp_path)) == ["data.train changed (utt2spk)"]


def test_a_dump_dirs_inputs_include_the_archives_its_scp_files_name(tiny_timit):
    dump = tiny_timit / "dump" / "fbank" / "dev"
    files = data_dir_files(dump)
    assert {"feats.scp", "cmvn.scp", "text", "frontend.yaml", ".fingerprint.json", "cmvn.ark"} <= set(files)
    assert any(name.startswith("data/feats.") and name.endswith(".ark") for name in files)
    assert not any(name.startswith(".") and not name.startswith(".fingerprint") for name in files)


# ---------------------------------------------------------------- the stale scenarios

def test_resuming_with_other_settings_is_refused(timit_work):
    """Same --exp-tag, another optim.lr: refused naming the key (not resumed with the old settings while
    config.yaml records the new); raising trainer.max_epochs continues; --overwrite true starts over.
    Decoding features extracted with other frontend settings than the model's is refused too."""
    stage3 = [RUN_SH, "--stage", "3", "--stop-stage", "3", "--exp-tag", "_mine", *SMALL_DNN]
    exp = timit_work / "exp" / "dnn_fbank_mine"
    run(hydra_training(exp, "optim.lr=1e-3", "trainer.max_epochs=1"), cwd=timit_work, env=ENV)
    before = (exp / "checkpoint_last.pt").stat().st_mtime_ns

    refused = call([*stage3, "optim.lr=5e-4", "trainer.max_epochs=1"], timit_work)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "optim.lr: 0.001 -> 0.0005" in refused.stderr, refused.stderr[-2000:]
    assert "--exp-tag" in refused.stderr and "--overwrite true" in refused.stderr
    assert (exp / "checkpoint_last.pt").stat().st_mtime_ns == before
    assert "lr: 0.001" in (exp / "config.yaml").read_text()     # the record still tells the truth

    # What does not change the model may change: more epochs continue the run, with or without progress bars.
    run(hydra_training(exp, "optim.lr=1e-3", "trainer.max_epochs=2", "trainer.log_interval=7"), cwd=timit_work, env=ENV)
    assert len(json.loads((exp / "history.json").read_text())) == 2

    run([*stage3, "--overwrite", "true", "optim.lr=5e-4", "trainer.max_epochs=1"], cwd=timit_work, env=ENV)
    assert len(json.loads((exp / "history.json").read_text())) == 1
    assert fingerprint.load(exp)["config"]["optim.lr"] == 5e-4

    # Decoding refuses features extracted with other frontend settings than the model's.
    test24 = timit_work / "dump" / "fbank" / "test24"
    shutil.copytree(timit_work / "dump" / "fbank" / "test", test24)
    frontend = test24 / "frontend.yaml"
    frontend.write_text(frontend.read_text().replace("num_mel_bins: 40", "num_mel_bins: 24"))
    proc = call([PYTHON, "-m", "toolkit.bin.decode", "--exp", exp, "--method", "argmax", test24, timit_work / "out"],
                timit_work)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert f"{frontend}: the features in {test24} were extracted with other frontend settings" in proc.stderr
    assert "num_mel_bins: 24 vs 40" in proc.stderr


def test_another_corpus_in_the_same_work_dir(timit_work, tiny_timit):
    """`./run.sh --timit OTHER` after a run on the embedded corpus: data/ is prepared again, the features
    extracted again, and training refuses (its training data changed) instead of decoding the new
    corpus with the old model and printing a PER table. Decoding with the old model says so."""
    exp = timit_work / "exp" / "dnn_fbank_c"
    run(hydra_training(exp, "trainer.max_epochs=1"), cwd=timit_work, env=ENV)   # as the recipe's stage 3 trains
    assert (exp / "checkpoint_best.pt").is_file()

    other = timit_work / "OTHER"
    shutil.copytree(tiny_timit / "corpus" / "mini_timit", other)
    dropped = sorted(p for p in (other / "TRAIN").glob("*/*") if p.is_dir())[0]
    shutil.rmtree(dropped)                                        # one training speaker fewer
    proc = call([RUN_SH, "--timit", other, "--stage", "1", "--stop-stage", "5", "--nj", "1", "--exp-tag", "_c",
                 *SMALL_DNN, "trainer.max_epochs=1"], timit_work)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "the corpus changed since data was prepared" in proc.stderr, proc.stderr[-3000:]
    assert dropped.name.lower() not in (timit_work / "data" / "train" / "utt2spk").read_text()
    assert "dump/fbank/train: its inputs changed since it was extracted from data/train" in proc.stderr
    assert dropped.name.lower() not in (timit_work / "dump" / "fbank" / "train" / "feats.scp").read_text()
    assert f"{exp.relative_to(timit_work)} holds a run with other settings or data (" in proc.stderr
    assert "data.train changed (" in proc.stderr
    assert "PER" not in proc.stdout and not list(exp.glob("decode_*"))

    # Preparation and features of the same corpus again: up to date, nothing is rewritten.
    feats_scp = timit_work / "dump" / "fbank" / "test" / "feats.scp"
    before = feats_scp.stat().st_mtime_ns
    for cmd, message in [(["prepare_timit", "--timit", other, "--out", "data"], "data is up to date"),
                         (["extract_feats", "--frontend", "fbank", "data/test", "dump/fbank/test"],
                          "dump/fbank/test is up to date"),
                         (["compute_cmvn", "dump/fbank/test"], "dump/fbank/test/cmvn.scp is up to date")]:
        assert message in run([PYTHON, "-m", f"toolkit.bin.{cmd[0]}", *cmd[1:]], cwd=timit_work, env=ENV).stderr
    assert feats_scp.stat().st_mtime_ns == before
    # Features without a record (an older toolkit, an interrupted run) are made again, and the log says why.
    fingerprint.remove(feats_scp.parent)
    proc = run([PYTHON, "-m", "toolkit.bin.extract_feats", "--frontend", "fbank", "data/test", "dump/fbank/test"],
               cwd=timit_work, env=ENV)
    assert "dump/fbank/test: no record of what its features were made from" in proc.stderr
    assert fingerprint.load(feats_scp.parent) is not None   # recorded again
    run([PYTHON, "-m", "toolkit.bin.compute_cmvn", "dump/fbank/test"], cwd=timit_work, env=ENV)

    # Decoding the new corpus with the old model is allowed, but said.
    out = timit_work / "decoded"
    proc = run([PYTHON, "-m", "toolkit.bin.decode", "--exp", exp, "--method", "argmax", "dump/fbank/test", out],
               cwd=timit_work, env=ENV)
    assert "was trained on data that has changed since (data.dev changed (" in proc.stderr
    assert json.loads((out / "decode.json").read_text())["training_inputs_changed_since"]
