"""Utterances of an ESPnet-style dump dir as training examples for acoustic models.

Inputs are either precomputed features (`feats.scp`, per-speaker CMVN from `cmvn.scp`) or raw
waveforms (`wav.scp`) for models whose frontend learns. Targets are per-frame phone labels from
`phones.ctm` (frame cross-entropy) or the phone sequence in `text` (CTC).
"""
import logging
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset

from toolkit.data.alignment import frame_labels, read_ctm
from toolkit.data.audio import AudioError, probe_audio, read_audio
from toolkit.data.datadir import DataDir, DataDirError
from toolkit.data.cmvn import apply_cmvn
from toolkit.data.feature_spec import FeatureSpec
from toolkit.data.sampler import BucketBatchSampler
from toolkit.data.scp import ScpMatrices
from toolkit.data.symbols import SymbolTable

log = logging.getLogger(__name__)

IGNORE = -100  # padding value of frame targets (nn.CrossEntropyLoss's ignore_index)


class AsrDataset(Dataset):
    """Items: `{"utt": str, "input": (T, D) features or (S,) samples, "target": (T,) or (L,) int64}`.

    source: "feats" or "wav". targets: "frames" (needs `phones.ctm`), "tokens" (needs `text`) or None.
    `num_frames` maps a number of samples to the frontend's number of frames (wav source + frame targets).
    An input holding NaN or inf is an error naming the utterance and the file (feats, CMVN stats or audio).
    """

    def __init__(self, data_dir: str | Path, symbols: SymbolTable, *, source: str = "feats",
                 targets: str | None = "frames", cmvn: str = "speaker", norm_vars: bool = False,
                 sample_rate: int = 16000, num_frames: Callable[[int], int] | None = None,
                 frame_shift: float = 0.01, frame_length: float = 0.025):
        self.dir = Path(data_dir)
        self.data = DataDir.load(self.dir)
        self.symbols, self.source, self.targets = symbols, source, targets
        self.sample_rate, self.num_frames_fn = sample_rate, num_frames
        self.frame_shift, self.frame_length = frame_shift, frame_length
        self.norm_vars = norm_vars
        self.utts = self.data.utts
        # {speaker: (D,) mean of an in-model frontend's output}, set by whoever computes them (training,
        # decoding: AcousticModel.frontend_speaker_means); items then carry their speaker's. (Loader workers
        # start afresh every epoch, so they see means refreshed between epochs.)
        self.speaker_means: dict[str, torch.Tensor] | None = None
        if source == "feats":
            if "feats.scp" not in self.data.extra:
                raise DataDirError(f"{self.dir}: no feats.scp (run the feature extraction stage first)")
            self.feats = ScpMatrices(self.dir / "feats.scp")
            self.cmvn_stats = None
            if cmvn == "speaker":
                if "cmvn.scp" not in self.data.extra:
                    raise DataDirError(f"{self.dir}: no cmvn.scp (run compute_cmvn, or set features.cmvn=none)")
                self.cmvn_stats = ScpMatrices(self.dir / "cmvn.scp")
            elif cmvn != "none":
                raise ValueError(f"features.cmvn must be 'speaker' or 'none', got {cmvn!r}")
        elif source != "wav":
            raise ValueError(f"source must be 'feats' or 'wav', got {source!r}")
        if targets == "frames":
            ctm = self.dir / "phones.ctm"
            if not ctm.is_file():
                raise DataDirError(f"{ctm}: frame targets need phone alignments (phones.ctm); this corpus has "
                                   "none, so train with a sequence loss (loss=ctc)")
            self.alignments = read_ctm(ctm)
            missing = [u for u in self.utts if u not in self.alignments]
            if missing:
                raise DataDirError(f"{ctm}: no alignment for {len(missing)} utterance(s), e.g. '{missing[0]}'")
            for utt in self.utts:  # fail now, not in the middle of an epoch
                self._encode([label for _, _, label in self.alignments[utt]], f"{ctm} ({utt})")
        elif targets == "tokens" and self.data.text is None:
            raise DataDirError(f"{self.dir}/text: missing (token targets need transcripts)")
        if targets is not None and self.data.text is not None:
            # The transcripts are the targets (CTC) or the references of the dev PER (frame CE): an unknown
            # phone found only when an epoch ends would have cost the epoch.
            for lineno, utt in enumerate(self.utts, 1):
                self._encode(self.data.text[utt], f"{self.dir}/text:{lineno} ({utt})")

    def _encode(self, tokens: list[str], where: str) -> list[int]:
        try:
            return self.symbols.encode(tokens, where=where)
        except KeyError as e:
            raise DataDirError(f"{e.args[0]}: every symbol must be one of the lang dir's phones.txt; fix the "
                               "data dir") from None

    def __len__(self) -> int:
        return len(self.utts)

    def lengths(self) -> list[int]:
        """Length of every item's input (frames or samples), for bucketing, without loading it."""
        if self.source == "feats":
            table = self.data.extra.get("utt2num_frames")
            if table is None:
                return [self.feats[u].shape[0] for u in self.utts]
            return [int(table[u]) for u in self.utts]
        lengths = []
        for u in self.utts:
            entry, seg = self.data.audio_entry(u)  # a pipe runs here, as it does in __getitem__
            n = probe_audio(entry, utt=u)[0]
            lengths.append(n if seg is None else len(range(n)[self._cut(seg)]))
        return lengths

    def _cut(self, seg) -> slice:
        """The samples of a segment of its recording."""
        return slice(int(seg.start * self.sample_rate), None if seg.end < 0 else int(seg.end * self.sample_rate))

    def __getitem__(self, i: int) -> dict:
        utt = self.utts[i]
        if self.source == "feats":
            x = np.asarray(self.feats[utt], dtype=np.float32)
            if self.cmvn_stats is not None:
                x = apply_cmvn(x, self.cmvn_stats[self.data.utt2spk[utt]], norm_vars=self.norm_vars)
            num_frames = x.shape[0]
        else:
            entry, seg = self.data.audio_entry(utt)
            x, _ = read_audio(entry, expected_sr=self.sample_rate, utt=utt)
            if seg is not None:
                x = x[self._cut(seg)]
            num_frames = self.num_frames_fn(len(x)) if self.num_frames_fn else None
        if not np.isfinite(x).all():
            raise self._non_finite(utt, x)
        item = {"utt": utt, "input": torch.from_numpy(np.ascontiguousarray(x))}
        if self.speaker_means is not None:
            item["speaker_mean"] = self.speaker_means[self.data.utt2spk[utt]]
        if self.targets == "frames":
            labels = frame_labels(self.alignments[utt], num_frames, frame_shift=self.frame_shift,
                                  frame_length=self.frame_length)
            item["target"] = torch.tensor(self.symbols.encode(labels, where=f"{self.dir}/phones.ctm ({utt})"))
        elif self.targets == "tokens":
            item["target"] = torch.tensor(self.symbols.encode(self.data.text[utt]))
        return item

    def _non_finite(self, utt: str, x: np.ndarray) -> ValueError:
        """The error for an item whose input holds NaN or inf, naming the utterance and where it came from."""
        if self.source == "wav":
            return AudioError(f"{self.data.audio_entry(utt)[0]} (utterance {utt}): audio has NaN or infinite "
                              "samples; repair the recording, or remove the utterance from the data dir")
        if self.cmvn_stats is None or not np.isfinite(self.feats[utt]).all():
            return DataDirError(f"{self.dir}/feats.scp: utterance {utt} has NaN or infinite features; re-extract "
                                "them after repairing its audio, or remove the utterance from the data dir")
        spk = self.data.utt2spk[utt]
        return DataDirError(f"{self.dir}/cmvn.scp: the CMVN stats of speaker {spk} (utterance {utt}) are NaN or "
                            "infinite; recompute them (compute_cmvn) from finite features")


