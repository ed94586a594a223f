"""Reading captures, checked record by record: whatever is wrong is a
:class:`~pyquorum.capture.records.CaptureError` naming the record and its
byte offset."""

from __future__ import annotations

import io
import json
import math
import os
import re
import stat
import zlib
from collections.abc import Collection, Iterator
from typing import BinaryIO, cast

from pyquorum.capture.records import (
    _CRC,
    _HEAD,
    _PREAMBLE_MAX,
    MAGIC,
    MAX_DATA,
    READ_VERSIONS,
    Capture,
    CaptureConnection,
    CaptureError,
    CaptureHeader,
    CaptureRecord,
    Channel,
    PathOrFile,
    _checked_record,
    _Kind,
    _new,
    _set_channel,
    _set_connection,
    _set_data,
    _set_time,
)

__all__ = [
    "IN_MEMORY_LIMIT",
    "CaptureBytes",
    "CaptureReader",
    "capture_from_bytes",
    "iter_capture",
    "read_capture",
]

_KINDS = {int(kind): kind for kind in _Kind}
_CHANNELS = {_Kind(int(channel)): channel for channel in Channel}
_MESSAGE_KINDS = {int(channel): channel for channel in Channel}
_HEAD_SIZE = _HEAD.size
_CRC_SIZE = _CRC.size
_CHUNK = 64 * 1024


