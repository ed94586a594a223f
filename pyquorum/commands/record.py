"""``pyquorum record -o FILE``: watch, and record the session's raw traffic.

Prints exactly what ``pyquorum watch`` prints with the same options (it
*is* watch, over a :class:`~pyquorum.capture.RecordingConnection`), while
every request, response and event goes to FILE in the capture format
(:mod:`pyquorum.capture`, docs/capture-format.md).  Stop it with Ctrl-C or
SIGTERM (or ``--count``/``--timeout``): the capture is then closed properly
and ``pyquorum replay FILE`` prints the same lines again.  There is no
``--reconnect``: one capture holds one connection.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

from pyquorum import Model
from pyquorum.capture import CaptureHeader, CaptureWriter, RecordingConnection
from pyquorum.commands._common import DEFAULT_TIMEOUT, Output, add_watch_options
from pyquorum.commands._watching import run_watch
from pyquorum.hostinfo import corosync_version, libqb_version

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


def run(args: argparse.Namespace, out: Output) -> int:
    from pyquorum.ipc.client.connection import IpcConnection

    model = Model[args.model.upper()]
    timeout = DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    with _sigterm_interrupts():
        connection = IpcConnection.connect("quorum", timeout=timeout)
        try:
            header = CaptureHeader.for_connection(
                connection, model, description=args.description,
                corosync_version=corosync_version(), libqb_version=libqb_version(),
            )
            writer = CaptureWriter(args.output, header)
        except BaseException:
            connection.close()
            raise
        try:
            with writer:
                return run_watch(args, out, RecordingConnection(connection, writer))
        finally:
            with contextlib.suppress(OSError):
                print(f"pyquorum: recorded {writer.count} messages to {args.output}",
                      file=sys.stderr)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Print what `pyquorum watch` prints, and record every message of the "
        "session to FILE; `pyquorum replay FILE` prints it again."
    )
    parser.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="the capture file to write (replaced if it exists)")
    parser.add_argument("--description", default="", metavar="TEXT",
                        help="free text stored in the capture's header")
    add_watch_options(parser, reconnect=False)
