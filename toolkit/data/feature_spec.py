"""What an acoustic model reads, decided once per run: the feature specification.

`FeatureSpec.from_config(cfg)` is the one place that answers "precomputed features or a frontend
inside the model?" for an ASR config (conf/asr.yaml): the dataset reads `feats.scp` (with per-speaker
CMVN) or `wav.scp` accordingly, and the model puts the frontend in front of its encoder or not. Both
get the same object, so they can never disagree.

    features.source  feats: precomputed feats.scp; wav: the frontend is the model's first layer and reads
                     wav.scp; auto (default): wav exactly when the frontend is trainable
    features.cmvn    speaker (default): Kaldi per-speaker mean normalisation of precomputed features, by the
                     dataset; for a frontend in the model only with features.speaker_cmn_in_model=true (the
                     model subtracts its speaker's mean of the frontend's output, recomputed as the frontend
                     learns), else it gets only the model's global normaliser, and says so;
                     utterance: each utterance's own mean, by the model, for either source; none
"""
from dataclasses import dataclass

SOURCES = ("auto", "wav", "feats")
CMVN = ("speaker", "utterance", "none")


@dataclass(frozen=True)
class FeatureSpec:
    in_model: bool        # the frontend runs inside the model on waveforms (else: precomputed feats.scp)
    frontend: dict        # the frontend's config node (`_target_` and options), resolved
    trainable: bool       # the frontend's parameters learn with the model
    sample_rate: int      # Hz the frontend expects
    frame_shift: float    # seconds between frames
    frame_length: float   # seconds per frame
    cmvn: str             # per-speaker CMVN applied by the dataset: "speaker" or "none"
    delta_order: int      # Kaldi deltas appended by the model (0: none)
    utterance_cmn: bool = False   # the model subtracts each utterance's mean (features.cmvn=utterance)
    speaker_cmn_in_model: bool = False   # the model subtracts per-speaker means of its frontend's output
    note: str = ""                # what the config asked for that this spec does differently (training logs it)

    @property
    def source(self) -> str:
        """What the dataset reads: "wav" or "feats"."""
        return "wav" if self.in_model else "feats"

    @classmethod
    def from_config(cls, cfg) -> "FeatureSpec":
        """The spec an ASR config describes (`frontend` node + `features` section); ValueError on a
        contradiction (a trainable frontend cannot read precomputed features)."""
        from omegaconf import OmegaConf

        features, frontend = cfg.features, OmegaConf.to_container(cfg.frontend, resolve=True)
        source = features.get("source", "auto")
        if source not in SOURCES:
            raise ValueError(f"features.source must be auto, wav or feats, got {source!r}")
        trainable = bool(frontend.get("trainable", False))
        if source == "feats" and trainable:
            raise ValueError("a trainable frontend needs features.source=wav (or auto): it is part of the model")
        in_model = source == "wav" or (source == "auto" and trainable)
        cmvn = features.get("cmvn", "speaker")
        if cmvn not in CMVN:
            raise ValueError(f"features.cmvn must be {', '.join(CMVN[:-1])} or {CMVN[-1]}, got {cmvn!r}")
        note = ""
        speaker_in_model = in_model and cmvn == "speaker" and bool(features.get("speaker_cmn_in_model", False))
        if in_model and cmvn == "speaker" and not speaker_in_model:
            note = ("features.cmvn=speaker: the frontend runs inside the model, where no stored per-speaker "
                    "statistics exist; its features get the model's global normaliser only "
                    "(features.speaker_cmn_in_model=true recomputes each speaker's mean as the frontend learns; "
                    "features.cmvn=utterance subtracts each utterance's mean)")
        return cls(in_model=in_model, frontend=frontend, trainable=trainable,
                   sample_rate=int(frontend.get("sample_frequency", 16000)),
                   frame_shift=float(frontend.get("frame_shift", 10.0)) / 1000,
                   frame_length=float(frontend.get("frame_length", 25.0)) / 1000,
                   cmvn="speaker" if cmvn == "speaker" and not in_model else "none",
                   delta_order=int(features.get("delta_order", 0)), utterance_cmn=cmvn == "utterance",
                   speaker_cmn_in_model=speaker_in_model, note=note)
