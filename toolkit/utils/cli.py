"""What every command-line entry point shares: user errors end the program with one clear message.

    @entry_point
    def main(argv=None) -> int: ...

    if __name__ == "__main__":
        sys.exit(main())

A `UserError` (or a missing or unwritable file the user named, or a ValueError/KeyError that names
the bad value) prints `<program>: error: <message>` on one line of stderr and returns exit status 1,
without a traceback. Other exceptions are bugs and propagate with their traceback.
"""
import functools
import sys
from pathlib import Path
from typing import Callable

from toolkit.utils.errors import UserError

#: OSError covers a read-only or full file system and missing or unwritable paths.
USER_ERRORS = (UserError, ValueError, KeyError, OSError)


def error_message(e: BaseException) -> str:
    """The exception's message on one line (a KeyError's str() quotes it; Hydra's span lines)."""
    text = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
    return " ".join(str(text).split())


def entry_point(main: Callable[..., int | None]) -> Callable[..., int]:
    """Wrap `main(argv) -> exit status` so that user errors become one line on stderr and status 1."""

    @functools.wraps(main)
    def run(argv: list[str] | None = None) -> int:
        try:
            return main(argv) or 0
        except USER_ERRORS as e:
            module = main.__module__
            prog = Path(sys.argv[0]).stem if module == "__main__" else module.rsplit(".", 1)[-1]
            print(f"{prog}: error: {error_message(e)}", file=sys.stderr)
            return 1

    return run
