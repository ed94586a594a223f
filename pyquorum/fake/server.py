"""Putting a fake quorum server together: an IpcServer with a QuorumService on it.

The server is a :class:`~pyquorum.fake.hostile_ipc.HostileIpcServer`: the
production server plus the test-only behaviours (stalled handshakes, a
hostile case), which :mod:`pyquorum.ipc` itself does not carry.
"""

from __future__ import annotations

from importlib import resources
from typing import Literal

from pyquorum.capture import Capture, capture_from_bytes
from pyquorum.fake.hostile import HostileQuorumService, Hostility
from pyquorum.fake.hostile_ipc import HostileIpcServer
from pyquorum.fake.script import Script
from pyquorum.fake.service import QuorumService
from pyquorum.ipc.server.listener import AccessPolicy, IpcServer
from pyquorum.ipc.server.loop import EventLoop
from pyquorum.ipc.wire import TransportName
from pyquorum.messages.constants import ConnectionType

__all__ = [
    "DEMO_CAPTURE",
    "EXAMPLE_SCRIPT",
    "Stall",
    "TransportName",
    "demo_capture",
    "example_script",
    "make_server",
]

#: ``"requests"``: the handshake completes, requests are never read;
#: ``"handshake"``: connections are accepted and never answered.
Stall = Literal["requests", "handshake"]

#: A small built-in 3-node script: what a FakeQuorumServer serves by default.
EXAMPLE_SCRIPT = "example-3node.jsonl"
#: What ``pyquorum demo`` serves: node 1's V1 session through the scenario
#: walk of a real 3-node corosync cluster (a copy of
#: fixtures/captures/shm-node1-v1.pqcap, which scripts/record-fixtures
#: re-records; a test keeps the two identical).
DEMO_CAPTURE = "demo-3node.pqcap"

_TRANSPORTS: dict[str, ConnectionType] = {
    "shm": ConnectionType.SHM,
    "socket": ConnectionType.SOCKET,
}


def transport_type(name: TransportName | ConnectionType) -> ConnectionType:
    if isinstance(name, ConnectionType):
        return name
    try:
        return _TRANSPORTS[name]
    except KeyError:
        raise ValueError(f"transport must be 'shm' or 'socket', not {name!r}") from None


def example_script() -> Script:
    """The small script shipped in ``pyquorum/fake/data``."""
    text = resources.files("pyquorum.fake.data").joinpath(EXAMPLE_SCRIPT).read_text("utf-8")
    return Script.parse(text, source=EXAMPLE_SCRIPT)


def demo_capture() -> Capture:
    """The recorded real session shipped in ``pyquorum/fake/data``."""
    data = resources.files("pyquorum.fake.data").joinpath(DEMO_CAPTURE).read_bytes()
    return capture_from_bytes(data)


def make_server(
    script: Script,
    *,
    name: str = "quorum",
    transport: TransportName | ConnectionType = "shm",
    speed: float = 1.0,
    response_delay: float = 0.0,
    stall: Stall | None = None,
    hostile: Hostility | None = None,
    policy: AccessPolicy | None = None,
    loop: EventLoop | None = None,
) -> tuple[IpcServer, QuorumService]:
    """A server (not started yet) serving ``script``, and the service behind it.

    ``loop``: share this event loop with other servers (see
    :class:`~pyquorum.fake.corosync.FakeCorosync`)."""
    ctype = transport_type(transport)
    if hostile is not None and ctype not in hostile.transports:
        raise ValueError(f"hostility {hostile.value} does not exist in the {ctype.name} transport")
    service: QuorumService
    if hostile is not None:
        service = HostileQuorumService(
            script, hostile, speed=speed, response_delay=response_delay,
            stall=stall == "requests",
        )
    else:
        service = QuorumService(
            script, speed=speed, response_delay=response_delay, stall=stall == "requests"
        )
    server = HostileIpcServer(
        service,
        service=name,
        transport=ctype,
        policy=policy,
        transform_handshake=hostile.transform_handshake if hostile is not None else None,
        stall_handshakes=stall == "handshake",
        loop=loop,
    )
    service.bind(server)
    if script.start == "serve":
        server.call_soon_threadsafe(service.start_timeline)
    return server, service
