"""What every command-line entry point shares: user errors end the program with one clear message.

    @entry_point
    def main(argv=None) -> int: ...

    if __name__ == "__main__":
        sys.exit(main())

A `UserError` (or a missing or unreadable file the user named) prints `<program>: error: <message>`
on stderr and returns exit status 1, without a traceback; the message already names the file, line
or utterance. Other exceptions are bugs and propagate with their traceback.
"""
import functools
import sys
from pathlib import Path
from typing import Callable

from toolkit.utils.errors import UserError

USER_ERRORS = (UserError, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


def entry_point(main: Callable[..., int | None]) -> Callable[..., int]:
    """Wrap `main(argv) -> exit status` so that user errors become one line on stderr and status 1."""

    @functools.wraps(main)
    def run(argv: list[str] | None = None) -> int:
        try:
            return main(argv) or 0
        except USER_ERRORS as e:
            module = main.__module__
            prog = Path(sys.argv[0]).stem if module == "__main__" else module.rsplit(".", 1)[-1]
            print(f"{prog}: error: {e}", file=sys.stderr)
            return 1

    return run
