"""Kaldi-style symbol tables (`phones.txt`, `tokens.txt`): `<symbol> <integer id>` per line.

Tables are saved with every model so that decoding never depends on the order a dict happened
to be built in.
"""
from pathlib import Path

from toolkit.utils.atomic import atomic_write

BLANK = "<blk>"  # the CTC blank: index 0 of a CTC model's output symbols


class SymbolTable:
    """A bijection between symbols and contiguous integer ids 0..N-1."""

    def __init__(self, symbols: list[str] | tuple[str, ...]):
        if len(set(symbols)) != len(symbols):
            dup = sorted({s for s in symbols if list(symbols).count(s) > 1})
            raise ValueError(f"duplicate symbols in table: {dup}")
        self.symbols = list(symbols)
        self._ids = {s: i for i, s in enumerate(self.symbols)}

    def __len__(self) -> int:
        return len(self.symbols)

    def __contains__(self, symbol: str) -> bool:
        return symbol in self._ids

    def __eq__(self, other) -> bool:
        return isinstance(other, SymbolTable) and self.symbols == other.symbols

    def id(self, symbol: str) -> int:
        return self._ids[symbol]

    def encode(self, tokens: list[str], *, where: str = "") -> list[int]:
        """Map symbols to ids; an unknown symbol raises KeyError naming it and `where` (file:line/utt)."""
        try:
            return [self._ids[t] for t in tokens]
        except KeyError as e:
            raise KeyError(f"{where + ': ' if where else ''}unknown symbol {e.args[0]!r} "
                           f"(not among the {len(self)} symbols of the table)") from None

    def decode(self, ids) -> list[str]:
        return [self.symbols[int(i)] for i in ids]

    def save(self, path: str | Path) -> None:
        with atomic_write(path, encoding="utf-8") as f:
            for i, s in enumerate(self.symbols):
                f.write(f"{s} {i}\n")

    @classmethod
    def load(cls, path: str | Path) -> "SymbolTable":
        path = Path(path)
        pairs = []
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                parts = line.split()
                if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
                    raise ValueError(f"{path}:{lineno}: expected '<symbol> <id>', got {line.strip()!r}")
                pairs.append((int(parts[1]), parts[0]))
        pairs.sort()
        if [i for i, _ in pairs] != list(range(len(pairs))):
            raise ValueError(f"{path}: ids must be 0..{len(pairs) - 1} without gaps")
        return cls([s for _, s in pairs])


def ctc_symbols(phones: SymbolTable) -> SymbolTable:
    """CTC output symbols: the blank at index 0, then the phones."""
    return SymbolTable([BLANK] + phones.symbols)


def min_ctc_frames(target) -> int:
    """Frames CTC needs for a label sequence (L,): one per label plus a blank between repeated labels."""
    return len(target) + int((target[1:] == target[:-1]).sum()) if len(target) else 0
