"""One cmap map of the fake corosync: typed keys, corosync's order, change reports.

A :class:`CmapStore` holds what one of corosync's maps holds (the default
map or the stats map) and nothing of the protocol: the fake's
:class:`~pyquorum.fake.cmap_service.CmapService` serves it, and whoever
tells the story (a script, a test) changes it with :meth:`CmapStore.apply`.

* Keys iterate in corosync's order: the bytes of the name, ascending, a
  name before every longer name it is a prefix of (docs/cmap.md §5.1).
* Values are kept as the daemon keeps them, as bytes of a type: a value is
  stored in its wire form and read back from it, so a FLOAT holds the
  float32 the daemon would, and "unchanged" means "the same type and the
  same bytes", as corosync compares them (docs/cmap.md §5.2).
* :meth:`apply` reports each real change (ADD, MODIFY with the old value,
  DELETE with the old value) to every listener, in the order given; a value
  set to what it already is reports nothing.
* Which keys a client may not change is the store's :class:`ReadOnly`
  rule; the default is corosync 3.1.7's (docs/cmap.md §5.3).  The store
  itself may change any key: the rule binds clients, not the story.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from pyquorum.messages._cmap_values import decode_value, encode_value
from pyquorum.messages.cmap import CmapValue
from pyquorum.messages.constants import CmapTrack

__all__ = [
    "COROSYNC_READ_ONLY",
    "NOTHING_READ_ONLY",
    "CmapStore",
    "KeyChange",
    "Listener",
    "ReadOnly",
    "key_order",
]


def key_order(key: str) -> bytes:
    """The sort key of a cmap name: its bytes (docs/cmap.md §5.1)."""
    return key.encode("utf-8", "surrogateescape")


@dataclass(frozen=True, slots=True)
class ReadOnly:
    """Names a client may not SET, DELETE or ADJUST: exact ``keys`` and every
    name starting with one of ``prefixes`` (corosync's ``icmap_set_ro_access``)."""

    keys: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        return key in self.keys or any(key.startswith(p) for p in self.prefixes)


#: corosync 3.1.7's read-only names (exec/main.c, exec/votequorum.c; docs/cmap.md §5.3).
COROSYNC_READ_ONLY = ReadOnly(
    keys=frozenset({
        "totem.crypto_cipher", "totem.crypto_hash", "totem.crypto_model", "totem.keyfile",
        "totem.key", "totem.secauth", "totem.ip_version", "totem.rrp_mode", "totem.transport",
        "totem.cluster_name", "totem.netmtu", "totem.threads", "totem.version", "totem.nodeid",
        "totem.clear_node_high_bit", "config.reload_in_progress",
        "config.totemconfig_reload_in_progress",
        "quorum.allow_downscale", "quorum.wait_for_all", "quorum.last_man_standing",
        "quorum.last_man_standing_window", "quorum.expected_votes_tracking",
        "quorum.auto_tie_breaker", "quorum.auto_tie_breaker_node",
    }),
    prefixes=(
        "internal_configuration.", "runtime.services.", "runtime.config.", "runtime.totem.",
        "uidgid.config.", "system.", "nodelist.",
    ),
)

#: A rule that lets clients change every key.
NOTHING_READ_ONLY = ReadOnly()


@dataclass(frozen=True, slots=True)
class KeyChange:
    """One real change of a store: ``event`` is ADD (``old`` None), MODIFY (both
    values) or DELETE (``new`` None)."""

    key: str
    event: CmapTrack
    new: CmapValue | None
    old: CmapValue | None


Listener = Callable[["CmapStore", KeyChange], None]


def _normalize(value: CmapValue) -> tuple[CmapValue, bytes]:
    """The value as the daemon would hand it back, and its wire bytes.

    Raises :class:`~pyquorum.errors.LocalProtocolError` for a value that
    cannot be sent (wrong Python type, out of range)."""
    if not isinstance(value, CmapValue):
        raise TypeError(f"a cmap value must be a CmapValue, not {type(value).__name__}")
    kind, raw = encode_value(value)
    return decode_value(kind, raw, raw, 0), raw


class CmapStore:
    """The typed keys of one cmap map.

    ``items`` are the initial keys (a mapping or ``(key, value)`` pairs);
    ``read_only`` the rule for clients (corosync's by default).  Listeners
    (:meth:`add_listener`) are called as ``fn(store, change)`` for every
    real change, after the store holds it.  Not thread-safe: change a store
    served by a running server on that server's loop thread.
    """

    def __init__(
        self,
        items: Mapping[str, CmapValue] | Iterable[tuple[str, CmapValue]] = (),
        *,
        read_only: ReadOnly = COROSYNC_READ_ONLY,
    ) -> None:
        self.read_only = read_only
        self._values: dict[str, tuple[CmapValue, bytes]] = {}
        self._order: list[bytes] = []
        self._names: dict[bytes, str] = {}
        self._listeners: list[Listener] = []
        pairs = items.items() if isinstance(items, Mapping) else items
        for key, value in pairs:
            self._put(key, *_normalize(value))

    # -- reading -------------------------------------------------------------------

    def get(self, key: str) -> CmapValue | None:
        """``key``'s value, or None."""
        entry = self._values.get(key)
        return entry[0] if entry is not None else None

    def raw(self, key: str) -> bytes | None:
        """``key``'s value as the daemon sends it (a string with its NUL), or None."""
        entry = self._values.get(key)
        return entry[1] if entry is not None else None

    def items(self, prefix: str = "") -> list[tuple[str, CmapValue]]:
        """Every ``(key, value)`` whose key starts with ``prefix``, in corosync's order."""
        return [(key, self._values[key][0]) for key in self.keys(prefix)]

    def keys(self, prefix: str = "") -> list[str]:
        """Every key starting with ``prefix``, in corosync's order."""
        out: list[str] = []
        after: str | None = None
        while (key := self.next_key(prefix, after)) is not None:
            out.append(key)
            after = key
        return out

    def next_key(self, prefix: str, after: str | None) -> str | None:
        """The first key starting with ``prefix`` that comes after ``after``
        (None: the first one), in corosync's order; None past the last.

        This is what a live iterator of the daemon sees (docs/cmap.md §5.1):
        keys added behind it are met, keys deleted ahead of it are not."""
        start = key_order(prefix)
        if after is None:
            index = bisect.bisect_left(self._order, start)
        else:
            index = bisect.bisect_right(self._order, max(key_order(after), start))
        if index < len(self._order) and self._order[index].startswith(start):
            return self._names[self._order[index]]
        return None

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def is_read_only(self, key: str) -> bool:
        return key in self.read_only

    # -- changing ------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def apply(self, changes: Mapping[str, CmapValue | None]) -> list[KeyChange]:
        """Set each key to its value (None deletes it), in the mapping's order.

        Returns the real changes, each also reported to every listener once
        the store holds it; a value equal to the current one (same type, same
        bytes) and the deletion of a missing key report nothing.  Every value
        is checked before anything changes (TypeError, LocalProtocolError).
        """
        checked = [
            (key, None if value is None else _normalize(value)) for key, value in changes.items()
        ]
        for key, _ in checked:
            if not isinstance(key, str) or not key:
                raise TypeError(f"a cmap key must be a non-empty str, not {key!r}")
        done: list[KeyChange] = []
        for key, entry in checked:
            change = self._change(key, entry)
            if change is not None:
                done.append(change)
                for listener in list(self._listeners):
                    listener(self, change)
        return done

    def set(self, key: str, value: CmapValue) -> KeyChange | None:
        """:meth:`apply` of one value; the change, or None if it changed nothing."""
        changes = self.apply({key: value})
        return changes[0] if changes else None

    def delete(self, key: str) -> KeyChange | None:
        """:meth:`apply` of one deletion; the change, or None if there was no such key."""
        changes = self.apply({key: None})
        return changes[0] if changes else None

    def _change(self, key: str, entry: tuple[CmapValue, bytes] | None) -> KeyChange | None:
        old = self._values.get(key)
        if entry is None:
            if old is None:
                return None
            del self._values[key]
            position = key_order(key)
            self._order.pop(bisect.bisect_left(self._order, position))
            del self._names[position]
            return KeyChange(key, CmapTrack.DELETE, None, old[0])
        if old is not None:
            if int(old[0].type) == int(entry[0].type) and old[1] == entry[1]:
                return None
            self._values[key] = entry
            return KeyChange(key, CmapTrack.MODIFY, entry[0], old[0])
        self._put(key, *entry)
        return KeyChange(key, CmapTrack.ADD, entry[0], None)

    def _put(self, key: str, value: CmapValue, raw: bytes) -> None:
        if key not in self._values:
            position = key_order(key)
            bisect.insort(self._order, position)
            self._names[position] = key
        self._values[key] = (value, raw)

    def __repr__(self) -> str:
        return f"<CmapStore {len(self)} keys>"
