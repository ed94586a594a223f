"""VotequorumSession and AsyncVotequorumSession over a scripted connection (no corosync)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from pyquorum import AsyncVotequorumSession, VotequorumSession
from pyquorum.errors import (
    BadHandleError,
    ConnectionLost,
    CsTimeoutError,
    ExistError,
    InvalidParamError,
    LibraryError,
    NameNotFoundError,
    NotExistError,
    TryAgainError,
)
from pyquorum.messages import votequorum as vq
from pyquorum.messages.constants import DispatchMode, NodeState, Track, VotequorumInfo
from pyquorum.messages.types import RingId
from tests.session import fakes
from tests.session.fakes import HANG, FakeConnection, Reply

OK = 1
INFO = vq.GetInfoResponse(OK, 1, NodeState.MEMBER, 1, 3, 3, 3, 2,
                          VotequorumInfo.QUORATE | VotequorumInfo.WAIT_FOR_ALL, 0, "")
NODELIST = vq.NodelistNotification(7, RingId(1, 9), (1, 2, 3))
QUORUM = vq.QuorumNotification(True, 7, (vq.NodeStatus(2, NodeState.MEMBER),
                                         vq.NodeStatus(1, NodeState.MEMBER)))
EXPECTED = vq.ExpectedVotesNotification(7, 4)


@pytest.fixture(autouse=True)
def votequorum_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The fake connection decodes votequorum's requests instead of quorum's
    (answers and events are given to it as bytes)."""
    monkeypatch.setattr(fakes, "decode_request", vq.decode_request)
    yield


def r(resp: vq.Response) -> bytes:
    return vq.encode_response(resp)


def n(*events: vq.Notification) -> tuple[bytes, ...]:
    return tuple(vq.encode_notification(e) for e in events)


class Recorder:
    def __init__(self) -> None:
        self.got: list[tuple[str, Any]] = []

    def quorum(self, s: VotequorumSession, e: vq.QuorumNotification) -> None:
        self.got.append(("quorum", e))

    def nodelist(self, s: VotequorumSession, e: vq.NodelistNotification) -> None:
        self.got.append(("nodelist", e))

    def expected(self, s: VotequorumSession, e: vq.ExpectedVotesNotification) -> None:
        self.got.append(("expected", e))


def sent(fake: FakeConnection) -> list[object]:
    """What the session sent, as votequorum requests (the fake's list is typed for quorum's)."""
    return list(fake.sent)


def session(fake: FakeConnection, rec: Recorder | None = None, **kw: Any) -> VotequorumSession:
    rec = rec or Recorder()
    return VotequorumSession(connection=fake, quorum_notify=rec.quorum,
                             nodelist_notify=rec.nodelist, expectedvotes_notify=rec.expected,
                             **kw)


def test_connecting_sends_nothing_and_getinfo_is_typed() -> None:
    fake = FakeConnection(r(INFO), r(vq.GetInfoResponse(12, 0, 0, 0, 0, 0, 0, 0,
                                                       VotequorumInfo(0), 0, "")))
    s = session(fake, timeout=2.5)
    assert sent(fake) == []
    info = s.getinfo()
    assert info == INFO and VotequorumInfo.WAIT_FOR_ALL in info.flags
    with pytest.raises(NotExistError):
        s.getinfo(99, timeout=0.5)
    assert sent(fake) == [vq.GetInfoRequest(0), vq.GetInfoRequest(99)]
    assert fake.request_timeouts[0] == pytest.approx(2.5, abs=0.1)
    assert fake.request_timeouts[1] == pytest.approx(0.5, abs=0.1)


def test_set_calls_send_their_requests_and_raise_the_daemons_errors() -> None:
    fake = FakeConnection(*(r(vq.StatusResponse(e)) for e in (OK, 7, 17)))
    s = session(fake)
    s.setexpected(3)
    with pytest.raises(InvalidParamError):
        s.setexpected(10)
    with pytest.raises(NameNotFoundError):
        s.setvotes(9, 1)
    assert sent(fake) == [vq.SetExpectedRequest(3), vq.SetExpectedRequest(10),
                         vq.SetVotesRequest(9, 1)]


