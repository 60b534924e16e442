"""Sentence pairs of a prepared data dir as training examples for encoder-decoders.

A translation data dir holds two line-aligned UTF-8 files, ``text.<src>`` and ``text.<tgt>``
(written by `toolkit.bin.prepare_parallel`). Both sides are encoded once with their
sentencepiece models; batches are length-bucketed (`BucketBatchSampler`) to at most
``max_tokens`` padded tokens of the longer side, and carry the detokenised references so
the dev metric (BLEU) is computed on text, never on pieces.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import NamedTuple, Sequence

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from toolkit.data.parallel_text import read_moses, text_file
from toolkit.data.sampler import BucketBatchSampler
from toolkit.data.tokenizer import BOS_ID, EOS_ID, PAD_ID, SentencePieceTokenizer

log = logging.getLogger(__name__)


class Seq2SeqBatch(NamedTuple):
    src: Tensor          # (B, S) source ids, right-padded
    src_lengths: Tensor  # (B,)
    tgt_in: Tensor       # (B, T) <s> y   ((B, 0) when no targets were given)
    tgt_out: Tensor      # (B, T) y </s>


def make_batch(src_seqs: Sequence[Sequence[int]], tgt_seqs: Sequence[Sequence[int]] | None = None, *,
               pad_id: int = PAD_ID, bos_id: int = BOS_ID, eos_id: int = EOS_ID) -> Seq2SeqBatch:
    """Pad id sequences into a batch; targets become decoder inputs (<s> y) and outputs (y </s>).

    Without targets, tgt_in/tgt_out are empty (B, 0) tensors (decoding only).
    """
    if any(len(s) == 0 for s in src_seqs):
        raise ValueError("empty source sequence in batch (clean the data first)")
    b = len(src_seqs)
    lengths = torch.tensor([len(s) for s in src_seqs], dtype=torch.long)
    src = torch.full((b, int(lengths.max())), pad_id, dtype=torch.long)
    for i, s in enumerate(src_seqs):
        src[i, :len(s)] = torch.as_tensor(s, dtype=torch.long)
    if tgt_seqs is None:
        empty = torch.empty(b, 0, dtype=torch.long)
        return Seq2SeqBatch(src, lengths, empty, empty)
    t = max(len(y) for y in tgt_seqs) + 1
    tgt_in = torch.full((b, t), pad_id, dtype=torch.long)
    tgt_out = torch.full((b, t), pad_id, dtype=torch.long)
    for i, y in enumerate(tgt_seqs):
        y = torch.as_tensor(y, dtype=torch.long)
        tgt_in[i, 0], tgt_in[i, 1:len(y) + 1] = bos_id, y
        tgt_out[i, :len(y)], tgt_out[i, len(y)] = y, eos_id
    return Seq2SeqBatch(src, lengths, tgt_in, tgt_out)


class ParallelDataset(Dataset):
    """Items ``(index, src ids, tgt ids, reference text)`` of ``<dir>/text.<src>`` / ``text.<tgt>``.

    Files must be line-aligned and valid UTF-8 (`read_moses` in strict mode: errors name the
    file and line); an empty source line is an error too, since the model cannot encode it.
    """

    def __init__(self, data_dir: str | Path, src_lang: str, tgt_lang: str,
                 src_tok: SentencePieceTokenizer, tgt_tok: SentencePieceTokenizer):
        self.dir = Path(data_dir)
        src_path, tgt_path = text_file(self.dir, src_lang), text_file(self.dir, tgt_lang)
        for path in (src_path, tgt_path):
            if not path.is_file():
                raise FileNotFoundError(f"{path}: missing (run the data preparation stage first)")
        src_text, self.references = [], []
        for pair in read_moses(src_path, tgt_path, strict=True):
            if not pair.src.strip():
                raise ValueError(f"{pair.where}: empty source sentence")
            src_text.append(pair.src)
            self.references.append(pair.tgt)
        if not src_text:
            raise ValueError(f"{src_path}: no sentences")
        self.src = src_tok.encode_batch(src_text)
        self.tgt = tgt_tok.encode_batch(self.references)
        n_src, n_tgt = sum(map(len, self.src)), sum(map(len, self.tgt))
        log.info("%s: %d pairs, %d source / %d target pieces", self.dir, len(self.src), n_src, n_tgt)

    def __len__(self) -> int:
        return len(self.src)

    def __getitem__(self, i: int) -> tuple[int, list[int], list[int], str]:
        return i, self.src[i], self.tgt[i], self.references[i]

    def lengths(self) -> list[int]:
        """Padded length each pair needs: the longer of source and target (+ </s>)."""
        return [max(len(s), len(t) + 1) for s, t in zip(self.src, self.tgt)]


def collate_parallel(items: list[tuple[int, list[int], list[int], str]]) -> dict:
    """Pad items into ``{"src": (B, S), "src_lengths": (B,), "tgt_in": (B, T), "tgt_out": (B, T),
    "index": (B,), "refs": [str]}`` (see `make_batch` for the target layout)."""
    index, src, tgt, refs = zip(*items)
    batch = make_batch(src, tgt)
    return {"src": batch.src, "src_lengths": batch.src_lengths, "tgt_in": batch.tgt_in,
            "tgt_out": batch.tgt_out, "index": torch.tensor(index), "refs": list(refs)}


def parallel_loader(dataset: ParallelDataset, *, max_tokens: int, max_sentences: int = 256, shuffle: bool,
                    seed: int = 0, rank: int = 0, world_size: int = 1, num_workers: int = 0) -> DataLoader:
    """Length-bucketed batches of at most `max_tokens` padded tokens (and `max_sentences` pairs)."""
    lengths = dataset.lengths()
    if max(lengths) > max_tokens:
        log.warning("%s: %d pair(s) are longer than max_tokens=%d and form batches of their own",
                    dataset.dir, sum(n > max_tokens for n in lengths), max_tokens)
    sampler = BucketBatchSampler(lengths, max_tokens, max_batch_size=max_sentences, shuffle=shuffle, seed=seed,
                                 rank=rank, world_size=world_size)
    return DataLoader(dataset, batch_sampler=sampler, collate_fn=collate_parallel, num_workers=num_workers)
