"""Connections that record a live session to a capture, or play one back
to a session in process (``QuorumSession(..., connection=...)``)."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from typing import Protocol

from pyquorum.capture.reader import CaptureReader
from pyquorum.capture.records import Capture, CaptureError, CaptureRecord, Channel
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

    ``capture`` may also be a :class:`~pyquorum.capture.CaptureReader`
    (:func:`~pyquorum.capture.iter_capture`): records are then read as the
    session asks for them, and only the events read ahead of a request and
    not yet received are held, so a long capture plays in constant memory.
    A damaged record then surfaces as the reader's CaptureError from the
    call that reaches it.
    """

    def __init__(self, capture: Capture | CaptureReader) -> None:
        self.capture = capture if isinstance(capture, Capture) else None
        self.header = capture.header
        self._source: Iterator[CaptureRecord] | None = (
            iter(capture.records) if isinstance(capture, Capture) else capture
        )
        self._read = 0  # index (in the file's record order) of the next record read
        # Requests and responses read and not yet answered from, with their index.
        self._exchange: list[tuple[int, CaptureRecord]] = []
        self._after = 0  # the record the next request is looked for from
        self._events: deque[bytes] = deque()
        self._pipe: tuple[int, int] | None = None
        self.closed = False

    def _pull(self) -> bool:
        """Read one more record into the buffers; False at the end of the capture."""
        if self._source is None:
            return False
        record = next(self._source, None)
        if record is None:
            self._source = None
            return False
        if record.channel is Channel.EVENT:
            self._events.append(record.data)
        else:
            self._exchange.append((self._read, record))
        self._read += 1
        return True

    def _has_event(self) -> bool:
        while not self._events:
            if not self._pull():
                return False
        return True

    def request(self, data: bytes, timeout: float | None = None) -> bytes:
        if self.closed:
            raise BadHandleError("the playback connection is closed")
        wanted = bytes(data)
        exchange = self._exchange
        i = 0
        while self._reach(i):
            index, record = exchange[i]
            if record.channel is Channel.REQUEST and record.data == wanted:
                j = i + 1
                while self._reach(j):
                    answer_index, answer = exchange[j]
                    if answer.channel is Channel.REQUEST:
                        break
                    # Only requests and responses are in the exchange.
                    del exchange[: j + 1]
                    self._after = answer_index + 1
                    return answer.data
                raise CaptureError("this request got no response in the recording (the live "
                                   "call failed or the recording ended there)", record=index)
            i += 1
        raise CaptureError(f"the capture holds no request {wanted.hex()} after record "
                           f"{self._after}: it was recorded from a different session")

    def _reach(self, position: int) -> bool:
        """Read until the exchange has an entry at ``position``; False if it never will."""
        while position >= len(self._exchange):
            if not self._pull():
                return False
        return True

    def pending(self) -> int:
        """Events not yet received (reading a streamed capture to its end to count them)."""
        while self._pull():
            pass
        return len(self._events)

    def recv_event(self, timeout: float | None = None) -> bytes | None:
        if self.closed or not self._has_event():
            return None
        data = self._events.popleft()
        if self._pipe is not None and not self._has_event():
            os.read(self._pipe[0], 1)
        return data

    def fileno(self) -> int:
        """Readable while recorded events remain."""
        if self._pipe is None:
            self._pipe = os.pipe()
            if self._has_event():
                os.write(self._pipe[1], b"!")
        return self._pipe[0]

    def close(self) -> None:
        self.closed = True
        if self._pipe is not None:
            for fd in self._pipe:
                os.close(fd)
            self._pipe = None
