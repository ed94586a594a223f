"""``pyquorum replay FILE``: print a capture as ``watch`` (or ``status``) printed it live.

The capture is played back to real sessions
(:class:`~pyquorum.capture.PlaybackConnection`): the same initialization
(the header's model), the recorded TRACKSTART, and the recorded events
through the same decoding and printing as ``pyquorum watch``, so the output
is the live output, line for line (``--json`` as ``watch --json``).

A version-2 capture says what was recorded (its header's ``command``):
``watch --votequorum`` plays the quorum and votequorum connections side by
side and prints their events in the recorded order; ``watch --reconnect``
prints ``connection_lost`` where a connection was lost and ``reconnected``
where the next one came up, as the live watch did; ``status`` plays its
cmap, quorum and votequorum connections to the same reads as ``pyquorum
status`` and prints the same status (and exits as it did).

``--info`` describes the capture instead.  A damaged capture is one error
line naming the record and byte offset, exit status 1, before any event is
printed: the file is read through once to check it, then played back as it
is read, so a capture of any length needs the memory of a few records.
"""

from __future__ import annotations

import argparse
import json
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pyquorum import QuorumSession, Track
from pyquorum.capture import (
    IN_MEMORY_LIMIT,
    Capture,
    CaptureBytes,
    CaptureConnection,
    CaptureDemux,
    CaptureHeader,
    CaptureReader,
    CaptureRecord,
    Channel,
    CloseReason,
    PlaybackConnection,
    iter_capture,
    read_capture,
)
from pyquorum.commands._common import DEFAULT_TIMEOUT, Output
from pyquorum.commands._watching import print_events
from pyquorum.errors import CorosyncNotRunning, PyquorumError, RemoteProtocolError
from pyquorum.messages.quorum import decode_request
from pyquorum.messages.types import TrackStartRequest

__all__ = ["configure", "recorded_flags", "run"]


def recorded_flags(capture: Capture | Iterable[CaptureRecord]) -> Track | int | None:
    """The flags of the capture's first TRACKSTART, or None if it has none."""
    for record in capture.records if isinstance(capture, Capture) else capture:
        if record.channel is Channel.REQUEST:
            try:
                request = decode_request(record.data)
            except RemoteProtocolError:
                continue  # not ours to judge: the session never sends it
            if isinstance(request, TrackStartRequest):
                return request.flags
    return None


def _info(path: str, out: Output) -> int:
    counts = dict.fromkeys(Channel, 0)
    duration = 0.0
    with iter_capture(path) as reader:
        header = reader.header
        for record in reader:
            counts[record.channel] += 1
            duration = record.time
        connections = list(reader.connections.values())
    lines = [
        f"capture format   {header.version}",
        f"created          {header.created} by pyquorum {header.pyquorum_version}",
        f"corosync         {header.corosync_version or 'unknown'}",
        f"libqb            {header.libqb_version or 'unknown'}",
    ]
    if header.version == 1:
        lines += [f"transport        {header.transport}",
                  f"model            {header.model.name}",
                  f"service          {header.service}"]
    else:
        lines += [f"command          pyquorum {' '.join(header.command) or '(unknown)'}",
                  f"model            {header.model.name}"]
        for conn in connections:
            closed = "" if conn.closed is None else f" to {conn.closed:.3f} s ({conn.reason})"
            error = f": {conn.error}" if conn.error else ""
            tries = f" after {conn.attempts} attempts" if conn.attempts > 1 else ""
            lines.append(f"connection {conn.id:<5} {conn.service} over {conn.transport}, "
                         f"from {conn.opened:.3f} s{tries}{closed}{error}")
    lines.append(
        f"records          {counts[Channel.REQUEST]} requests, "
        f"{counts[Channel.RESPONSE]} responses, {counts[Channel.EVENT]} events "
        f"over {duration:.3f} s"
    )
    if header.description:
        lines.append(f"description      {header.description}")
    if header.metadata:
        lines.append(f"metadata         {json.dumps(dict(header.metadata), sort_keys=True)}")
    for line in lines:
        if not out.line(line):
            break
    return 0


@dataclass
class _Summary:
    """What the checking pass learns: the recorded TRACKSTART flags (of the
    first quorum connection) and the connections (no records are kept)."""

    header: CaptureHeader
    flags: Track | int | None = None
    connections: list[CaptureConnection] = field(default_factory=list)

    def plain_watch(self) -> bool:
        """One quorum connection of a plain watch: played as a version-1 capture."""
        command = self.header.command
        return self.header.version == 1 or ((
            command == ("watch",) or command == ("watch", "--changes-only")
        ) and [c.service for c in self.connections] == ["quorum"])


def _check(reader: CaptureReader) -> _Summary:
    """Read the whole capture once, so that a damaged one fails before a line is
    printed, and return what playing it needs."""
    with reader:
        summary = _Summary(reader.header)
        # Only the requests are made records; the rest is checked, not built.
        for record in reader.check(keep=(Channel.REQUEST,)):
            if summary.flags is None and (
                reader.connections[record.connection].service == "quorum"
            ):
                summary.flags = recorded_flags([record])
        summary.connections = list(reader.connections.values())
    return summary


