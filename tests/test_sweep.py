"""A Hydra multirun over the four acoustic models trains each into its own experiment dir."""
import json

from conftest import PYTHON, run
from omegaconf import OmegaConf


def test_multirun_over_all_models(tiny_timit, tmp_path):
    run([str(PYTHON), "-m", "toolkit.bin.train", "-m", "model=dnn,cnn,bilstm,reslstm", "trainer.max_epochs=1",
         "trainer.progress=false", f"data.train={tiny_timit}/dump/fbank/train", f"data.dev={tiny_timit}/dump/fbank/dev",
         f"data.lang={tiny_timit}/data/lang"], cwd=tmp_path, env={"OMP_NUM_THREADS": "1"})
    targets = {}
    for model in ("dnn", "cnn", "bilstm", "reslstm"):
        exp = tmp_path / "exp" / f"{model}_fbank"
        assert len(json.loads((exp / "history.json").read_text())) == 1
        assert (exp / "checkpoint_best.pt").is_file()
        targets[model] = OmegaConf.load(exp / "config.yaml").model._target_
    assert len(set(targets.values())) == 4
