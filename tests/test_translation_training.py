"""Translation training glue: data, task, word2vec initialisation, schedules, resume, search configs."""
import importlib.util
from pathlib import Path

import pytest
import sacrebleu
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from toolkit.data.parallel_text import write_moses
from toolkit.data.parallel_dataset import ParallelDataset, collate_parallel, parallel_loader
from toolkit.data.tokenizer import BOS_ID, EOS_ID, PAD_ID, load_translation_tokenizers, train_translation_tokenizers
from toolkit.models.seq2seq_search import BeamSearch, GreedySearch
from toolkit.decoding.translation import Translator, search_from_config
from toolkit.models.embeddings import TokenizedCorpus, save_vectors, train_word2vec
from toolkit.models.checkpoint import load_checkpoint
from toolkit.models.seq2seq import build_seq2seq
from toolkit.training.run import build_scheduler
from toolkit.training.translation import init_embeddings, train_translation
from toolkit.training.translation_tasks import TranslationTask

ROOT = Path(__file__).resolve().parents[1]
TINY = ["model.emb_dim=16", "model.enc_hidden=16", "model.dec_hidden=32", "model.attn_dim=16",
        "trainer.progress=false", "data.max_tokens=200", "threads=1", "optim.lr=3e-3"]


pytestmark = pytest.mark.usefixtures("one_thread")


