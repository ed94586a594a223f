"""``pyquorum demo``: the whole stack with no corosync installed.

A 3-node cluster's story (shipped in ``pyquorum/fake/data``) is served by
pyquorum's fake quorum server over real libqb IPC (shared-memory rings,
semaphores, doorbells; or the socket transport) and watched by pyquorum's
own client, exactly as ``pyquorum watch`` watches a real corosync.

As root the server gets a private network namespace, so it listens on
``@quorum`` without meeting a real corosync; otherwise it uses a service
name of its own.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from pyquorum.fake.script import Script
from pyquorum.fake.server import demo_script
from pyquorum.formatting import event_to_json, event_to_text
from pyquorum.messages.constants import Model, Track
from pyquorum.testing.fake import FakeQuorumServer

__all__ = ["register"]


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


def _run(args: argparse.Namespace, out: Any) -> int:
    script = demo_script()
    expected = 2 + sum(2 if c.membership else 1 for c in script.changes)
    fmt = event_to_json if args.json else event_to_text
    with _server(script, args) as server:
        where = "@quorum in a private network namespace" if server.netns else server.server.address
        if not args.json:
            out.line(f"pyquorum demo: {script.name}")
            out.line(
                f"served by pyquorum's fake corosync on {where} over the {args.transport} "
                "transport, watched by pyquorum's client (V1 model):"
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
                if not out.line(fmt(event)):
                    return 0
                seen += 1
                if seen >= expected:
                    break
    if seen < expected:
        print(f"pyquorum: demo: only {seen} of {expected} events arrived", file=sys.stderr)
        return 1
    if not args.json:
        out.line(f"{seen} events, as served; see `pyquorum serve --help` to serve your own story")
    return 0


def _speed(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number")
    return value


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "demo",
        help="watch a 3-node cluster served by pyquorum's fake corosync (no corosync needed)",
    )
    parser.add_argument("--json", action="store_true", help="print events as JSON lines")
    parser.add_argument("--transport", choices=("shm", "socket"), default="shm",
                        help="libqb transport (default shm)")
    parser.add_argument("--speed", type=_speed, default=1.0, metavar="X",
                        help="play the story X times as fast (default 1)")
    parser.set_defaults(run=_run)
