"""QuorumSession (the blocking front end) over a scripted in-memory connection."""

from __future__ import annotations

import logging
import select
import threading
import time
from typing import Any

import pytest

from pyquorum import QuorumSession
from pyquorum.errors import (
    AccessError,
    BadHandleError,
    ConnectionLost,
    CsTimeoutError,
    ExistError,
    InvalidParamError,
    LibraryError,
    TryAgainError,
)
from pyquorum.messages.constants import DispatchMode, Model, QuorumType, Track
from pyquorum.messages.types import (
    ErrorResponse,
    GetQuorateRequest,
    GetQuorateResponse,
    GetTypeRequest,
    GetTypeResponse,
    ModelGetTypeRequest,
    NodelistNotification,
    QuorumNotification,
    QuorumNotificationV0,
    RingId,
    TrackStartRequest,
    TrackStartResponse,
    TrackStopRequest,
    TrackStopResponse,
    UnknownNotification,
)
from tests.support.session_fakes import HANG, OK, FakeConnection, Reply, connection_of, open_v1

RING = RingId(1, 17)
NODELIST = NodelistNotification(RING, (1, 2), (), ())
QUORUM = QuorumNotification(True, RING, (1, 2))
QUORUM_V0 = QuorumNotificationV0(True, 17, (1, 2))
SNAPSHOT = (NODELIST, QUORUM)


class Recorder:
    """Callbacks that record (kind, event) and can run an action per event."""

    def __init__(self, action: Any = None) -> None:
        self.got: list[tuple[str, object]] = []
        self.action = action

    def quorum(self, session: QuorumSession, event: object) -> None:
        self.got.append(("quorum", event))
        if self.action:
            self.action(session)

    def nodelist(self, session: QuorumSession, event: NodelistNotification) -> None:
        self.got.append(("nodelist", event))
        if self.action:
            self.action(session)

    def kw(self) -> dict[str, Any]:
        return {"quorum_notify": self.quorum, "nodelist_notify": self.nodelist}


def later(delay: float, fn: Any, *args: Any) -> threading.Thread:
    def run() -> None:
        time.sleep(delay)
        fn(*args)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


# -- initialize ----------------------------------------------------------------------


def test_v1_session_initializes_with_model_gettype() -> None:
    fake = FakeConnection()
    session = open_v1(fake)
    assert fake.sent == [ModelGetTypeRequest(Model.V1)]
    assert session.model is Model.V1
    assert session.requested_model is Model.V1
    assert session.quorum_type is QuorumType.SET
    assert not session.closed
    assert "V1" in repr(session)


def test_v0_session_initializes_with_gettype() -> None:
    fake = FakeConnection(GetTypeResponse(OK, QuorumType.FREE))
    session = QuorumSession(Model.V0, connection=fake)
    assert fake.sent == [GetTypeRequest()]
    assert session.model is Model.V0
    assert session.quorum_type is QuorumType.FREE


def test_auto_falls_back_to_v0_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeConnection(ErrorResponse(7), GetTypeResponse(OK, QuorumType.SET))
    with caplog.at_level(logging.INFO, logger="pyquorum.session"):
        session = QuorumSession(Model.AUTO, connection=fake)
    assert fake.sent == [ModelGetTypeRequest(Model.V1), GetTypeRequest()]
    assert session.model is Model.V0
    assert session.requested_model is Model.AUTO
    assert [r.levelno for r in caplog.records] == [logging.INFO]


def test_failed_initialize_closes_the_connection() -> None:
    fake = FakeConnection(ErrorResponse(11))
    with pytest.raises(AccessError):
        QuorumSession(connection=fake)
    assert fake.closed


def test_bad_model_fails_before_connecting() -> None:
    fake = FakeConnection()
    with pytest.raises(InvalidParamError):
        QuorumSession(9, connection=fake)
    assert fake.sent == []


def test_negative_timeout_is_refused() -> None:
    with pytest.raises(ValueError):
        QuorumSession(connection=FakeConnection(), timeout=-1)


# -- requests ----------------------------------------------------------------------------


def test_getquorate() -> None:
    session = open_v1(None, GetQuorateResponse(OK, True), GetQuorateResponse(OK, False))
    assert session.getquorate() is True
    assert session.getquorate() is False
    assert connection_of(session).sent[1:] == [GetQuorateRequest(), GetQuorateRequest()]


