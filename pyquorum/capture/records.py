"""The capture format's vocabulary: its constants, the record and header
types, the whole-capture object and its error (the format itself is
described in :mod:`pyquorum.capture`)."""

from __future__ import annotations

import enum
import math
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, BinaryIO, Final

from pyquorum.errors import PyquorumError
from pyquorum.messages.constants import Model

if TYPE_CHECKING:  # (a name for annotations: reading a capture needs no IPC module)
    from pyquorum.ipc.wire import TransportName

__all__ = [
    "CAPTURE_VERSION",
    "MAGIC",
    "MAX_DATA",
    "READ_VERSIONS",
    "Capture",
    "CaptureConnection",
    "CaptureError",
    "CaptureHeader",
    "CaptureRecord",
    "Channel",
    "CloseReason",
    "PathOrFile",
]

#: The version of the file format this module writes.
CAPTURE_VERSION: Final = 2
#: The versions it reads: 1 (one connection, described by the header) and 2.
READ_VERSIONS: Final = (1, 2)
#: Largest connection id of a version-2 capture (the record header's u16).
MAX_CONNECTION: Final = 0xFFFF
#: The preamble starts with this; the version and a newline follow.
MAGIC: Final = b"pyquorum-capture "
#: Largest data of one record: far above any quorum message (corosync's
#: largest notification is 4672 bytes) yet small enough that a damaged
#: length cannot make a reader allocate gigabytes.
MAX_DATA: Final = 16 * 1024 * 1024

_PREAMBLE_MAX = len(MAGIC) + 12
# kind, connection (v2; zero in v1), reserved, length, time.  Version 1 calls
# bytes 1-3 "reserved, zero": the same struct reads both (docs/capture-format.md §2, §7.2).
_HEAD = struct.Struct("<BHBId")
_CRC = struct.Struct("<I")
_ZERO3 = b"\0\0\0"

PathOrFile = str | os.PathLike[str] | BinaryIO


class Channel(enum.IntEnum):
    """Which way a message went: the record kinds 1-3 of the file format."""

    REQUEST = 1  # client -> daemon
    RESPONSE = 2  # daemon -> client, one per request
    EVENT = 3  # daemon -> client, a notification


class _Kind(enum.IntEnum):
    HEADER = 0
    REQUEST = 1
    RESPONSE = 2
    EVENT = 3
    END = 4
    OPEN = 5  # version 2: a connection opens
    CLOSE = 6  # version 2: a connection closes


class CloseReason(enum.StrEnum):
    """Why a connection of a version-2 capture ended (its CLOSE record's ``reason``)."""

    CLOSED = "closed"  # the client closed it
    LOST = "lost"  # the daemon went away (``error`` says how)
    ENDED = "ended"  # the recording ended with it still open


class CaptureError(PyquorumError, ValueError):
    """A capture file is damaged or not one pyquorum can read.

    ``record`` is the index of the message record at fault (as in
    :attr:`Capture.records`), or None when the preamble, the header or the
    end record is; ``offset`` the byte offset in the file where that record
    (or the problem) starts; ``source`` the file's name when known.
    """

    def __init__(
        self,
        problem: str,
        *,
        record: int | None = None,
        offset: int | None = None,
        what: str | None = None,
        source: str | None = None,
    ) -> None:
        self.problem = problem
        self.record = record
        self.offset = offset
        self.source = source
        where = what if what is not None else (f"record {record}" if record is not None else "")
        if offset is not None:
            where = f"{where} at byte {offset}" if where else f"byte {offset}"
        prefix = f"{source}: " if source else ""
        super().__init__(f"{prefix}{where}: {problem}" if where else f"{prefix}{problem}")


@dataclass(frozen=True, slots=True)
class CaptureRecord:
    """One message: its channel, when it passed (seconds since the capture
    started, monotonic clock), its bytes exactly as on the wire, and the
    connection it passed on (a :class:`CaptureConnection` id; always 0 in a
    version-1 capture, whose one connection the header describes)."""

    channel: Channel
    time: float
    data: bytes
    connection: int = 0

    def __post_init__(self) -> None:
        if (isinstance(self.connection, bool) or not isinstance(self.connection, int)
                or not 0 <= self.connection <= MAX_CONNECTION):
            raise ValueError(f"a record's connection must be an id 0..{MAX_CONNECTION}, "
                             f"not {self.connection!r}")
        if not isinstance(self.channel, Channel):
            object.__setattr__(self, "channel", Channel(self.channel))
        if not isinstance(self.data, bytes):
            object.__setattr__(self, "data", bytes(self.data))
        if not (isinstance(self.time, int | float) and math.isfinite(self.time) and self.time >= 0):
            raise ValueError(f"a record's time must be a finite number >= 0, not {self.time!r}")
        object.__setattr__(self, "time", float(self.time))
        if len(self.data) > MAX_DATA:
            raise ValueError(f"a record holds at most {MAX_DATA} bytes, not {len(self.data)}")


