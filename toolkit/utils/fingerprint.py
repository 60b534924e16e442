"""Fingerprints: what a stage's output was made from, so that a stale output is noticed, never reused.

    fp = fingerprint({"text": "data/train/text", "wav.scp": "data/train/wav.scp"}, {"frontend": {...}})
    check("dump/fbank/train", fp)     # None: no record; []: up to date; else what changed, in words
    write("dump/fbank/train", fp)     # dump/fbank/train/.fingerprint.json, once the stage has completed

A file is known by its sha1 when it is small (tables, symbol tables, configs: the content decides, not
the time it was written) and by its size and mtime when it is large (audio, feature archives: hashing
them on every run would cost as much as the stage). A set of many files (a corpus's audio) goes into
the config as one `stat_digest`. The config holds only what changes the output, flattened to dotted
keys, so that a change is named by its key ("optim.lr: 0.001 -> 0.0005").
"""
import hashlib
import json
import os
from pathlib import Path
from typing import Iterable, Mapping

from toolkit.utils.atomic import write_json

SMALL = 16 << 20   # bytes: files up to this size are known by content
NAME = ".fingerprint.json"


def sign(path: str | os.PathLike) -> dict:
    """{"sha1"} of a small file, {"size", "mtime_ns"} of a large one, {"missing": True} if there is none."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return {"missing": True}
    if st.st_size > SMALL:
        return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return {"sha1": h.hexdigest()}


def stat_digest(paths: Iterable[str | os.PathLike]) -> str:
    """One sha1 over the paths, sizes and mtimes of many files (e.g. every recording of a corpus)."""
    h = hashlib.sha1()
    for path in sorted(map(str, paths)):
        try:
            st = os.stat(path)
            h.update(f"{path}\t{st.st_size}\t{st.st_mtime_ns}\n".encode())
        except FileNotFoundError:
            h.update(f"{path}\tmissing\n".encode())
    return h.hexdigest()


def flatten(config: Mapping, prefix: str = "") -> dict:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists and scalars are values."""
    flat = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def fingerprint(paths: Mapping[str, str | os.PathLike] | Iterable[str | os.PathLike],
                config: Mapping | None = None) -> dict:
    """The record of a stage's inputs: `paths` ({name: path}, or paths named by themselves) signed one by
    one, and `config` (what else changes the output, JSON-able) flattened to dotted keys."""
    named = dict(paths) if isinstance(paths, Mapping) else {str(p): p for p in paths}
    files = {name: {"path": str(path), **sign(path)} for name, path in sorted(named.items())}
    flat = json.loads(json.dumps(flatten(config or {}), sort_keys=True, default=str))  # as it reads back
    return {"files": files, "config": flat}


def path_of(output: str | os.PathLike, name: str | None = None) -> Path:
    """Where the fingerprint of `output` (a dir) lives: <output>/.fingerprint[.<name>].json."""
    return Path(output) / (f".fingerprint.{name}.json" if name else NAME)


def load(output: str | os.PathLike, name: str | None = None) -> dict | None:
    path = path_of(output, name)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def write(output: str | os.PathLike, fp: dict, name: str | None = None) -> None:
    """Record `fp` as what `output` was made from (call it once the stage has completed)."""
    write_json(path_of(output, name), fp, sort_keys=True)


def remove(output: str | os.PathLike, name: str | None = None) -> None:
    """Forget the record (call it before a stage rewrites `output`: an interrupted run leaves none)."""
    path_of(output, name).unlink(missing_ok=True)


def _short(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_digest(value) -> bool:
    return isinstance(value, str) and len(value) == 40 and all(c in "0123456789abcdef" for c in value)


def compare(old: dict, new: dict) -> list[str]:
    """What differs between two fingerprints, in words: one phrase per config key, then one per file, or
    per group of files named `<group>/<name>` ("data.train changed (feats.scp, text)")."""
    changes = []
    old_cfg, new_cfg = old.get("config", {}), new.get("config", {})
    for key in sorted(set(old_cfg) | set(new_cfg)):
        if key not in new_cfg:
            changes.append(f"{key}: {_short(old_cfg[key])} -> (unset)")
        elif key not in old_cfg:
            changes.append(f"{key}: (unset) -> {_short(new_cfg[key])}")
        elif old_cfg[key] != new_cfg[key]:
            changes.append(f"{key} changed" if _is_digest(old_cfg[key]) and _is_digest(new_cfg[key]) else
                           f"{key}: {_short(old_cfg[key])} -> {_short(new_cfg[key])}")
    old_files, new_files = old.get("files", {}), new.get("files", {})
    groups: dict[str, list[str]] = {}
    for key in set(old_files) | set(new_files):
        group, _, name = key.partition("/") if "/" in key else ("", "", key)
        if key not in new_files:
            name += " no longer read"
        elif key not in old_files:
            name += " new"
        elif _content(old_files[key]) == _content(new_files[key]):
            continue
        groups.setdefault(group, []).append(name)
    for group, names in sorted(groups.items()):
        names.sort(key=lambda n: (n.startswith("."), n))   # the data before our own records
        if group:
            shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
            changes.append(f"{group} changed ({shown})")
        else:
            changes.extend(n if n.endswith((" new", " no longer read")) else f"{n} changed" for n in names)
    return changes


def _content(signature: dict) -> dict:
    return {k: v for k, v in signature.items() if k != "path"}


def check(output: str | os.PathLike, fp: dict, name: str | None = None) -> list[str] | None:
    """What changed since `output` was made: None when it has no fingerprint (never completed, or made
    before fingerprints), [] when it is up to date."""
    old = load(output, name)
    return None if old is None else compare(old, fp)


def changed_files(fp: dict) -> list[str]:
    """What changed since among the files of a saved fingerprint (e.g. a model's training data), in the
    words of `compare`."""
    files = fp.get("files", {})
    now = {key: {"path": entry["path"], **sign(entry["path"])} for key, entry in files.items()}
    return compare({"files": files}, {"files": now})


def summary(changes: list[str], limit: int = 6) -> str:
    """Changes as one phrase: the first `limit`, then how many more."""
    shown = "; ".join(changes[:limit])
    return shown + (f"; and {len(changes) - limit} more" if len(changes) > limit else "")
