"""Logging set-up shared by every entry point: one line per record, with time and place."""
import logging
import sys


def setup_logging(level: int | str = logging.INFO, log_file: str | None = None) -> None:
    """Configure the root logger to print `time (module:line) LEVEL message` to stderr (and a file)."""
    fmt = logging.Formatter("%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s",
                            datefmt="%Y-%m-%d %H:%M:%S")
    root = logging.getLogger()
    root.setLevel(level)
    for h in list(root.handlers):
        root.removeHandler(h)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        handlers.append(logging.FileHandler(log_file))
    for h in handlers:
        h.setFormatter(fmt)
        root.addHandler(h)
