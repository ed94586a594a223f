"""CmapStore against a model: a dict of wire bytes, sorted by bytes (docs/cmap.md §5.1, §5.2)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pyquorum.fake.cmap_store import (
    COROSYNC_READ_ONLY,
    NOTHING_READ_ONLY,
    CmapStore,
    KeyChange,
    ReadOnly,
)
from pyquorum.messages._cmap_values import encode_value
from pyquorum.messages.cmap import CmapValue
from pyquorum.messages.constants import CmapTrack
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
