"""VotequorumCore on bytes recorded from corosync (fixtures/votequorum), no I/O."""

from __future__ import annotations

from typing import Any

import pytest

from pyquorum.errors import (
    BadHandleError,
    ExistError,
    InvalidParamError,
    LibraryError,
    LocalProtocolError,
    NameNotFoundError,
    NotExistError,
    RemoteProtocolError,
)
from pyquorum.frontend.core import Operation
from pyquorum.messages import votequorum as vq
from pyquorum.messages.constants import NodeState, Track, VotequorumInfo
from pyquorum.services.votequorum.core import VotequorumCallbacks, VotequorumCore
from tests.support.service_fixtures import load, zero_garbage

CONTEXT = 0x1122334455667788


def raw(name: str) -> bytes:
    return load("votequorum", name).data


def test_getinfo_this_node() -> None:
    core = VotequorumCore()
    op = core.getinfo()
    assert op.request == raw("request_getinfo_local")
    op.feed(raw("response_getinfo_local"))
    assert op.done
    info = op.result
    assert (info.nodeid, info.state, info.expected_votes, info.total_votes, info.quorum) == (
        1, NodeState.MEMBER, 3, 3, 2,
    )
    assert info.flags == VotequorumInfo.QUORATE


@pytest.mark.parametrize(
    "call,request_name,response,error",
    [
        (lambda c: c.getinfo(99), "request_getinfo_unknown", "response_getinfo_unknown",
         NotExistError),
        (lambda c: c.setexpected(10), "request_setexpected_too_high",
         "response_setexpected_too_high", InvalidParamError),
        (lambda c: c.setvotes(99, 1), "request_setvotes_unknown", "response_setvotes_unknown",
         NameNotFoundError),
        (lambda c: c.trackstop(), "request_trackstop", "response_trackstop_not_tracking",
         NotExistError),
    ],
)
def test_errors_are_raised_as_their_class(call, request_name, response, error) -> None:  # type: ignore[no-untyped-def]
    op = call(VotequorumCore())
    assert op.request == raw(request_name)
    with pytest.raises(error):
        op.feed(raw(response))
    assert op.done


def test_setexpected_and_setvotes() -> None:
    core = VotequorumCore()
    op = core.setexpected(3)
    assert op.request == raw("request_setexpected")
    op.feed(raw("response_setexpected"))
    assert op.result is None
    op = core.setvotes(1, 1)
    assert op.request == raw("request_setvotes")
    op.feed(raw("response_setvotes"))
    assert op.done


def test_tracking_and_events() -> None:
    core = VotequorumCore()
    op = core.trackstart(Track.CHANGES, CONTEXT)
    assert op.request == raw("request_trackstart")
    op.feed(raw("response_trackstart"))
    assert core.context == CONTEXT
    nodelist = core.handle_event(raw("notification_nodelist_initial"))
    assert isinstance(nodelist, vq.NodelistNotification) and nodelist.members == (1, 2, 3)
    quorum = core.handle_event(raw("notification_quorum_initial"))
    assert isinstance(quorum, vq.QuorumNotification) and quorum.quorate
    expected = core.handle_event(raw("notification_expectedvotes"))
    assert isinstance(expected, vq.ExpectedVotesNotification) and expected.expected_votes == 3

    again = core.trackstart(Track.CHANGES, CONTEXT)
    with pytest.raises(ExistError):
        again.feed(raw("response_trackstart_again"))
    assert core.context == CONTEXT

    stop = core.trackstop()
    stop.feed(raw("response_trackstop"))
    assert core.context is None


def test_callbacks_pick_by_event_type() -> None:
    core = VotequorumCore()
    seen: list[tuple[str, object]] = []
    callbacks: VotequorumCallbacks[str] = VotequorumCallbacks(
        quorum_notify=lambda s, e: seen.append(("quorum", e)),
        expectedvotes_notify=lambda s, e: seen.append(("expected", e)),
    )
    quorum = core.handle_event(raw("notification_quorum_leave"))
    nodelist = core.handle_event(raw("notification_nodelist_leave"))
    expected = core.handle_event(raw("notification_expectedvotes"))
    assert callbacks.call("s", quorum) is True
    assert callbacks.call("s", nodelist) is False  # no nodelist callback: skipped
    assert callbacks.call("s", expected) is True
    assert seen == [("quorum", quorum), ("expected", expected)]


def test_unknown_event_is_a_library_error() -> None:
    core = VotequorumCore()
    with pytest.raises(LibraryError):
        core.handle_event(vq.encode_notification(vq.UnknownNotification(9, 1, b"")))


def test_getinfo_answered_with_status_ok_is_a_protocol_error() -> None:
    op = VotequorumCore().getinfo()
    with pytest.raises(RemoteProtocolError):
        op.feed(vq.encode_response(vq.StatusResponse(1)))


def test_getinfo_answered_with_a_status_error_raises_that_error() -> None:
    # The STATUS reply also answers an unknown request (docs/votequorum.md §3.5).
    op = VotequorumCore().getinfo()
    with pytest.raises(NotExistError):
        op.feed(vq.encode_response(vq.StatusResponse(12)))


def test_bad_arguments_and_closed() -> None:
    core = VotequorumCore()
    with pytest.raises(LocalProtocolError):
        core.trackstart(-1)
    with pytest.raises(LocalProtocolError):
        core.getinfo(2**32)
    with pytest.raises(LocalProtocolError):
        core.setvotes(1, -1)
    assert core.close() is True
    assert core.close() is False
    for call in (core.getinfo, core.trackstop, lambda: core.setexpected(3),
                 lambda: core.handle_event(raw("notification_expectedvotes"))):
        with pytest.raises(BadHandleError):
            call()


def test_requests_match_libvotequorum() -> None:
    """The core sends what libvotequorum sends (recorded with strace), but for the
    padding libvotequorum leaves uninitialized (docs/votequorum.md §2.1)."""
    core = VotequorumCore()
    ops: list[tuple[Operation[Any], str]] = [
        (core.getinfo(1), "request_get_info_libvotequorum"),
        (core.setexpected(1), "request_set_expected_libvotequorum"),
        (core.setvotes(1, 1), "request_set_votes_libvotequorum"),
        (core.trackstart(Track.CURRENT, 0), "request_track_start_libvotequorum"),
    ]
    for op, name in ops:
        fx = load("votequorum", name)
        assert op.request == zero_garbage(fx.data, fx.expected), name
