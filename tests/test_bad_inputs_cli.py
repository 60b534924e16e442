"""Command-line misuse through the real recipes and entry points: each case must fail before any work,
with exit status != 0, one line naming the problem (and what to do), and no Python traceback."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import PYTHON, ROOT

RUN_SH = str(ROOT / "recipes" / "timit" / "run.sh")
ASR_SH = str(ROOT / "recipes" / "TEMPLATE" / "asr.sh")


def call(cmd: list, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def read_only_dir(tmp_path: Path) -> Path:
    """A dir nobody may write to: a chmod 555 one, or (root ignores modes) the read-only /sys."""
    d = tmp_path / "read_only"
    d.mkdir()
    d.chmod(0o555)
    for candidate in (d, Path("/sys")):
        try:
            (candidate / ".probe").touch()
            (candidate / ".probe").unlink()
        except OSError:
            return candidate
    pytest.skip("no read-only dir available")


def _training(tiny_timit: Path, *overrides) -> list:
    return [PYTHON, "-m", "toolkit.bin.train", "model=dnn", f"data.train={tiny_timit}/dump/fbank/train",
            f"data.dev={tiny_timit}/dump/fbank/dev", f"data.lang={tiny_timit}/data/lang", *overrides]


# Each case: (tmp_path) -> (command, cwd, strings stderr must hold); it runs in an empty work dir unless
# it makes its own, which must stay empty (nothing synthesized, extracted or trained).

def lr_not_a_number(tmp):
    return _recipe(tmp, "--model", "dnn", "optim.lr=abc"), tmp, ["optim.lr=abc", "must be a number"]


def lr_not_a_number_hydra(tmp):
    return ([PYTHON, "-m", "toolkit.bin.train", "model=dnn", "optim.lr=abc"], tmp,
            ["optim.lr=abc", "must be a number"])


def unknown_frontend(tmp):
    return _recipe(tmp, "--frontend", "foo"), tmp, ["frontend/foo", "available: fbank"]


def stage_out_of_range(tmp):
    return [RUN_SH, "--stage", "9"], tmp, ["--stage 9", "0-5"]


def stage_not_a_number(tmp):
    return [RUN_SH, "--stage", "abc"], tmp, ["--stage abc: not a stage number"]


def stop_before_start(tmp):
    return [RUN_SH, "--stage", "3", "--stop-stage", "2"], tmp, ["nothing would run"]


def translation_model_for_asr(tmp):
    return _recipe(tmp, "--model", "seq2seq_gru"), tmp, ["not an acoustic model", "model=bilstm"]


def zero_epochs(tmp):
    return _recipe(tmp, "trainer.max_epochs=0"), tmp, ["trainer.max_epochs=0", ">= 1"]


def unknown_decode_method(tmp):
    return [ASR_SH, "--stage", "4", "--decode-method", "beam"], tmp, ["--decode-method beam"]


def read_only_work_dir(tmp):
    return [RUN_SH, "--corpus-size", "tiny"], read_only_dir(tmp.parent), ["not writable"]


def read_only_output(tmp):
    out = read_only_dir(tmp.parent) / "corpus"
    return [PYTHON, "-m", "toolkit.bin.make_mini_timit", "--size", "tiny", "--out", out], tmp, [f"{out.parent}/"]


def _recipe(tmp, *args):
    """run.sh from stage 0: a bad option must stop it before the corpus is synthesized."""
    return [RUN_SH, "--corpus-size", "tiny", *args]


CASES = [lr_not_a_number, lr_not_a_number_hydra, unknown_frontend, stage_out_of_range, stage_not_a_number,
         stop_before_start, translation_model_for_asr, zero_epochs, unknown_decode_method, read_only_work_dir,
         read_only_output]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_misuse_fails_early_with_one_line(tmp_path, case):
    work = tmp_path / "work"
    work.mkdir()
    cmd, cwd, expected = case(work)
    proc = call(cmd, cwd)
    assert proc.returncode != 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    for text in expected:
        assert text in proc.stderr, (text, proc.stderr[-2000:])
    errors = [line for line in proc.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, proc.stderr[-2000:]
    assert sorted(p.name for p in work.iterdir()) == [], "work was done before the check"


def test_options_may_follow_hydra_overrides(tmp_path):
    """Recipes take `--foo` options anywhere among the Hydra overrides; `--` ends the options."""
    proc = call([ASR_SH, "optim.lr=1e-3", "--model", "dnn", "trainer.max_epochs=3", "--print-exp-dir", "true"],
                tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "exp/dnn_fbank_optim.lr=1e-3"
    proc = call([ASR_SH, "--print-exp-dir", "true", "--", "--config-dir"], tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip().startswith("exp/bilstm_fbank_")   # positional after --
    proc = call([ASR_SH, "optim.lr=1e-3", "--no-such-option", "1"], tmp_path)
    assert proc.returncode != 0 and "unknown option --no-such-option" in proc.stderr


@pytest.mark.parametrize("recipe", ["timit", "speechocean762", "translation", "summarization"])
def test_every_recipe_takes_the_overwrite_option_a_refused_resume_names(recipe, tmp_path):
    """A run refused for other settings says: start over with --overwrite true (recipes)."""
    proc = call([ROOT / "recipes" / recipe / "run.sh", "--overwrite", "true", "--help"], tmp_path)
    assert proc.returncode == 0 and "unknown option" not in proc.stderr
    assert "--overwrite" in proc.stdout


def test_unknown_phone_in_dev_text_fails_before_training(tiny_timit, tmp_path):
    dev = tmp_path / "dev"
    shutil.copytree(tiny_timit / "dump" / "fbank" / "dev", dev)
    lines = (dev / "text").read_text().splitlines()
    utt, *phones = lines[1].split()
    lines[1] = " ".join([utt, *phones[:2], "zz", *phones[3:]])
    (dev / "text").write_text("\n".join(lines) + "\n")
    proc = call(_training(tiny_timit, f"data.dev={dev}", "trainer.max_epochs=1"), tmp_path)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert f"{dev}/text:2 ({utt}): unknown symbol 'zz'" in proc.stderr, proc.stderr[-2000:]
    assert "epoch 1" not in proc.stderr + proc.stdout   # found before training, not after an epoch
    assert not (tmp_path / "exp").exists()              # and no experiment dir left behind


def test_test_set_without_features_names_the_stages_to_run(tiny_timit, tmp_path):
    """Stage 4 on a set that stages 1-2 never prepared says which stages make it, before decoding."""
    (tmp_path / "data").mkdir()
    for name in ("train", "dev", "test", "lang"):
        (tmp_path / "data" / name).symlink_to(tiny_timit / "data" / name)
    (tmp_path / "dump").symlink_to(tiny_timit / "dump")
    proc = call([ASR_SH, "--stage", "4", "--test-sets", "dev mine"], tmp_path)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "data/mine: no such data dir" in proc.stderr and "stages 0-1" in proc.stderr, proc.stderr[-2000:]
    shutil.copytree(tiny_timit / "data" / "test", tmp_path / "data" / "mine")   # prepared, not extracted
    proc = call([ASR_SH, "--stage", "4", "--test-sets", "dev mine"], tmp_path)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "dump/fbank/mine: no features of data/mine" in proc.stderr and "--stage 2" in proc.stderr
