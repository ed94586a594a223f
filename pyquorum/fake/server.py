"""Putting a fake quorum server together: an IpcServer with a QuorumService on it."""

from __future__ import annotations

from importlib import resources
from typing import Literal

from pyquorum.fake.hostile import HostileQuorumService, Hostility
from pyquorum.fake.script import Script
from pyquorum.fake.service import QuorumService
from pyquorum.ipc.server import AccessPolicy, IpcServer
from pyquorum.messages.constants import ConnectionType

__all__ = ["DEMO_SCRIPT", "Stall", "TransportName", "demo_script", "make_server"]

TransportName = Literal["shm", "socket"]
#: ``"requests"``: the handshake completes, requests are never read;
#: ``"handshake"``: connections are accepted and never answered.
Stall = Literal["requests", "handshake"]

#: The built-in 3-node story that ``pyquorum demo`` serves.
DEMO_SCRIPT = "demo-3node.jsonl"

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


def demo_script() -> Script:
    """The script shipped in ``pyquorum/fake/data``."""
    text = resources.files("pyquorum.fake.data").joinpath(DEMO_SCRIPT).read_text("utf-8")
    return Script.parse(text, source=DEMO_SCRIPT)


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
) -> tuple[IpcServer, QuorumService]:
    """A server (not started yet) serving ``script``, and the service behind it."""
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
    server = IpcServer(
        service,
        service=name,
        transport=ctype,
        policy=policy,
        transform_handshake=hostile.transform_handshake if hostile is not None else None,
    )
    server.stall_handshakes = stall == "handshake"
    service.bind(server)
    if script.start == "serve":
        server.call_soon_threadsafe(service.start_timeline)
    return server, service
