"""``pyquorum record -o FILE``: watch (or read one status), and record the raw traffic.

Prints exactly what ``pyquorum watch`` prints with the same options (it
*is* watch, its sessions over :class:`~pyquorum.capture.RecordingConnection`),
while every request, response and event of every connection goes to FILE
in the capture format (:mod:`pyquorum.capture`, docs/capture-format.md,
version 2): ``--votequorum`` records the votequorum connection beside the
quorum one, ``--reconnect`` each new connection after corosync came back
(with both, the new votequorum connection too).
``--status`` records one ``pyquorum status`` instead (its cmap, quorum
and votequorum connections) and prints what status prints.  Stop a watch
with Ctrl-C or SIGTERM (or ``--count``/``--timeout``): the capture is then
closed properly and ``pyquorum replay FILE`` prints the same lines again.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING

from pyquorum import Model
from pyquorum.capture import CaptureHeader, CaptureWriter, RecordingConnection
from pyquorum.commands._common import DEFAULT_TIMEOUT, Failure, Output, add_watch_options
from pyquorum.hostinfo import corosync_version, libqb_version

if TYPE_CHECKING:
    from pyquorum.frontend.blocking import Connection

__all__ = ["configure", "run"]


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM ends the recording as Ctrl-C does (the capture gets its end record)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Recorder:
    """Makes the sessions' connections, each recorded into the writer as a
    connection of the capture.  The first quorum connection is made before
    the file is (so that no corosync means no file); ``attempts`` counts the
    connects since the last one that succeeded (a reconnecting watch's
    failed tries)."""

    def __init__(self, timeout: float) -> None:
        from pyquorum.ipc.client.connection import IpcConnection

        self.timeout = timeout
        self.first: Connection | None = IpcConnection.connect("quorum", timeout=timeout)
        self.writer: CaptureWriter | None = None
        self.attempts = 0

    def __call__(self, service: str) -> Connection:
        from pyquorum.ipc.client.connection import IpcConnection

        assert self.writer is not None
        self.attempts += 1
        if service == "quorum" and self.first is not None:
            connection, self.first = self.first, None
        else:
            connection = IpcConnection.connect(service, timeout=self.timeout)
        try:
            recording = RecordingConnection(connection, self.writer, service=service,
                                            attempts=self.attempts)
        except BaseException:
            connection.close()
            raise
        self.attempts = 0
        return recording

    def close(self) -> None:
        if self.first is not None:
            self.first.close()
            self.first = None


def _command(args: argparse.Namespace) -> tuple[str, ...]:
    """The recorded command line, as the header stores it (what replay prints as)."""
    if args.status:
        return ("status",)
    words = ["watch"]
    for option in ("votequorum", "reconnect", "changes_only"):
        if getattr(args, option):
            words.append("--" + option.replace("_", "-"))
    return tuple(words)


def run(args: argparse.Namespace, out: Output) -> int:
    if args.status:
        bad = [name for name in ("count", "changes_only", "votequorum", "reconnect")
               if getattr(args, name)]
        if bad or args.model != "v1":
            raise Failure("--status records one status snapshot: it takes --json, --timeout "
                          "and --description only")
    model = Model.V1 if args.status else Model[args.model.upper()]
    timeout = DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    with _sigterm_interrupts():
        recorder = _Recorder(timeout)
        try:
            header = CaptureHeader(
                model=model, command=_command(args), description=args.description,
                corosync_version=corosync_version(), libqb_version=libqb_version(),
            )
            writer = CaptureWriter(args.output, header)
        except BaseException:
            recorder.close()
            raise
        recorder.writer = writer
        try:
            with writer:
                if args.status:
                    from pyquorum.commands._status import run_status

                    status_args = argparse.Namespace(json=args.json, timeout=timeout)
                    return run_status(status_args, out, recorder)
                from pyquorum.commands._watching import run_watch

                return run_watch(args, out, recorder)
        finally:
            recorder.close()
            with contextlib.suppress(OSError):
                print(f"pyquorum: recorded {writer.count} messages to {args.output}",
                      file=sys.stderr)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Print what `pyquorum watch` prints (or, with --status, what `pyquorum status` "
        "prints), and record every message of every connection to FILE; "
        "`pyquorum replay FILE` prints it again."
    )
    parser.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="the capture file to write (replaced if it exists)")
    parser.add_argument("--description", default="", metavar="TEXT",
                        help="free text stored in the capture's header")
    parser.add_argument("--status", action="store_true",
                        help="record one `pyquorum status` (its cmap, quorum and votequorum "
                        "connections) instead of watching")
    add_watch_options(parser)
    parser.add_argument(
        "--votequorum", action="store_true",
        help="watch votequorum too, as `pyquorum watch --votequorum` (with --reconnect, "
        "a new votequorum connection after each reconnection)",
    )
