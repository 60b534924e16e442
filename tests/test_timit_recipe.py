"""The TIMIT recipe end to end on the tiny embedded corpus: stages 3-5 train a BiLSTM, decode
with the phone bigram and score; the model must beat a trivial baseline by a wide margin."""
import json

from conftest import ROOT, run
from omegaconf import OmegaConf

from toolkit.data.datadir import read_token_table
from toolkit.scoring.per import read_token_map, score


def test_recipe_trains_decodes_and_scores(timit_work):
    proc = run([str(ROOT / "recipes" / "timit" / "run.sh"), "--stage", "3", "--model", "bilstm",
                "trainer.max_epochs=12", "data.max_frames=2000"], cwd=timit_work)
    exp = timit_work / "exp" / "bilstm_fbank_data.max_frames=2000"   # the batch size names the dir
    result = json.loads((exp / "decode_test" / "scoring" / "result.json").read_text())

    # Trivial baseline: the most frequent training phone, once per utterance.
    refs = read_token_table(timit_work / "data" / "test" / "text")
    train_text = read_token_table(timit_work / "data" / "train" / "text")
    phones = [p for seq in train_text.values() for p in seq]
    most_frequent = max(set(phones), key=phones.count)
    fold = read_token_map(timit_work / "data" / "lang" / "score.map")
    baseline = score(refs, {u: [most_frequent] for u in refs}, token_map=fold).totals.err

    assert baseline > 90
    assert result["err"] < 50, result
    assert result["err"] < baseline - 40
    # The report a user reads: the results table, the sclite-style files, the plots.
    assert "| bilstm_fbank_data.max_frames=2000 | test |" in proc.stdout
    for name in ("alignments.txt", "per_spk", "confusions.txt", "summary.txt"):
        assert (exp / "decode_test" / "scoring" / name).stat().st_size > 0
    assert (exp / "learning_curves.png").is_file() and list((exp / "tensorboard").iterdir())
    history = json.loads((exp / "history.json").read_text())
    assert history[-1]["train_loss"] < history[0]["train_loss"] / 3

    # Rerunning training on a finished experiment is a no-op that keeps the results.
    before = (exp / "checkpoint_best.pt").stat().st_mtime_ns
    run([str(ROOT / "recipes" / "timit" / "run.sh"), "--stage", "3", "--stop-stage", "3",
         "trainer.max_epochs=12", "data.max_frames=2000"], cwd=timit_work)
    assert (exp / "checkpoint_best.pt").stat().st_mtime_ns == before


def test_feature_and_experiment_dirs_are_named_after_the_overrides(tmp_path):
    """Frontend overrides get their own feature dump (never another setting's features); the
    experiment dir names every override that changes the model, not data paths or epochs."""
    asr = str(ROOT / "recipes" / "TEMPLATE" / "asr.sh")

    def ask(what, *args):
        return run([asr, f"--print-{what}-dir", "true", "--frontend", "gammatone", *args], cwd=tmp_path).stdout.strip()

    assert ask("feats") == "dump/gammatone"
    assert ask("feats", "frontend.trainable=true") == "dump/gammatone"    # same features at init
    assert ask("feats", "frontend.seed=3", "frontend.init=random", "optim.lr=1") == \
        "dump/gammatone_frontend.init=random_frontend.seed=3"
    assert ask("exp", "--model", "dnn", "trainer.max_epochs=3", "optim.lr=1e-3", "frontend.init=random") == \
        "exp/dnn_gammatone_frontend.init=random_optim.lr=1e-3"
    assert ask("exp", "--model", "dnn", "--exp-tag", "_mine", "optim.lr=1e-3") == "exp/dnn_gammatone_mine"


def test_frontend_overrides_get_their_own_features_and_train(timit_work):
    """Stages 2-3 with two frontend overrides: 24-bin fbank at a 12 ms shift goes to its own dump (the
    40-bin one stays), named without the ',' that kaldiio's ark,scp specifiers split on, and training
    reads it through a path holding '=' (quoted for Hydra)."""
    from kaldiio import load_scp

    overrides = ["frontend.num_mel_bins=24", "frontend.frame_shift=12"]
    run([str(ROOT / "recipes" / "TEMPLATE" / "asr.sh"), "--stage", "2", "--stop-stage", "3", "--model", "dnn",
         "--test-sets", "dev", *overrides, "trainer.max_epochs=1"], cwd=timit_work, env={"OMP_NUM_THREADS": "1"})
    name = "fbank_frontend.frame_shift=12_frontend.num_mel_bins=24"
    feats = {dump: load_scp(str(timit_work / "dump" / dump / "dev" / "feats.scp")) for dump in ("fbank", name)}
    utt = next(iter(feats["fbank"]))
    assert (feats["fbank"][utt].shape[1], feats[name][utt].shape[1]) == (40, 24)
    assert round(len(feats["fbank"][utt]) / len(feats[name][utt]), 1) == 1.2   # 10 ms vs 12 ms frames
    assert sorted(p.name for p in (timit_work / "dump").iterdir() if not p.is_dir()) == []
    config = OmegaConf.load(timit_work / "exp" / f"dnn_{name}" / "config.yaml")
    assert config.data.train == f"dump/{name}/train"
    assert (config.frontend.num_mel_bins, config.frontend.frame_shift) == (24, 12)


def test_averaged_checkpoint_decodes_into_its_own_dirs(timit_work):
    """--decode-checkpoint avg: training keeps the epochs, stage 4 averages and decodes into
    decode_<set>_avg<n><by>, never over the best checkpoint's decode_<set>; the table names it."""
    proc = run([str(ROOT / "recipes" / "timit" / "run.sh"), "--stage", "3", "--model", "dnn", "--decode-checkpoint", "avg",
                "--avg-n", "2", "--avg-by", "last", "--exp-tag", "_avg", "model.hidden_dim=64", "model.num_layers=2", "trainer.max_epochs=2",
                "data.max_frames=2000"], cwd=timit_work, env={"OMP_NUM_THREADS": "1"})
    exp = timit_work / "exp" / "dnn_fbank_avg"
    assert (exp / "checkpoint_avg.pt").is_file()
    for name in ("dev", "test"):
        assert json.loads((exp / f"decode_{name}_avg2last" / "scoring" / "result.json").read_text())["err"] < 100
        assert not (exp / f"decode_{name}").exists()
    assert "| dnn_fbank_avg | test_avg2last |" in proc.stdout
