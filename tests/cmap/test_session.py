"""CmapSession and AsyncCmapSession over a scripted connection (no corosync)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from pyquorum import AsyncCmapSession, CmapSession
from pyquorum.errors import (
    AccessError,
    BadHandleError,
    CsTimeoutError,
    InvalidParamError,
    NotExistError,
    TryAgainError,
)
from pyquorum.messages import cmap as cm
from pyquorum.messages.cmap import CmapValue
from pyquorum.messages.constants import CmapMap, CmapTrack, CmapValueType, DispatchMode
from pyquorum.services.cmap.core import CmapChange
from tests.session import fakes
from tests.session.fakes import HANG, FakeConnection

OK = 1
U32 = CmapValueType.UINT32
KEY = "testing.pyquorum.k"


@pytest.fixture(autouse=True)
def cmap_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The fake connection decodes cmap's requests instead of quorum's (answers and
    events are given to it as bytes)."""
    monkeypatch.setattr(fakes, "decode_request", cm.decode_request)
    yield


def r(resp: cm.Response) -> bytes:
    return cm.encode_response(resp)


def change(inst: int, event: CmapTrack, new: CmapValue | None, old: CmapValue | None) -> bytes:
    return cm.encode_notification(cm.NotifyCallback(inst, KEY, event, new, old))


def got_value(value: CmapValue, room: int) -> bytes:
    length = len(cm.encode_request(cm.SetRequest(KEY, value))) - 296
    return r(cm.GetResponse(OK, value.type, length, value if room else None, room))


def sent(fake: FakeConnection) -> list[object]:
    """What the session sent, as cmap requests (the fake's list is typed for quorum's)."""
    return list(fake.sent)


def test_default_map_connects_without_a_request_stats_map_selects_it() -> None:
    fake = FakeConnection()
    s = CmapSession(connection=fake)
    assert sent(fake) == [] and s.map is CmapMap.DEFAULT
    fake = FakeConnection(r(cm.SetCurrentMapResponse(OK)))
    s = CmapSession(CmapMap.STATS, connection=fake)
    assert sent(fake) == [cm.SetCurrentMapRequest(CmapMap.STATS)] and s.map is CmapMap.STATS


def test_an_unknown_map_is_not_exist_and_closes_the_connection() -> None:
    fake = FakeConnection(r(cm.SetCurrentMapResponse(12)))
    with pytest.raises(NotExistError):
        CmapSession(7, connection=fake)
    assert fake.closed


def test_get_is_typed_and_checks_the_type_asked_for() -> None:
    fake = FakeConnection(got_value(CmapValue(U32, 5), 0), got_value(CmapValue(U32, 5), 4),
                          got_value(CmapValue(U32, 5), 8))
    s = CmapSession(connection=fake)
    assert s.get(KEY, U32) == CmapValue(U32, 5)
    assert sent(fake) == [cm.GetRequest(KEY, 0), cm.GetRequest(KEY, 4)]
    with pytest.raises(InvalidParamError):
        s.get(KEY, CmapValueType.UINT64, room=8)  # libcmap's typed getters answer so


def test_set_takes_typed_and_plain_values() -> None:
    fake = FakeConnection(*(r(cm.SetResponse(e)) for e in (OK, OK, OK, OK, 11)))
    s = CmapSession(connection=fake)
    s.set(KEY, CmapValue(U32, 5))
    s.set(KEY, 5, U32)
    s.set(KEY, "text")
    s.set(KEY, b"\x00\x01")
    with pytest.raises(AccessError):
        s.set(KEY, 1.5, CmapValueType.DOUBLE)
    # Refused before anything is sent: a number without its type, a type clash.
    with pytest.raises(InvalidParamError):
        s.set(KEY, 5)
    with pytest.raises(InvalidParamError):
        s.set(KEY, CmapValue(U32, 5), CmapValueType.INT8)
    assert [req.value for req in sent(fake)] == [  # type: ignore[attr-defined]
        CmapValue(U32, 5), CmapValue(U32, 5), CmapValue.string("text"),
        CmapValue.binary(b"\x00\x01"), CmapValue(CmapValueType.DOUBLE, 1.5)]


def test_keys_items_and_iteration_finalize_their_iterator() -> None:
    entry = r(cm.IterNextResponse(OK, KEY, 4, U32))
    end = r(cm.IterNextResponse(27, "", 0, 0))
    fake = FakeConnection(
        r(cm.IterInitResponse(OK, 3)), entry, end, r(cm.IterFinalizeResponse(OK)),
        r(cm.IterInitResponse(OK, 4)), entry, got_value(CmapValue(U32, 1), 4), end,
        r(cm.IterFinalizeResponse(OK)),
    )
    s = CmapSession(connection=fake)
    assert [(e.key, e.value_type, e.value_len) for e in s.keys("testing.")] == [(KEY, U32, 4)]
    assert list(s.items("testing.")) == [(KEY, CmapValue(U32, 1))]
    assert sent(fake)[3] == cm.IterFinalizeRequest(3)
    assert sent(fake)[-1] == cm.IterFinalizeRequest(4)


