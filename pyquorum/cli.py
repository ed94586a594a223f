"""The ``pyquorum`` command: the parser, the table of subcommands, and :func:`main`.

Exit codes: ``status`` 0 quorate, 2 not quorate (as ``corosync-quorumtool
-s``); ``watch`` 0; any failure 1 with one line on stderr saying what
happened and what to do; Ctrl-C 130.  No traceback reaches the user
(``PYQUORUM_DEBUG=1`` shows it for unexpected failures).  A closed stdout
(``pyquorum watch | head -1``) ends quietly: watch exits 0, status keeps
its quorate exit code.

Each subcommand is a module of :mod:`pyquorum.commands`, listed in
:data:`COMMANDS`, and only the one that runs is imported: its parser is
filled in (the module's ``configure``) when argparse hands it the
command line, so ``pyquorum status`` never imports what ``serve`` or
``record`` need (the fake server, the capture format).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gc
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, Protocol, cast

from pyquorum import __version__
from pyquorum._frozen import frozen
from pyquorum.commands._common import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_NOT_QUORATE,
    EXIT_OK,
    Failure,
    Output,
    Parser,
)
from pyquorum.errors import (
    AccessError,
    ConnectionLost,
    CorosyncNotRunning,
    CsError,
    CsTimeoutError,
    PyquorumError,
    RemoteProtocolError,
    TryAgainError,
)

__all__ = [
    "COMMANDS",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_QUORATE",
    "EXIT_OK",
    "Command",
    "CommandModule",
    "build_parser",
    "describe",
    "main",
]


class CommandModule(Protocol):
    """What a module of :mod:`pyquorum.commands` provides."""

    def configure(self, parser: argparse.ArgumentParser) -> None:
        """Add the command's options (and description) to its parser."""

    def run(self, args: argparse.Namespace, out: Output) -> int:
        """Run the command; the exit status."""


@frozen
class Command:
    """One row of :data:`COMMANDS`: ``load`` imports the command's module."""

    name: str
    summary: str
    load: Callable[[], CommandModule]


# One importer per command: the import happens when the command runs, and
# mypy checks each module against CommandModule.

def _status() -> CommandModule:
    from pyquorum.commands import status

    return status


def _watch() -> CommandModule:
    from pyquorum.commands import watch

    return watch


def _cmap() -> CommandModule:
    from pyquorum.commands import cmap

    return cmap


def _expected() -> CommandModule:
    from pyquorum.commands import expected

    return expected


def _votes() -> CommandModule:
    from pyquorum.commands import votes

    return votes


def _demo() -> CommandModule:
    from pyquorum.commands import demo

    return demo


def _record() -> CommandModule:
    from pyquorum.commands import record

    return record


def _replay() -> CommandModule:
    from pyquorum.commands import replay

    return replay


def _serve() -> CommandModule:
    from pyquorum.commands import serve

    return serve


def _exporter() -> CommandModule:
    from pyquorum.commands import exporter

    return exporter


#: Every subcommand, in the order ``pyquorum --help`` lists them.
COMMANDS: tuple[Command, ...] = (
    Command(
        "status",
        "what corosync-quorumtool -s shows: provider, ring id, quorate, votes, quorum, "
        "flags, qdevice, members with votes and names (exit 0 quorate, 2 not quorate)",
        _status,
    ),
    Command(
        "watch",
        "print quorum and node list events as they come (--votequorum: votequorum's too)",
        _watch,
    ),
    Command("cmap", "get, list or track corosync's cmap keys (as corosync-cmapctl)", _cmap),
    Command("expected", "set the cluster's expected votes (corosync-quorumtool -e)", _expected),
    Command("votes", "set a node's votes (corosync-quorumtool -v -n)", _votes),
    Command(
        "demo",
        "watch a recorded real 3-node cluster, served by pyquorum's fake corosync "
        "(no corosync needed)",
        _demo,
    ),
    Command(
        "record",
        "watch (same options and output) and record the raw session to a capture file",
        _record,
    ),
    Command(
        "replay",
        "print the events of a capture (pyquorum record) as watch printed them",
        _replay,
    ),
    Command(
        "serve",
        "serve a script or a capture as a fake corosync quorum service (libqb IPC)",
        _serve,
    ),
    Command("exporter", "serve quorum, votes and knet links as Prometheus metrics", _exporter),
)

_BY_NAME = {command.name: command for command in COMMANDS}


#: The top-level parser's class (usage errors exit 1; kept under its old name).
_Parser = Parser


