"""The capture format's vocabulary: its constants, the record and header
types, the whole-capture object and its error (the format itself is
described in :mod:`pyquorum.capture`)."""

from __future__ import annotations

import enum
import math
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, BinaryIO, Final

from pyquorum.errors import PyquorumError
from pyquorum.ipc.wire import TransportName
from pyquorum.messages.constants import Model

__all__ = [
    "CAPTURE_VERSION",
    "MAGIC",
    "MAX_DATA",
    "Capture",
    "CaptureError",
    "CaptureHeader",
    "CaptureRecord",
    "Channel",
    "PathOrFile",
]

#: The version of the file format this module writes (and the only one it reads).
CAPTURE_VERSION: Final = 1
#: The preamble starts with this; the version and a newline follow.
MAGIC: Final = b"pyquorum-capture "
#: Largest data of one record: far above any quorum message (corosync's
#: largest notification is 4672 bytes) yet small enough that a damaged
#: length cannot make a reader allocate gigabytes.
MAX_DATA: Final = 16 * 1024 * 1024

_PREAMBLE_MAX = len(MAGIC) + 12
_HEAD = struct.Struct("<B3sId")  # kind, reserved, length, time
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
    started, monotonic clock) and its bytes exactly as on the wire."""

    channel: Channel
    time: float
    data: bytes

    def __post_init__(self) -> None:
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


def _checked_record(channel: Channel, when: float, data: bytes) -> CaptureRecord:
    """A record whose fields the reader has already checked (a Channel, a finite
    float >= 0, bytes within MAX_DATA): the object ``CaptureRecord(channel, when,
    data)`` would be, without running the checks a second time per record."""
    record: CaptureRecord = _new(CaptureRecord)
    _set_channel(record, channel)
    _set_time(record, when)
    _set_data(record, data)
    return record


@dataclass(frozen=True, slots=True)
class CaptureHeader:
    """What a capture says about itself (the HEADER record's JSON object).

    ``transport`` is the libqb transport corosync chose ("shm" or
    "socket"); ``model`` the model the client asked for (``Model.AUTO``
    included: the recorded MODEL_GETTYPE/GETTYPE exchange shows what it
    got).  ``corosync_version`` and ``libqb_version`` are the installed
    versions found when recording (None when unknown; ``pyquorum record``
    asks the host with :mod:`pyquorum.hostinfo`).  ``created`` is an
    ISO 8601 UTC timestamp.  ``max_msg_size`` is what the daemon granted,
    ``description`` free text, ``metadata`` any JSON object (scenario
    names and step times for the fixtures, say).
    """

    transport: TransportName
    model: Model
    version: int = CAPTURE_VERSION
    pyquorum_version: str = ""
    corosync_version: str | None = None
    libqb_version: str | None = None
    service: str = "quorum"
    created: str = ""
    max_msg_size: int | None = None
    description: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.transport not in ("shm", "socket"):
            raise ValueError(f"transport must be 'shm' or 'socket', not {self.transport!r}")
        if not isinstance(self.model, Model):
            object.__setattr__(self, "model", Model(self.model))
        if not self.pyquorum_version:
            from pyquorum import __version__

            object.__setattr__(self, "pyquorum_version", __version__)
        if not self.created:
            now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
            object.__setattr__(self, "created", now)
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    @classmethod
    def for_connection(
        cls, connection: Any, model: Model, *, description: str = "",
        metadata: Mapping[str, Any] | None = None,
        corosync_version: str | None = None, libqb_version: str | None = None,
    ) -> CaptureHeader:
        """A header for a session over ``connection`` (an IpcConnection: its
        transport, service and granted max_msg_size) with the given corosync
        and libqb versions (this package does not probe the host)."""
        kind = getattr(connection, "connection_type", None)
        transport: TransportName = "socket" if int(kind if kind is not None else 1) == 0 else "shm"
        return cls(
            transport=transport,
            model=model,
            corosync_version=corosync_version,
            libqb_version=libqb_version,
            service=str(getattr(connection, "service", "quorum")),
            max_msg_size=getattr(connection, "max_msg_size", None),
            description=description,
            metadata=metadata or {},
        )

    def to_json(self) -> dict[str, Any]:
        """The header record's JSON object."""
        return {
            "format": "pyquorum-capture",
            "version": self.version,
            "pyquorum_version": self.pyquorum_version,
            "corosync_version": self.corosync_version,
            "libqb_version": self.libqb_version,
            "transport": self.transport,
            "model": self.model.name,
            "service": self.service,
            "created": self.created,
            "max_msg_size": self.max_msg_size,
            "description": self.description,
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_json(cls, obj: object) -> CaptureHeader:
        """Parse the header record's JSON object; ValueError says what is wrong."""
        if not isinstance(obj, dict):
            raise ValueError("the header is not a JSON object")
        if obj.get("format") != "pyquorum-capture":
            raise ValueError(f"the header's format is {obj.get('format')!r}, not pyquorum-capture")

        def get(key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
            if key not in obj:
                if default is ...:
                    raise ValueError(f"the header has no {key!r}")
                return default
            value = obj[key]
            if isinstance(value, bool) or not isinstance(value, kind):  # no field is a bool
                raise ValueError(f"the header's {key!r} is {value!r}, of the wrong type")
            return value

        version = get("version", int)
        if version != CAPTURE_VERSION:
            raise ValueError(f"the header says version {version}, the preamble {CAPTURE_VERSION}")
        model_name = get("model", str)
        if model_name not in Model.__members__:
            raise ValueError(f"the header's model {model_name!r} is none of V0, V1, AUTO")
        transport = get("transport", str)
        if transport not in ("shm", "socket"):
            raise ValueError(f"the header's transport {transport!r} is neither shm nor socket")
        max_msg_size = get("max_msg_size", (int, type(None)), None)
        return cls(
            transport=transport,
            model=Model[model_name],
            version=version,
            pyquorum_version=get("pyquorum_version", str),
            corosync_version=get("corosync_version", (str, type(None)), None),
            libqb_version=get("libqb_version", (str, type(None)), None),
            service=get("service", str),
            created=get("created", str),
            max_msg_size=max_msg_size,
            description=get("description", str, ""),
            metadata=get("metadata", dict, {}),
        )


@dataclass(frozen=True, slots=True)
class Capture:
    """A whole capture: its header and its message records, in file order."""

    header: CaptureHeader
    records: tuple[CaptureRecord, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "records", tuple(self.records))

    def channel(self, channel: Channel) -> list[CaptureRecord]:
        """The records of one channel, in order."""
        return [r for r in self.records if r.channel is channel]