def test_session_timeout_is_the_default_and_calls_override_it() -> None:
    session = open_v1(None, *[GetQuorateResponse(OK, True)] * 3, timeout=4.0)
    session.getquorate()
    session.getquorate(timeout=0.5)
    session.getquorate(timeout=None)
    got = connection_of(session).request_timeouts
    assert got[0] is not None and 3.0 < got[0] <= 4.0  # initialize: what is left of 4 s
    assert got[1] is not None and 3.0 < got[1] <= 4.0
    assert got[2] is not None and 0.0 < got[2] <= 0.5
    assert got[3] is None
    assert session.timeout == 4.0


def test_request_timeout_raises_and_the_session_stays_usable() -> None:
    session = open_v1(None, HANG, GetQuorateResponse(OK, True))
    t0 = time.monotonic()
    with pytest.raises(CsTimeoutError):
        session.getquorate(timeout=0.1)
    assert time.monotonic() - t0 < 1.0
    assert session.getquorate() is True


def test_trackstart_defaults_to_current_and_changes() -> None:
    session = open_v1(None, TrackStartResponse(OK), TrackStartResponse(OK))
    session.trackstart()
    session.trackstart(Track.CHANGES_ONLY)
    assert connection_of(session).sent[1:] == [
        TrackStartRequest(Track.CURRENT | Track.CHANGES),
        TrackStartRequest(Track.CHANGES_ONLY),
    ]


def test_second_trackstart_raises_exist_after_its_snapshot_is_queued() -> None:
    rec = Recorder()
    session = open_v1(
        None,
        Reply(TrackStartResponse(OK), SNAPSHOT),
        Reply(TrackStartResponse(14), SNAPSHOT),
        **rec.kw(),
    )
    session.trackstart(Track.CHANGES)
    with pytest.raises(ExistError):
        session.trackstart(Track.CURRENT)
    assert session.dispatch(DispatchMode.ALL) == 4
    assert [kind for kind, _ in rec.got] == ["nodelist", "quorum", "nodelist", "quorum"]


def test_trackstop() -> None:
    session = open_v1(None, TrackStopResponse(OK))
    session.trackstop()
    assert connection_of(session).sent[-1] == TrackStopRequest()


def test_fileno_is_readable_exactly_while_events_are_pending() -> None:
    session = open_v1(None, Reply(TrackStartResponse(OK), SNAPSHOT))
    fd = session.fileno()
    assert select.select([fd], [], [], 0)[0] == []
    session.trackstart()
    assert select.select([fd], [], [], 0)[0] == [fd]
    session.dispatch(DispatchMode.ALL)
    assert select.select([fd], [], [], 0)[0] == []


def test_context_get_and_set() -> None:
    marker = object()
    session = open_v1(None, context=marker)
    assert session.context is marker
    session.context = 42
    assert session.context == 42


# -- closing --------------------------------------------------------------------------------


def test_close_is_idempotent_and_finalize_twice_is_bad_handle() -> None:
    session = open_v1()
    fake = connection_of(session)
    session.close()
    session.close()
    assert fake.closed and fake.close_calls == 1
    with pytest.raises(BadHandleError):
        session.finalize()
    other = open_v1()
    other.finalize()
    with pytest.raises(BadHandleError):
        other.finalize()


def test_context_manager_closes() -> None:
    with open_v1() as session:
        pass
    assert session.closed and connection_of(session).closed


def test_every_call_on_a_closed_session_is_bad_handle() -> None:
    session = open_v1()
    session.finalize()
    calls: list[Any] = [
        session.getquorate,
        session.trackstart,
        session.trackstop,
        session.fileno,
        session.dispatch,
        session.events,
        session.finalize,
        lambda: session.context,
        lambda: setattr(session, "context", 1),
        lambda: session.dispatch(DispatchMode.ONE_NONBLOCKING),
    ]
    for call in calls:
        with pytest.raises(BadHandleError):
            call()


# -- dispatch ---------------------------------------------------------------------------------


