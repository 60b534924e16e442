"""The files that a reader of a data or dump dir depends on, for fingerprints (toolkit.utils.fingerprint).

    data_dir_files("dump/fbank/train")
    # {"cmvn.scp": ..., "feats.scp": ..., "text": ..., "frontend.yaml": ..., ".fingerprint.json": ...,
    #  "data/feats.1.ark": ..., "cmvn.ark": ...}

Every plain file directly in the dir (tables, `phones.ctm`, `frontend.yaml`, the fingerprints of the
stages that wrote it, which name the audio and corpus it came from), plus the archives that its
`feats.scp` and `cmvn.scp` point to. Temporary and backup files (other hidden names) are left out.
The recordings of `wav.scp` are many and large: `audio_files` lists them for one `stat_digest`.
"""
import re
from pathlib import Path

from toolkit.data.datadir import read_table

_OFFSET = re.compile(r":\d+(\[[^\]]*\])?$")   # `<ark>:<byte offset>[range]` in a Kaldi scp line


def scp_archives(scp: str | Path) -> list[Path]:
    """The archive files an scp's lines point to, in order of first use (commands ending in '|' skipped)."""
    seen: dict[str, None] = {}
    with open(scp, encoding="utf-8") as f:
        for line in f:
            parts = line.split(maxsplit=1)
            if len(parts) == 2 and not parts[1].rstrip().endswith("|"):
                seen.setdefault(_OFFSET.sub("", parts[1].strip()), None)
    return [Path(p) for p in seen]


def audio_files(path: str | Path) -> list[str]:
    """The recordings a data dir's `wav.scp` names (commands ending in '|' left out)."""
    wav_scp = Path(path) / "wav.scp"
    if not wav_scp.is_file():
        return []
    entries = read_table(wav_scp).values()   # bad bytes or lines: an error naming file and line
    return [e.strip() for e in entries if not e.strip().endswith("|")]


def data_dir_files(path: str | Path) -> dict[str, Path]:
    """{name: file} of what a data dir's readers depend on; names are relative to the dir when inside it."""
    path = Path(path)
    files = {p.name: p for p in sorted(path.iterdir())
             if p.is_file() and (not p.name.startswith(".") or p.name.startswith(".fingerprint"))}
    for scp in ("feats.scp", "cmvn.scp"):
        if scp in files:
            for ark in scp_archives(files[scp]):   # relative paths are relative to the working dir (Kaldi)
                try:
                    name = str(ark.resolve().relative_to(path.resolve()))
                except ValueError:
                    name = str(ark)
                files.setdefault(name, ark)
    return files