def collate_asr(items: list[dict]) -> dict:
    """Pad a list of items: input (B, T, D) or (B, S), input_lengths (B,), target (B, L) padded with
    IGNORE, target_lengths (B,), utts, and speaker_means (B, D) when the items carry them."""
    batch = {"utts": [it["utt"] for it in items],
             "input": pad_sequence([it["input"] for it in items], batch_first=True),
             "input_lengths": torch.tensor([len(it["input"]) for it in items])}
    if "speaker_mean" in items[0]:
        batch["speaker_means"] = torch.stack([it["speaker_mean"] for it in items])
    if "target" in items[0]:
        batch["target"] = pad_sequence([it["target"] for it in items], batch_first=True, padding_value=IGNORE)
        batch["target_lengths"] = torch.tensor([len(it["target"]) for it in items])
    return batch


def dataset_from_spec(spec: FeatureSpec, data_dir: str | Path, symbols: SymbolTable, targets: str | None,
                      num_frames: Callable[[int], int] | None = None) -> AsrDataset:
    """The AsrDataset a feature spec asks for: precomputed features (checked against the spec's frontend)
    with per-speaker CMVN, or waveforms for a frontend inside the model, whose `num_frames` (samples ->
    frames) places frame targets."""
    if not spec.in_model:
        check_precomputed_frontend(data_dir, spec.frontend)
    return AsrDataset(data_dir, symbols, source=spec.source, targets=targets, cmvn=spec.cmvn,
                      sample_rate=spec.sample_rate, num_frames=num_frames if spec.in_model else None,
                      frame_shift=spec.frame_shift, frame_length=spec.frame_length)


def check_precomputed_frontend(data_dir: str | Path, frontend: dict) -> None:
    """Precomputed features must come from the frontend the config describes (`frontend.yaml`,
    written by extract_feats); otherwise the model would silently train on other features."""
    from omegaconf import OmegaConf

    path = Path(data_dir) / "frontend.yaml"
    if not path.is_file():
        return  # features brought from elsewhere (e.g. Kaldi): nothing to compare with
    used = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    wanted = dict(frontend)
    used.pop("trainable", None), wanted.pop("trainable", None)
    if used != wanted:
        diff = sorted(k for k in set(used) | set(wanted) if used.get(k) != wanted.get(k))
        raise ValueError(f"{path}: the features in {data_dir} were extracted with other frontend settings than "
                         f"the config's ({', '.join(f'{k}: {used.get(k)} vs {wanted.get(k)}' for k in diff)}); "
                         "re-run feature extraction with the same frontend overrides")


def loader_from_config(dataset: AsrDataset, cfg, *, shuffle: bool, rank: int = 0, world_size: int = 1) -> DataLoader:
    """Length-bucketed batches of at most `cfg.data.max_frames` padded frames."""
    max_len = int(cfg.data.max_frames)
    if dataset.source == "wav":  # lengths are in samples
        max_len *= round(dataset.sample_rate * dataset.frame_shift)
    sampler = BucketBatchSampler(dataset.lengths(), max_len, shuffle=shuffle, seed=cfg.seed, rank=rank,
                                 world_size=world_size)
    return DataLoader(dataset, batch_sampler=sampler, collate_fn=collate_asr, num_workers=cfg.data.num_workers)
