"""``pyquorum replay FILE``: print a capture's events as ``watch`` printed them live.

The capture is played back to a real :class:`~pyquorum.QuorumSession`
(:class:`~pyquorum.capture.PlaybackConnection`): the same initialization
(the header's model), the recorded TRACKSTART, and the recorded events
through the same decoding and printing as ``pyquorum watch``, so the output
is the live output, line for line (``--json`` as ``watch --json``).
``--info`` describes the capture instead.  A damaged capture is one error
line naming the record and byte offset, exit status 1.
"""

from __future__ import annotations

import argparse
import json

from pyquorum import QuorumSession, Track
from pyquorum.capture import Capture, Channel, PlaybackConnection, read_capture
from pyquorum.commands._common import Output
from pyquorum.commands._watching import print_events
from pyquorum.errors import RemoteProtocolError
from pyquorum.messages.quorum import decode_request
from pyquorum.messages.types import TrackStartRequest

__all__ = ["configure", "recorded_flags", "run"]


def recorded_flags(capture: Capture) -> Track | int | None:
    """The flags of the capture's first TRACKSTART, or None if it has none."""
    for record in capture.records:
        if record.channel is Channel.REQUEST:
            try:
                request = decode_request(record.data)
            except RemoteProtocolError:
                continue  # not ours to judge: the session never sends it
            if isinstance(request, TrackStartRequest):
                return request.flags
    return None


def _info(capture: Capture, out: Output) -> int:
    header = capture.header
    counts = {c: len(capture.channel(c)) for c in Channel}
    duration = capture.records[-1].time if capture.records else 0.0
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


def run(args: argparse.Namespace, out: Output) -> int:
    capture = read_capture(args.file)
    if args.info:
        return _info(capture, out)
    flags = recorded_flags(capture)
    with QuorumSession(capture.header.model, connection=PlaybackConnection(capture)) as session:
        if flags is not None:
            session.trackstart(flags)
        # No --count: a capture holds exactly the events watch received.
        return print_events(session.events(timeout=0), out, as_json=args.json)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Decode a capture written by `pyquorum record` to exactly the lines "
        "`pyquorum watch` printed live."
    )
    parser.add_argument("file", metavar="FILE", help="a capture file")
    parser.add_argument("--json", action="store_true", help="print one JSON object per event")
    parser.add_argument("--info", action="store_true",
                        help="describe the capture (header, record counts) instead")
