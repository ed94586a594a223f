"""Writing captures: :class:`CaptureWriter`, record by record, or a whole
:class:`~pyquorum.capture.records.Capture` at once."""

from __future__ import annotations

import json
import os
import threading
import time
import zlib
from types import TracebackType
from typing import BinaryIO

from pyquorum.capture.records import (
    _CRC,
    _HEAD,
    MAGIC,
    MAX_CONNECTION,
    Capture,
    CaptureConnection,
    CaptureHeader,
    CaptureRecord,
    Channel,
    CloseReason,
    PathOrFile,
    _Kind,
)
from pyquorum.ipc.wire import TransportName

__all__ = ["CaptureWriter", "write_capture"]


class CaptureWriter:
    """Writes a capture: the preamble and header at once, then one record per
    :meth:`write` (flushed, so a recording cut short keeps what it had), and
    the END record on :meth:`close` (or leaving the ``with`` block, also on
    an exception).  Thread-safe.

    ``target`` is a path (created or truncated; closed by :meth:`close`) or
    a binary file open for writing (left open).  :meth:`record` stamps a
    message with the time since the writer was made, for live recording.

    The header's version decides the format.  Version 2 (the default) holds
    several connections: :meth:`open_connection` writes one's OPEN record and
    returns it, records name it (``connection=``), :meth:`close_connection`
    writes its CLOSE; :meth:`close` closes any still open (reason
    ``ended``).  Version 1 (kept to rewrite old captures as they were) has
    the one connection 0 its header describes.
    """

    def __init__(self, target: PathOrFile, header: CaptureHeader) -> None:
        self.header = header
        self.version = header.version
        self._lock = threading.Lock()
        self._count = 0
        # Connection id -> its OPEN state (v2); v1 has connection 0, always open.
        self._open: dict[int, CaptureConnection] = (
            {0: header.implicit_connection()} if header.version == 1 else {}
        )
        self._next_id = 0
        self._connections = 0
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
            self._file.write(MAGIC + f"{header.version}\n".encode())
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

    def _put(self, kind: _Kind, when: float, data: bytes, connection: int = 0) -> None:
        head = _HEAD.pack(kind, connection, 0, len(data), when)
        crc = zlib.crc32(data, zlib.crc32(head))
        self._file.write(head + data + _CRC.pack(crc))

    def write(self, record: CaptureRecord) -> None:
        """Append one message record; its time may not precede the previous one's."""
        with self._lock:
            self._write_locked(record)

    def _write_locked(self, record: CaptureRecord) -> None:
        if self._closed:
            raise ValueError("write to a closed CaptureWriter")
        self._check_time(record.time)
        if record.connection not in self._open:
            raise ValueError(f"connection {record.connection} is not open in this capture")
        self._put(_Kind(record.channel), float(record.time), record.data, record.connection)
        self._file.flush()
        self._last_time = float(record.time)
        self._count += 1

    def _check_time(self, when: float) -> None:
        if when < self._last_time:
            raise ValueError(f"record times may not go backwards ({when} after {self._last_time})")

    def record(self, channel: Channel, data: bytes | bytearray | memoryview,
               connection: int = 0) -> CaptureRecord:
        """Write ``data`` as a message on ``channel`` of ``connection`` passing
        now; returns the record."""
        with self._lock:
            rec = CaptureRecord(channel, max(self.elapsed(), self._last_time), bytes(data),
                                connection)
            self._write_locked(rec)
            return rec

    # -- connections (version 2)

    def open_connection(
        self, service: str, transport: TransportName, *, max_msg_size: int | None = None,
        attempts: int = 1, when: float | None = None,
    ) -> CaptureConnection:
        """Write the OPEN record of a new connection (the next free id), now or at
        ``when``; returns it."""
        with self._lock:
            if self.version == 1:
                raise ValueError("a version-1 capture holds one connection, opened by its header")
            if self._next_id > MAX_CONNECTION:
                raise ValueError(f"a capture holds at most {MAX_CONNECTION + 1} connections")
            at = max(self.elapsed(), self._last_time) if when is None else when
            conn = CaptureConnection(self._next_id, service, transport, at, None,
                                     max_msg_size, attempts)
            self._write_open_locked(conn)
            return conn

    def write_open(self, connection: CaptureConnection) -> None:
        """Write the OPEN record of ``connection`` as it is (id, time and all)."""
        with self._lock:
            if self.version == 1:
                raise ValueError("a version-1 capture holds one connection, opened by its header")
            self._write_open_locked(connection)

    def _write_open_locked(self, conn: CaptureConnection) -> None:
        if self._closed:
            raise ValueError("write to a closed CaptureWriter")
        if conn.id < self._next_id:
            raise ValueError(f"connection ids are new and increasing: {conn.id} after "
                             f"{self._next_id - 1}")
        self._check_time(conn.opened)
        self._put(_Kind.OPEN, conn.opened, _json(conn.open_json()), conn.id)
        self._file.flush()
        self._last_time = conn.opened
        self._next_id = conn.id + 1
        self._connections += 1
        self._open[conn.id] = conn

    def close_connection(self, connection: CaptureConnection | int, *,
                         reason: CloseReason = CloseReason.CLOSED, error: str | None = None,
                         when: float | None = None) -> CaptureConnection | None:
        """Write the CLOSE record of an open connection, now or at ``when``;
        returns it closed (None, writing nothing, if it was not open: a
        connection closes once)."""
        ident = connection if isinstance(connection, int) else connection.id
        with self._lock:
            if self.version == 1 or self._closed or ident not in self._open:
                return None
            at = max(self.elapsed(), self._last_time) if when is None else when
            return self._write_close_locked(ident, reason, error, at)

    def _write_close_locked(self, ident: int, reason: CloseReason, error: str | None,
                            when: float) -> CaptureConnection:
        self._check_time(when)
        conn = self._open.pop(ident)
        closed = CaptureConnection(conn.id, conn.service, conn.transport, conn.opened, when,
                                   conn.max_msg_size, conn.attempts, reason, error)
        self._put(_Kind.CLOSE, when, _json(closed.close_json()), ident)
        self._file.flush()
        self._last_time = when
        return closed

    def close(self) -> None:
        """Write the END record and close a file opened by path.  Idempotent."""
        with self._lock:
            if self._closed:
                return
            try:
                at = max(self.elapsed(), self._last_time)
                summary: dict[str, int] = {"records": self._count}
                if self.version != 1:
                    for ident in list(self._open):
                        self._write_close_locked(ident, CloseReason.ENDED, None, at)
                    summary["connections"] = self._connections
                self._put(_Kind.END, at, _json(summary))
                self._file.flush()
            finally:
                self._closed = True
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