def test_trackstart_snapshot_reaches_the_callbacks_in_order() -> None:
    rec = Recorder()
    fake = FakeConnection(Reply(r(vq.StatusResponse(OK)), n(NODELIST, QUORUM)),
                          Reply(r(vq.StatusResponse(14)), n(NODELIST, QUORUM)),
                          r(vq.StatusResponse(OK)), r(vq.StatusResponse(12)))
    s = session(fake, rec)
    s.trackstart(Track.CHANGES, 7)
    with pytest.raises(ExistError):
        s.trackstart(Track.CHANGES, 8)
    fake.push(*n(EXPECTED))
    assert s.dispatch(DispatchMode.ALL) == 5
    assert rec.got == [("nodelist", NODELIST), ("quorum", QUORUM), ("nodelist", NODELIST),
                       ("quorum", QUORUM), ("expected", EXPECTED)]
    with pytest.raises(TryAgainError):
        s.dispatch(DispatchMode.ONE_NONBLOCKING)
    s.trackstop()
    with pytest.raises(NotExistError):
        s.trackstop()
    assert sent(fake)[0] == vq.TrackStartRequest(Track.CHANGES, 7)


def test_events_skip_callbacks_and_missing_callbacks_skip_events() -> None:
    fake = FakeConnection()
    s = VotequorumSession(connection=fake, expectedvotes_notify=None)
    fake.push(*n(NODELIST, EXPECTED))
    assert s.dispatch(DispatchMode.ONE, timeout=1) == 1  # no callback: skipped, counted
    assert list(s.events(timeout=0)) == [EXPECTED]


def test_unknown_notification_is_library_error_and_consumed() -> None:
    fake = FakeConnection()
    s = session(fake)
    fake.push(*n(vq.UnknownNotification(42, OK, b""), EXPECTED))
    with pytest.raises(LibraryError):
        s.dispatch(DispatchMode.ALL)
    assert list(s.events(timeout=0)) == [EXPECTED]


def test_a_hung_daemon_times_out_and_a_lost_one_is_connection_lost() -> None:
    fake = FakeConnection(HANG)
    s = session(fake, timeout=0.2)
    with pytest.raises(CsTimeoutError):
        s.getinfo()
    fake.lose()
    with pytest.raises(ConnectionLost):
        s.dispatch(DispatchMode.BLOCKING)


def test_finalize_makes_every_call_bad_handle() -> None:
    fake = FakeConnection()
    s = session(fake, context="mine")
    assert s.context == "mine"
    s.finalize()
    assert fake.closed
    for call in (s.getinfo, lambda: s.setexpected(1), lambda: s.setvotes(1, 1),
                 s.trackstart, s.trackstop, s.dispatch, s.fileno, s.finalize,
                 lambda: s.context):
        with pytest.raises(BadHandleError):
            call()
    s.close()  # a second close is quiet


def test_finalize_from_another_thread_ends_a_blocking_dispatch() -> None:
    fake = FakeConnection()
    s = session(fake)
    threading.Timer(0.1, s.finalize).start()
    assert s.dispatch(DispatchMode.BLOCKING) == 0


def test_async_session_over_a_connection_factory() -> None:
    fake = FakeConnection(r(INFO), Reply(r(vq.StatusResponse(OK)), n(NODELIST, QUORUM)))

    async def main() -> tuple[vq.GetInfoResponse, list[Any]]:
        async with AsyncVotequorumSession(connection_factory=lambda: fake, timeout=1) as s:
            info = await s.getinfo()
            await s.trackstart(Track.CURRENT, 7)
            return info, [e async for e in s.events(timeout=0.1)]

    info, events = asyncio.run(main())
    assert info == INFO and events == [NODELIST, QUORUM]
    assert fake.closed
