"""recipes/summarization/run.sh end to end on a tiny generated sample (slow test, about a minute and a
half on one thread): reading with drops counted, an extra test set, sentencepiece, training a tiny
copying model, beam decoding with the headline constraints, ROUGE with the baselines in one table,
the side-by-side file and the attention / p_gen plots. The model must beat the prefix baselines."""
import importlib.util
import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "summarization"

pytestmark = pytest.mark.slow

# Many small updates at a high rate, no label smoothing: dev loss ~0.3 after 8 epochs of 330 pairs.
TINY = ["model.enc_hidden=48", "model.dec_hidden=96", "model.attn_dim=48", "model.dropout=0.0", "metric=loss",
        "scheduler=none", "trainer.max_epochs=8", "data.max_tokens=400", "optim.lr=1e-2", "label_smoothing=0"]


def sample(n: int, seed: int) -> list[tuple[str, str]]:
    spec = importlib.util.spec_from_file_location("make_sample", RECIPE / "local" / "make_sample.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate(n, seed)


def run(cmd: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def recipe_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("summarization")
    pairs = sample(460, seed=7)
    lines = [f"{a}\t{t}".encode() for a, t in pairs[:400]] + [b"", b"\xff\xfe broken\ttitle"]
    (work / "pairs.tsv").write_bytes(b"\n".join(lines) + b"\n")
    (work / "extra.tsv").write_text("".join(f"{a}\t{t}\n" for a, t in pairs[400:]), encoding="utf-8")
    cmd = ["bash", str(RECIPE / "run.sh"), "--pairs", "pairs.tsv", "--test-sets", "extra=extra.tsv",
           "--dev-size", "30", "--test-size", "40", "--vocab-size", "400", "--emb-dim", "48", "--beam-size", "3",
           "--plot-line", "1", *TINY]
    result = run(cmd, work)
    assert result.returncode == 0, result.stderr[-4000:]
    return work, result


def test_stages_end_to_end_and_the_model_beats_the_prefix_baselines(recipe_run):
    work, result = recipe_run
    assert "train: read 402, kept 400, dropped 2 (empty=1 non_utf8=1)" in result.stderr
    data = work / "data"
    assert {p.name for p in data.iterdir() if p.is_dir()} >= {"train", "dev", "test", "extra", "lang"}
    assert (data / "train" / "text.article").read_text().islower()      # --lowercase true by default
    exp = work / "exp" / "seq2seq_gru_article-title_copy"
    assert json.loads((exp / "model.json").read_text())["copy"] is True
    for name in ("test", "extra"):
        decode = exp / f"decode_{name}"
        rouge = json.loads((decode / "rouge.json").read_text())
        best_baseline = max(rouge[b]["rougeL"] for b in ("prefix-8", "prefix-10", "prefix-12", "source"))
        assert rouge["model"]["rougeL"] > best_baseline, rouge
        assert (decode / "side_by_side.txt").read_text().startswith("#1\nSRC: ")
        record = json.loads((decode / "attention.jsonl").read_text().splitlines()[0])
        assert len(record["p_gen"]) == len(record["out_pieces"]) + 1
        assert (decode / "attention_1.png").read_bytes()[:4] == b"\x89PNG"
        hyps = (decode / "hyp.title").read_text().splitlines()
        assert all(h.split() for h in hyps)                              # min_len: never empty
    assert "| baseline: prefix-8 | test |" in result.stdout and "| seq2seq_gru_article-title_copy | extra |" \
        in result.stdout


def test_misaligned_article_title_files_stop_the_recipe_naming_both(tmp_path):
    (tmp_path / "a.txt").write_text("one\ntwo\nthree\n", encoding="utf-8")
    (tmp_path / "t.txt").write_text("one\n", encoding="utf-8")
    r = run(["bash", str(RECIPE / "run.sh"), "--stop-stage", "1", "--train-src", "a.txt", "--train-tgt", "t.txt"],
            tmp_path)
    assert r.returncode != 0 and "a.txt has 3 lines, t.txt has 1 lines" in r.stderr
