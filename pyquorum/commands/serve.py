"""``pyquorum serve``: a fake corosync over real libqb IPC.

Serves a script or story (see :mod:`pyquorum.fake.script`) or a capture
recorded with ``pyquorum record`` in the current network namespace, until
Ctrl-C or SIGTERM: by default as corosync's quorum, votequorum, cmap and
cfg services (``@quorum``, ``@votequorum``, ``@cmap``, ``@cfg``: a
version-1 script gets the cluster it implies), so that
``corosync-quorumtool`` and ``corosync-cmapctl`` run against it;
with ``--quorum-only``, or another ``--name``, the quorum service alone
on ``@NAME``.  On a host with a real corosync, run it in a namespace of its
own (``ip netns exec NS pyquorum serve ...``) or pick another ``--name``:
the fake refuses to start where something already listens.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from dataclasses import replace
from types import FrameType

from pyquorum.commands._common import Failure, Output
from pyquorum.fake.corosync import FakeCorosync
from pyquorum.fake.hostile import Hostility
from pyquorum.fake.hostile_services import ServiceHostility
from pyquorum.fake.script import Change, Script, ScriptError
from pyquorum.fake.server import make_server
from pyquorum.fake.service import QuorumService
from pyquorum.ipc.server.listener import AccessPolicy, IpcServer
from pyquorum.messages.types import RingId

__all__ = ["configure", "describe_change", "load_source", "run"]


def load_source(args: argparse.Namespace) -> Script:
    """The script to serve: ``--script``, or a ``--capture`` turned into one (the
    story of every service it recorded, :mod:`pyquorum.fake.capture_story`)."""
    try:
        if args.script is not None:
            script = Script.load(args.script)
        else:
            from pyquorum.fake.capture_story import story_from_capture

            script = story_from_capture(args.capture)
    except ScriptError as exc:
        raise Failure(str(exc)) from None
    if args.old_corosync:
        script = replace(script, model_v1=False)
    if args.start_now:
        script = replace(script, start="serve")
    return script


def _ids(ids: tuple[int, ...]) -> str:
    return " ".join(map(str, ids)) if ids else "-"


def _ring(ring_id: RingId) -> str:
    return str(ring_id)


def describe_change(change: Change) -> str:
    """One line per served change, in the spirit of ``pyquorum watch``'s text."""
    s = change.state
    what = "membership" if change.membership else "quorum    "
    line = f"{what}  ring {_ring(s.ring_id)}  quorate {'yes' if s.quorate else 'no'}"
    line += f"  members {_ids(s.members)}"
    if change.membership:
        line += f"  joined {_ids(change.joined)}  left {_ids(change.left)}"
    return line


def _service_hostilities(args: argparse.Namespace) -> dict[str, ServiceHostility]:
    out: dict[str, ServiceHostility] = {}
    for item in args.hostile_service:
        service, _, case = item.partition("=")
        try:
            out[service] = ServiceHostility(case)
        except ValueError:
            raise Failure(f"--hostile-service: no case {case!r} (see --help)") from None
    return out


def run(args: argparse.Namespace, out: Output) -> int:
    script = load_source(args)
    hostile = Hostility(args.hostile) if args.hostile else None
    options = {
        "transport": args.transport,
        "speed": args.speed,
        "response_delay": args.delay,
        "stall": args.stall,
        "hostile": hostile,
        "policy": AccessPolicy(frozenset(args.uid), frozenset(args.gid)),
    }
    server: IpcServer | FakeCorosync
    service: QuorumService
    if args.quorum_only or args.name != "quorum":
        server, service = make_server(script, name=args.name, **options)
    else:
        try:
            server = FakeCorosync(script, hostile_services=_service_hostilities(args),
                                  **options)
        except (ScriptError, ValueError) as exc:
            raise Failure(str(exc)) from None
        service = server.quorum
    began = time.monotonic()

    def show(change: Change) -> None:
        out.line(f"{time.monotonic() - began:7.2f}s  {describe_change(change)}")

    service.observers.append(show)

    def stop(signum: int, frame: FrameType | None) -> None:
        server.stop()

    old = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            server.listen()
        except OSError as exc:
            print(f"pyquorum: cannot serve on {server.address}: {exc.strerror}", file=sys.stderr)
            if isinstance(server, FakeCorosync):
                server.group.loop.close()
            return 1
        out.line(
            f"serving {script.name or 'a script'} on {server.address} ({args.transport}, "
            f"pid {server.pid}, {'V1 and V0' if script.model_v1 else 'V0 only'}); "
            "Ctrl-C stops"
        )
        out.line(f"   0.00s  initial     {describe_change(Change(script.initial, True))}")
        server.serve_forever()
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__.split("\n\n")[1] if __doc__ else None
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--script", metavar="FILE", help="a script (.jsonl, see pyquorum.fake.script)"
    )
    source.add_argument("--capture", metavar="FILE", help="a capture recorded with pyquorum record")
    parser.add_argument("--name", default="quorum",
                        help="the quorum service's socket name (default quorum); another "
                        "name serves the quorum service alone")
    parser.add_argument("--quorum-only", action="store_true",
                        help="serve the quorum service alone (no votequorum, cmap, cfg)")
    parser.add_argument("--transport", choices=("shm", "socket"), default="shm",
                        help="libqb transport (default shm, corosync's default)")
    parser.add_argument("--speed", type=float, default=1.0, metavar="X",
                        help="play the timeline X times as fast (default 1)")
    parser.add_argument("--start-now", action="store_true",
                        help="start the timeline at once, not at the first subscription")
    parser.add_argument("--old-corosync", action="store_true",
                        help="emulate corosync < 3.1: no V1 model (MODEL_GETTYPE unknown)")
    parser.add_argument("--delay", type=float, default=0.0, metavar="S",
                        help="answer every request S seconds late (a slow daemon)")
    parser.add_argument("--stall", choices=("requests", "handshake"),
                        help="never answer requests, or not even the handshake")
    parser.add_argument("--hostile", choices=[h.value for h in Hostility], metavar="CASE",
                        help="break the protocol in one way: "
                        + ", ".join(h.value for h in Hostility))
    parser.add_argument("--hostile-service", action="append", default=[],
                        metavar="SERVICE=CASE",
                        help="break votequorum's or cmap's messages in one way (repeatable): "
                        + ", ".join(h.value for h in ServiceHostility))
    parser.add_argument("--uid", type=int, action="append", default=[],
                        help="also allow this uid (root always may); repeatable")
    parser.add_argument("--gid", type=int, action="append", default=[],
                        help="also allow this gid; repeatable")