class _CommandParser:
    """A subcommand's parser, made and filled in by its module the first time it parses.

    argparse hands the rest of the command line to the chosen subcommand's
    parser only (its ``parse_known_args``), so only that command's parser is
    built and only its module imported; ``pyquorum --help`` lists every
    command from :data:`COMMANDS` without either.  (Building the ten parsers
    up front cost every command milliseconds: argparse looks up three
    translations and sizes a help formatter for each.)
    """

    def __init__(self, *, command: Command, **kwargs: Any) -> None:
        self.command = command
        self._kwargs = kwargs  # what argparse's add_parser passes: prog, and the like
        self._parser: _Parser | None = None

    @property
    def parser(self) -> argparse.ArgumentParser:
        """The command's parser (made, and the command's module imported, on first use)."""
        if self._parser is None:
            self._parser = _Parser(**self._kwargs)
            self.command.load().configure(self._parser)
        return self._parser

    def parse_known_args(
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        return self.parser.parse_known_args(args, namespace)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pyquorum",
        description="Query and watch corosync's quorum, votequorum and cmap services.",
    )
    parser.add_argument("--version", action="version", version=f"pyquorum {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log what pyquorum does on stderr"
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND",
        parser_class=cast("type[argparse.ArgumentParser]", _CommandParser),  # (a stand-in)
    )
    for command in COMMANDS:
        sub.add_parser(command.name, help=command.summary, command=command)
    return parser


def describe(exc: BaseException) -> str:
    """One line: what happened, and what to do about it."""
    if isinstance(exc, Failure):
        return str(exc)
    if isinstance(exc, CorosyncNotRunning):
        return (
            "corosync is not running (nothing listens on its quorum socket in this network "
            "namespace); start corosync, or run pyquorum in corosync's network namespace"
        )
    if isinstance(exc, AccessError):
        return (
            f"corosync refused the connection (permission denied for uid {os.getuid()}); "
            "run as root, or allow this user with uidgid.uid in corosync.conf"
        )
    if isinstance(exc, TryAgainError):
        return "corosync is not ready yet (starting up or busy); try again in a moment"
    if isinstance(exc, ConnectionLost):
        return (
            "lost the connection to corosync (did the daemon stop?); "
            "check that corosync is running and retry"
        )
    if isinstance(exc, CsTimeoutError):
        return f"corosync did not answer in time ({exc}); check that it is responsive, " \
            "or raise --timeout"
    if isinstance(exc, RemoteProtocolError):
        return (
            f"corosync sent a message pyquorum cannot parse ({exc}); "
            "please report this with your corosync version"
        )
    if isinstance(exc, CsError):
        return f"corosync reported an error: {exc}; see corosync's log for the cause"
    if isinstance(exc, PyquorumError):
        return f"{exc}"
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}; " \
            "check permissions and system resources"
    return (
        f"internal error: {type(exc).__name__}: {exc}; please report it "
        "(PYQUORUM_DEBUG=1 shows the traceback)"
    )


#: Commands whose code logs nothing above INFO: without ``-v`` they never import
#: :mod:`logging` (milliseconds of their start-up); every other command's code may
#: warn (reconnecting, serving, exporting) and gets the stderr handler as before.
QUIET_COMMANDS = frozenset({"status", "cmap", "expected", "votes", "replay"})

#: Commands that end on their own once they have read or set one thing: the cyclic
#: garbage collector stays paused while they run.  Every command starts with it
#: paused (parsing, importing the command's module): start-up makes thousands of
#: objects that all live on (modules, functions, classes), which the collector
#: would otherwise walk again and again, about a twentieth of ``pyquorum status``.
#: It is resumed before any other command runs, and when main() returns.  When
#: main() runs the process's own command line (``argv`` None: the ``pyquorum``
#: script, ``python -m pyquorum``), a one-shot command's process also ends without
#: the collector walking every object once more at exit (``gc.freeze`` at exit:
#: a tenth of ``pyquorum status``); called with ``argv``, main() leaves exit alone.
ONE_SHOT_COMMANDS = frozenset({"status", "expected", "votes"})


def _setup_logging(verbose: bool) -> None:
    import logging

    class _StderrHandler(logging.Handler):
        """Writes to whatever ``sys.stderr`` is at the time (it may be swapped, as in tests)."""

        pyquorum_cli = True  # (the class is made per call: this marks one already added)

        def emit(self, record: logging.LogRecord) -> None:
            try:
                print(self.format(record), file=sys.stderr)
            except Exception:
                self.handleError(record)

    logger = logging.getLogger("pyquorum")
    if not any(getattr(h, "pyquorum_cli", False) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("pyquorum: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pyquorum`` console script and ``python -m pyquorum``."""
    out = Output()
    collecting = gc.isenabled()
    gc.disable()
    try:
        args = build_parser().parse_args(argv)
        if args.verbose or args.command not in QUIET_COMMANDS or "logging" in sys.modules:
            _setup_logging(args.verbose)
        command = _BY_NAME[args.command].load()
        if args.command not in ONE_SHOT_COMMANDS:
            if collecting:
                gc.enable()
        elif argv is None:
            atexit.register(gc.freeze)
        return command.run(args, out)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        out.broken = True
        return EXIT_OK
    except Exception as exc:
        if os.environ.get("PYQUORUM_DEBUG") and not isinstance(exc, PyquorumError | Failure):
            raise
        with contextlib.suppress(OSError):  # stderr gone too: nothing left to tell
            print(f"pyquorum: {describe(exc)}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        if collecting:
            gc.enable()