def test_changes_go_to_the_trackers_callback_else_the_sessions() -> None:
    fake = FakeConnection(r(cm.TrackAddResponse(OK, 100)), r(cm.TrackAddResponse(OK, 200)))
    session_got: list[CmapChange] = []
    tracker_got: list[CmapChange] = []
    s = CmapSession(connection=fake, notify=lambda _s, c: session_got.append(c))
    first = s.track_add(KEY, CmapTrack.MODIFY, lambda _s, c: tracker_got.append(c), user="a")
    second = s.track_add("testing.", CmapTrack.MODIFY | CmapTrack.PREFIX, user="b")
    insts = [req.track_inst_handle for req in sent(fake)]  # type: ignore[attr-defined]
    fake.push(change(insts[0], CmapTrack.MODIFY, CmapValue(U32, 2), CmapValue(U32, 1)),
              change(insts[1], CmapTrack.MODIFY, CmapValue(U32, 2), CmapValue(U32, 1)))
    assert s.dispatch(DispatchMode.ALL) == 2
    assert [(c.tracker, c.new, c.old) for c in tracker_got] == [
        (first, CmapValue(U32, 2), CmapValue(U32, 1))]
    assert [c.tracker.user for c in session_got] == ["b"]
    assert s.trackers == (first, second)


def test_a_deleted_trackers_leftovers_are_skipped() -> None:
    fake = FakeConnection(r(cm.TrackAddResponse(OK, 100)), r(cm.TrackAddResponse(OK, 200)))
    s = CmapSession(connection=fake)
    gone = s.track_add(KEY, CmapTrack.ADD)
    kept = s.track_add(KEY, CmapTrack.ADD | CmapTrack.DELETE)
    gone_inst, kept_inst = (req.track_inst_handle for req in sent(fake))  # type: ignore[attr-defined]
    fake.script(r(cm.TrackDeleteResponse(OK, gone_inst)))
    s.track_delete(gone)
    fake.push(change(gone_inst, CmapTrack.ADD, CmapValue(U32, 1), None),
              change(kept_inst, CmapTrack.ADD, CmapValue(U32, 1), None),
              change(gone_inst, CmapTrack.ADD, CmapValue(U32, 2), None))
    assert [c.tracker for c in s.events(timeout=0)] == [kept]
    fake.push(change(gone_inst, CmapTrack.ADD, CmapValue(U32, 3), None))
    with pytest.raises(TryAgainError):
        s.dispatch(DispatchMode.ONE_NONBLOCKING)  # only a leftover was pending
    assert fake.pending == 0


def test_timeouts_and_finalize() -> None:
    fake = FakeConnection(HANG)
    s = CmapSession(connection=fake, timeout=0.2)
    with pytest.raises(CsTimeoutError):
        s.get(KEY)
    s.finalize()
    for call in (lambda: s.get(KEY), lambda: s.set(KEY, "x"), lambda: s.delete(KEY),
                 lambda: s.inc(KEY), lambda: s.dec(KEY), lambda: s.keys(),
                 lambda: s.items(), lambda: s.track_add(KEY), lambda: s.track_delete(1),
                 s.dispatch, s.fileno, s.finalize):
        with pytest.raises(BadHandleError):
            call()


def test_async_session_skips_leftovers_too() -> None:
    fake = FakeConnection(r(cm.TrackAddResponse(OK, 100)), got_value(CmapValue(U32, 7), 0),
                          got_value(CmapValue(U32, 7), 4))

    async def main() -> tuple[Any, Any, Any]:
        async with AsyncCmapSession(connection_factory=lambda: fake, timeout=1) as s:
            tracker = await s.track_add(KEY, CmapTrack.ADD, user=9)
            inst = sent(fake)[0].track_inst_handle  # type: ignore[attr-defined]
            fake.push(change(inst + 1, CmapTrack.ADD, CmapValue(U32, 1), None),
                      change(inst, CmapTrack.ADD, CmapValue(U32, 1), None))
            event = await s.next_event(1)
            return tracker, event, await s.get(KEY)

    tracker, event, value = asyncio.run(main())
    assert event is not None and event.tracker == tracker and event.tracker.user == 9
    assert value == CmapValue(U32, 7)
    assert fake.closed