_new = object.__new__
_set_channel = CaptureRecord.__dict__["channel"].__set__
_set_time = CaptureRecord.__dict__["time"].__set__
_set_data = CaptureRecord.__dict__["data"].__set__
_set_connection = CaptureRecord.__dict__["connection"].__set__


def _checked_record(channel: Channel, when: float, data: bytes, connection: int) -> CaptureRecord:
    """A record whose fields the reader has already checked (a Channel, a finite
    float >= 0, bytes within MAX_DATA): the object ``CaptureRecord(channel, when,
    data)`` would be, without running the checks a second time per record."""
    record: CaptureRecord = _new(CaptureRecord)
    _set_channel(record, channel)
    _set_time(record, when)
    _set_data(record, data)
    _set_connection(record, connection)
    return record


_SERVICES = ("quorum", "votequorum", "cmap", "cfg")


@dataclass(frozen=True, slots=True)
class CaptureConnection:
    """One client connection of a capture: its id (what its records'
    ``connection`` says), the libqb service it was made to ("quorum",
    "votequorum", "cmap", "cfg" or any other name), the transport corosync
    chose, the max_msg_size it granted, when it opened and closed (seconds
    since the capture started; ``closed`` None while it is open, or in a
    version-1 capture), why it closed (``reason``, ``error``: the lost
    connection's error message), and how many connection attempts it took
    (``attempts``: above 1 when a reconnecting client failed before it).
    """

    id: int
    service: str
    transport: TransportName
    opened: float = 0.0
    closed: float | None = None
    max_msg_size: int | None = None
    attempts: int = 1
    reason: CloseReason | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.id, bool) or not isinstance(self.id, int) or not (
            0 <= self.id <= MAX_CONNECTION
        ):
            raise ValueError(f"a connection id is 0..{MAX_CONNECTION}, not {self.id!r}")
        if not isinstance(self.service, str):
            raise ValueError(f"a connection's service is a name, not {self.service!r}")
        if self.transport not in ("shm", "socket"):
            raise ValueError(f"transport must be 'shm' or 'socket', not {self.transport!r}")
        for name in ("opened", "closed"):
            value = getattr(self, name)
            if value is None and name == "closed":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                math.isfinite(value) and value >= 0
            ):
                raise ValueError(f"a connection's {name} time must be finite and >= 0, "
                                 f"not {value!r}")
            object.__setattr__(self, name, float(value))
        if self.closed is not None and self.closed < self.opened:
            raise ValueError(f"a connection closes ({self.closed}) before it opens "
                             f"({self.opened})")
        if self.reason is not None and not isinstance(self.reason, CloseReason):
            object.__setattr__(self, "reason", CloseReason(self.reason))
        if self.closed is None and (self.reason is not None or self.error is not None):
            raise ValueError("a connection still open has no close reason or error")
        if self.closed is not None and self.reason is None:
            object.__setattr__(self, "reason", CloseReason.CLOSED)
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int) or (
            self.attempts < 1
        ):
            raise ValueError(f"a connection's attempts must be >= 1, not {self.attempts!r}")
        if self.max_msg_size is not None and (
            isinstance(self.max_msg_size, bool) or not isinstance(self.max_msg_size, int)
        ):
            raise ValueError(f"max_msg_size must be an int or None, not {self.max_msg_size!r}")

    def open_json(self) -> dict[str, Any]:
        """The OPEN record's JSON object."""
        return {"connection": self.id, "service": self.service, "transport": self.transport,
                "max_msg_size": self.max_msg_size, "attempts": self.attempts}

    def close_json(self) -> dict[str, Any]:
        """The CLOSE record's JSON object."""
        reason = self.reason if self.reason is not None else CloseReason.CLOSED
        return {"connection": self.id, "reason": reason.value, "error": self.error}

    @classmethod
    def from_open_json(cls, obj: object, when: float) -> CaptureConnection:
        """Parse an OPEN record's JSON (ValueError says what is wrong)."""
        if not isinstance(obj, dict):
            raise ValueError("the open record is not a JSON object")
        ident = _typed(obj, "connection", int, "open record")
        service = _typed(obj, "service", str, "open record")
        transport = _typed(obj, "transport", str, "open record")
        if transport not in ("shm", "socket"):
            raise ValueError(f"the open record's transport {transport!r} is neither shm "
                             "nor socket")
        size = _typed(obj, "max_msg_size", (int, type(None)), "open record", None)
        attempts = _typed(obj, "attempts", int, "open record", 1)
        return cls(ident, service, transport, when, None, size, attempts)

    def closed_by(self, obj: object, when: float) -> CaptureConnection:
        """This connection, closed by a CLOSE record's JSON at ``when``."""
        if not isinstance(obj, dict):
            raise ValueError("the close record is not a JSON object")
        ident = _typed(obj, "connection", int, "close record")
        if ident != self.id:
            raise ValueError(f"the close record's JSON names connection {ident}, its "
                             f"header {self.id}")
        reason = _typed(obj, "reason", str, "close record")
        if reason not in CloseReason.__members__.values():
            raise ValueError(f"the close record's reason {reason!r} is none of "
                             f"{', '.join(r.value for r in CloseReason)}")
        error = _typed(obj, "error", (str, type(None)), "close record", None)
        return replace(self, closed=when, reason=CloseReason(reason), error=error)


