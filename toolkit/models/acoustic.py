"""An acoustic model as one `nn.Module`: (optional) frontend -> (utterance CMN) -> deltas -> normaliser ->
(augment) -> encoder.

With a fixed frontend the features are precomputed to ark/scp and `frontend` is None; with a
learnable one the frontend is the model's first layer and reads waveforms. Either way the model
carries its own normaliser statistics and phone log-priors, so a checkpoint is all that decoding
needs (besides the symbol table saved next to it). `augment` (e.g. SpecAugment, config group
`augment/`) acts on the normalised features in training mode only, so both feature paths get it.
"""
import inspect
import logging
import time
from importlib import resources

import torch
from torch import nn

from toolkit.data.asr_dataset import AsrDataset, loader_from_config
from toolkit.data.feature_spec import FeatureSpec
from toolkit.data.cmvn import cmvn_stats
from toolkit.features.cmvn import GlobalCMVN, subtract_means, utterance_cmn
from toolkit.features.deltas import add_deltas
from toolkit.utils.errors import UserError
from toolkit.utils.masks import lengths_to_mask

log = logging.getLogger(__name__)

#: What an acoustic encoder's constructor takes besides its config (filled in by build_acoustic_model).
ENCODER_ARGS = ("input_dim", "num_classes")


class AcousticModel(nn.Module):
    def __init__(self, encoder: nn.Module, feature_dim: int, num_classes: int, *, frontend: nn.Module | None = None,
                 delta_order: int = 0, augment: nn.Module | None = None, utterance_cmn: bool = False,
                 speaker_cmn: bool = False):
        super().__init__()
        self.frontend, self.encoder, self.delta_order = frontend, encoder, delta_order
        self.per_utterance_cmn = utterance_cmn
        self.per_speaker_cmn = speaker_cmn       # forward needs speaker_means (of the in-model frontend)
        self.augment = augment
        self.normalizer = GlobalCMVN(feature_dim * (delta_order + 1), norm_means=True, norm_vars=True)
        self.register_buffer("log_priors", torch.full((num_classes,), -float(torch.log(torch.tensor(num_classes)))))

    def features(self, inputs: torch.Tensor, lengths: torch.Tensor,
                 speaker_means: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Model input before normalisation: inputs (B, S) waveforms or (B, T, D) features -> (B, T, D').
        speaker_means (B, D): the mean of each utterance's speaker under the in-model frontend
        (`frontend_speaker_means`), subtracted from the frontend's output (per-speaker CMN)."""
        if self.frontend is not None:
            inputs, lengths = self.frontend(inputs, lengths)
        if self.per_speaker_cmn:
            if speaker_means is None:
                raise ValueError("this model subtracts per-speaker means of its frontend's output "
                                 "(features.speaker_cmn_in_model): the batch needs its speaker_means "
                                 "(AcousticModel.frontend_speaker_means)")
            inputs = subtract_means(inputs, lengths, speaker_means)
        if self.per_utterance_cmn:
            inputs = utterance_cmn(inputs, lengths)
        if self.delta_order:
            inputs = add_deltas(inputs, order=self.delta_order, lengths=lengths)
        return inputs, lengths

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor,
                speaker_means: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """-> logits (B, T', num_classes), lengths (B,)."""
        logits, out_lengths, _ = self.forward_frames(inputs, lengths, speaker_means)
        return logits, out_lengths

    def forward_frames(self, inputs: torch.Tensor, lengths: torch.Tensor, speaker_means: torch.Tensor | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`forward`, plus the frame counts (B,) of the encoder's input (T frames, before any time
        subsampling to T'): forced alignment maps output frames back to feature frames with them."""
        x, frame_lengths = self.features(inputs, lengths, speaker_means)
        x = self.normalizer(x, frame_lengths)                             # (B, T, D')
        if self.augment is not None:
            x = self.augment(x, frame_lengths)                            # identity in eval mode
        logits, out_lengths = self.encoder(x, frame_lengths)
        return logits, out_lengths, frame_lengths

    @torch.no_grad()
    def fit_normalizer(self, batches) -> None:
        """Set the global mean/std normaliser from training batches (`input`, `input_lengths`)."""
        stats = 0
        for batch in batches:
            x, lengths = self.features(batch["input"], batch["input_lengths"], batch.get("speaker_means"))
            mask = lengths_to_mask(lengths, x.shape[1])
            stats = stats + cmvn_stats(x[mask])                         # Kaldi (2, D+1) layout
        fitted = GlobalCMVN.from_stats(stats, norm_means=True, norm_vars=True)
        self.normalizer.load_state_dict(fitted.state_dict())

    @torch.no_grad()
    def frontend_speaker_means(self, batches, utt2spk: dict[str, str]) -> dict[str, torch.Tensor]:
        """{speaker: (D,) mean of the in-model frontend's output over all the speaker's frames}: Kaldi's
        per-speaker CMN statistics, for a frontend inside the model (recomputed as it learns)."""
        sums: dict[str, torch.Tensor] = {}
        frames: dict[str, int] = {}
        training, device = self.training, self.normalizer.mean.device
        self.eval()                                                  # as decoding computes them
        for batch in batches:
            feats, lengths = self.frontend(batch["input"].to(device), batch["input_lengths"].to(device))
            for utt, x, n in zip(batch["utts"], feats.float().cpu(), lengths.tolist()):   # x: (T, D)
                spk = utt2spk[utt]
                sums[spk] = sums.get(spk, 0) + x[:n].double().sum(dim=0)
                frames[spk] = frames.get(spk, 0) + n
        self.train(training)
        return {spk: (sums[spk] / max(frames[spk], 1)).float() for spk in sums}

    def input_frames(self, num_samples: int) -> int:
        """Frames the in-model frontend makes of `num_samples` samples (places frame targets on waveforms)."""
        return int(self.frontend.frame_lengths(torch.tensor([num_samples]))[0])

    def set_priors(self, counts: torch.Tensor) -> None:
        """Phone log-priors from training label counts (V,), for hybrid decoding (posterior / prior)."""
        probs = (counts.double() + 1.0) / (counts.sum() + len(counts))
        self.log_priors.copy_(probs.log().float())


def attach_speaker_means(model: AcousticModel, dataset: AsrDataset, cfg) -> None:
    """Give a dataset's items their speaker's mean of the model's frontend output (per-speaker CMN of a
    frontend inside the model), as training and decoding both need: one pass of the frontend over the data."""
    start = time.time()
    loader = loader_from_config(dataset, cfg, shuffle=False)
    dataset.speaker_means = model.frontend_speaker_means(loader, dataset.data.utt2spk)
    log.info("per-speaker means of the frontend's output: %d speakers of %s in %.1f s", len(dataset.speaker_means),
             dataset.dir, time.time() - start)


def acoustic_forward(model: nn.Module, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """An acoustic model on a batch: -> logits (B, T, V), output lengths (B,). Speaker means ride along
    when the batch has them (a frontend in the model with per-speaker CMN)."""
    if "speaker_means" in batch:
        return model(batch["input"], batch["input_lengths"], batch["speaker_means"])
    return model(batch["input"], batch["input_lengths"])


def is_acoustic_encoder(target: str) -> bool:
    """Whether a `_target_` class takes the acoustic encoder's arguments (input_dim, num_classes)."""
    from hydra.utils import get_class

    try:
        params = inspect.signature(get_class(target)).parameters
    except Exception:   # not importable: not an encoder we can build
        return False
    return all(name in params for name in ENCODER_ARGS)


def acoustic_model_configs() -> list[str]:
    """Names of the package's model configs (conf/model/<name>.yaml) that are acoustic encoders."""
    from omegaconf import OmegaConf

    names = []
    for path in sorted(resources.files("toolkit.conf").joinpath("model").iterdir(), key=lambda p: p.name):
        if path.name.endswith(".yaml"):
            target = OmegaConf.create(path.read_text(encoding="utf-8")).get("_target_")
            if target and is_acoustic_encoder(target):
                names.append(path.name.removesuffix(".yaml"))
    return names


def check_acoustic_model_config(model_cfg) -> None:
    """UserError when the `model` node is not an acoustic encoder (e.g. model=seq2seq_gru in an ASR run,
    which would otherwise fail with a TypeError once data and features are loaded)."""
    target = model_cfg.get("_target_")
    if not target or not is_acoustic_encoder(target):
        names = acoustic_model_configs()
        raise UserError(f"model: {target or '(no _target_)'} is not an acoustic model (its constructor takes no "
                        f"{' and '.join(ENCODER_ARGS)}); for ASR choose model={', '.join(names[:-1])} or {names[-1]}")


def build_acoustic_model(cfg, num_classes: int, spec: FeatureSpec | None = None) -> AcousticModel:
    """The model an ASR config (conf/asr.yaml) describes: frontend, deltas, normaliser, encoder.
    The frontend is built once; it becomes the model's first layer when the feature spec (by default the
    config's) puts it in the model, and otherwise only tells the encoder its feature dimension."""
    from hydra.utils import instantiate

    spec = spec or FeatureSpec.from_config(cfg)
    frontend = instantiate(cfg.frontend)
    encoder = instantiate(cfg.model, input_dim=frontend.feature_dim * (spec.delta_order + 1), num_classes=num_classes)
    augment = instantiate(cfg.augment, blocks=spec.delta_order + 1) if cfg.get("augment") else None
    return AcousticModel(encoder, frontend.feature_dim, num_classes, frontend=frontend if spec.in_model else None,
                         delta_order=spec.delta_order, augment=augment, utterance_cmn=spec.utterance_cmn,
                         speaker_cmn=spec.speaker_cmn_in_model)