def _json(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True).encode()


def write_capture(target: PathOrFile, capture: Capture) -> None:
    """Write a whole :class:`Capture` (header, records, end record).

    In version 2 each connection's OPEN record goes before its first record
    (as soon as the times allow), its CLOSE after its last (when the
    connection has a ``closed`` time; else the end closes it)."""
    with CaptureWriter(target, capture.header) as writer:
        if capture.header.version == 1:
            for record in capture.records:
                writer.write(record)
            return
        last = {conn.id: -1 for conn in capture.connections}
        for index, record in enumerate(capture.records):
            if record.connection not in last:
                raise ValueError(f"record {index} is on connection {record.connection}, "
                                 "which the capture does not hold")
            last[record.connection] = index
        waiting = list(capture.connections)  # not yet opened, in opening order
        closing: list[CaptureConnection] = []  # opened, with a close time

        def settle(until: float, index: int) -> None:
            """Write the OPENs and CLOSEs due by ``until`` (before record ``index``)."""
            while True:
                due = [c for c in closing if last[c.id] < index and (c.closed or 0.0) <= until]
                if waiting and waiting[0].opened <= until and (
                    not due or waiting[0].opened <= min(c.closed or 0.0 for c in due)
                ):
                    conn = waiting.pop(0)
                    writer.write_open(conn)
                    if conn.closed is not None:
                        closing.append(conn)
                elif due:
                    conn = min(due, key=lambda c: c.closed or 0.0)
                    closing.remove(conn)
                    writer.close_connection(conn.id, reason=conn.reason or CloseReason.CLOSED,
                                            error=conn.error, when=conn.closed)
                else:
                    return

        for index, record in enumerate(capture.records):
            settle(record.time, index)
            writer.write(record)
        settle(float("inf"), len(capture.records))