def tracking(rec: Recorder | None = None, model: Model = Model.V1, **kw: Any) -> QuorumSession:
    """A session that is tracking, with no event pending."""
    if model is Model.V1:
        session = open_v1(None, TrackStartResponse(OK), **(rec.kw() if rec else {}), **kw)
    else:
        fake = FakeConnection(GetTypeResponse(OK, QuorumType.SET), TrackStartResponse(OK))
        cbs: dict[str, Any] = {"quorum_notify": rec.quorum} if rec else {}
        session = QuorumSession(Model.V0, connection=fake, **cbs, **kw)
    session.trackstart(Track.CHANGES_ONLY)
    return session


def test_dispatch_all_handles_everything_pending_and_never_waits() -> None:
    rec = Recorder()
    session = tracking(rec)
    assert session.dispatch(DispatchMode.ALL) == 0
    connection_of(session).push(*SNAPSHOT, *SNAPSHOT)
    assert session.dispatch() == 4  # ALL is the default
    assert rec.got == [("nodelist", NODELIST), ("quorum", QUORUM)] * 2
    assert set(connection_of(session).event_timeouts) == {0.0}


def test_dispatch_one_waits_for_one_event() -> None:
    rec = Recorder()
    session = tracking(rec)
    later(0.1, connection_of(session).push, *SNAPSHOT)
    assert session.dispatch(DispatchMode.ONE) == 1
    assert rec.got == [("nodelist", NODELIST)]
    assert connection_of(session).pending == 1


def test_dispatch_one_times_out() -> None:
    session = tracking(Recorder())
    with pytest.raises(CsTimeoutError):
        session.dispatch(DispatchMode.ONE, timeout=0.05)


def test_dispatch_one_nonblocking() -> None:
    rec = Recorder()
    session = tracking(rec)
    with pytest.raises(TryAgainError):
        session.dispatch(DispatchMode.ONE_NONBLOCKING)
    connection_of(session).push(*SNAPSHOT)
    assert session.dispatch(DispatchMode.ONE_NONBLOCKING) == 1
    assert session.dispatch(DispatchMode.ONE_NONBLOCKING) == 1
    with pytest.raises(TryAgainError):
        session.dispatch(DispatchMode.ONE_NONBLOCKING)
    assert [k for k, _ in rec.got] == ["nodelist", "quorum"]


def test_dispatch_blocking_runs_until_a_callback_finalizes() -> None:
    def stop_on_quorum(session: QuorumSession) -> None:
        if rec.got[-1][0] == "quorum":
            session.finalize()

    rec = Recorder(stop_on_quorum)
    session = tracking(rec)
    fake = connection_of(session)
    later(0.05, fake.push, NODELIST)
    later(0.15, fake.push, QUORUM, NODELIST, QUORUM)
    assert session.dispatch(DispatchMode.BLOCKING) == 2
    assert session.closed
    assert [k for k, _ in rec.got] == ["nodelist", "quorum"]  # nothing after finalize


def test_dispatch_blocking_with_a_timeout_returns_when_idle() -> None:
    rec = Recorder()
    session = tracking(rec)
    connection_of(session).push(*SNAPSHOT)
    t0 = time.monotonic()
    assert session.dispatch(DispatchMode.BLOCKING, timeout=0.1) == 2
    assert 0.08 < time.monotonic() - t0 < 1.0


def test_callback_finalize_in_dispatch_all_returns_cleanly() -> None:
    rec = Recorder(lambda s: s.finalize())
    session = tracking(rec)
    connection_of(session).push(*SNAPSHOT)
    assert session.dispatch(DispatchMode.ALL) == 1
    assert session.closed
    assert len(rec.got) == 1


def test_callback_close_in_dispatch_one_returns_cleanly() -> None:
    rec = Recorder(lambda s: s.close())
    session = tracking(rec)
    connection_of(session).push(QUORUM)
    assert session.dispatch(DispatchMode.ONE) == 1


def test_missing_callbacks_skip_their_events_but_count() -> None:
    got: list[object] = []
    session = open_v1(None, TrackStartResponse(OK), quorum_notify=lambda s, e: got.append(e))
    session.trackstart(Track.CHANGES_ONLY)
    connection_of(session).push(*SNAPSHOT)
    assert session.dispatch(DispatchMode.ALL) == 2
    assert got == [QUORUM]
    bare = tracking()
    connection_of(bare).push(*SNAPSHOT)
    assert bare.dispatch(DispatchMode.ONE) == 1  # one event consumed, no callback
    assert connection_of(bare).pending == 1


