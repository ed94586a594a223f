"""The fake's cmap service: pyquorum's CmapSession (and raw requests) against it.

Every server runs in a private network namespace (tests/support/fake_service_server),
over both libqb transports.  What the answers must be is docs/cmap.md §3 and §5,
checked against the real daemon in test_live_cmap_fake_vs_real.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from pyquorum import CmapSession
from pyquorum.errors import (
    AccessError,
    BadHandleError,
    BusyError,
    InvalidParamError,
    NameTooLongError,
    NotExistError,
    NotSupportedError,
)
from pyquorum.fake.cmap_service import CmapService
from pyquorum.fake.cmap_store import NOTHING_READ_ONLY, CmapStore, KeyChange
from pyquorum.ipc.client.connection import IpcConnection
from pyquorum.messages.cmap import (
    CmapValue,
    GetRequest,
    GetResponse,
    IterInitRequest,
    IterInitResponse,
    IterNextRequest,
    IterNextResponse,
    SetCurrentMapRequest,
    SetCurrentMapResponse,
    SetRequest,
    UnknownRequest,
    decode_response,
    encode_request,
)
from pyquorum.messages.constants import CmapMap, CmapTrack
from pyquorum.messages.constants import CmapValueType as T
from pyquorum.services.cmap.core import CmapChange
from tests.support.fake_service_server import FakeServiceServer
from tests.support.live import require_live

ALL = CmapTrack.ADD | CmapTrack.MODIFY | CmapTrack.DELETE
OK, INVALID, NO_SECTIONS = 1, 7, 27


def initial() -> dict[str, CmapValue]:
    return {
        "totem.cluster_name": CmapValue.string("fake"),
        "nodelist.node.0.nodeid": CmapValue(T.UINT32, 1),
        "nodelist.node.0.ring0_addr": CmapValue.string("10.0.0.1"),
        "app.i8": CmapValue(T.INT8, 127),
        "app.u16": CmapValue(T.UINT16, 0),
        "app.flt": CmapValue(T.FLOAT, 0.5),
        "app.bin": CmapValue.binary(b"\x00\x01"),
        "app.s": CmapValue.string("abc"),
    }


def stats_initial() -> dict[str, CmapValue]:
    return {
        "stats.srp.orf_token_rx": CmapValue(T.UINT64, 10),
        "stats.srp.memb_join_rx": CmapValue(T.UINT64, 2),
        "stats.ipcs.service0.1.0x1.procname": CmapValue.string("corosync-cmapctl"),
    }


class Fake:
    def __init__(self, server: FakeServiceServer, main: CmapStore, stats: CmapStore,
                 service: CmapService) -> None:
        self.server, self.main, self.stats, self.service = server, main, stats, service

    def session(self, map: CmapMap = CmapMap.DEFAULT) -> CmapSession:
        with self.server.netns_context():
            return CmapSession(map, timeout=10)

    def raw(self) -> IpcConnection:
        with self.server.netns_context():
            return IpcConnection.connect("cmap", timeout=10)


@pytest.fixture
def fake(transport: str) -> Iterator[Fake]:
    if os.geteuid() != 0:
        require_live("the fake server's private network namespace needs root")
    main, stats = CmapStore(initial()), CmapStore(stats_initial())
    service = CmapService(main, stats)
    with FakeServiceServer(service, name="cmap", transport=transport) as server:
        yield Fake(server, main, stats, service)


def changes(session: CmapSession, count: int) -> list[tuple[object, str, int, object, object]]:
    out: list[tuple[object, str, int, object, object]] = []
    for change in session.events(timeout=5):
        out.append(_brief(change))
        if len(out) == count:
            break
    return out


def _brief(c: CmapChange) -> tuple[object, str, int, object, object]:
    return (c.tracker.user, c.key, int(c.event), c.new and c.new.value, c.old and c.old.value)


def nothing_pending(session: CmapSession) -> bool:
    return list(session.events(timeout=0.2)) == []


# ------------------------------------------------------------------ values


def test_values_and_errors(fake: Fake) -> None:
    with fake.session() as s:
        assert s.get("totem.cluster_name") == CmapValue.string("fake")
        assert s.get_len("app.s") == (T.STRING, 4)
        assert s.get("app.flt") == CmapValue(T.FLOAT, 0.5)
        with pytest.raises(InvalidParamError):
            s.get("app.s", room=2)
        with pytest.raises(NotExistError):
            s.get("app.missing")
        with pytest.raises(AccessError):
            s.set("totem.cluster_name", CmapValue.string("x"))
        with pytest.raises(AccessError):
            s.delete("nodelist.node.0.nodeid")
        with pytest.raises(NameTooLongError):
            s.set("ab", CmapValue(T.UINT8, 1))
        with pytest.raises(NameTooLongError):
            s.set("app.bad*name", CmapValue(T.UINT8, 1))
        s.set("app.u16", CmapValue.string("now text"))  # a SET may change the type
        assert fake.main.get("app.u16") == CmapValue.string("now text")
        s.inc("app.i8")  # icmap adds in unsigned: 127 + 1 wraps
        assert s.get("app.i8") == CmapValue(T.INT8, -128)
        with pytest.raises(InvalidParamError):
            s.inc("app.flt")
        with pytest.raises(NotExistError):
            s.inc("app.missing")
        s.delete("app.s")
        with pytest.raises(NotExistError):
            s.delete("app.s")
        assert [k for k, _ in s.items("app.")] == ["app.bin", "app.flt", "app.i8", "app.u16"]


def test_read_only_rule_is_the_stores(fake: Fake) -> None:
    fake.main.read_only = NOTHING_READ_ONLY
    with fake.session() as s:
        s.set("totem.cluster_name", CmapValue.string("renamed"))
    assert fake.main.get("totem.cluster_name") == CmapValue.string("renamed")


def test_keys_iterate_in_corosyncs_order(fake: Fake) -> None:
    fake.server.call(lambda: fake.main.apply({
        "app": CmapValue(T.UINT8, 1), "app.A": CmapValue(T.UINT8, 1),
        "app-x": CmapValue(T.UINT8, 1), "app.s.t": CmapValue(T.UINT8, 1),
    }))
    with fake.session() as s:
        keys = [e.key for e in s.keys("app")]
    # bytes order, a name before the longer names it prefixes ('-' < '.' < 'A' < 'b')
    assert keys == ["app", "app-x", "app.A", "app.bin", "app.flt", "app.i8", "app.s",
                    "app.s.t", "app.u16"]


def test_an_iterator_is_live_and_ends_for_good(fake: Fake) -> None:
    with fake.session() as s:
        handle = s.iter_init("app.")
        first = s.iter_next(handle)
        assert first is not None and first.key == "app.bin"
        fake.server.call(lambda: fake.main.apply({
            "app.c": CmapValue(T.UINT8, 1), "app.flt": None, "app.a": CmapValue(T.UINT8, 1),
        }))
        rest = []
        while (entry := s.iter_next(handle)) is not None:
            rest.append(entry.key)
        assert rest == ["app.c", "app.i8", "app.s", "app.u16"]  # app.a is behind it
        fake.server.call(lambda: fake.main.set("app.z", CmapValue(T.UINT8, 1)))
        assert s.iter_next(handle) is None  # past the end stays there
        s.iter_finalize(handle)
        with pytest.raises(BadHandleError):
            s.iter_next(handle)
        with pytest.raises(BadHandleError):
            s.iter_finalize(handle)


# ------------------------------------------------------------------ raw bytes


def exchange(conn: IpcConnection, data: bytes) -> bytes:
    return conn.request(data, timeout=10)


def test_get_is_sized_by_the_request(fake: Fake) -> None:
    with fake.raw() as conn:
        probe = exchange(conn, encode_request(GetRequest("app.s", 0)))
        assert len(probe) == 40
        assert decode_response(probe) == GetResponse(OK, T.STRING, 4, None, 0)
        big = exchange(conn, encode_request(GetRequest("app.s", 64)))
        assert len(big) == 104 and big[40:44] == b"abc\0" and big[44:] == bytes(60)
        small = exchange(conn, encode_request(GetRequest("app.s", 3)))
        assert len(small) == 40 and decode_response(small).error == INVALID
        missing = exchange(conn, encode_request(GetRequest("app.none", 64)))
        assert len(missing) == 40 and decode_response(missing).error == 12


def test_a_room_past_the_connections_buffer_is_refused(fake: Fake) -> None:
    """docs/cmap.md §5.9: the daemon would never answer; the fake says NO_MEMORY."""
    with fake.raw() as conn:
        answer = exchange(conn, encode_request(GetRequest("app.s", conn.max_msg_size)))
        assert len(answer) == 40 and decode_response(answer).error == 8
        fits = exchange(conn, encode_request(GetRequest("app.s", conn.max_msg_size - 40)))
        assert decode_response(fits) == GetResponse(OK, T.STRING, 4, CmapValue.string("abc"),
                                                    conn.max_msg_size - 40)


def test_unknown_and_undecodable_requests_get_the_generic_answer(fake: Fake) -> None:
    generic = bytes.fromhex("00000000000000001800000000000000") + (INVALID).to_bytes(4, "little")
    generic += bytes(4)
    with fake.raw() as conn:
        assert exchange(conn, encode_request(UnknownRequest(42, 16, b""))) == generic
        bad_width = bytearray(encode_request(SetRequest("app.u16", CmapValue(T.UINT16, 1))))
        bad_width[288] = int(T.UINT32)  # a 2-byte value said to be a u32
        assert exchange(conn, bytes(bad_width)) == generic
        embedded = bytearray(encode_request(SetRequest("app.s", CmapValue.string("ab"))))
        embedded[296:299] = b"\0b\0"  # a NUL before the end: icmap refuses
        assert exchange(conn, bytes(embedded)) == generic
        assert fake.main.get("app.s") == CmapValue.string("abc")


def test_set_current_map_is_busy_with_an_iterator_open(fake: Fake) -> None:
    with fake.raw() as conn:
        init = decode_response(exchange(conn, encode_request(IterInitRequest(""))))
        assert isinstance(init, IterInitResponse) and init.error == OK
        busy = decode_response(exchange(conn, encode_request(SetCurrentMapRequest(1))))
        assert busy == SetCurrentMapResponse(10)
        forged = init.iter_handle ^ 1 << 40  # the right index, a wrong check word
        nothing = decode_response(exchange(conn, encode_request(IterNextRequest(forged))))
        assert isinstance(nothing, IterNextResponse) and nothing.error == 9
    with fake.raw() as conn:
        assert decode_response(exchange(conn, encode_request(SetCurrentMapRequest(7)))) == \
            SetCurrentMapResponse(12)
        assert decode_response(exchange(conn, encode_request(SetCurrentMapRequest(1)))) == \
            SetCurrentMapResponse(OK)
        entry = decode_response(exchange(conn, encode_request(IterNextRequest(0))))
        assert isinstance(entry, IterNextResponse) and entry.error == 9


# ------------------------------------------------------------------ tracking


def test_every_client_hears_every_change_in_the_daemons_order(fake: Fake) -> None:
    with fake.session() as watcher, fake.session() as writer:
        watcher.track_add("app.", ALL | CmapTrack.PREFIX, user="prefix-1")
        watcher.track_add("app.k", ALL, user="exact-1")
        watcher.track_add("", ALL | CmapTrack.PREFIX, user="all")
        watcher.track_add("app.k", ALL, user="exact-2")
        watcher.track_add("app.", ALL | CmapTrack.PREFIX, user="prefix-2")
        watcher.track_add("app.k", ALL | CmapTrack.PREFIX, user="k-prefix")
        watcher.track_add("app.k", CmapTrack.DELETE, user="delete-only")
        watcher.track_add("", ALL, user="never")  # the whole map without PREFIX: nothing
        writer.set("app.k", CmapValue(T.UINT8, 1))
        # at app.k: exact newest first, then prefix; then app., oldest first; then ""
        order = ["exact-2", "exact-1", "k-prefix", "prefix-1", "prefix-2", "all"]
        assert changes(watcher, 6) == [(u, "app.k", 4, 1, None) for u in order]
        writer.set("app.k", CmapValue(T.UINT8, 1))  # unchanged: no notification
        fake.server.call(lambda: fake.main.apply({"app.k": None}))  # the story deletes it
        assert changes(watcher, 7) == [
            (u, "app.k", 1, None, 1)
            for u in ["delete-only", "exact-2", "exact-1", "k-prefix", "prefix-1", "prefix-2",
                      "all"]
        ]
        assert nothing_pending(watcher)


def test_track_delete_and_disconnect(fake: Fake) -> None:
    with fake.session() as s:
        tracker = s.track_add("app.s", ALL, user=1)
        s.track_delete(tracker)
        with pytest.raises(BadHandleError):
            s.track_delete(tracker)
        with pytest.raises(InvalidParamError):
            s.track_add("app.s", 16)
        s.track_add("app.s", ALL, user=2)
    with fake.session() as other:
        other.set("app.s", CmapValue.string("after the first one left"))
    assert fake.server.call(lambda: len(fake.service._trackers)) == 0


def test_modify_carries_both_values_and_adjust_notifies(fake: Fake) -> None:
    with fake.session() as s:
        s.track_add("app.u16", ALL, user="t")
        s.inc("app.u16")
        s.set("app.u16", CmapValue(T.INT32, -1))
        assert changes(s, 2) == [("t", "app.u16", 2, 1, 0), ("t", "app.u16", 2, -1, 1)]


# ------------------------------------------------------------------ the stats map


def test_stats_map(fake: Fake) -> None:
    with fake.session(CmapMap.STATS) as s:
        assert dict(s.items())["stats.ipcs.service0.1.0x1.procname"] == \
            CmapValue.string("corosync-cmapctl")
        names = {e.key: e.value_len for e in s.keys("stats.ipcs.")}
        assert names == {"stats.ipcs.service0.1.0x1.procname": 0}  # strings: length 0
        with pytest.raises(AccessError):
            s.set("stats.srp.orf_token_rx", CmapValue(T.UINT64, 1))
        with pytest.raises(AccessError):
            s.inc("stats.srp.orf_token_rx")
        with pytest.raises(NotSupportedError):
            s.set("stats.clear.nothing", CmapValue(T.UINT8, 1))
        s.set("stats.clear.all", CmapValue(T.UINT8, 1))
        with pytest.raises(NotSupportedError):
            s.delete("stats.clear.all")
        with pytest.raises(NotSupportedError):
            s.track_add("stats.srp.", CmapTrack.PREFIX | CmapTrack.ADD | CmapTrack.MODIFY)
        s.track_add("stats.srp.", CmapTrack.PREFIX | CmapTrack.ADD | CmapTrack.DELETE,
                    user="prefix")
        s.track_add("stats.srp.orf_token_rx", CmapTrack.ADD, user="value")
        with pytest.raises(BusyError):
            s._run(s._cmap.set_current_map(CmapMap.DEFAULT), 10)
        fake.server.call(lambda: fake.stats.apply({
            "stats.srp.orf_token_rx": CmapValue(T.UINT64, 11),
            "stats.srp.new": CmapValue(T.UINT64, 1),
            "stats.srp.memb_join_rx": None,
        }))
        # a value change: the key's own trackers whatever their bits, new on both sides
        assert changes(s, 3) == [
            ("value", "stats.srp.orf_token_rx", 2, 11, 11),
            ("prefix", "stats.srp.new", 4, 1, 1),
            ("prefix", "stats.srp.memb_join_rx", 1, 2, 2),
        ]
    with fake.session() as default, pytest.raises(NotExistError):
        default.get("stats.srp.orf_token_rx")


# ------------------------------------------------------------------ the store alone


def test_store_reports_real_changes_only() -> None:
    store = CmapStore({"a.b": CmapValue(T.FLOAT, 0.1)})
    seen: list[KeyChange] = []
    store.add_listener(lambda _s, c: seen.append(c))
    # a float is kept as the float32 the daemon has: the same bytes are no change
    assert store.apply({"a.b": CmapValue(T.FLOAT, 0.1), "a.gone": None}) == []
    assert store.apply({"a.b": CmapValue(T.DOUBLE, 0.1)}) == seen
    assert len(seen) == 1 and seen[0].event == CmapTrack.MODIFY
    assert seen[0].new == CmapValue(T.DOUBLE, 0.1)
    assert seen[0].old is not None and seen[0].old.type == T.FLOAT
    store.apply({"a.c": CmapValue.string("x"), "a.b": None})
    assert [(c.key, c.event) for c in seen[1:]] == [("a.c", CmapTrack.ADD),
                                                    ("a.b", CmapTrack.DELETE)]
    assert store.keys() == ["a.c"] and store.raw("a.c") == b"x\0"
    with pytest.raises(TypeError):
        store.apply({"a.d": 5})  # type: ignore[dict-item]
