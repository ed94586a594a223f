"""``pyquorum replay FILE``: print a capture's events as ``watch`` printed them live.

The capture is played back to a real :class:`~pyquorum.QuorumSession`
(:class:`~pyquorum.capture.PlaybackConnection`): the same initialization
(the header's model), the recorded TRACKSTART, and the recorded events
through the same decoding and printing as ``pyquorum watch``, so the output
is the live output, line for line (``--json`` as ``watch --json``).
``--info`` describes the capture instead.  A damaged capture is one error
line naming the record and byte offset, exit status 1, before any event is
printed: the file is read through once to check it, then played back as it
is read, so a capture of any length needs the memory of a few records.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable

from pyquorum import QuorumSession, Track
from pyquorum.capture import Capture, CaptureRecord, Channel, PlaybackConnection, iter_capture
from pyquorum.commands._common import Output
from pyquorum.commands._watching import print_events
from pyquorum.errors import RemoteProtocolError
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
    lines = [
        f"capture format   {header.version}",
        f"created          {header.created} by pyquorum {header.pyquorum_version}",
        f"corosync         {header.corosync_version or 'unknown'}",
        f"libqb            {header.libqb_version or 'unknown'}",
        f"transport        {header.transport}",
        f"model            {header.model.name}",
        f"service          {header.service}",
        f"records          {counts[Channel.REQUEST]} requests, "
        f"{counts[Channel.RESPONSE]} responses, {counts[Channel.EVENT]} events "
        f"over {duration:.3f} s",
    ]
    if header.description:
        lines.append(f"description      {header.description}")
    if header.metadata:
        lines.append(f"metadata         {json.dumps(dict(header.metadata), sort_keys=True)}")
    for line in lines:
        if not out.line(line):
            break
    return 0


def _check(path: str) -> Track | int | None:
    """Read the whole capture once, so that a damaged one fails before a line is
    printed, and return its recorded TRACKSTART flags (records are not kept)."""
    flags: Track | int | None = None
    with iter_capture(path) as reader:
        records = iter(reader)
        for record in records:
            if record.channel is Channel.REQUEST:
                flags = recorded_flags([record])
                if flags is not None:
                    break
        for _ in records:
            pass
    return flags


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
        if self._out.broken:
            return False
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
    flags = _check(args.file)
    batched = _BatchedOutput(out)
    with iter_capture(args.file) as reader, QuorumSession(
        reader.header.model, connection=PlaybackConnection(reader)
    ) as session:
        if flags is not None:
            session.trackstart(flags)
        # No --count: a capture holds exactly the events watch received.
        try:
            return print_events(session.events(timeout=0), batched, as_json=args.json)
        finally:
            batched.flush()


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Decode a capture written by `pyquorum record` to exactly the lines "
        "`pyquorum watch` printed live."
    )
    parser.add_argument("file", metavar="FILE", help="a capture file")
    parser.add_argument("--json", action="store_true", help="print one JSON object per event")
    parser.add_argument("--info", action="store_true",
                        help="describe the capture (header, record counts) instead")
