"""Captures: the raw traffic of one quorum session, recorded and replayed.

A capture holds every message one client session exchanged with corosync's
quorum service, byte for byte, with the time it passed: the requests the
client sent, the responses it got and the events (notifications) it
received.  ``pyquorum record`` writes one while watching; ``pyquorum
replay`` decodes one to exactly the lines ``pyquorum watch`` printed live;
the fake server (:mod:`pyquorum.fake`) serves one to any libqb client.
The libqb handshake (connection request and response) is not recorded:
it carries only transport details, summed up in the header.

The API::

    with CaptureWriter("watch.pqcap", CaptureHeader.for_connection(conn, Model.V1)) as w:
        session = QuorumSession(Model.V1, connection=RecordingConnection(conn, w))
        ...
    capture = read_capture("watch.pqcap")          # header + all records, checked
    with iter_capture("watch.pqcap") as reader:    # header at once, records as read
        print(reader.header.transport)
        for record in reader: ...

File format, version 1 (all integers little-endian)
===================================================

A **preamble** line, ``b"pyquorum-capture 1\\n"``: the format name and the
version as ASCII digits.  A reader refuses any other version by name
before looking further.  Then **records**, back to back, each::

    offset  size  field
    0       1     kind      0 HEADER, 1 REQUEST, 2 RESPONSE, 3 EVENT, 4 END
    1       3     reserved  zero
    4       4     length    n, bytes of data (u32, at most MAX_DATA)
    8       8     time      seconds since the capture started (IEEE 754 double;
                            finite, >= 0, never less than the previous record's)
    16      n     data      the message exactly as it crossed the wire
    16+n    4     crc       CRC-32 (zlib.crc32) of bytes 0 .. 16+n of this record

* The first record is the HEADER: its data is one UTF-8 JSON object (see
  :class:`CaptureHeader`; unknown keys are ignored, so version 1 may gain
  optional keys), its time 0.
* Then one REQUEST, RESPONSE or EVENT record per message, in the order
  the client saw them (the ``Channel``; kinds 1-3).
* The last record is END: JSON ``{"records": N}``, N the number of message
  records.  A file without it was cut short (a crashed recording, a
  truncated copy); it is refused, as are bytes after it.

Any damage (a truncated file, a bad magic or version, a CRC mismatch, an
unknown kind, a time going backwards, a header that is not the JSON
described, a record count that does not add up) raises
:class:`CaptureError`, whose message names the record and byte offset,
never anything else.  Message records are numbered from 0 in file order,
as in :attr:`Capture.records`; the header and end records are named as
such.  See docs/capture-format.md for the rationale and an example.
"""

from __future__ import annotations

import enum
import io
import json
import math
import os
import re
import shutil
import struct
import subprocess
import threading
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType, TracebackType
from typing import Any, BinaryIO, Final, Literal, Protocol

from pyquorum.errors import PyquorumError
from pyquorum.messages.constants import Model

