"""The ``pyquorum`` command: ``status`` and ``watch``.

Exit codes: ``status`` 0 quorate, 2 not quorate (as ``corosync-quorumtool
-s``); ``watch`` 0; any failure 1 with one line on stderr saying what
happened and what to do; Ctrl-C 130.  No traceback reaches the user
(``PYQUORUM_DEBUG=1`` shows it for unexpected failures).  A closed stdout
(``pyquorum watch | head -1``) ends quietly: watch exits 0, status keeps
its quorate exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NoReturn

from pyquorum import QuorumSession, __version__, commands
from pyquorum.errors import (
    AccessError,
    ConnectionLost,
    CorosyncNotRunning,
    CsError,
    CsTimeoutError,
    InvalidParamError,
    PyquorumError,
    RemoteProtocolError,
    TryAgainError,
)
from pyquorum.formatting import (
    Status,
    event_to_json,
    event_to_text,
    status_to_json,
    status_to_text,
)
from pyquorum.frontend.blocking import Connection
from pyquorum.messages.constants import Model, Track
from pyquorum.messages.types import QuorumNotification

__all__ = ["add_watch_options", "main", "print_events", "read_status", "run_watch"]

#: How long status waits for anything, and watch for each request, by default.
DEFAULT_TIMEOUT = 10.0

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_NOT_QUORATE = 2
EXIT_INTERRUPTED = 130

_MODELS = {"v1": Model.V1, "v0": Model.V0, "auto": Model.AUTO}


class _Failure(Exception):
    """A failure the CLI has already put into words."""


class _Output:
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


def _open_session(
    model: Model, timeout: float, v1_hint: str, connection: Connection | None = None
) -> QuorumSession:
    try:
        if connection is None:  # (tests replace QuorumSession with a callable of two args)
            return QuorumSession(model, timeout=timeout)
        return QuorumSession(model, timeout=timeout, connection=connection)
    except InvalidParamError as exc:
        if model is Model.V1:  # the only InvalidParam of initialize: MODEL_GETTYPE unknown
            raise _Failure(
                f"this corosync does not support the V1 quorum model (it predates 3.1); {v1_hint}"
            ) from exc
        raise


def read_status(session: QuorumSession, timeout: float | None) -> Status:
    """One consistent snapshot from TRACKSTART(CURRENT) on a V1 session:
    the QUORUM notification carries quorate, ring id and members together."""
    session.trackstart(Track.CURRENT, timeout=timeout)
    for event in session.events(timeout=timeout):
        if isinstance(event, QuorumNotification):
            return Status(session.quorum_type, bool(event.quorate), event.ring_id, event.members)
    raise CsTimeoutError(f"status: corosync sent no quorum snapshot within {timeout} s")


def _cmd_status(args: argparse.Namespace, out: _Output) -> int:
    hint = "status needs corosync 3.1 or later (pyquorum watch --model v0 works)"
    with _open_session(Model.V1, args.timeout, hint) as session:
        status = read_status(session, args.timeout)
    out.line(status_to_json(status) if args.json else status_to_text(status))
    return EXIT_OK if status.quorate else EXIT_NOT_QUORATE


def run_watch(
    args: argparse.Namespace, out: _Output, connection: Connection | None = None
) -> int:
    """``pyquorum watch`` with the options of :func:`add_watch_options`; over
    ``connection`` when given (``pyquorum record`` passes a recording one)."""
    model = _MODELS[args.model]
    request_timeout = DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    hint = "use --model auto or --model v0"
    if getattr(args, "reconnect", False):
        return _watch_reconnecting(args, out, model, request_timeout)
    with _open_session(model, request_timeout, hint, connection) as session:
        _say_if_fell_back(model, session.model)
        session.trackstart(
            Track.CHANGES_ONLY if args.changes_only else Track.CURRENT | Track.CHANGES
        )
        return print_events(session.events(timeout=args.timeout), args, out)


def _say_if_fell_back(requested: Model, got: Model) -> None:
    if requested is Model.AUTO and got is Model.V0:
        print(
            "pyquorum: corosync predates the V1 model; watching with V0 (no node lists)",
            file=sys.stderr,
        )


def print_events(events: Iterable[Any], args: argparse.Namespace, out: _Output) -> int:
    """Print events until ``--count`` or the stream ends; too few is a failure."""
    fmt = event_to_json if args.json else event_to_text
    seen = 0
    for event in events:
        if not out.line(fmt(event)):
            return EXIT_OK
        seen += 1
        if args.count is not None and seen >= args.count:
            return EXIT_OK
    if args.count is not None and seen < args.count:
        raise _Failure(
            f"only {seen} of {args.count} events came before {args.timeout} s passed "
            "without one; raise --timeout or lower --count"
        )
    return EXIT_OK


def _watch_reconnecting(
    args: argparse.Namespace, out: _Output, model: Model, request_timeout: float
) -> int:
    """``watch --reconnect``: connection_lost / reconnected lines, then the new snapshot."""
    from pyquorum.events import Reconnected
    from pyquorum.reconnect import ReconnectingSession

    flags = Track.CHANGES_ONLY if args.changes_only else Track.CURRENT | Track.CHANGES
    with ReconnectingSession(model, flags, timeout=request_timeout) as session:
        first = session.session
        said = first is not None and first.model is Model.V0
        if first is not None:
            _say_if_fell_back(model, first.model)

        def items() -> Iterator[Any]:
            # A restarted corosync may be another version: say so once.
            nonlocal said
            for item in session.events(timeout=args.timeout):
                if isinstance(item, Reconnected) and item.model is Model.V0 and not said:
                    _say_if_fell_back(model, item.model)
                    said = True
                yield item

        return print_events(items(), args, out)


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_watch_options(parser: argparse.ArgumentParser, *, reconnect: bool = True) -> None:
    """The options of ``watch`` (``record`` shares them, without ``--reconnect``)."""
    parser.add_argument("--json", action="store_true", help="print one JSON object per event")
    parser.add_argument(
        "--count", type=_positive_int, metavar="N", help="stop after N events"
    )
    parser.add_argument(
        "--changes-only", action="store_true",
        help="skip the initial snapshot (TRACKSTART CHANGES_ONLY)",
    )
    parser.add_argument(
        "--model", choices=sorted(_MODELS), default="v1",
        help="v1: node lists and ring ids; v0: the old quorum-only events; "
        "auto: v1, or v0 on corosync < 3.1 (default v1)",
    )
    parser.add_argument(
        "--timeout", type=_positive_float, metavar="S",
        help="stop when no event has come for S seconds (default: watch forever)",
    )
    if reconnect:
        parser.add_argument(
            "--reconnect", action="store_true",
            help="when corosync goes away, print connection_lost, retry with backoff, "
            "then print reconnected and the new snapshot (instead of exiting)",
        )


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors exit 1: exit 2 means "not quorate" here."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pyquorum", description="Query and watch corosync's quorum service."
    )
    parser.add_argument("--version", action="version", version=f"pyquorum {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log what pyquorum does on stderr"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    status = sub.add_parser(
        "status",
        help="quorum type, quorate, ring id and members (exit 0 quorate, 2 not quorate)",
    )
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.add_argument(
        "--timeout", type=_positive_float, default=DEFAULT_TIMEOUT, metavar="S",
        help=f"give up after S seconds (default {DEFAULT_TIMEOUT:g})",
    )
    status.set_defaults(run=_cmd_status)

    watch = sub.add_parser("watch", help="print quorum and node list events as they come")
    add_watch_options(watch)
    watch.set_defaults(run=run_watch)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def describe(exc: BaseException) -> str:
    """One line: what happened, and what to do about it."""
    if isinstance(exc, _Failure):
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


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at the time (it may be swapped, as in tests)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(self.format(record), file=sys.stderr)
        except Exception:
            self.handleError(record)


def _setup_logging(verbose: bool) -> None:
    logger = logging.getLogger("pyquorum")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("pyquorum: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pyquorum`` console script and ``python -m pyquorum``."""
    out = _Output()
    try:
        args = build_parser().parse_args(argv)
        _setup_logging(args.verbose)
        run: Callable[[argparse.Namespace, _Output], int] = args.run
        return run(args, out)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        out.broken = True
        return EXIT_OK
    except Exception as exc:
        if os.environ.get("PYQUORUM_DEBUG") and not isinstance(exc, PyquorumError | _Failure):
            raise
        with contextlib.suppress(OSError):  # stderr gone too: nothing left to tell
            print(f"pyquorum: {describe(exc)}", file=sys.stderr)
        return EXIT_ERROR
