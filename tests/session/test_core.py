"""The sans-I/O session core: bytes out, bytes in, no connection anywhere."""

from __future__ import annotations

import logging

import pytest

from pyquorum.errors import (
    AccessError,
    BadHandleError,
    ExistError,
    InvalidParamError,
    LibraryError,
    LocalProtocolError,
    RemoteProtocolError,
    TryAgainError,
)
from pyquorum.frontend.core import DISPATCH_RULES, OnEmpty, SessionState, dispatch_rule
from pyquorum.messages.constants import DispatchMode, Model, QuorumType, Track
from pyquorum.messages.quorum import encode_notification, encode_response
from pyquorum.messages.types import (
    ErrorResponse,
    GetQuorateResponse,
    GetTypeResponse,
    ModelGetTypeResponse,
    NodelistNotification,
    Notification,
    QuorumNotification,
    QuorumNotificationV0,
    RingId,
    TrackStartResponse,
    TrackStopResponse,
    UnknownNotification,
)
from pyquorum.services.quorum.core import Callbacks, InitResult, SessionCore

OK = 1
H = bytes.fromhex

# Captured requests (docs/protocol.md §6.2).
MODEL_GETTYPE_V1 = H("04000000 00000000 18000000 00000000 01000000 00000000")
GETTYPE = H("03000000 00000000 10000000 00000000")
GETQUORATE = H("00000000 00000000 10000000 00000000")
TRACKSTART_3 = H("01000000 00000000 18000000 00000000 03000000 00000000")
TRACKSTOP = H("02000000 00000000 10000000 00000000")
# The generic reply to an unknown request id: id 0, size 24, CS_ERR_INVALID_PARAM
# (docs/protocol.md §6.3).
GENERIC_INVALID_PARAM = H("00000000 00000000 18000000 00000000 07000000 00000000")

RING = RingId(1, 17)
NODELIST = NodelistNotification(RING, (1, 2), (2,), ())
QUORUM = QuorumNotification(True, RING, (1, 2))
QUORUM_V0 = QuorumNotificationV0(True, 17, (1, 2))


def ready(model: Model = Model.V1) -> SessionCore:
    core = SessionCore(model)
    op = core.initialize()
    if model is Model.V0:
        op.feed(encode_response(GetTypeResponse(OK, QuorumType.SET)))
    else:
        op.feed(encode_response(ModelGetTypeResponse(OK, QuorumType.SET)))
    assert op.done
    return core


# -- initialize ------------------------------------------------------------------


def test_v1_initialize_sends_model_gettype_1() -> None:
    core = SessionCore(Model.V1)
    op = core.initialize()
    assert op.request == MODEL_GETTYPE_V1
    assert not op.done
    op.feed(encode_response(ModelGetTypeResponse(OK, QuorumType.FREE)))
    assert op.done
    assert op.result == InitResult(Model.V1, QuorumType.FREE, fell_back=False)
    assert core.state is SessionState.READY
    assert core.model is Model.V1
    assert core.quorum_type is QuorumType.FREE


def test_v0_initialize_sends_gettype() -> None:
    core = SessionCore(Model.V0)
    op = core.initialize()
    assert op.request == GETTYPE
    op.feed(encode_response(GetTypeResponse(OK, QuorumType.SET)))
    assert op.result == InitResult(Model.V0, QuorumType.SET)
    assert core.model is Model.V0


def test_auto_uses_v1_when_the_daemon_knows_it() -> None:
    core = SessionCore(Model.AUTO)
    op = core.initialize()
    assert op.request == MODEL_GETTYPE_V1
    op.feed(encode_response(ModelGetTypeResponse(OK, QuorumType.SET)))
    assert op.done
    assert core.model is Model.V1
    assert core.requested_model is Model.AUTO


def test_auto_falls_back_to_v0_on_the_generic_error_reply(
    caplog: pytest.LogCaptureFixture,
) -> None:
    core = SessionCore(Model.AUTO)
    op = core.initialize()
    with caplog.at_level(logging.INFO, logger="pyquorum.session"):
        op.feed(GENERIC_INVALID_PARAM)
    assert not op.done
    assert op.request == GETTYPE
    op.feed(encode_response(GetTypeResponse(OK, QuorumType.SET)))
    assert op.result == InitResult(Model.V0, QuorumType.SET, fell_back=True)
    assert core.model is Model.V0
    assert any("falls back to model V0" in r.getMessage() for r in caplog.records)


