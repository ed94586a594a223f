"""What every subcommand shares and that costs nothing to import.

Exit codes, the default timeout, the :class:`Output` every command prints
through, the :class:`Failure` it raises once it has put a problem into
words, and the argparse pieces (option types, the options of ``watch``).
Only the standard library is imported here: :mod:`pyquorum.cli` loads this
module to build its parser, before it knows which command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, NoReturn

__all__ = [
    "DEFAULT_TIMEOUT",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_QUORATE",
    "EXIT_OK",
    "MODEL_NAMES",
    "Failure",
    "HelpFormatter",
    "Output",
    "Parser",
    "add_watch_options",
    "positive_float",
    "positive_int",
    "terminal_columns",
]

#: How long status waits for anything, and watch for each request, by default.
DEFAULT_TIMEOUT = 10.0

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_NOT_QUORATE = 2
EXIT_INTERRUPTED = 130

#: ``--model`` values (the names of :class:`pyquorum.Model`, lower-cased).
MODEL_NAMES = ("auto", "v0", "v1")


def terminal_columns() -> int:
    """The width ``shutil.get_terminal_size`` gives argparse: ``$COLUMNS`` when a
    positive number, else the terminal's on stdout, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        columns = 0
    return columns or 80


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, with the same width found without :mod:`shutil`.

    argparse's own asks ``shutil.get_terminal_size`` each time a parser adds
    an argument, and importing :mod:`shutil` (with ``bz2``, ``lzma``,
    ``fnmatch``) costs every command milliseconds of start-up."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        if width is None:
            width = terminal_columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


class Parser(argparse.ArgumentParser):
    """argparse, but usage errors exit 1: exit 2 means "not quorate" here;
    help formatted by :class:`HelpFormatter` unless told otherwise.

    Commands with actions of their own (``pyquorum cmap get``) pass it as
    ``parser_class`` to ``add_subparsers``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


class Failure(Exception):
    """A failure the command has already put into words (printed as it is)."""


class Output:
    """stdout that notices when the reader has gone (EPIPE) and then stays quiet."""

    def __init__(self) -> None:
        self.broken = False

    def line(self, text: str) -> bool:
        """Print and flush ``text``; False once nobody reads stdout any more."""
        if self.broken:
            return False
        try:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            self.broken = True
            # Point fd 1 at /dev/null so the interpreter's final flush stays quiet.
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, sys.stdout.fileno())
            except (OSError, ValueError):  # stdout is not a real file (tests)
                pass
            finally:
                os.close(devnull)
            return False
        return True


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_watch_options(parser: argparse.ArgumentParser, *, reconnect: bool = True) -> None:
    """The options of ``watch`` (``record`` shares them, without ``--reconnect``)."""
    parser.add_argument("--json", action="store_true", help="print one JSON object per event")
    parser.add_argument(
        "--count", type=positive_int, metavar="N", help="stop after N events"
    )
    parser.add_argument(
        "--changes-only", action="store_true",
        help="skip the initial snapshot (TRACKSTART CHANGES_ONLY)",
    )
    parser.add_argument(
        "--model", choices=MODEL_NAMES, default="v1",
        help="v1: node lists and ring ids; v0: the old quorum-only events; "
        "auto: v1, or v0 on corosync < 3.1 (default v1)",
    )
    parser.add_argument(
        "--timeout", type=positive_float, metavar="S",
        help="stop when no event has come for S seconds (default: watch forever)",
    )
    if reconnect:
        parser.add_argument(
            "--reconnect", action="store_true",
            help="when corosync goes away, print connection_lost, retry with backoff, "
            "then print reconnected and the new snapshot (instead of exiting)",
        )
