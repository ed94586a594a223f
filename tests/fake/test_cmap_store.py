"""CmapStore against a model: a dict of wire bytes, sorted by bytes (docs/cmap.md §5.1, §5.2);
and CmapService fed any request, without IPC."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pyquorum.fake.cmap_service import CmapService
from pyquorum.fake.cmap_store import (
    COROSYNC_READ_ONLY,
    NOTHING_READ_ONLY,
    CmapStore,
    KeyChange,
    ReadOnly,
)
from pyquorum.messages import cmap
from pyquorum.messages._cmap_values import encode_value
from pyquorum.messages.cmap import CmapValue
from pyquorum.messages.constants import CmapTrack
from pyquorum.messages.constants import CmapValueType as T
from pyquorum.testing import strategies_services as ss

#: Names that prefix each other and sort differently as text and as bytes would not.
NAMES = ["a", "a.b", "a.b.c", "a-b", "a.c", "ab", "b", "a.B", "a\u00e9", "a\udcff"]

Model = dict[str, tuple[int, bytes]]
batches = st.lists(
    st.dictionaries(st.sampled_from(NAMES), st.none() | ss.cmap_values(), max_size=4),
    max_size=8,
)


def wire(value: CmapValue) -> tuple[int, bytes]:
    return encode_value(value)


def order(model: Model) -> list[str]:
    return sorted(model, key=lambda k: k.encode("utf-8", "surrogateescape"))


@settings(max_examples=100)
@given(st.dictionaries(st.sampled_from(NAMES), ss.cmap_values(), max_size=5), batches)
def test_changes_are_reported_exactly(
    initial: dict[str, CmapValue], steps: list[dict[str, CmapValue | None]]
) -> None:
    store = CmapStore(initial)
    model: Model = {k: wire(v) for k, v in initial.items()}
    heard: list[KeyChange] = []
    store.add_listener(lambda s, c: heard.append(c))
    for step in steps:
        expected: list[tuple[str, CmapTrack, tuple[int, bytes] | None, tuple[int, bytes] | None]]
        expected = []
        for key, value in step.items():
            old = model.get(key)
            if value is None:
                if old is not None:
                    expected.append((key, CmapTrack.DELETE, None, old))
                    del model[key]
                continue
            new = wire(value)
            if old is None:
                expected.append((key, CmapTrack.ADD, new, None))
            elif old != new:
                expected.append((key, CmapTrack.MODIFY, new, old))
            model[key] = new
        before = len(heard)
        done = store.apply(step)
        assert done == heard[before:]
        assert [(c.key, c.event, c.new and wire(c.new), c.old and wire(c.old)) for c in done] \
            == expected
        assert store.keys() == order(model)
        assert {k: wire(v) for k, v in store.items()} == model
        assert all(store.raw(k) == model[k][1] for k in model)


@settings(max_examples=100)
@given(
    st.dictionaries(st.sampled_from(NAMES), ss.cmap_values(), max_size=6),
    st.sampled_from(["", "a", "a.", "a.b", "z"]),
    st.lists(st.none() | st.dictionaries(st.sampled_from(NAMES), st.none() | ss.cmap_values(),
                                         max_size=2), max_size=12),
)
def test_an_iterator_walks_the_live_map(
    initial: dict[str, CmapValue], prefix: str, moves: list[dict[str, CmapValue | None] | None]
) -> None:
    """None moves the iterator; a dict changes the map under it.  Every key it gives is
    the first one, in the map as it is then, after the last one it gave."""
    store = CmapStore(initial)
    model = set(initial)
    last: str | None = None
    for move in moves:
        if move is not None:
            store.apply(move)
            model |= {k for k, v in move.items() if v is not None}
            model -= {k for k, v in move.items() if v is None}
            continue
        key = store.next_key(prefix, last)
        ahead = [k for k in order(dict.fromkeys(model, (0, b"")))
                 if k.startswith(prefix) and (last is None or k.encode("utf-8", "surrogateescape")
                                              > last.encode("utf-8", "surrogateescape"))]
        assert key == (ahead[0] if ahead else None)
        if key is None:
            break
        last = key


def test_read_only_rules() -> None:
    assert "nodelist.node.0.nodeid" in COROSYNC_READ_ONLY
    assert "totem.cluster_name" in COROSYNC_READ_ONLY
    assert "totem.cluster_name_x" not in COROSYNC_READ_ONLY  # exact, not a prefix
    assert "runtime.config.totem.token" in COROSYNC_READ_ONLY
    assert "runtime.members.1.status" not in COROSYNC_READ_ONLY
    assert "totem.cluster_name" not in NOTHING_READ_ONLY
    assert CmapStore(read_only=ReadOnly(prefixes=("x.",))).is_read_only("x.y")


# ------------------------------------------------------------------ the service, without IPC


class _Conn:
    """What CmapService uses of a ServerConnection, recording what it sends."""

    def __init__(self, ident: int) -> None:
        self.id, self.data, self.closed, self.max_msg_size = ident, None, False, 1 << 20
        self.responses: list[bytes] = []
        self.events: list[bytes] = []

    def send_response(self, data: bytes) -> None:
        self.responses.append(data)

    def send_event(self, data: bytes) -> None:
        self.events.append(data)


def _mutated(raw: bytes, flips: list[tuple[int, int]], cut: int | None) -> bytes:
    data = bytearray(raw)
    for where, byte in flips:
        if data:
            data[where % len(data)] = byte
    return bytes(data[:cut] if cut is not None else data)


@settings(max_examples=150)
@given(
    st.lists(
        st.tuples(st.integers(0, 1), ss.cmap_requests().map(cmap.encode_request),
                  st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=3),
                  st.none() | st.integers(0, 320)),
        max_size=25,
    ),
)
def test_any_request_gets_exactly_one_well_formed_answer(
    requests: list[tuple[int, bytes, list[tuple[int, int]], int | None]],
) -> None:
    """Requests valid or mangled, from two clients: each gets one answer the
    client side decodes, every event decodes, and nothing escapes the service."""
    service = CmapService(CmapStore(_story()), CmapStore({"stats.a.b": CmapValue(T.UINT8, 1)}))
    conns = [_Conn(1), _Conn(2)]
    for conn in conns:
        service.connected(conn)  # type: ignore[arg-type]
    for who, raw, flips, cut in requests:
        conn = conns[who]
        before = len(conn.responses)
        service.request(conn, _mutated(raw, flips, cut))  # type: ignore[arg-type]
        assert len(conn.responses) == before + 1
        cmap.decode_response(conn.responses[-1])
    for conn in conns:
        for event in conn.events:
            assert isinstance(cmap.decode_notification(event), cmap.NotifyCallback)
        service.disconnected(conn)  # type: ignore[arg-type]
    assert service._trackers == []


def _story() -> dict[str, CmapValue]:
    return {"a.b": CmapValue(T.UINT8, 1), "totem.cluster_name": CmapValue.string("c")}
