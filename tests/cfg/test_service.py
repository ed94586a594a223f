"""pyquorum.fake.cfg_service.CfgService over real libqb IPC, both transports.

The service runs in a private network namespace (tests/support/fake_service_server.py)
and is asked through pyquorum's own IPC client with the encoded requests of
pyquorum/messages/cfg.py; what it must answer is docs/cfg.md §3.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from pyquorum.errors import CsErrorCode, PyquorumError
from pyquorum.fake.cfg_service import CfgService
from pyquorum.ipc.client.connection import IpcConnection
from pyquorum.messages import cfg
from pyquorum.messages.cfg import LinkStatus
from tests.support.fake_service_server import FakeServiceServer

pytestmark = pytest.mark.usefixtures("root")


@dataclass
class View:
    local: int = 1
    addrs: dict[int, list[str]] = field(default_factory=lambda: {
        1: ["198.18.0.1"], 2: ["198.18.0.2", "198.19.0.2"], 3: ["fd00::3"], 4: []})

    def local_nodeid(self) -> int:
        return self.local

    def node_addrs(self, nodeid: int) -> list[str] | None:
        return self.addrs.get(nodeid)

    def node_status(self, nodeid: int) -> tuple[bool, tuple[LinkStatus, ...]] | None:
        addrs = self.addrs.get(nodeid)
        if addrs is None:
            return None
        return nodeid != 4, tuple(LinkStatus(True, nodeid != 4, False, 1446, "198.18.0.1", a)
                                  for a in addrs)


@pytest.fixture(params=["shm", "socket"])
def served(request: pytest.FixtureRequest) -> Iterator[tuple[FakeServiceServer, View]]:
    view = View()
    with FakeServiceServer(CfgService(view), "cfg", request.param) as svc:
        yield svc, view


@pytest.fixture
def ask(served: tuple[FakeServiceServer, View]) -> Iterator[Ask]:
    svc, _ = served
    with svc.netns_context():
        conn = IpcConnection.connect("cfg", timeout=5)
    with conn:
        yield Ask(conn)


class Ask:
    def __init__(self, conn: IpcConnection) -> None:
        self.conn = conn

    def raw(self, data: bytes) -> bytes:
        return self.conn.request(data, timeout=5)

    def __call__(self, req: cfg.Request) -> cfg.Response:
        return cfg.decode_response(self.raw(cfg.encode_request(req)))

    def addrs(self, nodeid: int) -> tuple[int, int, list[str | None]]:
        r = self(cfg.GetNodeAddrsRequest(nodeid))
        assert isinstance(r, cfg.GetNodeAddrsResponse)
        return r.error, r.family, [cfg.format_address(r.family, a) for a in r.addrs]


def test_node_addresses(ask: Ask) -> None:
    assert ask.addrs(1) == (CsErrorCode.OK, cfg.AF_INET, ["198.18.0.1"])
    assert ask.addrs(2) == (CsErrorCode.OK, cfg.AF_INET, ["198.18.0.2", "198.19.0.2"])
    assert ask.addrs(3) == (CsErrorCode.OK, cfg.AF_INET6, ["fd00::3"])


def test_nodeid_0_is_the_local_node(ask: Ask, served: tuple[FakeServiceServer, View]) -> None:
    assert ask.addrs(0) == ask.addrs(1)
    served[1].local = 3
    assert ask.addrs(0) == (CsErrorCode.OK, cfg.AF_INET6, ["fd00::3"])


def test_unknown_node_and_node_without_address_are_not_exist(ask: Ask) -> None:
    for nodeid in (99, 4):
        data = ask.raw(cfg.encode_request(cfg.GetNodeAddrsRequest(nodeid)))
        assert len(data) == 32  # no address field (docs/cfg.md §3.2)
        assert cfg.decode_response(data) == cfg.GetNodeAddrsResponse(
            CsErrorCode.ERR_NOT_EXIST, 0, 0)


def test_local_get_follows_the_view(ask: Ask, served: tuple[FakeServiceServer, View]) -> None:
    assert ask(cfg.LocalGetRequest()) == cfg.LocalGetResponse(CsErrorCode.OK, 1)
    served[1].local = 7
    assert ask(cfg.LocalGetRequest()) == cfg.LocalGetResponse(CsErrorCode.OK, 7)


@pytest.mark.parametrize("req", [
    cfg.UnknownRequest(99, 16, b""),
    cfg.UnknownRequest(12, 16, b""),
    cfg.UnknownRequest(1000, 16, b""),
    cfg.UnknownRequest(int(cfg.CfgRequestId.RINGSTATUSGET), 16, b""),
])
def test_other_requests_get_the_generic_reply(ask: Ask, req: cfg.Request) -> None:
    data = ask.raw(cfg.encode_request(req))
    assert data == bytes.fromhex("00000000 00000000 18000000 00000000 07000000 00000000")


def test_a_short_get_node_addrs_gets_the_generic_reply(ask: Ask) -> None:
    short = bytes.fromhex("05000000 00000000 10000000 00000000")
    assert ask(cfg.UnknownRequest(98, 16, b"")) == cfg.decode_response(ask.raw(short))
    assert ask.addrs(1)[0] == CsErrorCode.OK  # and the connection still serves


def test_a_view_with_mixed_families_closes_that_connection_only(
    served: tuple[FakeServiceServer, View]
) -> None:
    """A story bug (one answer carries one family) is the handler's exception: the
    server drops that client, whose request then fails with a typed error."""
    svc, view = served
    view.addrs[5] = ["198.18.0.5", "fd00::5"]
    with svc.netns_context():
        conn = IpcConnection.connect("cfg", timeout=5)
    with conn, pytest.raises(PyquorumError):
        conn.request(cfg.encode_request(cfg.GetNodeAddrsRequest(5)), timeout=5)
    with svc.netns_context():
        again = IpcConnection.connect("cfg", timeout=5)
    with again:
        assert Ask(again).addrs(1)[0] == CsErrorCode.OK