class _BatchedOutput(Output):
    """Hands lines to ``out`` in blocks, one write and flush each, rather than one
    per event: a replay has no reader waiting for each line as it happens."""

    LIMIT = 64 * 1024

    def __init__(self, out: Output) -> None:
        super().__init__()
        self._out = out
        self._lines: list[str] = []
        self._size = 0

    def line(self, text: str) -> bool:
        # (A broken output is found by the flush that writes to it, which returns
        # False: the printer stops there.)
        self._lines.append(text)
        self._size += len(text) + 1
        return self._size < self.LIMIT or self.flush()

    def flush(self) -> bool:
        if not self._lines:
            return not self._out.broken
        text = "\n".join(self._lines)
        self._lines.clear()
        self._size = 0
        return self._out.line(text)


def run(args: argparse.Namespace, out: Output) -> int:
    if args.info:
        return _info(args.file, out)
    # A capture up to IN_MEMORY_LIMIT bytes is read once and checked in memory,
    # then played from the same bytes without computing each CRC again; a
    # longer one is read from the file twice, checked as it is read, then played.
    loaded = CaptureBytes.load(args.file, IN_MEMORY_LIMIT)

    def reader() -> CaptureReader:
        return loaded.reader() if loaded is not None else iter_capture(args.file)

    summary = _check(reader())
    if summary.header.command[:1] == ("status",):
        return _replay_status(args.file, out, as_json=args.json)
    batched = _BatchedOutput(out)
    try:
        if not summary.plain_watch():
            with reader() as playing, CaptureDemux(playing) as demux:
                return print_events(_watch_events(demux, summary), batched, as_json=args.json)
        flags = summary.flags
        with reader() as playing, QuorumSession(
            playing.header.model, connection=PlaybackConnection(playing)
        ) as session:
            if flags is not None:
                session.trackstart(flags)
            # No --count: a capture holds exactly the events watch received.
            return print_events(session.events(timeout=0), batched, as_json=args.json)
    finally:
        batched.flush()


def _watch_events(demux: CaptureDemux, summary: _Summary) -> Iterator[Any]:
    """The events of a recorded ``watch`` of several connections, as it printed them.

    Each connection is played to its own session, made (initialized, tracking
    with the recorded flags) where the connection opened; each recorded event
    is taken from its connection's session at its place in the file, which is
    the order the live watch received and printed them.  With ``--reconnect``
    a quorum connection lost prints ``connection_lost``, the next one whose
    session comes up ``reconnected`` (one that did not come up, live, does
    not here either: it was a failed attempt)."""
    from pyquorum import ConnectionLostEvent, Reconnected
    from pyquorum.services.votequorum.session import VotequorumSession

    header = summary.header
    flags = summary.flags if summary.flags is not None else Track.CURRENT | Track.CHANGES
    reconnecting = "--reconnect" in header.command
    sessions: dict[int, QuorumSession | VotequorumSession] = {}
    had_quorum = False
    try:
        for item in demux:
            if isinstance(item, CaptureRecord):
                session = sessions.get(item.connection)
                if session is not None:
                    # One event: the next recorded one of this connection (the
                    # generator is dropped at once, it holds nothing between events).
                    event = next(session.events(timeout=0), None)
                    if event is not None:
                        yield event
            elif item.closed is not None:
                gone = sessions.pop(item.id, None)
                if gone is not None:
                    gone.close()
                    if reconnecting and item.service == "quorum" and (
                        item.reason is CloseReason.LOST
                    ):
                        yield ConnectionLostEvent(item.error or "")
            elif item.service == "quorum":
                try:
                    quorum = QuorumSession(header.model, connection=demux.playback(item.id))
                except PyquorumError:
                    if not (reconnecting and had_quorum):
                        raise
                    continue  # live, this attempt failed too
                try:
                    quorum.trackstart(flags)
                except PyquorumError:
                    quorum.close()
                    if not (reconnecting and had_quorum):
                        raise
                    continue
                sessions[item.id] = quorum
                if had_quorum and reconnecting:
                    yield Reconnected(quorum.quorum_type, quorum.model, item.attempts)
                had_quorum = True
            elif item.service == "votequorum":
                votequorum = VotequorumSession(connection=demux.playback(item.id))
                sessions[item.id] = votequorum
                votequorum.trackstart(flags)
    finally:
        for session in sessions.values():
            session.close()


def _replay_status(path: str, out: Output, *, as_json: bool) -> int:
    """A recorded ``status``: its connections played to the same reads."""
    from pyquorum.commands._status import run_status

    capture = read_capture(path)
    waiting = {service: deque(capture.connections_of(service))
               for service in {c.service for c in capture.connections}}

    def connect(service: str) -> PlaybackConnection:
        left = waiting.get(service)
        if not left:
            raise CorosyncNotRunning(f"the capture holds no (further) {service} connection")
        return PlaybackConnection(capture, connection=left.popleft().id)

    return run_status(argparse.Namespace(json=as_json, timeout=DEFAULT_TIMEOUT), out, connect)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Decode a capture written by `pyquorum record` to exactly the lines "
        "`pyquorum watch` (or `pyquorum status`) printed live."
    )
    parser.add_argument("file", metavar="FILE", help="a capture file")
    parser.add_argument("--json", action="store_true", help="print one JSON object per event")
    parser.add_argument("--info", action="store_true",
                        help="describe the capture (header, record counts) instead")