class CaptureReader(Iterator[CaptureRecord]):
    """Reads a capture record by record (what :func:`iter_capture` returns).

    The preamble and header are read and checked on construction, so
    :attr:`header` is there at once and a wrong file fails at once.
    Iterating yields the message records as :class:`CaptureRecord`; it
    raises :class:`CaptureError` at the first damaged record (the records
    before it have been yielded), and after the last record checks the END
    record.  A file given by path is closed at the end, by :meth:`close`,
    or by leaving the ``with`` block.

    Both format versions read the same way: :attr:`version` says which,
    each record's ``connection`` which connection it passed on.
    :attr:`connections` holds the connections seen so far by id (a
    version-1 capture's one connection 0 from the start; in version 2 each
    as its OPEN record is read, replaced by its closed self at its CLOSE);
    :meth:`items` yields those OPEN/CLOSE marks in stream order too.

    ``source`` is a path, a binary file, or the capture's bytes (read in
    place); ``name`` is how errors name it (default: the path, or the
    file's ``name``).
    """

    def __init__(self, source: PathOrFile | bytes, *, name: str | None = None) -> None:
        # The file is read in blocks of _CHUNK bytes; records are cut from the block.
        self._buf = b""
        if isinstance(source, str | os.PathLike):
            self.source: str | None = os.fspath(source)
            self._file: BinaryIO = open(source, "rb")  # noqa: SIM115 (closed in close())
            self._owns = True
        elif isinstance(source, bytes):
            # A capture in memory: the whole of it is the one block, nothing is copied.
            self.source = None
            self._file = io.BytesIO()
            self._owns = False
            self._buf = source
        else:
            file_name = getattr(source, "name", None)
            self.source = file_name if isinstance(file_name, str) else None
            self._file = source
            self._owns = False
        if name is not None:
            self.source = name
        self._view = memoryview(self._buf)
        self._pos = 0
        self._offset = 0
        self._index = 0
        self._last_time = 0.0
        self._done = False
        self._marks = False
        # Set by CaptureBytes on a reader of bytes a reader before it read to the
        # end record: every record's CRC is known good, so none is computed again.
        self._trusted = False
        self.complete = False
        self.version = 0
        self.connections: dict[int, CaptureConnection] = {}
        # The connections records may name now: open ones (v1: just 0).
        self._open: dict[int, CaptureConnection] = {}
        try:
            self.version = self._read_preamble()
            self.header = self._read_header()
            if self.version == 1:
                self.connections[0] = self._open[0] = self.header.implicit_connection()
        except BaseException:
            self.close()
            raise

    # -- errors

    def _error(self, problem: str, *, offset: int, what: str | None = None,
               record: int | None = None) -> CaptureError:
        return CaptureError(problem, record=record, offset=offset, what=what, source=self.source)

    def _read(self, n: int) -> bytes:
        if len(self._buf) - self._pos < n:
            self._refill(n)
        pos = self._pos
        data = self._buf[pos : pos + n]
        self._pos = pos + len(data)
        self._offset += len(data)
        return data

    def _refill(self, n: int) -> None:
        """Make ``n`` bytes available in the buffer, or all that is left of the file."""
        parts = [self._buf[self._pos :]]
        have = len(parts[0])
        while have < n:
            chunk = self._file.read(max(_CHUNK, n - have))
            if not chunk:
                break
            parts.append(chunk)
            have += len(chunk)
        self._buf = b"".join(parts)
        self._view = memoryview(self._buf)
        self._pos = 0

    # -- structure

    def _read_preamble(self) -> int:
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
        if version not in READ_VERSIONS:
            known = " and ".join(str(v) for v in READ_VERSIONS)
            raise fail(
                f"capture format version {version} is not supported (this pyquorum reads "
                f"versions {known}); a newer pyquorum may read it"
            )
        return version

    def _read_record(
        self, what: str, record: int | None
    ) -> tuple[_Kind, int, float, bytes, int]:
        """One framed record, checked for truncation and CRC; (kind, connection,
        time, data, offset)."""
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
        kind_byte, connection, reserved, length, when = _HEAD.unpack(head)
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
        if self.version == 1 and (connection or reserved):
            raise self._error(f"reserved bytes are {head[1:4].hex()}, not zero",
                              offset=start, what=what, record=record)
        if reserved:
            raise self._error(f"the reserved byte is {reserved:#04x}, not zero",
                              offset=start, what=what, record=record)
        kind = _KINDS.get(kind_byte)
        if kind is None:
            raise self._error(f"unknown record kind {kind_byte}", offset=start, what=what,
                              record=record)
        if not (math.isfinite(when) and when >= 0):
            raise self._error(f"bad time {when!r} (must be finite and >= 0)",
                              offset=start, what=what, record=record)
        return kind, connection, when, data, start

    def _read_header(self) -> CaptureHeader:
        kind, _, _, data, start = self._read_record("header record", None)
        if kind is not _Kind.HEADER:
            raise self._error(f"the first record is {kind.name}, not the header",
                              offset=start, what="header record")
        try:
            return CaptureHeader.from_json(json.loads(data.decode("utf-8")), self.version)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise self._error(f"the header is not JSON: {exc}", offset=start,
                              what="header record") from None
        except (ValueError, TypeError) as exc:
            raise self._error(str(exc), offset=start, what="header record") from None

    # -- iteration

    def __iter__(self) -> CaptureReader:
        return self

    def __next__(self) -> CaptureRecord:
        # The common case in a few operations: a whole, well-formed message
        # record in the buffer (nothing here can raise).  Anything else (a
        # record across blocks, an END record, any damage, the end of the
        # iteration) goes the checked way, which reads the same bytes again
        # and names what is wrong.
        buf, pos = self._buf, self._pos
        if len(buf) - pos >= _HEAD_SIZE and not self._done:
            kind_byte, connection, reserved, length, when = _HEAD.unpack_from(buf, pos)
            end = pos + _HEAD_SIZE + length
            channel = _MESSAGE_KINDS.get(kind_byte)
            if (
                channel is not None
                and end + _CRC_SIZE <= len(buf)
                and length <= MAX_DATA
                and not reserved
                and connection in self._open
                and self._last_time <= when < math.inf
                and (self._trusted
                     or _CRC.unpack_from(buf, end)[0] == zlib.crc32(self._view[pos:end]))
            ):
                self._pos = end + _CRC_SIZE
                self._offset += end + _CRC_SIZE - pos
                self._last_time = when
                self._index += 1
                # The fields are checked: fill the slots as CaptureRecord() would.
                record: CaptureRecord = _new(CaptureRecord)
                _set_channel(record, channel)
                _set_time(record, when)
                _set_data(record, buf[pos + _HEAD_SIZE : end])
                _set_connection(record, connection)
                return record
        if self._done:
            raise StopIteration
        try:
            # Only items() sets _marks: plain iteration never sees a connection here.
            return cast(CaptureRecord, self._next_checked())
        except BaseException:
            self._done = True
            self.close()
            raise

    def items(self) -> Iterator[CaptureRecord | CaptureConnection]:
        """The message records and, in stream order, each connection as it opens
        (``closed`` None) and as it closes (``closed`` set): a version-2
        capture's OPEN and CLOSE records.  Checked as iteration is."""
        self._marks = True
        while True:
            try:
                item: CaptureRecord | CaptureConnection = self.__next__()
            except StopIteration:
                return
            yield item

    def check(self, keep: Collection[Channel] = ()) -> Iterator[CaptureRecord]:
        """Iterate as the reader does, but yield only the records of the ``keep`` channels.

        Every other message record is checked exactly as iteration checks it
        (framing, CRC, reserved bytes, its connection open, time order) but no
        record object is made for it: the cheap way to check a whole capture
        before playing it (``replay`` reads a file twice, and the checking pass
        wants only the few requests).  Damage raises the same
        :class:`CaptureError`, with the same record and offset, as iteration."""
        wanted = frozenset(int(channel) for channel in keep)
        skipped = frozenset(_MESSAGE_KINDS) - wanted
        unpack_head, unpack_crc, crc32 = _HEAD.unpack_from, _CRC.unpack_from, zlib.crc32
        head_size, crc_size, limit, inf = _HEAD_SIZE, _CRC_SIZE, MAX_DATA, math.inf
        is_open = self._open  # mutated in place by OPEN and CLOSE records
        while not self._done:
            # The well-formed records of the block not wanted: the fast path of
            # __next__, without the record.  Anything else leaves the loop and
            # goes the checked way, which reads the same bytes again.
            buf, view, start, last, index = (self._buf, self._view, self._pos,
                                             self._last_time, self._index)
            size, pos = len(buf), start
            while size - pos >= head_size:
                kind_byte, connection, reserved, length, when = unpack_head(buf, pos)
                end = pos + head_size + length
                if not (
                    kind_byte in skipped
                    and end + crc_size <= size
                    and length <= limit
                    and not reserved
                    and connection in is_open
                    and last <= when < inf
                    and unpack_crc(buf, end)[0] == crc32(view[pos:end])
                ):
                    break
                pos = end + crc_size
                last = when
                index += 1
            self._pos, self._last_time, self._index = pos, last, index
            self._offset += pos - start
            try:
                record = cast(CaptureRecord, self._next_checked())
            except StopIteration:
                return
            except BaseException:
                self._done = True
                self.close()
                raise
            if int(record.channel) in wanted:
                yield record

    def read_messages(self, limit: int) -> list[tuple[Channel, bytes]]:
        """The next message records, up to ``limit`` of them, as (channel, data)
        pairs; an empty list at the end of the capture.

        Checked as iteration checks them, but without a record object each (a
        :class:`PlaybackConnection` of the whole capture reads it this way).
        A batch stops before a record that needs the checked way (across
        blocks, OPEN/CLOSE/END, damage) unless that record is its first, so
        damage raises its :class:`CaptureError` from the call that needs the
        damaged record, after every record before it has been returned."""
        out: list[tuple[Channel, bytes]] = []
        append = out.append
        kinds = _MESSAGE_KINDS
        unpack_head, unpack_crc, crc32 = _HEAD.unpack_from, _CRC.unpack_from, zlib.crc32
        head_size, crc_size, inf = _HEAD_SIZE, _CRC_SIZE, math.inf
        is_open = self._open  # mutated in place by OPEN and CLOSE records
        trusted = self._trusted
        while len(out) < limit and not self._done:
            # The well-formed message records of the block: __next__'s fast path
            # (without the CRC on bytes a reader before this one checked).
            buf, view, start, last = self._buf, self._view, self._pos, self._last_time
            size, pos, before = len(buf), start, len(out)
            room = limit - before
            while room and size - pos >= head_size:
                kind_byte, connection, reserved, length, when = unpack_head(buf, pos)
                channel = kinds.get(kind_byte)
                end = pos + head_size + length
                if channel is None or not (trusted or (
                    end + crc_size <= size
                    and length <= MAX_DATA
                    and not reserved
                    and connection in is_open
                    and last <= when < inf
                    and unpack_crc(buf, end)[0] == crc32(view[pos:end])
                )):
                    break
                append((channel, buf[pos + head_size : end]))
                pos = end + crc_size
                last = when
                room -= 1
            self._pos, self._last_time = pos, last
            self._offset += pos - start
            self._index += len(out) - before
            if out:
                return out  # what comes next, the checked way on the next call
            try:
                item = self._next_checked()
            except StopIteration:
                return out
            except BaseException:
                self._done = True
                self.close()
                raise
            if isinstance(item, CaptureRecord):  # (not the marks items() asked for)
                append((item.channel, item.data))
        return out

    def _next_checked(self) -> CaptureRecord | CaptureConnection:
        while True:
            index = self._index
            kind, connection, when, data, start = self._read_record(f"record {index}", index)
            if when < self._last_time:
                raise self._error(f"time {when} is before the previous record's "
                                  f"{self._last_time}", offset=start, record=index)
            self._last_time = when
            if kind is _Kind.END:
                self._check_end(data, start)
                self._done = True
                self.complete = True
                self.close()
                raise StopIteration
            if kind is _Kind.HEADER:
                raise self._error("a second header record", offset=start, record=index)
            if kind is _Kind.OPEN or kind is _Kind.CLOSE:
                conn = self._connection_record(kind, connection, when, data, start)
                if self._marks:
                    return conn
                continue
            if connection not in self._open:
                raise self._error(self._not_open(connection), offset=start, record=index)
            self._index += 1
            return _checked_record(_CHANNELS[kind], when, data, connection)

    def _not_open(self, connection: int) -> str:
        if connection in self.connections:
            return (f"connection {connection} was closed at "
                    f"{self.connections[connection].closed}: no record may follow its close")
        return f"connection {connection} is not open (no open record names it before)"

    def _connection_record(self, kind: _Kind, ident: int, when: float, data: bytes,
                           start: int) -> CaptureConnection:
        """Check and apply an OPEN or CLOSE record (version 2 only)."""
        what = "open record" if kind is _Kind.OPEN else "close record"
        if self.version == 1:
            raise self._error(f"unknown record kind {int(kind)}", offset=start,
                              record=self._index)
        try:
            obj = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise self._error(f"the {what} is not JSON", offset=start, what=what) from None
        try:
            if kind is _Kind.OPEN:
                if ident in self.connections:
                    raise ValueError(f"connection {ident} opens a second time")
                conn = CaptureConnection.from_open_json(obj, when)
                if conn.id != ident:
                    raise ValueError(f"its JSON names connection {conn.id}, its header {ident}")
                self.connections[ident] = self._open[ident] = conn
                return conn
            if ident not in self._open:
                raise ValueError(self._not_open(ident))
            conn = self._open.pop(ident).closed_by(obj, when)
            self.connections[ident] = conn
            return conn
        except (ValueError, TypeError) as exc:
            raise self._error(str(exc), offset=start,
                              what=f"{what} (connection {ident})") from None

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
        if self.version != 1:
            opened = end.get("connections")
            if not isinstance(opened, int) or isinstance(opened, bool):
                raise self._error("the end record has no connection count", offset=start,
                                  what="end record")
            if opened != len(self.connections):
                raise self._error(f"the end record counts {opened} connections, the file "
                                  f"opens {len(self.connections)}", offset=start,
                                  what="end record")
            if self._open:
                raise self._error(f"connection {min(self._open)} is still open at the end "
                                  "record (each connection closes before the end)",
                                  offset=start, what="end record")
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