__all__ = [
    "CAPTURE_VERSION",
    "MAGIC",
    "MAX_DATA",
    "Capture",
    "CaptureError",
    "CaptureHeader",
    "CaptureReader",
    "CaptureRecord",
    "CaptureWriter",
    "Channel",
    "PlaybackConnection",
    "RecordingConnection",
    "capture_from_bytes",
    "corosync_version",
    "iter_capture",
    "libqb_version",
    "read_capture",
    "write_capture",
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

Transport = Literal["shm", "socket"]
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


@dataclass(frozen=True, slots=True)
class CaptureHeader:
    """What a capture says about itself (the HEADER record's JSON object).

    ``transport`` is the libqb transport corosync chose ("shm" or
    "socket"); ``model`` the model the client asked for (``Model.AUTO``
    included: the recorded MODEL_GETTYPE/GETTYPE exchange shows what it
    got).  ``corosync_version`` and ``libqb_version`` are the installed
    versions found when recording (None when unknown).  ``created`` is an
    ISO 8601 UTC timestamp.  ``max_msg_size`` is what the daemon granted,
    ``description`` free text, ``metadata`` any JSON object (scenario
    names and step times for the fixtures, say).
    """

    transport: Transport
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
    ) -> CaptureHeader:
        """A header for a session over ``connection`` (an IpcConnection: its
        transport, service and granted max_msg_size), with this machine's
        corosync and libqb versions."""
        kind = getattr(connection, "connection_type", None)
        transport: Transport = "socket" if int(kind if kind is not None else 1) == 0 else "shm"
        return cls(
            transport=transport,
            model=model,
            corosync_version=corosync_version(),
            libqb_version=libqb_version(),
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


# --------------------------------------------------------------------------- writing


class CaptureWriter:
    """Writes a capture: the preamble and header at once, then one record per
    :meth:`write` (flushed, so a recording cut short keeps what it had), and
    the END record on :meth:`close` (or leaving the ``with`` block, also on
    an exception).  Thread-safe.

    ``target`` is a path (created or truncated; closed by :meth:`close`) or
    a binary file open for writing (left open).  :meth:`record` stamps a
    message with the time since the writer was made, for live recording.
    """

    def __init__(self, target: PathOrFile, header: CaptureHeader) -> None:
        if header.version != CAPTURE_VERSION:
            raise ValueError(f"this pyquorum writes capture version {CAPTURE_VERSION} only")
        self.header = header
        self._lock = threading.Lock()
        self._count = 0
        self._last_time = 0.0
        self._closed = False
        self._start = time.monotonic()
        if isinstance(target, str | os.PathLike):
            self._file: BinaryIO = open(target, "wb")  # noqa: SIM115 (closed in close())
            self._owns = True
            self.name: str | None = os.fspath(target)
        else:
            self._file = target
            self._owns = False
            name = getattr(target, "name", None)
            self.name = name if isinstance(name, str) else None
        try:
            self._file.write(MAGIC + f"{CAPTURE_VERSION}\n".encode())
            body = json.dumps(header.to_json(), sort_keys=True).encode()
            self._put(_Kind.HEADER, 0.0, body)
            self._file.flush()
        except BaseException:
            if self._owns:
                self._file.close()
            raise

    @property
    def count(self) -> int:
        """Message records written so far."""
        return self._count

    @property
    def closed(self) -> bool:
        return self._closed

    def elapsed(self) -> float:
        """Seconds since this writer was made (monotonic clock)."""
        return time.monotonic() - self._start

    def _put(self, kind: _Kind, when: float, data: bytes) -> None:
        head = _HEAD.pack(kind, _ZERO3, len(data), when)
        crc = zlib.crc32(data, zlib.crc32(head))
        self._file.write(head + data + _CRC.pack(crc))

    def write(self, record: CaptureRecord) -> None:
        """Append one message record; its time may not precede the previous one's."""
        with self._lock:
            self._write_locked(record)

    def _write_locked(self, record: CaptureRecord) -> None:
        if self._closed:
            raise ValueError("write to a closed CaptureWriter")
        if record.time < self._last_time:
            raise ValueError(
                f"record times may not go backwards ({record.time} after {self._last_time})"
            )
        self._put(_Kind(record.channel), float(record.time), record.data)
        self._file.flush()
        self._last_time = float(record.time)
        self._count += 1

    def record(self, channel: Channel, data: bytes | bytearray | memoryview) -> CaptureRecord:
        """Write ``data`` as a message on ``channel`` passing now; returns the record."""
        with self._lock:
            rec = CaptureRecord(channel, max(self.elapsed(), self._last_time), bytes(data))
            self._write_locked(rec)
            return rec

    def close(self) -> None:
        """Write the END record and close a file opened by path.  Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                end = json.dumps({"records": self._count}).encode()
                self._put(_Kind.END, max(self.elapsed(), self._last_time), end)
                self._file.flush()
            finally:
                if self._owns:
                    self._file.close()

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def write_capture(target: PathOrFile, capture: Capture) -> None:
    """Write a whole :class:`Capture` (header, records, end record)."""
    with CaptureWriter(target, capture.header) as writer:
        for record in capture.records:
            writer.write(record)


# --------------------------------------------------------------------------- reading


class CaptureReader(Iterator[CaptureRecord]):
    """Reads a capture record by record (what :func:`iter_capture` returns).

    The preamble and header are read and checked on construction, so
    :attr:`header` is there at once and a wrong file fails at once.
    Iterating yields the message records as :class:`CaptureRecord`; it
    raises :class:`CaptureError` at the first damaged record (the records
    before it have been yielded), and after the last record checks the END
    record.  A file given by path is closed at the end, by :meth:`close`,
    or by leaving the ``with`` block.
    """

    def __init__(self, source: PathOrFile) -> None:
        if isinstance(source, str | os.PathLike):
            self.source: str | None = os.fspath(source)
            self._file: BinaryIO = open(source, "rb")  # noqa: SIM115 (closed in close())
            self._owns = True
        else:
            name = getattr(source, "name", None)
            self.source = name if isinstance(name, str) else None
            self._file = source
            self._owns = False
        self._offset = 0
        self._index = 0
        self._last_time = 0.0
        self._done = False
        self.complete = False
        try:
            self._read_preamble()
            self.header = self._read_header()
        except BaseException:
            self.close()
            raise

    # -- errors

    def _error(self, problem: str, *, offset: int, what: str | None = None,
               record: int | None = None) -> CaptureError:
        return CaptureError(problem, record=record, offset=offset, what=what, source=self.source)

    def _read(self, n: int) -> bytes:
        chunks = []
        left = n
        while left > 0:
            chunk = self._file.read(left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        self._offset += len(data)
        return data

    # -- structure

    def _read_preamble(self) -> None:
        line = bytearray()
        while len(line) < _PREAMBLE_MAX and not line.endswith(b"\n"):
            byte = self._read(1)
            if not byte:
                break
            line += byte

        def fail(problem: str) -> CaptureError:
            return self._error(problem, offset=0, what="preamble")

        if not line:
            raise fail("the file is empty (not a pyquorum capture)")
        if not line.startswith(MAGIC):
            if MAGIC.startswith(line):
                raise fail("the file ends inside the preamble (truncated)")
            raise fail(f"not a pyquorum capture (it does not start with {MAGIC.decode()!r})")
        if not line.endswith(b"\n"):
            if len(line) < _PREAMBLE_MAX:
                raise fail("the file ends inside the preamble (truncated)")
            raise fail("the preamble line is too long")
        version_text = bytes(line[len(MAGIC) : -1])
        if not re.fullmatch(rb"[0-9]{1,9}", version_text):
            raise fail(f"the format version {version_text!r} is not a number")
        version = int(version_text)
        if version != CAPTURE_VERSION:
            raise fail(
                f"capture format version {version} is not supported (this pyquorum reads "
                f"version {CAPTURE_VERSION}); a newer pyquorum may read it"
            )

    def _read_record(self, what: str, record: int | None) -> tuple[_Kind, float, bytes, int]:
        """One framed record, checked for truncation and CRC; (kind, time, data, offset)."""
        start = self._offset
        head = self._read(_HEAD.size)
        if len(head) < _HEAD.size:
            if not head and what.startswith("record"):
                raise self._error(
                    "the capture ends here without its end record (truncated, or the "
                    "recording was killed)", offset=start, what=what, record=record)
            raise self._error(
                f"truncated: the record header needs {_HEAD.size} bytes, "
                f"{len(head)} are left", offset=start, what=what, record=record)
        kind_byte, reserved, length, when = _HEAD.unpack(head)
        if length > MAX_DATA:
            raise self._error(f"length {length} exceeds the limit of {MAX_DATA} bytes "
                              "(the record is damaged)", offset=start, what=what, record=record)
        rest = self._read(length + _CRC.size)
        if len(rest) < length + _CRC.size:
            raise self._error(
                f"truncated: the record needs {length + _CRC.size} bytes after its header, "
                f"{len(rest)} are left", offset=start, what=what, record=record)
        data, (stored,) = rest[:length], _CRC.unpack(rest[length:])
        computed = zlib.crc32(data, zlib.crc32(head))
        if stored != computed:
            raise self._error(f"CRC mismatch (stored {stored:#010x}, computed {computed:#010x}): "
                              "the record is damaged", offset=start, what=what, record=record)
        if reserved != _ZERO3:
            raise self._error(f"reserved bytes are {reserved.hex()}, not zero",
                              offset=start, what=what, record=record)
        try:
            kind = _Kind(kind_byte)
        except ValueError:
            raise self._error(f"unknown record kind {kind_byte}", offset=start, what=what,
                              record=record) from None
        if not (math.isfinite(when) and when >= 0):
            raise self._error(f"bad time {when!r} (must be finite and >= 0)",
                              offset=start, what=what, record=record)
        return kind, when, data, start

    def _read_header(self) -> CaptureHeader:
        kind, _, data, start = self._read_record("header record", None)
        if kind is not _Kind.HEADER:
            raise self._error(f"the first record is {kind.name}, not the header",
                              offset=start, what="header record")
        try:
            return CaptureHeader.from_json(json.loads(data.decode("utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise self._error(f"the header is not JSON: {exc}", offset=start,
                              what="header record") from None
        except (ValueError, TypeError) as exc:
            raise self._error(str(exc), offset=start, what="header record") from None

    # -- iteration

    def __iter__(self) -> CaptureReader:
        return self

    def __next__(self) -> CaptureRecord:
        if self._done:
            raise StopIteration
        try:
            return self._next()
        except BaseException:
            self._done = True
            self.close()
            raise

    def _next(self) -> CaptureRecord:
        index = self._index
        kind, when, data, start = self._read_record(f"record {index}", index)
        if when < self._last_time:
            raise self._error(f"time {when} is before the previous record's {self._last_time}",
                              offset=start, record=index)
        self._last_time = when
        if kind is _Kind.END:
            self._check_end(data, start)
            self._done = True
            self.complete = True
            self.close()
            raise StopIteration
        if kind is _Kind.HEADER:
            raise self._error("a second header record", offset=start, record=index)
        self._index += 1
        return CaptureRecord(Channel(kind), when, data)

    def _check_end(self, data: bytes, start: int) -> None:
        try:
            end = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise self._error("the end record is not JSON", offset=start,
                              what="end record") from None
        count = end.get("records") if isinstance(end, dict) else None
        if not isinstance(count, int) or isinstance(count, bool):
            raise self._error("the end record has no record count", offset=start,
                              what="end record")
        if count != self._index:
            raise self._error(f"the end record counts {count} records, the file holds "
                              f"{self._index}", offset=start, what="end record")
        if self._read(1):
            raise self._error("bytes follow the end record", offset=self._offset - 1,
                              what="end record")

    def close(self) -> None:
        if self._owns and not self._file.closed:
            self._file.close()

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_capture(source: PathOrFile) -> CaptureReader:
    """Open a capture for reading record by record: ``.header`` at once, then
    iterate for the message records (see :class:`CaptureReader`)."""
    return CaptureReader(source)


def read_capture(source: PathOrFile) -> Capture:
    """Read and check a whole capture; :class:`CaptureError` if it is damaged."""
    with CaptureReader(source) as reader:
        return Capture(reader.header, tuple(reader))


def capture_from_bytes(data: bytes) -> Capture:
    """:func:`read_capture` of a capture held in memory."""
    return read_capture(io.BytesIO(data))


# --------------------------------------------------------------------------- recording


class _Connection(Protocol):
    def request(self, data: bytes, timeout: float | None) -> bytes: ...

    def recv_event(self, timeout: float | None) -> bytes | None: ...

    def fileno(self) -> int: ...

    def close(self) -> None: ...


class RecordingConnection:
    """A connection that records every message passing through it.

    Wraps any connection a :class:`~pyquorum.session.QuorumSession` takes
    (``connection=``) and writes each request (when sent), response and
    event (when received) to ``writer`` with :meth:`CaptureWriter.record`.
    A request that fails is recorded without a response.  Closing closes
    the wrapped connection, not the writer, which stays the caller's.
    """

    def __init__(self, connection: _Connection, writer: CaptureWriter) -> None:
        self.connection = connection
        self.writer = writer

    def request(self, data: bytes, timeout: float | None) -> bytes:
        self.writer.record(Channel.REQUEST, data)
        response = self.connection.request(data, timeout)
        self.writer.record(Channel.RESPONSE, response)
        return response

    def recv_event(self, timeout: float | None) -> bytes | None:
        data = self.connection.recv_event(timeout)
        if data is not None:
            self.writer.record(Channel.EVENT, data)
        return data

    def fileno(self) -> int:
        return self.connection.fileno()

    def close(self) -> None:
        self.connection.close()

    def __repr__(self) -> str:
        return f"<RecordingConnection {self.connection!r} -> {self.writer.name or 'a file'}>"


class PlaybackConnection:
    """A connection that plays a capture back to a session, in process.

    ``QuorumSession(capture.header.model, connection=PlaybackConnection(capture))``
    gets the recorded responses and events.  :meth:`request` answers a
    request with the response recorded for the same request bytes; recorded
    requests the session does not repeat (a getquorate between, say) are
    skipped with their responses.  A request the capture does not hold, or
    holds without a response (the live call failed there), raises
    :class:`CaptureError` naming the record.  :meth:`recv_event` returns the
    recorded events in order, then None at once, whatever the timeout: the
    capture has nothing more to say.  Times are not replayed (the fake
    server does that, over real IPC).
    """

    def __init__(self, capture: Capture) -> None:
        self.capture = capture
        self._records = capture.records
        self._next_request = 0
        self._events = [r for r in capture.records if r.channel is Channel.EVENT]
        self._next_event = 0
        self._pipe: tuple[int, int] | None = None
        self.closed = False

    def request(self, data: bytes, timeout: float | None = None) -> bytes:
        from pyquorum.errors import BadHandleError

        if self.closed:
            raise BadHandleError("the playback connection is closed")
        records = self._records
        for i in range(self._next_request, len(records)):
            if records[i].channel is not Channel.REQUEST or records[i].data != bytes(data):
                continue
            for j in range(i + 1, len(records)):
                if records[j].channel is Channel.REQUEST:
                    break
                if records[j].channel is Channel.RESPONSE:
                    self._next_request = j + 1
                    return records[j].data
            raise CaptureError("this request got no response in the recording (the live "
                               "call failed or the recording ended there)", record=i)
        raise CaptureError(f"the capture holds no request {bytes(data).hex()} after record "
                           f"{self._next_request}: it was recorded from a different session")

    def pending(self) -> int:
        """Events not yet received."""
        return len(self._events) - self._next_event

    def recv_event(self, timeout: float | None = None) -> bytes | None:
        if self._next_event >= len(self._events) or self.closed:
            return None
        record = self._events[self._next_event]
        self._next_event += 1
        if self._pipe is not None and not self.pending():
            os.read(self._pipe[0], 1)
        return record.data

    def fileno(self) -> int:
        """Readable while recorded events remain."""
        if self._pipe is None:
            self._pipe = os.pipe()
            if self.pending():
                os.write(self._pipe[1], b"!")
        return self._pipe[0]

    def close(self) -> None:
        self.closed = True
        if self._pipe is not None:
            for fd in self._pipe:
                os.close(fd)
            self._pipe = None


# --------------------------------------------------------------------------- versions


def _run(argv: list[str]) -> str | None:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=5, check=False,
                              env={**os.environ, "LC_ALL": "C"})
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def _upstream(package_version: str) -> str:
    """``1:2.0.6-2`` -> ``2.0.6`` (drop a Debian epoch and revision)."""
    version = package_version.split(":", 1)[-1]
    return version.rsplit("-", 1)[0] if "-" in version else version


def corosync_version() -> str | None:
    """The installed corosync's version (``corosync -v``), or None if not found."""
    binary = shutil.which("corosync") or next(
        (p for p in ("/usr/sbin/corosync", "/sbin/corosync") if os.access(p, os.X_OK)), None)
    if binary is None:
        return None
    out = _run([binary, "-v"])
    match = re.search(r"version '([^']+)'", out or "")
    return match.group(1) if match else None


def libqb_version() -> str | None:
    """The installed libqb's version (dpkg or rpm), or None if not found."""
    if shutil.which("dpkg-query"):
        out = _run(["dpkg-query", "-W", "-f", "${Package} ${Version} ${db:Status-Abbrev}\\n",
                    "libqb[0-9]*"])
        for line in (out or "").splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[2].startswith("ii"):
                return _upstream(parts[1])
    if shutil.which("rpm"):
        out = _run(["rpm", "-q", "--qf", "%{VERSION}\\n", "libqb"])
        if out and out.strip() and " " not in out.strip():
            return out.strip().splitlines()[0]
    return None