def test_explicit_v1_on_an_old_daemon_says_to_use_v0_or_auto() -> None:
    op = SessionCore(Model.V1).initialize()
    with pytest.raises(InvalidParamError, match=r"Model\.V0 or Model\.AUTO"):
        op.feed(GENERIC_INVALID_PARAM)
    assert op.done


def test_auto_does_not_fall_back_on_other_errors() -> None:
    op = SessionCore(Model.AUTO).initialize()
    with pytest.raises(AccessError):
        op.feed(encode_response(ErrorResponse(11)))


def test_model_gettype_error_in_its_own_reply_is_raised() -> None:
    op = SessionCore(Model.AUTO).initialize()
    with pytest.raises(InvalidParamError):
        op.feed(encode_response(ModelGetTypeResponse(7, QuorumType.SET)))


def test_unknown_quorum_type_is_kept_as_int() -> None:
    core = SessionCore(Model.V1)
    core.initialize().feed(encode_response(ModelGetTypeResponse(OK, 7)))
    assert core.quorum_type == 7
    assert not isinstance(core.quorum_type, QuorumType)


def test_bad_model_is_invalid_param_before_anything_is_sent() -> None:
    with pytest.raises(InvalidParamError):
        SessionCore(5)


def test_initialize_twice_is_refused() -> None:
    core = ready()
    with pytest.raises(LocalProtocolError):
        core.initialize()


def test_calls_before_initialize_are_refused() -> None:
    core = SessionCore(Model.V1)
    with pytest.raises(LocalProtocolError):
        core.getquorate()


# -- requests --------------------------------------------------------------------


def test_getquorate_round_trip() -> None:
    core = ready()
    op = core.getquorate()
    assert op.request == GETQUORATE
    op.feed(encode_response(GetQuorateResponse(OK, True)))
    assert op.result is True
    op = core.getquorate()
    op.feed(encode_response(GetQuorateResponse(OK, False)))
    assert op.result is False


def test_trackstart_bytes_and_exist() -> None:
    core = ready()
    op = core.trackstart(Track.CURRENT | Track.CHANGES)
    assert op.request == TRACKSTART_3
    op.feed(encode_response(TrackStartResponse(OK)))
    assert op.done and op.result is None
    op = core.trackstart(Track.CHANGES)
    with pytest.raises(ExistError):
        op.feed(encode_response(TrackStartResponse(14)))


def test_trackstart_accepts_plain_ints_and_rejects_non_u32() -> None:
    core = ready()
    assert core.trackstart(3).request == TRACKSTART_3
    for bad in (-1, 2**32, True, 1.0):
        with pytest.raises(LocalProtocolError):
            core.trackstart(bad)  # type: ignore[arg-type]


def test_trackstop_round_trip() -> None:
    core = ready()
    op = core.trackstop()
    assert op.request == TRACKSTOP
    op.feed(encode_response(TrackStopResponse(OK)))
    assert op.done


def test_error_codes_raise_their_class() -> None:
    core = ready()
    op = core.getquorate()
    with pytest.raises(TryAgainError) as info:
        op.feed(encode_response(GetQuorateResponse(6, False)))
    assert "GETQUORATE" in str(info.value)


def test_generic_error_reply_to_a_known_request_is_raised() -> None:
    op = ready().getquorate()
    with pytest.raises(InvalidParamError):
        op.feed(GENERIC_INVALID_PARAM)


def test_a_reply_of_the_wrong_kind_is_a_remote_protocol_error() -> None:
    op = ready().getquorate()
    with pytest.raises(RemoteProtocolError):
        op.feed(encode_response(TrackStopResponse(OK)))


def test_garbage_reply_is_a_remote_protocol_error() -> None:
    op = ready().getquorate()
    with pytest.raises(RemoteProtocolError):
        op.feed(b"\x01\x02")


