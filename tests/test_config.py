"""Configs and names: conf/ ships inside the package (a non-editable install finds it), and experiment
and dump dirs are named in one place, the same for Hydra runs and recipes, safely for kaldiio."""
import re
import shutil
import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from conftest import PYTHON, ROOT, run
from toolkit.bin import names
from toolkit.utils import naming

SAFE = re.compile(r"[A-Za-z0-9._=+/-]+")


def _copy_project(dest):
    """The files a wheel is built from (pip builds in the source tree; never litter the checkout)."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, dest / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "conf", dest / "conf", ignore=ignore)
    shutil.copytree(ROOT / "toolkit", dest / "toolkit", symlinks=True, ignore=ignore)


def test_non_editable_install_finds_its_configs(tmp_path):
    _copy_project(tmp_path / "src")
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--no-build-isolation", "--target", str(site), str(tmp_path / "src")], check=True, timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PYTHONPATH": str(site)}
    where = run([str(PYTHON), "-c", "import toolkit; print(toolkit.__file__)"], cwd=elsewhere, env=env).stdout
    assert where.strip().startswith(str(site))
    asr = OmegaConf.create(run([str(PYTHON), "-m", "toolkit.bin.train", "--cfg", "job", "--resolve"],
                               cwd=elsewhere, env=env).stdout)
    assert asr.task == "asr" and asr.exp_dir == "exp/bilstm_fbank" and asr.data.train == "dump/fbank/train"
    assert asr.frontend._target_ == "toolkit.features.kaldi.Fbank"
    mt = OmegaConf.create(run([str(PYTHON), "-m", "toolkit.bin.train", "--config-name", "translation", "--cfg", "job",
                               "--resolve"], cwd=elsewhere, env=env).stdout)
    assert mt.task == "translation" and mt.exp_dir == "exp/seq2seq_gru_deu-eng"


def _names(capsys, *args) -> str:
    assert names.main(list(args)) == 0
    return capsys.readouterr().out.strip()


def test_train_and_the_recipes_name_dirs_alike(tmp_path, capsys):
    """`python -m toolkit.bin.train` (conf/asr.yaml's resolvers) and `toolkit.bin.names` (asked by the
    recipes) give the same experiment and dump dirs for the same overrides."""
    overrides = ["frontend.seed=3", "optim.lr=1e-3", "frontend.init=random", "trainer.max_epochs=3",
                 "data.lang=elsewhere/lang"]
    cfg = OmegaConf.create(run([str(PYTHON), "-m", "toolkit.bin.train", "--cfg", "job", "--resolve", "model=dnn",
                                "frontend=gammatone", *overrides], cwd=tmp_path).stdout)
    assert cfg.exp_dir == _names(capsys, "exp", "--model", "dnn", "--frontend", "gammatone", "--", *overrides) \
        == "exp/dnn_gammatone_frontend.init=random_frontend.seed=3_optim.lr=1e-3"
    assert cfg.data.train == _names(capsys, "feats", "--frontend", "gammatone", "--", *overrides) + "/train" \
        == "dump/gammatone_frontend.init=random_frontend.seed=3/train"
    mt = OmegaConf.create(run([str(PYTHON), "-m", "toolkit.bin.train", "--config-name", "translation", "--cfg", "job",
                               "--resolve", "model=seq2seq_lstm", "src=eng", "tgt=deu"], cwd=tmp_path).stdout)
    assert mt.exp_dir == _names(capsys, "translation", "--model", "seq2seq_lstm", "--src", "eng", "--tgt", "deu") \
        == "exp/seq2seq_lstm_eng-deu"


def test_names_leave_out_what_does_not_change_the_result():
    assert naming.asr_exp_dir("dnn", "fbank", ["trainer.max_epochs=3", "data.train=a", "exp_dir=x",
                                               "model=dnn", "trainer.progress=false"]) == "exp/dnn_fbank"
    # the batch size changes what is trained: two batch sizes never share (or resume) a dir
    assert naming.asr_exp_dir("dnn", "fbank", ["data.max_frames=800"]) == "exp/dnn_fbank_data.max_frames=800"
    assert naming.asr_exp_dir("dnn", "fbank", ["optim.lr=1"], tag="_mine") == "exp/dnn_fbank_mine"
    assert naming.feats_dir("fbank", ["frontend.trainable=true", "optim.lr=1", "frontend=fbank"]) == "dump/fbank"
    # sorted: the order on the command line does not matter
    assert naming.feats_dir("fbank", ["frontend.num_mel_bins=30", "frontend.frame_shift=12"]) == \
        naming.feats_dir("fbank", ["frontend.frame_shift=12", "frontend.num_mel_bins=30"]) == \
        "dump/fbank_frontend.frame_shift=12_frontend.num_mel_bins=30"


@pytest.mark.parametrize("overrides", [["model.dims=[256,256]"], ["model.name='a b'"], ["+model.path=x/y:z"],
                                       [f"model.v{i}={i}" for i in range(40)]])
def test_names_are_safe_for_kaldiio_and_the_file_system(overrides):
    name = naming.asr_exp_dir("dnn", "fbank", overrides)
    assert SAFE.fullmatch(name) and name.count("/") == 1 and len(name) < 160, name
    # a changed character or a cut name gets a hash of the exact overrides: no two settings share a dir
    other = [o.replace("=", "=1", 1) for o in overrides]
    assert naming.asr_exp_dir("dnn", "fbank", other) != name


def test_unsafe_tags_fail_with_one_line(capsys):
    assert names.main(["exp", "--model", "dnn", "--frontend", "fbank", "--tag", "_my run"]) == 1
    assert "experiment tag '_my run'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="not allowed"):
        naming.translation_exp_dir("m", "deu", "eng", "_a,b")
