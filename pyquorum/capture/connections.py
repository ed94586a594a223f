"""Connections that record a live session to a capture, or play one back
to a session in process (``QuorumSession(..., connection=...)``)."""

from __future__ import annotations

import os
from typing import Protocol

from pyquorum.capture.records import Capture, CaptureError, Channel
from pyquorum.capture.writer import CaptureWriter
from pyquorum.errors import BadHandleError

__all__ = ["PlaybackConnection", "RecordingConnection"]


class _Connection(Protocol):
    def request(self, data: bytes, timeout: float | None) -> bytes: ...

    def recv_event(self, timeout: float | None) -> bytes | None: ...

    def fileno(self) -> int: ...

    def close(self) -> None: ...


class RecordingConnection:
    """A connection that records every message passing through it.

    Wraps any connection a :class:`~pyquorum.QuorumSession` takes
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