def test_feeding_a_finished_operation_is_refused() -> None:
    op = ready().trackstop()
    op.feed(encode_response(TrackStopResponse(OK)))
    with pytest.raises(LocalProtocolError):
        op.feed(encode_response(TrackStopResponse(OK)))


def test_result_before_the_response_is_refused() -> None:
    op = ready().getquorate()
    with pytest.raises(LocalProtocolError):
        _ = op.result


def test_operations_are_independent() -> None:
    core = ready()
    a, b = core.getquorate(), core.getquorate()
    b.feed(encode_response(GetQuorateResponse(OK, False)))
    a.feed(encode_response(GetQuorateResponse(OK, True)))
    assert (a.result, b.result) == (True, False)


# -- closing -----------------------------------------------------------------------


def test_every_call_on_a_closed_core_is_bad_handle() -> None:
    core = ready()
    assert core.close() is True
    assert core.close() is False
    for call in (core.getquorate, core.trackstop, lambda: core.trackstart(1), core.initialize,
                 lambda: core.handle_event(encode_notification(QUORUM))):
        with pytest.raises(BadHandleError):
            call()


def test_close_while_initializing_wins() -> None:
    core = SessionCore(Model.V1)
    op = core.initialize()
    core.close()
    op.feed(encode_response(ModelGetTypeResponse(OK, QuorumType.SET)))
    assert core.closed


# -- events ---------------------------------------------------------------------------


@pytest.mark.parametrize("event", [NODELIST, QUORUM])
def test_v1_core_accepts_v1_notifications(event: Notification) -> None:
    assert ready(Model.V1).handle_event(encode_notification(event)) == event


def test_v0_core_accepts_v0_notification() -> None:
    assert ready(Model.V0).handle_event(encode_notification(QUORUM_V0)) == QUORUM_V0


@pytest.mark.parametrize(
    ("model", "event", "ident"),
    [
        (Model.V1, QUORUM_V0, 3),
        (Model.V0, QUORUM, 6),
        (Model.V0, NODELIST, 7),
        (Model.V1, UnknownNotification(42, OK, b"\0" * 8), 42),
    ],
)
def test_notification_outside_the_model_is_library_error(
    model: Model, event: Notification, ident: int
) -> None:
    with pytest.raises(LibraryError, match=f"id {ident} "):
        ready(model).handle_event(encode_notification(event))


# -- dispatch rules and callbacks --------------------------------------------------------


def test_dispatch_rules_follow_libquorum() -> None:
    one, all_, blocking, nonblocking = (DISPATCH_RULES[m] for m in DispatchMode)
    assert (one.wait, one.one, one.on_empty) == (True, True, OnEmpty.TIMEOUT)
    assert (all_.wait, all_.one, all_.on_empty) == (False, False, OnEmpty.RETURN)
    assert (blocking.wait, blocking.one, blocking.on_empty) == (True, False, OnEmpty.RETURN)
    assert (nonblocking.wait, nonblocking.one) == (False, True)
    assert nonblocking.on_empty is OnEmpty.TRY_AGAIN


def test_unknown_dispatch_mode_is_invalid_param() -> None:
    assert dispatch_rule(2) is DISPATCH_RULES[DispatchMode.ALL]
    for bad in (0, 5, -1):
        with pytest.raises(InvalidParamError):
            dispatch_rule(bad)


def test_callbacks_route_by_event_type_and_skip_missing_ones() -> None:
    got: list[tuple[str, object, object]] = []
    cbs: Callbacks[str] = Callbacks(
        quorum_notify=lambda s, e: got.append(("quorum", s, e)),
        nodelist_notify=lambda s, e: got.append(("nodelist", s, e)),
    )
    assert cbs.call("S", NODELIST) and cbs.call("S", QUORUM) and cbs.call("S", QUORUM_V0)
    assert got == [("nodelist", "S", NODELIST), ("quorum", "S", QUORUM), ("quorum", "S", QUORUM_V0)]
    empty: Callbacks[str] = Callbacks()
    assert not empty.call("S", QUORUM)
    assert not empty.call("S", NODELIST)
