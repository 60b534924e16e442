"""A Hydra multirun over the four acoustic models trains each into its own experiment dir."""
import json

from conftest import PYTHON, run
from omegaconf import OmegaConf

from toolkit.data.alignment import read_ctm
from toolkit.data.datadir import read_token_table


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


def test_trainable_gammatone_learns_from_waveforms_plots_its_filters_and_decodes(tiny_timit, tmp_path):
    """frontend.trainable=true puts the gammatone filterbank inside the model (read from wav.scp):
    its centre frequencies move, `filters.png` is drawn, and the experiment decodes waveforms."""
    import torch

    from toolkit.features.gammatone import Gammatone

    run([str(PYTHON), "-m", "toolkit.bin.train", "model=dnn", "frontend=gammatone", "frontend.trainable=true",
         "trainer.max_epochs=2", "trainer.progress=false", f"data.train={tiny_timit}/data/train",
         f"data.dev={tiny_timit}/data/dev", f"data.lang={tiny_timit}/data/lang"], cwd=tmp_path,
        env={"OMP_NUM_THREADS": "1"})
    exp = tmp_path / "exp" / "dnn_gammatone_frontend.trainable=true"
    assert OmegaConf.load(exp / "config.yaml").features.source == "auto"
    state = torch.load(exp / "checkpoint_best.pt", map_location="cpu", weights_only=False)["model"]
    learned = {k.removeprefix("frontend."): v for k, v in state.items() if k.startswith("frontend.")}
    init = Gammatone(trainable=True).state_dict()
    assert learned.keys() == init.keys() and learned
    assert any(not torch.allclose(learned[k], init[k]) for k in init)   # the filters were trained
    assert (exp / "filters.png").stat().st_size > 10_000

    run([str(PYTHON), "-m", "toolkit.bin.decode", "--exp", str(exp), "--method", "argmax",
         f"{tiny_timit}/data/test", str(exp / "decode_test")], cwd=tmp_path, env={"OMP_NUM_THREADS": "1"})
    hyps = (exp / "decode_test" / "hyp.txt").read_text().splitlines()
    assert len(hyps) == len((tiny_timit / "data" / "test" / "text").read_text().splitlines())


def test_a_learning_frontend_with_per_speaker_cmn_trains_resumes_decodes_and_aligns(tiny_timit, tmp_path):
    """features.speaker_cmn_in_model=true: the speakers' means of the learnable mel frontend's output are
    computed before training, again for every epoch (train) and every evaluation (dev) once the frontend
    has changed, and by decoding and forced alignment for their speakers under the trained frontend; a
    resumed run recomputes them from its checkpoint."""
    exp = tmp_path / "exp" / "spk_cmn"
    train = [str(PYTHON), "-m", "toolkit.bin.train", "model=dnn", "model.hidden_dim=64", "frontend=learnable_mel",
             "loss=ctc", "optim.lr=4e-3", "features.speaker_cmn_in_model=true", "trainer.progress=false",
             f"exp_dir={exp}", f"data.train={tiny_timit}/data/train", f"data.dev={tiny_timit}/data/dev",
             f"data.lang={tiny_timit}/data/lang"]
    env = {"OMP_NUM_THREADS": "1"}
    run([*train, "trainer.max_epochs=1"], cwd=tmp_path, env=env)
    log_text = (exp / "train.log").read_text()
    train_speakers = len((tiny_timit / "data" / "train" / "spk2utt").read_text().splitlines())
    # Once for training and once for evaluation: epoch 1 uses the set-up's (the frontend has not moved yet).
    assert log_text.count(f"{train_speakers} speakers of {tiny_timit}/data/train") == 1
    assert log_text.count(f"of {tiny_timit}/data/dev") == 1
    assert "global normaliser only" not in log_text

    run([*train, "trainer.max_epochs=2"], cwd=tmp_path, env=env)                          # resumes at epoch 2
    log_text = (exp / "train.log").read_text()
    # The resumed run computes them once it has the checkpoint's weights: for epoch 2 and its evaluation.
    assert "resumed from" in log_text and log_text.count(f"speakers of {tiny_timit}/data/train") == 2
    assert log_text.count(f"of {tiny_timit}/data/dev") == 2
    history = json.loads((exp / "history.json").read_text())
    assert len(history) == 2 and history[1]["dev_loss"] < history[0]["dev_loss"]                    # it learns

    test = tiny_timit / "data" / "test"
    decode = run([str(PYTHON), "-m", "toolkit.bin.decode", "--exp", str(exp), "--method", "ctc_greedy", str(test),
                  str(exp / "decode_test")], cwd=tmp_path, env=env)
    assert f"speakers of {test}" in decode.stderr + decode.stdout
    hyps = (exp / "decode_test" / "hyp.txt").read_text().splitlines()
    text = read_token_table(test / "text")
    assert len(hyps) == len(text)

    align = run([str(PYTHON), "-m", "toolkit.bin.ctc_align", "--exp", str(exp), str(test), str(tmp_path / "test_ali")],
                cwd=tmp_path, env=env)
    assert f"speakers of {test}" in align.stderr + align.stdout
    ctm = read_ctm(tmp_path / "test_ali" / "phones.ctm")
    assert len(ctm) > len(text) // 2 and all([p for _, _, p in ctm[u]] == text[u] for u in ctm)
