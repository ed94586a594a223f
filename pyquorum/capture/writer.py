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
    _ZERO3,
    CAPTURE_VERSION,
    MAGIC,
    Capture,
    CaptureHeader,
    CaptureRecord,
    Channel,
    PathOrFile,
    _Kind,
)

__all__ = ["CaptureWriter", "write_capture"]


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