def test_v0_callback_gets_the_v0_notification() -> None:
    rec = Recorder()
    session = tracking(rec, Model.V0)
    connection_of(session).push(QUORUM_V0)
    assert session.dispatch(DispatchMode.ALL) == 1
    assert rec.got == [("quorum", QUORUM_V0)]


def test_callback_receives_the_session_and_can_read_the_context() -> None:
    seen: list[object] = []
    session = open_v1(
        None, TrackStartResponse(OK), quorum_notify=lambda s, e: seen.append(s.context),
        context="ctx",
    )
    session.trackstart(Track.CHANGES_ONLY)
    connection_of(session).push(QUORUM)
    session.dispatch()
    assert seen == ["ctx"]


def test_callback_may_call_requests() -> None:
    answers: list[bool] = []
    session = open_v1(
        None, TrackStartResponse(OK), GetQuorateResponse(OK, True),
        quorum_notify=lambda s, e: answers.append(s.getquorate()),
    )
    session.trackstart(Track.CHANGES_ONLY)
    connection_of(session).push(QUORUM)
    session.dispatch()
    assert answers == [True]


def test_callback_exception_propagates_and_dispatch_goes_on_afterwards() -> None:
    calls = []

    def boom(session: QuorumSession, event: object) -> None:
        calls.append(event)
        if len(calls) == 1:
            raise RuntimeError("boom")

    session = open_v1(None, TrackStartResponse(OK), quorum_notify=boom)
    session.trackstart(Track.CHANGES_ONLY)
    connection_of(session).push(QUORUM, QUORUM)
    with pytest.raises(RuntimeError):
        session.dispatch()
    assert session.dispatch() == 1
    assert len(calls) == 2


def test_notification_outside_the_model_is_library_error_then_dispatch_goes_on() -> None:
    rec = Recorder()
    session = tracking(rec)
    connection_of(session).push(QUORUM_V0, UnknownNotification(99, OK, b""), QUORUM)
    with pytest.raises(LibraryError, match="id 3 "):
        session.dispatch()
    with pytest.raises(LibraryError, match="id 99 "):
        session.dispatch()
    assert session.dispatch() == 1
    assert rec.got == [("quorum", QUORUM)]


def test_invalid_dispatch_mode_is_invalid_param() -> None:
    session = tracking()
    with pytest.raises(InvalidParamError):
        session.dispatch(7)


def test_dead_daemon_surfaces_from_dispatch_after_pending_events() -> None:
    rec = Recorder()
    session = tracking(rec)
    fake = connection_of(session)
    fake.push(QUORUM)
    fake.lose()
    with pytest.raises(ConnectionLost):
        session.dispatch(DispatchMode.BLOCKING)
    assert rec.got == [("quorum", QUORUM)]
    with pytest.raises(ConnectionLost):
        session.getquorate()


# -- events() ----------------------------------------------------------------------------------


def test_events_yields_typed_events_and_ends_after_the_timeout() -> None:
    session = open_v1(None, Reply(TrackStartResponse(OK), SNAPSHOT))
    session.trackstart()
    later(0.05, connection_of(session).push, QUORUM)
    t0 = time.monotonic()
    assert list(session.events(timeout=0.3)) == [NODELIST, QUORUM, QUORUM]
    assert 0.3 < time.monotonic() - t0 < 2.0


def test_events_does_not_call_callbacks() -> None:
    rec = Recorder()
    session = tracking(rec)
    connection_of(session).push(*SNAPSHOT)
    assert list(session.events(timeout=0)) == list(SNAPSHOT)
    assert rec.got == []


def test_events_ends_when_finalized_from_another_thread() -> None:
    session = tracking()
    later(0.1, session.finalize)
    assert list(session.events()) == []


def test_events_ends_when_finalized_by_its_consumer() -> None:
    session = tracking()
    connection_of(session).push(*SNAPSHOT)
    got = []
    for event in session.events():
        got.append(event)
        session.close()
    assert got == [NODELIST]


def test_events_raises_library_error_for_foreign_ids() -> None:
    session = tracking()
    connection_of(session).push(QUORUM_V0)
    with pytest.raises(LibraryError):
        list(session.events(timeout=0))


def test_events_raises_connection_lost() -> None:
    session = tracking()
    later(0.05, connection_of(session).lose)
    with pytest.raises(ConnectionLost):
        list(session.events())


# -- threads ------------------------------------------------------------------------------------


