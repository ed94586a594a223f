"""``pyquorum demo``: the whole stack with no corosync installed.

A session recorded on node 1 of a real 3-node corosync cluster (shipped in
``pyquorum/fake/data``; made by scripts/record-fixtures while nodes left,
crashed, lost and regained quorum, and were partitioned) is served by
pyquorum's fake quorum server over real libqb IPC (shared-memory rings,
semaphores, doorbells; or the socket transport), at the recorded pace, and
watched by pyquorum's own client exactly as ``pyquorum watch`` watches a
real corosync.

As root the server gets a private network namespace, so it listens on
``@quorum`` without meeting a real corosync; otherwise it uses a service
name of its own.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

from pyquorum.capture import Capture, Channel
from pyquorum.commands._common import Output
from pyquorum.fake.replay import script_from_capture
from pyquorum.fake.script import Script
from pyquorum.fake.server import demo_capture
from pyquorum.formatting import event_to_json, event_to_text
from pyquorum.messages.constants import Model, Track
from pyquorum.testing.fake import FakeQuorumServer

__all__ = ["configure", "run", "step_names"]


def step_names(capture: Capture) -> dict[int, str]:
    """Event index -> the name of the scenario step it starts, from the
    header's ``metadata.steps`` (scripts/record-fixtures writes them; a step
    with no ``expect`` caused no event on this node); empty for a capture
    without them."""
    steps = capture.header.metadata.get("steps")
    names: dict[int, str] = {}
    if isinstance(steps, list):
        for step in steps:
            if isinstance(step, Mapping):
                index, name = step.get("first_event"), step.get("name")
                if isinstance(index, int) and isinstance(name, str) and step.get("expect"):
                    names.setdefault(index, name)
    return names


def _server(script: Script, args: argparse.Namespace) -> FakeQuorumServer:
    """Started in a private namespace as root; under a unique name otherwise."""
    if os.geteuid() == 0:
        try:
            return FakeQuorumServer(
                script, transport=args.transport, speed=args.speed, netns=True
            ).start()
        except OSError:
            pass  # no CAP_SYS_ADMIN after all (a container): fall back
    return FakeQuorumServer(
        script,
        name=f"pyquorum-demo-{os.getpid()}",
        transport=args.transport,
        speed=args.speed,
        netns=None,
    ).start()


def _describe(capture: Capture) -> str:
    header = capture.header
    versions = ", ".join(
        f"{name} {version}"
        for name, version in (("corosync", header.corosync_version),
                              ("libqb", header.libqb_version))
        if version
    )
    recorded = header.created.split("T", 1)[0]
    return f"{header.description} (recorded {recorded}{'; ' + versions if versions else ''})"


def run(args: argparse.Namespace, out: Output) -> int:
    capture = demo_capture()
    script = script_from_capture(capture)
    # A V1 capture served to a V1 client comes back event for event.
    expected = len(capture.channel(Channel.EVENT))
    names = {} if args.json else step_names(capture)
    fmt = event_to_json if args.json else event_to_text
    with _server(script, args) as server:
        where = "@quorum in a private network namespace" if server.netns else server.server.address
        if not args.json:
            out.line(f"pyquorum demo: {_describe(capture)}")
            out.line(
                f"served by pyquorum's fake corosync on {where} over the {args.transport} "
                f"transport at {args.speed:g}x the recorded pace, "
                "watched by pyquorum's client (V1 model):"
            )
        with server.session(Model.V1) as session:
            if not args.json:
                qtype = session.quorum_type
                out.line(
                    f"quorum type {getattr(qtype, 'name', str(qtype)).lower()}, "
                    f"quorate {'yes' if session.getquorate() else 'no'}"
                )
            session.trackstart(Track.CURRENT | Track.CHANGES)
            seen = 0
            idle = max(2.0, 2.0 * script.duration / args.speed)
            for event in session.events(timeout=idle):
                if seen in names and not out.line(f"# {names[seen]}"):
                    return 0
                if not out.line(fmt(event)):
                    return 0
                seen += 1
                if seen >= expected:
                    break
    if seen < expected:
        print(f"pyquorum: demo: only {seen} of {expected} events arrived", file=sys.stderr)
        return 1
    if not args.json:
        out.line(
            f"{seen} events, as recorded; `pyquorum record` records your own cluster, "
            "`pyquorum serve --capture FILE` serves it"
        )
    return 0


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError("must be a positive number")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print events as JSON lines")
    parser.add_argument("--transport", choices=("shm", "socket"), default="shm",
                        help="libqb transport (default shm)")
    parser.add_argument("--speed", type=_speed, default=1.0, metavar="X",
                        help="play the recording X times as fast (default 1: about 15 s)")