class CaptureBytes:
    """A whole capture held in memory, to be read more than once.

    :meth:`reader` gives a :class:`CaptureReader` of the bytes (no copy).
    The first reader that reads them to the end record has checked every
    record, as any reader does; the readers made after it read the same
    immutable bytes without computing each record's CRC again (the check
    stands: the bytes cannot have changed since), and otherwise read as any
    reader.  ``pyquorum replay`` plays a capture of at most
    :data:`IN_MEMORY_LIMIT` bytes this way: one read of the file, one CRC
    per record, where a longer one is read from the file twice.
    """

    def __init__(self, data: bytes, source: str | None = None) -> None:
        self.data = bytes(data)
        self.source = source
        self._checking: list[CaptureReader] = []  # the readers made before it
        self.checked = False  # a reader read them to the end record

    @classmethod
    def load(cls, path: str | os.PathLike[str], limit: int) -> CaptureBytes | None:
        """The file at ``path`` in memory, or None when it holds more than ``limit``
        bytes (then only what the size check needed has been read)."""
        with open(path, "rb") as file:
            info = os.fstat(file.fileno())
            if stat.S_ISREG(info.st_mode) and info.st_size > limit:
                return None
            data = file.read(limit + 1)
        if len(data) > limit:
            return None
        return cls(data, os.fspath(path))

    def reader(self) -> CaptureReader:
        """A reader of the bytes from the start (see the class docstring)."""
        if not self.checked and any(r.complete for r in self._checking):
            self.checked = True
            self._checking.clear()
        reader = CaptureReader(self.data, name=self.source)
        if self.checked:
            reader._trusted = True
        else:
            self._checking.append(reader)
        return reader


#: The largest capture ``pyquorum replay`` holds in memory to read it twice
#: (:class:`CaptureBytes`); a longer one is read from the file twice.
IN_MEMORY_LIMIT = 64 * 1024 * 1024


def iter_capture(source: PathOrFile) -> CaptureReader:
    """Open a capture for reading record by record: ``.header`` at once, then
    iterate for the message records (see :class:`CaptureReader`)."""
    return CaptureReader(source)


def read_capture(source: PathOrFile) -> Capture:
    """Read and check a whole capture; :class:`CaptureError` if it is damaged."""
    with CaptureReader(source) as reader:
        records = tuple(reader)
        return Capture(reader.header, records, tuple(reader.connections.values()))


def capture_from_bytes(data: bytes) -> Capture:
    """:func:`read_capture` of a capture held in memory."""
    return read_capture(io.BytesIO(data))