def _typed(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], what: str,
           default: Any = ...) -> Any:
    """``obj[key]`` checked to be of ``kind`` (never a bool); ValueError naming ``what``."""
    if key not in obj:
        if default is ...:
            raise ValueError(f"the {what} has no {key!r}")
        return default
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ValueError(f"the {what}'s {key!r} is {value!r}, of the wrong type")
    return value


@dataclass(frozen=True, slots=True)
class CaptureHeader:
    """What a capture says about itself (the HEADER record's JSON object).

    ``model`` is the quorum model the client asked for (``Model.AUTO``
    included: the recorded MODEL_GETTYPE/GETTYPE exchange shows what it
    got).  ``corosync_version`` and ``libqb_version`` are the installed
    versions found when recording (None when unknown; ``pyquorum record``
    asks the host with :mod:`pyquorum.hostinfo`).  ``created`` is an
    ISO 8601 UTC timestamp.  ``description`` is free text, ``metadata`` any
    JSON object (scenario names and step times for the fixtures, say).

    ``version`` is the file format (:data:`CAPTURE_VERSION`, 2, unless
    given).  A version-1 capture holds one connection, which the header
    describes: ``transport`` ("shm" or "socket"), ``service`` and
    ``max_msg_size``.  In version 2 each connection has its own OPEN record
    (:class:`CaptureConnection`) and these three are None; ``command`` is
    the recorded command line instead (``("status",)``, ``("watch",
    "--votequorum")``...), which tells a replay how to print it.
    """

    transport: TransportName | None = None
    model: Model = Model.V1
    version: int = CAPTURE_VERSION
    pyquorum_version: str = ""
    corosync_version: str | None = None
    libqb_version: str | None = None
    service: str | None = None
    created: str = ""
    max_msg_size: int | None = None
    description: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict, hash=False)
    command: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.version not in READ_VERSIONS:
            raise ValueError(f"capture version must be one of {READ_VERSIONS}, "
                             f"not {self.version!r}")
        if self.version == 1:
            if self.transport not in ("shm", "socket"):
                raise ValueError(f"transport must be 'shm' or 'socket', not {self.transport!r}")
            if self.service is None:
                object.__setattr__(self, "service", "quorum")
            if self.command:
                raise ValueError("a version-1 header has no command (it records watch)")
        elif (self.transport, self.service, self.max_msg_size) != (None, None, None):
            raise ValueError("a version-2 header has no transport, service or max_msg_size: "
                             "each connection has its own")
        if not isinstance(self.model, Model):
            object.__setattr__(self, "model", Model(self.model))
        object.__setattr__(self, "command", tuple(self.command))
        if not all(isinstance(word, str) for word in self.command):
            raise ValueError(f"a header's command is a list of strings, not {self.command!r}")
        if not self.pyquorum_version:
            from pyquorum import __version__

            object.__setattr__(self, "pyquorum_version", __version__)
        if not self.created:
            from datetime import UTC, datetime  # (only a new header needs the clock)

            now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
            object.__setattr__(self, "created", now)
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    @classmethod
    def for_connection(
        cls, connection: Any, model: Model, *, description: str = "",
        metadata: Mapping[str, Any] | None = None,
        corosync_version: str | None = None, libqb_version: str | None = None,
    ) -> CaptureHeader:
        """A version-1 header for a session over ``connection`` (an
        IpcConnection: its transport, service and granted max_msg_size) with
        the given corosync and libqb versions (this package does not probe
        the host)."""
        return cls(
            transport=transport_of(connection),
            model=model,
            version=1,
            corosync_version=corosync_version,
            libqb_version=libqb_version,
            service=str(getattr(connection, "service", "quorum")),
            max_msg_size=getattr(connection, "max_msg_size", None),
            description=description,
            metadata=metadata or {},
        )

    def implicit_connection(self) -> CaptureConnection:
        """A version-1 capture's one connection (id 0), as its header describes it."""
        assert self.transport is not None and self.service is not None
        return CaptureConnection(0, self.service, self.transport, 0.0, None, self.max_msg_size)

    def to_json(self) -> dict[str, Any]:
        """The header record's JSON object."""
        obj: dict[str, Any] = {
            "format": "pyquorum-capture",
            "version": self.version,
            "pyquorum_version": self.pyquorum_version,
            "corosync_version": self.corosync_version,
            "libqb_version": self.libqb_version,
            "model": self.model.name,
            "created": self.created,
            "description": self.description,
            "metadata": dict(self.metadata),
        }
        if self.version == 1:
            obj.update(transport=self.transport, service=self.service,
                       max_msg_size=self.max_msg_size)
        else:
            obj["command"] = list(self.command)
        return obj

    @classmethod
    def from_json(cls, obj: object, version: int = 1) -> CaptureHeader:
        """Parse the header record's JSON object of a capture whose preamble
        says ``version``; ValueError says what is wrong."""
        if not isinstance(obj, dict):
            raise ValueError("the header is not a JSON object")
        if obj.get("format") != "pyquorum-capture":
            raise ValueError(f"the header's format is {obj.get('format')!r}, not pyquorum-capture")

        def get(key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
            return _typed(obj, key, kind, "header", default)

        said = get("version", int)
        if said != version:
            raise ValueError(f"the header says version {said}, the preamble {version}")
        model_name = get("model", str)
        if model_name not in Model.__members__:
            raise ValueError(f"the header's model {model_name!r} is none of V0, V1, AUTO")
        common: dict[str, Any] = dict(
            model=Model[model_name],
            version=version,
            pyquorum_version=get("pyquorum_version", str),
            corosync_version=get("corosync_version", (str, type(None)), None),
            libqb_version=get("libqb_version", (str, type(None)), None),
            created=get("created", str),
            description=get("description", str, ""),
            metadata=get("metadata", dict, {}),
        )
        if version != 1:
            command = get("command", list, [])
            if not all(isinstance(word, str) for word in command):
                raise ValueError(f"the header's 'command' is {command!r}, not a list of strings")
            return cls(command=tuple(command), **common)
        transport = get("transport", str)
        if transport not in ("shm", "socket"):
            raise ValueError(f"the header's transport {transport!r} is neither shm nor socket")
        return cls(
            transport=transport,
            service=get("service", str),
            max_msg_size=get("max_msg_size", (int, type(None)), None),
            **common,
        )


def transport_of(connection: Any) -> TransportName:
    """The transport of an IpcConnection (its ``connection_type``: 0 is the socket one)."""
    kind = getattr(connection, "connection_type", None)
    return "socket" if int(kind if kind is not None else 1) == 0 else "shm"


@dataclass(frozen=True, slots=True)
class Capture:
    """A whole capture: its header, its message records in file order, and
    its connections in the order they opened (a version-1 capture's one
    connection, id 0, is made from its header when not given).

    The connections are how a multi-service capture is taken apart:
    :meth:`connections_of` the connections of one service,
    :meth:`records_of` the records of one connection,
    :meth:`by_connection` each connection with its records.
    """

    header: CaptureHeader
    records: tuple[CaptureRecord, ...]
    connections: tuple[CaptureConnection, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "records", tuple(self.records))
        connections = tuple(self.connections)
        if not connections and self.header.version == 1:
            connections = (self.header.implicit_connection(),)
        object.__setattr__(self, "connections", connections)

    def channel(self, channel: Channel) -> list[CaptureRecord]:
        """The records of one channel, in order."""
        return [r for r in self.records if r.channel is channel]

    def connection(self, ident: int) -> CaptureConnection:
        """The connection with this id (KeyError if there is none)."""
        for conn in self.connections:
            if conn.id == ident:
                return conn
        raise KeyError(ident)

    def connections_of(self, service: str) -> list[CaptureConnection]:
        """The connections to one service, in the order they opened."""
        return [c for c in self.connections if c.service == service]

    def records_of(self, connection: CaptureConnection | int) -> list[CaptureRecord]:
        """The records of one connection, in order."""
        ident = connection if isinstance(connection, int) else connection.id
        return [r for r in self.records if r.connection == ident]

    def by_connection(self) -> list[tuple[CaptureConnection, list[CaptureRecord]]]:
        """Each connection with its records, in the order the connections opened."""
        groups: dict[int, list[CaptureRecord]] = {c.id: [] for c in self.connections}
        for record in self.records:
            groups.setdefault(record.connection, []).append(record)
        return [(c, groups[c.id]) for c in self.connections]
