"""recipes/translation/run.sh end to end on a tiny copy task, its entry points, and bad input.

The recipe runs in a temporary work dir (its data/ and exp/ land there), on 200
generated English sentences translated into themselves (Moses-style files), with a tiny model,
word2vec initialisation and 20 short epochs: enough for BLEU far above a constant-output
baseline, in well under a minute on 2 CPU cores.
"""
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import sacrebleu
import torch

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "translation"
RUN_SH = RECIPE / "run.sh"
PYTHON = sys.executable

pytestmark = pytest.mark.slow

TINY_MODEL = ["model.enc_hidden=48", "model.dec_hidden=96", "model.attn_dim=32", "model.dropout=0.0",
              "model.tie_embeddings=false", "trainer.max_epochs=20", "optim.lr=1e-2", "data.max_tokens=150",
              "scheduler=none"]


def run(cmd: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, **kw)


def grammar():
    spec = importlib.util.spec_from_file_location("make_smoke_test", RECIPE / "local" / "make_smoke_test.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def work_dir(dest: Path) -> Path:
    """A recipe work dir: the recipe writes data/ and exp/ into the directory it runs in."""
    dest.mkdir(parents=True)
    return dest


@pytest.fixture(scope="module")
def copy_task(tmp_path_factory):
    """The recipe run on a copy task, with three bad lines the clean stage must drop and count."""
    work = tmp_path_factory.mktemp("translation")
    recipe = work_dir(work / "recipe")
    english = [en for _, en in grammar().generate(200, seed=5)]
    bad = [b"\xff broken \xfe bytes", b"", " ".join(["word"] * 90).encode()]   # non_utf8, empty, too_long
    lines = [s.encode() for s in english[:100]] + bad + [s.encode() for s in english[100:]]
    for name in ("train.src", "train.tgt"):
        (work / name).write_bytes(b"".join(line + b"\n" for line in lines))
    cmd = ["bash", str(RUN_SH), "--train-src", str(work / "train.src"), "--train-tgt",
           str(work / "train.tgt"), "--src", "src", "--tgt", "tgt", "--dev-size", "20", "--test-size", "20",
           "--vocab-size", "120", "--threads", "1", "--word2vec", "true", "--emb-dim", "32", "--w2v-epochs", "2",
           *TINY_MODEL]
    result = run(cmd, recipe, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return recipe, result


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_stages_write_their_outputs_and_the_model_learns(copy_task):
    recipe, result = copy_task
    log = result.stderr + result.stdout
    # Stage 1 counted what it dropped; the split keeps every source sentence on one side.
    assert "clean train: read 203 pairs, kept 200, dropped 3 (non_utf8=1 empty=1 too_long=1 ratio=0)" in log
    data = recipe / "data"
    sets = {name: read_lines(data / name / "text.src") for name in ("train", "dev", "test")}
    assert all(read_lines(data / name / "text.tgt") == sets[name] for name in sets)  # copy task
    assert 20 <= len(sets["dev"]) <= 23 and 20 <= len(sets["test"]) <= 23
    assert sum(map(len, sets.values())) == 200
    assert not set(sets["train"]) & set(sets["test"]) and not set(sets["train"]) & set(sets["dev"])
    assert json.loads((data / "prepare.json").read_text())["clean"]["train"]["dropped"] == \
        {"non_utf8": 1, "empty": 1, "too_long": 1}
    assert (data / "lang" / "joint" / "spm.model").is_file()

    exp = recipe / "exp" / "seq2seq_gru_src-tgt_w2v"
    # Stage 3: word2vec on each side's pieces, exported into the model's embeddings with coverage.
    assert (recipe / "exp" / "word2vec_src" / "vectors.model").is_file()
    coverage = json.loads((exp / "embeddings.json").read_text())
    assert coverage["src"]["coverage"] > 0.9 and coverage["tgt"]["coverage"] > 0.9
    # Stage 4: dev loss fell, throughput recorded, best checkpoint by dev BLEU, curves drawn.
    history = json.loads((exp / "history.json").read_text())
    assert len(history) == 20
    assert history[-1]["dev_loss"] < 0.6 * history[0]["dev_loss"]
    assert all(h["train_items_per_s"] > 0 and "dev_bleu" in h for h in history)
    assert (exp / "checkpoint_best.pt").is_file()
    assert (exp / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Stage 5: beam decoding, attention dump and plot.
    decode = exp / "decode_test"
    hyps = read_lines(decode / "hyp.tgt")
    assert len(hyps) == len(sets["test"])
    records = [json.loads(line) for line in read_lines(decode / "attention.jsonl")]
    assert [r["line"] for r in records] == list(range(1, len(hyps) + 1))
    for r in records:
        assert len(r["attention"]) == len(r["out_pieces"]) + 1
        assert all(len(row) == len(r["src_pieces"]) and abs(sum(row) - 1) < 1e-3 for row in r["attention"])
    assert (decode / "attention_1.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((decode / "decode.json").read_text())["sentences_per_s"] > 0
    # Stage 6: BLEU far above a constant output (the most frequent training target), signature printed.
    score = json.loads((decode / "score.json").read_text())
    constant = Counter(sets["train"]).most_common(1)[0][0]
    baseline = sacrebleu.corpus_bleu([constant] * len(hyps), [sets["test"]]).score
    assert score["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [sets["test"]]).score)
    assert score["bleu"] > baseline + 10, (score["bleu"], baseline)
    assert "BLEU signature: nrefs:1|case:mixed|eff:no|tok:13a" in result.stderr
    assert "| seq2seq_gru_src-tgt_w2v | test |" in result.stdout


def test_rerunning_stages_is_idempotent(copy_task):
    recipe, _ = copy_task
    files = [recipe / "data" / "train" / "text.src", recipe / "data" / "lang" / "joint" / "spm.model"]
    before = [hashlib.sha1(f.read_bytes()).hexdigest() for f in files]
    history = (recipe / "exp" / "seq2seq_gru_src-tgt_w2v" / "history.json").read_text()
    args = ["--train-src", str(recipe.parent / "train.src"), "--train-tgt", str(recipe.parent / "train.tgt"),
            "--src", "src", "--tgt", "tgt", "--dev-size", "20", "--test-size", "20", "--vocab-size", "120",
            "--word2vec", "true", "--emb-dim", "32", "--threads", "1"]
    result = run(["bash", str(RUN_SH), "--stage", "1", "--stop-stage", "2", *args], recipe)
    assert result.returncode == 0, result.stderr
    assert [hashlib.sha1(f.read_bytes()).hexdigest() for f in files] == before
    result = run(["bash", str(RUN_SH), "--stage", "4", "--stop-stage", "4", *args, *TINY_MODEL], recipe)
    assert result.returncode == 0, result.stderr
    assert "training already finished (20 epochs)" in result.stdout + result.stderr
    assert (recipe / "exp" / "seq2seq_gru_src-tgt_w2v" / "history.json").read_text() == history


def test_batched_translation_equals_one_at_a_time_and_the_cli_keeps_empty_lines(copy_task, tmp_path):
    from toolkit.decoding.translation import Translator, search_from_config

    recipe, _ = copy_task
    exp = recipe / "exp" / "seq2seq_gru_src-tgt_w2v"
    sentences = read_lines(recipe / "data" / "test" / "text.src")
    translator, search = Translator(exp), search_from_config("seq2seq_beam", beam_size=5)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        batched = translator.translate(sentences, search)
        single = translator.translate(sentences, search, max_sentences=1)
    finally:
        torch.set_num_threads(threads)
    assert [t.text for t in batched] == [t.text for t in single] == read_lines(exp / "decode_test" / "hyp.tgt")
    for a, b in zip(batched, single):
        assert a.score == pytest.approx(b.score, abs=1e-4)
    r = run([PYTHON, "-m", "toolkit.bin.translate", "--exp", str(exp), "--decode", "seq2seq_greedy", "-", "-"],
            tmp_path, input=f"{sentences[0]}\n\n{sentences[0]}\n")
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert len(out) == 3 and out[1] == "" and out[0] == out[2] != ""


def test_plot_attention_and_word2vec_queries(copy_task, tmp_path):
    recipe, _ = copy_task
    exp = recipe / "exp"
    png = tmp_path / "attention.png"
    r = run([PYTHON, "-m", "toolkit.bin.plot_attention", "--attention",
             str(exp / "seq2seq_gru_src-tgt_w2v" / "decode_test" / "attention.jsonl"), "--line", "2",
             "--out", str(png)], tmp_path)
    assert r.returncode == 0, r.stderr
    assert png.read_bytes()[:4] == b"\x89PNG"
    r = run([PYTHON, "-m", "toolkit.bin.train_word2vec", "--vectors", str(exp / "word2vec_tgt" / "vectors.model"),
             "--most-similar", "\u2581the", "--topn", "3"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 3 and all(len(line.split("\t")) == 2 for line in r.stdout.splitlines())
    r = run([PYTHON, "-m", "toolkit.bin.train_word2vec", "--vectors", str(exp / "word2vec_tgt" / "vectors.model"),
             "--most-similar", "zebra"], tmp_path)
    assert r.returncode == 1 and "'zebra' is not in the vocabulary" in r.stderr


# ---- bad input --------------------------------------------------------------------------------

def test_misaligned_moses_files_stop_the_recipe_naming_both_files(tmp_path):
    (tmp_path / "a.de").write_text("eins\nzwei\ndrei\n", encoding="utf-8")
    (tmp_path / "a.en").write_text("one\ntwo\n", encoding="utf-8")
    r = run(["bash", str(RUN_SH), "--stop-stage", "1", "--train-src", "a.de", "--train-tgt", "a.en",
             "--src", "de", "--tgt", "en"], tmp_path)
    assert r.returncode != 0
    assert "misaligned parallel files: a.de has 3 lines, a.en has 2 lines" in r.stderr
    assert not (tmp_path / "data" / "train").exists()


def test_optional_download_stage_fetches_the_pair_file_from_a_zip(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "deu-eng.zip", "w") as z:
        z.writestr("deu.txt", "Hi.\tHallo!\tCC-BY 2.0 (France) Attribution: tatoeba.org\n")
        z.writestr("_about.txt", "about")
    r = run(["bash", str(RUN_SH), "--stop-stage", "0", "--download-url",
             (tmp_path / "deu-eng.zip").as_uri(), "--pairs", "corpus/deu.txt"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "corpus" / "deu.txt").read_text(encoding="utf-8").startswith("Hi.\tHallo!")
    assert "corpus/deu.txt: 1 lines" in r.stderr


def test_invalid_utf8_is_dropped_and_counted_or_an_error_naming_file_and_line(tmp_path):
    tsv = tmp_path / "deu-eng.tsv"
    tsv.write_bytes(b"Hi.\tHallo!\nBye.\tTsch\xfcss!\nYes.\tJa.\nNo.\tNein.\nGo.\tGeh.\n")
    common = [PYTHON, "-m", "toolkit.bin.prepare_parallel", "--pairs", str(tsv), "--src", "deu", "--tgt", "eng",
              "--dev", "1", "--test", "1", "--out", str(tmp_path / "data")]
    r = run(common, tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"{tsv}:2: invalid UTF-8 byte 0xfc" in r.stderr
    assert "read 5 pairs, kept 4, dropped 1 (non_utf8=1 empty=0 too_long=0 ratio=0)" in r.stderr
    r = run(common + ["--strict"], tmp_path)
    assert r.returncode == 1 and f"{tsv}:2: invalid UTF-8 byte 0xfc" in r.stderr

    bad = tmp_path / "input.de"
    bad.write_bytes(b"Hallo.\n\xe4rger\n")
    r = run([PYTHON, "-m", "toolkit.bin.translate", "--exp", str(tmp_path / "no_exp"), str(bad), "-"], tmp_path)
    assert r.returncode == 1 and f"{bad}:2: invalid UTF-8 byte 0xe4" in r.stderr


def test_prepare_with_given_test_files_and_a_training_subsample(tmp_path):
    from toolkit.bin import prepare_parallel

    pairs = grammar().generate(100, seed=1)
    (tmp_path / "pairs.tsv").write_text("".join(f"{en}\t{de}\n" for de, en in pairs[:90]), encoding="utf-8")
    (tmp_path / "test.de").write_text("".join(f"{de}\n" for de, _ in pairs[90:]), encoding="utf-8")
    (tmp_path / "test.en").write_text("".join(f"{en}\n" for _, en in pairs[90:]), encoding="utf-8")
    args = ["--pairs", str(tmp_path / "pairs.tsv"), "--columns", "eng,deu", "--src", "deu", "--tgt", "eng",
            "--test-src", str(tmp_path / "test.de"), "--test-tgt", str(tmp_path / "test.en"), "--dev", "10",
            "--max-train-pairs", "50"]
    for out in ("a", "b"):
        assert prepare_parallel.main([*args, "--out", str(tmp_path / out)]) == 0
    data = tmp_path / "a"
    assert read_lines(data / "test" / "text.deu") == [de for de, _ in pairs[90:]]
    assert len(read_lines(data / "dev" / "text.deu")) == 10 and len(read_lines(data / "train" / "text.deu")) == 50
    assert read_lines(data / "train" / "text.eng") == read_lines(tmp_path / "b" / "train" / "text.eng")
    stats = json.loads((data / "prepare.json").read_text())
    assert stats["train_subsampled_from"] == 80 and stats["clean"]["test"]["kept"] == 10


def test_scoring_files_of_different_lengths_is_an_error(tmp_path):
    (tmp_path / "ref").write_text("a b c\nd e f\n", encoding="utf-8")
    (tmp_path / "hyp").write_text("a b c\n", encoding="utf-8")
    r = run([PYTHON, "-m", "toolkit.bin.score_translation", "--ref", "ref", "--hyp", "hyp"], tmp_path)
    assert r.returncode == 1 and "hyp has 1 lines but ref has 2" in r.stderr


@pytest.mark.parametrize("override,message", [
    ("no_such_key=1", "Could not override 'no_such_key'"),
    ("model.no_such_key=1", "Could not override 'model.no_such_key'"),
    ("model=no_such_model", "Could not find 'model/no_such_model'"),
])
def test_unknown_hydra_keys_are_hydras_own_errors(tmp_path, override, message):
    r = run([PYTHON, "-m", "toolkit.bin.train", "--config-name", "translation", override], tmp_path)
    assert r.returncode != 0 and message in r.stderr
    assert not (tmp_path / "exp").exists()


def test_embedded_smoke_test_is_the_output_of_its_grammar():
    committed = (RECIPE / "local" / "smoke_test.tsv").read_text(encoding="utf-8").splitlines()
    assert committed == [f"{en}\t{de}" for de, en in grammar().generate(600, seed=0)]
