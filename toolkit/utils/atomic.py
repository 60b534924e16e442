"""Atomic file writes: a crash (even SIGKILL) leaves either the old file or the new one, never half.

The new file gets the permissions of any newly created file (0666 minus the umask), like `open`;
`tempfile.mkstemp` would make every output private (0600).
"""
import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import IO, Iterator


def _create_temp(path: Path) -> tuple[int, Path]:
    """Create and open an unused `.<name>.<random>.tmp` next to `path`, mode 0666 minus the umask."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **open_kwargs) -> Iterator[IO]:
    """Open a temporary file next to `path`; on success fsync it and rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_save(obj, path: str | os.PathLike) -> None:
    """`torch.save` that never leaves a truncated file behind."""
    import torch  # here, not at module level: light commands that write text need not load torch

    with atomic_write(path, "wb") as f:
        torch.save(obj, f)


def write_json(path: str | os.PathLike, obj, *, sort_keys: bool = False) -> None:
    """Write `obj` as indented UTF-8 JSON with a final newline, atomically (reports, stamps, fingerprints)."""
    with atomic_write(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, sort_keys=sort_keys)
        f.write("\n")