def grammar():
    path = ROOT / "recipes" / "translation" / "local" / "make_smoke_test.py"
    spec = importlib.util.spec_from_file_location("make_smoke_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """100 training and 20 dev German-English pairs, and a joint sentencepiece model."""
    d = tmp_path_factory.mktemp("mt")
    pairs = grammar().generate(120, seed=3)
    write_moses(pairs[:100], d / "train" / "text.deu", d / "train" / "text.eng")
    write_moses(pairs[100:], d / "dev" / "text.deu", d / "dev" / "text.eng")
    train_translation_tokenizers(d / "train" / "text.deu", d / "train" / "text.eng", d / "lang", vocab_size=150)
    return d


def config(corpus: Path, exp: Path, *overrides: str):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("translation", overrides=[
            f"exp_dir={exp}", f"data.train={corpus}/train", f"data.dev={corpus}/dev", f"data.lang={corpus}/lang",
            *TINY, *overrides])


def test_dataset_batches_and_errors(corpus, tmp_path):
    src_tok, tgt_tok = load_translation_tokenizers(corpus / "lang")
    data = ParallelDataset(corpus / "train", "deu", "eng", src_tok, tgt_tok)
    assert len(data) == 100 and data[3][3] == (corpus / "train" / "text.eng").read_text().splitlines()[3]
    loader = parallel_loader(data, max_tokens=120, shuffle=True, seed=1)
    seen = []
    for batch in loader:
        b, s = batch["src"].shape
        assert b * max(s, batch["tgt_in"].size(1)) <= 120
        assert torch.all(batch["tgt_in"][:, 0] == BOS_ID)
        assert torch.all((batch["tgt_out"] == EOS_ID).sum(1) == 1)
        assert len(batch["refs"]) == b
        seen += batch["index"].tolist()
    assert sorted(seen) == list(range(100))
    one = collate_parallel([data[0]])
    assert one["src"][0].tolist() == data.src[0] and PAD_ID not in one["src"][0].tolist()

    (tmp_path / "text.deu").write_text("Hallo.\n \nTschüss.\n", encoding="utf-8")
    (tmp_path / "text.eng").write_text("Hello.\nYes.\nBye.\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"text\.deu:2: empty source sentence"):
        ParallelDataset(tmp_path, "deu", "eng", src_tok, tgt_tok)
    with pytest.raises(FileNotFoundError, match=r"text\.fra: missing"):
        ParallelDataset(tmp_path, "fra", "eng", src_tok, tgt_tok)


def test_task_loss_and_dev_bleu_as_sacrebleu_of_the_decoded_dev_set(corpus):
    src_tok, tgt_tok = load_translation_tokenizers(corpus / "lang")
    dev = ParallelDataset(corpus / "dev", "deu", "eng", src_tok, tgt_tok)
    torch.manual_seed(0)
    model = build_seq2seq(config(corpus, "unused").model, src_tok.vocab_size, tgt_tok.vocab_size).eval()
    task = TranslationTask(tgt_tok, GreedySearch(), label_smoothing=0.1)
    assert (task.metric, task.mode) == ("bleu", "max")
    batches = list(parallel_loader(dev, max_tokens=200, shuffle=False))
    loss, stats = task.loss(model, batches[0])
    assert stats["count"] == int((batches[0]["tgt_out"] != PAD_ID).sum())
    assert stats["loss"] == pytest.approx(loss.item() * stats["count"])
    with torch.no_grad():
        metrics = task.evaluate(model, batches)
        hyps = [tgt_tok.decode(h[0].tokens) for b in batches for h in GreedySearch()(model, b["src"], b["src_lengths"])]
    refs = [r for b in batches for r in b["refs"]]
    assert metrics["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)
    assert metrics["ppl"] == pytest.approx(torch.tensor(metrics["loss"]).exp().item(), rel=1e-5)
    with torch.no_grad():
        assert "bleu" not in TranslationTask(tgt_tok, None, metric="ppl").evaluate(model, batches)
    with pytest.raises(ValueError, match="metric must be one of"):
        TranslationTask(tgt_tok, GreedySearch(), metric="ter")
    with pytest.raises(ValueError, match="needs a search"):
        TranslationTask(tgt_tok, None, metric="bleu")


@pytest.mark.parametrize("scheduler", ["plateau", "newbob"])
def test_schedule_must_agree_with_the_direction_of_its_dev_metric(corpus, scheduler):
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    sched = build_scheduler(config(corpus, "unused", f"scheduler={scheduler}"), optimizer)
    assert (sched.monitor, sched.mode) == ("loss", "min")  # the default: the smooth dev loss
    mode = "scheduler.mode" if scheduler == "plateau" else "+scheduler.mode"
    with pytest.raises(ValueError, match="scheduler.monitor=bleu is better when higher"):
        build_scheduler(config(corpus, "unused", f"scheduler={scheduler}", "scheduler.monitor=bleu"), optimizer)
    sched = build_scheduler(config(corpus, "unused", f"scheduler={scheduler}", "scheduler.monitor=bleu",
                                   f"{mode}=max"), optimizer)
    for bleu in (10.0, 20.0, 30.0):  # steadily improving BLEU never lowers the learning rate
        sched.step(bleu)
    assert optimizer.param_groups[0]["lr"] == 1e-3
    assert build_scheduler(config(corpus, "unused", "scheduler=none"), optimizer) is None


def test_word2vec_initialisation_covers_the_pieces_and_keeps_directions(corpus, tmp_path):
    src_tok, tgt_tok = load_translation_tokenizers(corpus / "lang")
    model_cfg = config(corpus, "unused").model
    vectors = {}
    for lang in ("deu", "eng"):
        w2v = train_word2vec(TokenizedCorpus(corpus / "train" / f"text.{lang}", tokenizer=src_tok), vector_size=16,
                             min_count=1, epochs=2, seed=0)
        save_vectors(w2v, tmp_path / lang / "vectors.model")
        vectors[lang] = w2v.wv
    torch.manual_seed(0)
    model = build_seq2seq(model_cfg, src_tok.vocab_size, tgt_tok.vocab_size)
    emb_cfg = OmegaConf.create({"src": str(tmp_path / "deu" / "vectors.model"),
                                "tgt": str(tmp_path / "eng" / "vectors.model"), "center": False, "rescale": True})
    report = init_embeddings(model, emb_cfg, src_tok, tgt_tok, seed=0)
    assert report["src"]["coverage"] > 0.5 and report["tgt"]["coverage"] > 0.5
    piece = vectors["deu"].index_to_key[0]
    row = model.src_embed.weight[src_tok.pieces.index(piece)].detach()
    expected = torch.tensor(vectors["deu"][piece]) * report["src"]["scale"]
    torch.testing.assert_close(row, expected)
    assert float(model.src_embed.weight[1:].detach().std()) == pytest.approx(0.0577, rel=0.15)  # the model's init scale
    assert torch.count_nonzero(model.tgt_embed.weight[PAD_ID]) == 0
    assert model.output.weight is model.tgt_embed.weight

    centered = build_seq2seq(model_cfg, src_tok.vocab_size, tgt_tok.vocab_size)
    init_embeddings(centered, OmegaConf.merge(emb_cfg, {"center": True}), src_tok, tgt_tok, seed=0)
    assert centered.src_embed.weight[1:].mean(0).abs().max() < 1e-6

    small = build_seq2seq(OmegaConf.merge(model_cfg, {"emb_dim": 8}), src_tok.vocab_size, tgt_tok.vocab_size)
    with pytest.raises(ValueError, match="16 dimensions but model.emb_dim is 8"):
        init_embeddings(small, emb_cfg, src_tok, tgt_tok, seed=0)


def test_resumed_training_ends_with_the_same_model_as_an_uninterrupted_one(corpus, tmp_path):
    straight = train_translation(config(corpus, tmp_path / "straight", "trainer.max_epochs=3"))
    first = train_translation(config(corpus, tmp_path / "resumed", "trainer.max_epochs=2"))
    assert len(first) == 2
    resumed = train_translation(config(corpus, tmp_path / "resumed", "trainer.max_epochs=3"))
    assert [h["dev_loss"] for h in resumed] == [h["dev_loss"] for h in straight]
    assert [h["dev_bleu"] for h in resumed] == [h["dev_bleu"] for h in straight]
    a = load_checkpoint(tmp_path / "straight" / "checkpoint_last.pt")["model"]
    b = load_checkpoint(tmp_path / "resumed" / "checkpoint_last.pt")["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert all(h["train_items_per_s"] > 0 and h["train_seconds"] <= h["seconds"] for h in resumed)
    exp = tmp_path / "resumed"
    assert (exp / "lang" / "joint" / "spm.model").is_file() and (exp / "config.yaml").is_file()
    # The experiment decodes on its own: config, tokenizers and checkpoint are all in its dir.
    out = Translator(exp).translate(["Der Hund schläft.", ""], search_from_config("seq2seq_greedy"))
    assert out[1].text == "" and out[0].attention.shape == (len(out[0].pieces) + 1, len(out[0].src_pieces))

    # Resuming against a retrained tokenizer is refused instead of silently mixing vocabularies.
    train_translation_tokenizers(corpus / "train" / "text.deu", corpus / "train" / "text.eng", tmp_path / "lang2",
                                 vocab_size=100)
    with pytest.raises(ValueError, match=r"holds a run with other settings or data \(data.lang changed \(joint/"):
        train_translation(config(corpus, exp, "trainer.max_epochs=4", f"data.lang={tmp_path}/lang2"))


def test_search_from_config_with_overrides():
    beam = search_from_config("seq2seq_beam", beam_size=3, length_penalty="average", alpha=1.0, max_len_a=0.5)
    assert isinstance(beam, BeamSearch) and beam.beam_size == 3 and beam.max_len_a == 0.5
    assert beam.length_penalty.kind == "average" and beam.length_penalty(4) == 4
    assert "beam_size=3" in repr(beam)
    greedy = search_from_config("seq2seq_greedy", beam_size=None)  # unset options are ignored
    assert isinstance(greedy, GreedySearch)
    with pytest.raises(ValueError, match="has no option 'beam_size'"):
        search_from_config("seq2seq_greedy", beam_size=4)
    with pytest.raises(ValueError, match="no length penalty"):
        search_from_config("seq2seq_greedy", alpha=0.6)
    with pytest.raises(FileNotFoundError, match="seq2seq_beam, seq2seq_greedy"):
        search_from_config("seq2seq_sampling")
