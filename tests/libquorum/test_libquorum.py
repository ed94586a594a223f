"""pyquorum.libquorum: C return codes and handle rules, over scripted connections."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pyquorum import QuorumSession
from pyquorum import libquorum as lq
from pyquorum.errors import CorosyncNotRunning, CsErrorCode, TryAgainError
from pyquorum.messages.constants import Model, QuorumType
from pyquorum.messages.types import (
    ErrorResponse,
    GetQuorateResponse,
    GetTypeRequest,
    GetTypeResponse,
    ModelGetTypeRequest,
    ModelGetTypeResponse,
    NodelistNotification,
    QuorumNotification,
    QuorumNotificationV0,
    RingId,
    TrackStartResponse,
    TrackStopResponse,
    UnknownNotification,
)
from tests.support.session_fakes import OK, FakeConnection, Script

RING = RingId(1, 17)
NODELIST = NodelistNotification(RING, (1, 2), (2,), (3,))
QUORUM = QuorumNotification(True, RING, (1, 2))
QUORUM_V0 = QuorumNotificationV0(False, 17, (1,))


class Daemon:
    """Stands in for corosync: each connection libquorum opens is a FakeConnection."""

    def __init__(self) -> None:
        self.connections: list[FakeConnection] = []
        self.init_reply: Script | None = None  # None: a successful GETTYPE/MODEL_GETTYPE
        self.refuse: BaseException | None = None

    def session(self, model: Model, **kw: Any) -> QuorumSession:
        if self.refuse is not None:
            raise self.refuse
        reply = self.init_reply
        if reply is None:
            reply = (
                ModelGetTypeResponse(OK, QuorumType.SET)
                if model is Model.V1
                else GetTypeResponse(OK, QuorumType.SET)
            )
        fake = FakeConnection(reply)
        self.connections.append(fake)
        return QuorumSession(model, connection=fake, **kw)

    @property
    def last(self) -> FakeConnection:
        return self.connections[-1]


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    d = Daemon()
    monkeypatch.setattr(lq, "QuorumSession", d.session)
    yield d
    for conn in d.connections:
        conn.close()


class Calls:
    def __init__(self) -> None:
        self.got: list[tuple[Any, ...]] = []

    def __call__(self, *args: Any) -> None:
        self.got.append(args)


def v1(daemon: Daemon, context: object = None) -> tuple[int, Calls, Calls]:
    q, n = Calls(), Calls()
    data = lq.QuorumModelV1Data(quorum_notify_fn=q, nodelist_notify_fn=n)
    err, handle, qtype = lq.quorum_model_initialize(lq.QUORUM_MODEL_V1, data, context)
    assert (err, qtype) == (lq.CS_OK, lq.QUORUM_SET)
    return handle, q, n


# -- initialize ---------------------------------------------------------------------


def test_quorum_initialize_is_model_v0(daemon: Daemon) -> None:
    q = Calls()
    err, handle, qtype = lq.quorum_initialize(lq.QuorumCallbacks(quorum_notify_fn=q))
    assert (err, qtype) == (lq.CS_OK, lq.QUORUM_SET)
    assert daemon.last.sent == [GetTypeRequest()]
    assert isinstance(handle, int) and handle > 2**32  # opaque, unlike an fd
    assert lq.quorum_finalize(handle) == lq.CS_OK


def test_quorum_initialize_without_callbacks(daemon: Daemon) -> None:
    err, handle, _ = lq.quorum_initialize(None)
    assert err == lq.CS_OK
    daemon.last.push(QUORUM_V0)
    assert lq.quorum_dispatch(handle, lq.CS_DISPATCH_ALL) == lq.CS_OK
    assert daemon.last.pending == 0


def test_model_initialize_v1(daemon: Daemon) -> None:
    handle, _, _ = v1(daemon)
    assert daemon.last.sent == [ModelGetTypeRequest(Model.V1)]
    assert lq.quorum_finalize(handle) == lq.CS_OK


@pytest.mark.parametrize("model", [2, -1, Model.AUTO])
def test_model_initialize_rejects_other_models_without_connecting(
    daemon: Daemon, model: int
) -> None:
    assert lq.quorum_model_initialize(model, None, None) == (lq.CS_ERR_INVALID_PARAM, 0, 0)
    assert daemon.connections == []


def test_model_initialize_reports_the_daemons_error(daemon: Daemon) -> None:
    daemon.init_reply = ErrorResponse(int(CsErrorCode.ERR_ACCESS))
    assert lq.quorum_model_initialize(lq.QUORUM_MODEL_V1, None, None) == (lq.CS_ERR_ACCESS, 0, 0)
    assert daemon.last.closed


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (CorosyncNotRunning("refused"), CsErrorCode.ERR_LIBRARY),
        (TryAgainError("not ready"), CsErrorCode.ERR_TRY_AGAIN),
        (PermissionError(13, "denied"), CsErrorCode.ERR_ACCESS),
    ],
)
def test_connect_failures_become_codes(
    daemon: Daemon, exc: BaseException, code: CsErrorCode
) -> None:
    daemon.refuse = exc
    assert lq.quorum_model_initialize(lq.QUORUM_MODEL_V1, None, None) == (code, 0, 0)


def test_handles_are_never_reused(daemon: Daemon) -> None:
    first, _, _ = v1(daemon)
    lq.quorum_finalize(first)
    second, _, _ = v1(daemon)
    assert second != first
    assert lq.quorum_getquorate(first) == (lq.CS_ERR_BAD_HANDLE, 0)
    lq.quorum_finalize(second)


# -- calls --------------------------------------------------------------------------------


def test_getquorate(daemon: Daemon) -> None:
    handle, _, _ = v1(daemon)
    daemon.last.script(GetQuorateResponse(OK, True), GetQuorateResponse(OK, False))
    assert lq.quorum_getquorate(handle) == (lq.CS_OK, 1)
    assert lq.quorum_getquorate(handle) == (lq.CS_OK, 0)
    assert daemon.last.request_timeouts[1:] == [None, None]  # libquorum waits without limit
    lq.quorum_finalize(handle)


def test_transport_failures_are_codes_not_exceptions(daemon: Daemon) -> None:
    handle, _, _ = v1(daemon)
    daemon.last.script(TryAgainError("ring full"))
    assert lq.quorum_getquorate(handle) == (lq.CS_ERR_TRY_AGAIN, 0)
    daemon.last.lose()
    assert lq.quorum_getquorate(handle) == (lq.CS_ERR_LIBRARY, 0)
    assert lq.quorum_trackstart(handle, 1) == lq.CS_ERR_LIBRARY
    assert lq.quorum_dispatch(handle, lq.CS_DISPATCH_ONE) == lq.CS_ERR_LIBRARY
    assert lq.quorum_finalize(handle) == lq.CS_OK


def test_trackstart_exist_and_trackstop(daemon: Daemon) -> None:
    handle, _, _ = v1(daemon)
    daemon.last.script(TrackStartResponse(OK), TrackStartResponse(14), TrackStopResponse(OK))
    assert lq.quorum_trackstart(handle, lq.CS_TRACK_CHANGES) == lq.CS_OK
    assert lq.quorum_trackstart(handle, lq.CS_TRACK_CURRENT) == lq.CS_ERR_EXIST
    assert lq.quorum_trackstop(handle) == lq.CS_OK
    assert lq.quorum_trackstart(handle, -1) == lq.CS_ERR_INVALID_PARAM
    lq.quorum_finalize(handle)


def test_fd_get(daemon: Daemon) -> None:
    handle, _, _ = v1(daemon)
    assert lq.quorum_fd_get(handle) == (lq.CS_OK, daemon.last.fileno())
    lq.quorum_finalize(handle)
    assert lq.quorum_fd_get(handle) == (lq.CS_ERR_BAD_HANDLE, -1)


def test_context_from_initialize_and_set(daemon: Daemon) -> None:
    handle, _, _ = v1(daemon, context=7)
    assert lq.quorum_context_get(handle) == (lq.CS_OK, 7)
    assert lq.quorum_context_set(handle, "x") == lq.CS_OK
    assert lq.quorum_context_get(handle) == (lq.CS_OK, "x")
    lq.quorum_finalize(handle)


# -- handle rules ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, 1, 12345, -1, None, "h", True, 2.5])
def test_unknown_handles_are_bad_handle(bad: Any) -> None:
    assert lq.quorum_finalize(bad) == lq.CS_ERR_BAD_HANDLE
    assert lq.quorum_getquorate(bad) == (lq.CS_ERR_BAD_HANDLE, 0)
    assert lq.quorum_trackstart(bad, 1) == lq.CS_ERR_BAD_HANDLE
    assert lq.quorum_trackstop(bad) == lq.CS_ERR_BAD_HANDLE
    assert lq.quorum_fd_get(bad) == (lq.CS_ERR_BAD_HANDLE, -1)
    assert lq.quorum_dispatch(bad, lq.CS_DISPATCH_ALL) == lq.CS_ERR_BAD_HANDLE
    assert lq.quorum_context_set(bad, 1) == lq.CS_ERR_BAD_HANDLE
    assert lq.quorum_context_get(bad) == (lq.CS_ERR_BAD_HANDLE, None)


def test_a_finalized_handle_is_bad_everywhere(daemon: Daemon) -> None:
    handle, _, _ = v1(daemon)
    assert lq.quorum_finalize(handle) == lq.CS_OK
    assert daemon.last.closed
    test_unknown_handles_are_bad_handle(handle)


def test_concurrent_finalize_succeeds_once(daemon: Daemon) -> None:
    handle, _, _ = v1(daemon)
    results: list[CsErrorCode] = []
    threads = [
        threading.Thread(target=lambda: results.append(lq.quorum_finalize(handle)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [lq.CS_OK] + [lq.CS_ERR_BAD_HANDLE] * 7


# -- dispatch ------------------------------------------------------------------------------------


def test_dispatch_checks_flags_before_the_handle() -> None:
    assert lq.quorum_dispatch(12345, 0) == lq.CS_ERR_INVALID_PARAM
    assert lq.quorum_dispatch(12345, 5) == lq.CS_ERR_INVALID_PARAM


def test_dispatch_calls_the_c_shaped_v1_callbacks(daemon: Daemon) -> None:
    handle, q, n = v1(daemon)
    daemon.last.push(NODELIST, QUORUM)
    assert lq.quorum_dispatch(handle, lq.CS_DISPATCH_ALL) == lq.CS_OK
    assert n.got == [(handle, RING, 2, [1, 2], 1, [2], 1, [3])]
    assert q.got == [(handle, 1, RING, 2, [1, 2])]
    lq.quorum_finalize(handle)


def test_dispatch_calls_the_c_shaped_v0_callback(daemon: Daemon) -> None:
    q = Calls()
    err, handle, _ = lq.quorum_model_initialize(
        lq.QUORUM_MODEL_V0, lq.quorum_model_v0_data_t(quorum_notify_fn=q), None
    )
    assert err == lq.CS_OK
    daemon.last.push(QUORUM_V0)
    assert lq.quorum_dispatch(handle, lq.CS_DISPATCH_ONE) == lq.CS_OK
    assert q.got == [(handle, 0, 17, 1, [1])]
    lq.quorum_finalize(handle)


def test_dispatch_one_nonblocking_with_nothing_pending_is_try_again(daemon: Daemon) -> None:
    handle, q, _ = v1(daemon)
    assert lq.quorum_dispatch(handle, lq.CS_DISPATCH_ONE_NONBLOCKING) == lq.CS_ERR_TRY_AGAIN
    assert lq.quorum_dispatch(handle, lq.CS_DISPATCH_ALL) == lq.CS_OK
    daemon.last.push(QUORUM, QUORUM)
    assert lq.quorum_dispatch(handle, lq.CS_DISPATCH_ONE_NONBLOCKING) == lq.CS_OK
    assert len(q.got) == 1
    lq.quorum_finalize(handle)


def test_dispatch_after_a_callback_finalized_is_bad_handle(daemon: Daemon) -> None:
    def finalize(handle: int, *rest: Any) -> None:
        assert lq.quorum_finalize(handle) == lq.CS_OK

    data = lq.QuorumModelV1Data(quorum_notify_fn=finalize)
    err, handle, _ = lq.quorum_model_initialize(lq.QUORUM_MODEL_V1, data, None)
    assert err == lq.CS_OK
    daemon.last.push(QUORUM, QUORUM)
    assert lq.quorum_dispatch(handle, lq.CS_DISPATCH_BLOCKING) == lq.CS_ERR_BAD_HANDLE
    assert daemon.last.closed


def test_blocking_dispatch_ends_when_another_thread_finalizes(daemon: Daemon) -> None:
    handle, _, _ = v1(daemon)
    result: list[CsErrorCode] = []
    t = threading.Thread(
        target=lambda: result.append(lq.quorum_dispatch(handle, lq.CS_DISPATCH_BLOCKING))
    )
    t.start()
    time.sleep(0.05)
    assert lq.quorum_finalize(handle) == lq.CS_OK
    t.join(5)
    assert result == [lq.CS_ERR_BAD_HANDLE]


def test_foreign_notification_is_library_error(daemon: Daemon) -> None:
    handle, q, _ = v1(daemon)
    daemon.last.push(UnknownNotification(42, OK, b""), QUORUM)
    assert lq.quorum_dispatch(handle, lq.CS_DISPATCH_ALL) == lq.CS_ERR_LIBRARY
    assert lq.quorum_dispatch(handle, lq.CS_DISPATCH_ALL) == lq.CS_OK
    assert len(q.got) == 1
    lq.quorum_finalize(handle)


def test_v0_data_on_a_v1_handle_uses_its_quorum_fn_only(daemon: Daemon) -> None:
    q = Calls()
    err, handle, _ = lq.quorum_model_initialize(
        lq.QUORUM_MODEL_V1, lq.QuorumModelV0Data(quorum_notify_fn=q), None
    )
    assert err == lq.CS_OK
    daemon.last.push(NODELIST, QUORUM)
    assert lq.quorum_dispatch(handle, lq.CS_DISPATCH_ALL) == lq.CS_OK
    assert q.got == [(handle, 1, RING, 2, [1, 2])]
    lq.quorum_finalize(handle)


def test_callback_exceptions_propagate(daemon: Daemon) -> None:
    def boom(*args: Any) -> None:
        raise ZeroDivisionError

    err, handle, _ = lq.quorum_model_initialize(
        lq.QUORUM_MODEL_V1, lq.QuorumModelV1Data(quorum_notify_fn=boom), None
    )
    assert err == lq.CS_OK
    daemon.last.push(QUORUM)
    with pytest.raises(ZeroDivisionError):
        lq.quorum_dispatch(handle, lq.CS_DISPATCH_ALL)
    lq.quorum_finalize(handle)


def test_connection_lost_in_dispatch_is_library(daemon: Daemon) -> None:
    handle, _, _ = v1(daemon)
    daemon.last.lose()
    assert lq.quorum_dispatch(handle, lq.CS_DISPATCH_BLOCKING) == lq.CS_ERR_LIBRARY
    lq.quorum_finalize(handle)


def test_c_names_are_the_python_ones() -> None:
    assert lq.quorum_callbacks_t is lq.QuorumCallbacks
    assert lq.quorum_model_v0_data_t is lq.QuorumModelV0Data
    assert lq.quorum_model_v1_data_t is lq.QuorumModelV1Data
    assert (lq.CS_TRACK_CURRENT, lq.CS_TRACK_CHANGES, lq.CS_TRACK_CHANGES_ONLY) == (1, 2, 4)
    assert (lq.CS_DISPATCH_ONE, lq.CS_DISPATCH_ALL) == (1, 2)
    assert (lq.CS_DISPATCH_BLOCKING, lq.CS_DISPATCH_ONE_NONBLOCKING) == (3, 4)
    assert (lq.QUORUM_MODEL_V0, lq.QUORUM_MODEL_V1, lq.QUORUM_FREE, lq.QUORUM_SET) == (0, 1, 0, 1)
    assert (int(lq.CS_OK), int(lq.CS_ERR_BAD_HANDLE)) == (1, 9)
