"""Names of experiment dirs and feature dump dirs: the one place that computes them.

Hydra configs (conf/asr.yaml, conf/translation.yaml) call these through resolvers, and the recipes ask
`python -m toolkit.bin.names`, so a directory is named the same way however a run is started:

    exp/<model>_<frontend>[_<overrides>]       ASR experiment, e.g. exp/dnn_mfcc_optim.lr=5e-4
    dump/<frontend>[_<frontend overrides>]     precomputed features, e.g. dump/fbank_frontend.num_mel_bins=30
    exp/<model>_<src>-<tgt>[<tag>]             translation experiment, e.g. exp/seq2seq_gru_deu-eng_w2v

Overrides are sorted and joined with '_', so different settings never share (and resume) a directory.
Names hold only letters, digits and `._=+-`: kaldiio's `ark,scp:a.ark,a.scp` specifiers split on ','
and ':', scp lines on whitespace, and a '/' would nest dirs. Any other character becomes '-' and a
short hash of the exact overrides is appended, as it is to names cut at MAX_TAG characters.
"""
import fnmatch
import hashlib
import re

EXP_ROOT = "exp"
DUMP_ROOT = "dump"
MAX_TAG = 120
#: Overrides that do not name an ASR experiment: the model and frontend choices name it already; data
#: paths and loader workers, progress output, the epoch and time budgets, kept epoch weights, threads,
#: Hydra's own settings and `overwrite` (start the experiment over) do not change what is trained.
#: The batch size (`data.max_frames`) does: it names the dir.
NOT_IN_EXP_NAME = ("model", "frontend", "exp_dir", "data.train", "data.dev", "data.lang", "data.num_workers",
                   "trainer.progress", "trainer.log_interval",
                   "trainer.max_epochs", "trainer.max_minutes", "trainer.keep_epochs", "threads", "hydra.*",
                   "hydra/*", "overwrite")
#: Frontend overrides that do not change the features (trainable: only who computes them).
NOT_IN_FEATS_NAME = ("frontend.trainable",)

_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]")


def override_key(override: str) -> str:
    """`+optim.lr=1` -> `optim.lr`: the config key of a Hydra command-line override."""
    return override.split("=", 1)[0].lstrip("+~")


def overrides_tag(overrides: list[str], exclude: tuple[str, ...] = ()) -> str:
    """'' or '_' + the overrides whose key matches no `exclude` pattern, sorted, '_'-joined, made safe."""
    kept = sorted(o for o in overrides if not any(fnmatch.fnmatchcase(override_key(o), p) for p in exclude))
    if not kept:
        return ""
    text = "_".join(kept)
    tag = _UNSAFE.sub("-", text)
    if tag != text or len(tag) > MAX_TAG:
        tag = f"{tag[:MAX_TAG]}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"
    return f"_{tag}"


def check_safe(name: str, what: str) -> str:
    """`name` itself, or ValueError when it holds a character that breaks kaldiio or the file system."""
    bad = sorted(set(_UNSAFE.findall(name)))
    if bad:
        raise ValueError(f"{what} {name!r}: the characters {''.join(bad)!r} are not allowed in dir names "
                         "(use letters, digits and . _ = + -)")
    return name


def asr_exp_dir(model: str, frontend: str, overrides: list[str] = (), tag: str | None = None) -> str:
    """exp/<model>_<frontend> + `tag` when given (the recipes' --exp-tag), else the naming overrides."""
    suffix = overrides_tag(list(overrides), NOT_IN_EXP_NAME) if tag is None else check_safe(tag, "experiment tag")
    return f"{EXP_ROOT}/{model}_{frontend}{suffix}"


def feats_dir(frontend: str, overrides: list[str] = ()) -> str:
    """dump/<frontend> + the `frontend.*` overrides that change the features."""
    changing = [o for o in overrides if override_key(o).startswith("frontend.")]
    return f"{DUMP_ROOT}/{frontend}{overrides_tag(changing, NOT_IN_FEATS_NAME)}"


def translation_exp_dir(model: str, src: str, tgt: str, tag: str = "") -> str:
    """exp/<model>_<src>-<tgt><tag>."""
    return f"{EXP_ROOT}/{model}_{src}-{tgt}{check_safe(tag, 'experiment tag')}"
