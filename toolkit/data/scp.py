"""Matrices named by a Kaldi scp table (`feats.scp`, `cmvn.scp`): `<key> <ark path>:<byte offset>`.

Every read of a feature or CMVN matrix goes through `ScpMatrices`, so that a truncated or
corrupt archive fails with the scp line, the key (utterance or speaker) and the `ark:offset`,
not with whatever kaldiio raises deep inside (AssertionError, a numpy reshape error, ...).
Entries that are shell commands (ending in `|`, which kaldiio would run) are refused: the
toolkit runs commands only from `wav.scp`.
"""
from collections.abc import Iterator, Mapping
from pathlib import Path

import kaldiio
import numpy as np

from toolkit.data.audio import is_pipe
from toolkit.data.datadir import DataDirError, read_table


class MatrixReadError(DataDirError):
    """A matrix of an scp table that cannot be read; the message names scp line, key and ark:offset."""


class ScpMatrices(Mapping):
    """Read-only {key: matrix (rows, cols)} over an scp file; matrices are read when asked for,
    one at a time, in file order when iterated."""

    def __init__(self, scp: str | Path):
        self.scp = Path(scp)
        self._entries: dict[str, tuple[int, str]] = {}  # key -> (line, "ark:offset")
        for lineno, (key, spec) in enumerate(read_table(self.scp).items(), 1):
            if is_pipe(spec):
                raise MatrixReadError(f"{self.scp}:{lineno}: entry '{key}' is a shell command ({spec!r}); the "
                                      "toolkit runs commands only from wav.scp: write the matrices to an ark "
                                      f"first (e.g. copy-feats scp:{self.scp.name} ark,scp:new.ark,new.scp)")
            self._entries[key] = (lineno, spec)

    def __getitem__(self, key: str) -> np.ndarray:
        lineno, spec = self._entries[key]
        try:
            return np.asarray(kaldiio.load_mat(spec))
        except Exception as e:  # kaldiio raises anything from AssertionError to struct.error on bad bytes
            reason = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            raise MatrixReadError(f"{self.scp}:{lineno}: cannot read the matrix of '{key}' at {spec} "
                                  f"({' '.join(reason.split())}); the archive is missing, truncated or "
                                  "corrupt: re-run the stage that wrote it") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