def test_requests_from_other_threads_while_one_thread_dispatches() -> None:
    rec = Recorder()
    session = tracking(rec)
    fake = connection_of(session)
    fake.script(*[GetQuorateResponse(OK, True)] * 40)
    result: list[int] = []
    dispatcher = threading.Thread(
        target=lambda: result.append(session.dispatch(DispatchMode.BLOCKING))
    )
    dispatcher.start()
    answers: list[bool] = []
    workers = [
        threading.Thread(target=lambda: answers.extend(session.getquorate() for _ in range(10)))
        for _ in range(4)
    ]
    for w in workers:
        w.start()
    fake.push(*SNAPSHOT)
    for w in workers:
        w.join(5)
    deadline = time.monotonic() + 5
    while len(rec.got) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    session.finalize()  # wakes the blocked dispatcher, which returns normally
    dispatcher.join(5)
    assert not dispatcher.is_alive()
    assert result == [2]
    assert answers == [True] * 40


def test_two_dispatching_threads_share_events_without_overlapping_callbacks() -> None:
    active = 0
    overlap = False
    seen: list[object] = []
    lock = threading.Lock()

    def slow(session: QuorumSession, event: object) -> None:
        nonlocal active, overlap
        with lock:
            active += 1
            overlap = overlap or active > 1
        time.sleep(0.002)
        seen.append(event)
        with lock:
            active -= 1

    session = open_v1(None, TrackStartResponse(OK), quorum_notify=slow, nodelist_notify=slow)
    session.trackstart(Track.CHANGES_ONLY)
    events = [QuorumNotification(True, RingId(1, n), (1,)) for n in range(100)]
    connection_of(session).push(*events)
    counts: list[int] = []
    threads = [
        threading.Thread(
            target=lambda: counts.append(session.dispatch(DispatchMode.BLOCKING, timeout=0.2))
        )
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sum(counts) == 100
    assert sorted(seen, key=lambda e: e.ring_id.seq) == events  # type: ignore[attr-defined]
    assert not overlap


def test_nonblocking_dispatch_while_another_thread_dispatches_finds_nothing() -> None:
    """A non-waiting dispatch must not wait for the dispatching thread's turn.

    The other thread waits for events without limit (it holds the turn
    until finalize), so any wait shows: the call must come back at once,
    and never ask the connection for an event with a timeout.
    """
    session = tracking()
    conn = connection_of(session)
    calls: list[tuple[str, float | None]] = []
    recv_event = conn.recv_event

    def recording(timeout: float | None = None) -> bytes | None:
        calls.append((threading.current_thread().name, timeout))
        return recv_event(timeout)

    conn.recv_event = recording  # type: ignore[method-assign]
    blocked = threading.Thread(
        target=lambda: session.dispatch(DispatchMode.BLOCKING), name="blocking"
    )
    blocked.start()
    wait_until(lambda: ("blocking", None) in calls)
    try:
        for mode in (DispatchMode.ONE_NONBLOCKING, DispatchMode.ALL):
            started = time.monotonic()
            if mode is DispatchMode.ONE_NONBLOCKING:
                with pytest.raises(TryAgainError):
                    session.dispatch(mode)
            else:
                assert session.dispatch(mode) == 0
            assert time.monotonic() - started < 0.2, f"{mode.name} waited"
        me = threading.current_thread().name
        assert all(timeout == 0 for name, timeout in calls if name == me)
    finally:
        session.finalize()
        blocked.join(5)
    assert not blocked.is_alive()


def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_finalize_during_a_request_makes_it_bad_handle() -> None:
    session = open_v1(None, HANG)
    later(0.1, session.finalize)
    with pytest.raises(BadHandleError, match="finalized during"):
        session.getquorate(timeout=None)


def test_recursive_dispatch_from_a_callback() -> None:
    inner: list[int] = []
    calls: list[object] = []

    def notify(session: QuorumSession, event: object) -> None:
        calls.append(event)
        if len(calls) == 1:
            inner.append(session.dispatch(DispatchMode.ALL))

    session = open_v1(None, TrackStartResponse(OK), quorum_notify=notify)
    session.trackstart(Track.CHANGES_ONLY)
    connection_of(session).push(QUORUM, QUORUM, QUORUM)
    assert session.dispatch(DispatchMode.ALL) == 1
    assert inner == [2]
