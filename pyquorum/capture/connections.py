"""Connections that record a live session to a capture, or play one back
to a session in process (``QuorumSession(..., connection=...)``)."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from pyquorum.capture.reader import CaptureReader
from pyquorum.capture.records import (
    Capture,
    CaptureConnection,
    CaptureError,
    CaptureHeader,
    CaptureRecord,
    Channel,
    CloseReason,
    transport_of,
)
from pyquorum.capture.writer import CaptureWriter
from pyquorum.errors import BadHandleError, ConnectionLost

__all__ = ["CaptureDemux", "PlaybackConnection", "RecordingConnection"]


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

    With a version-2 writer the connection is one of the capture's: made,
    it writes its OPEN record (``service``, default the wrapped
    connection's ``service``; its transport and max_msg_size; ``attempts``
    as given), and :attr:`recorded` is that :class:`CaptureConnection`.
    Its CLOSE record follows when it is closed, or at once when a call
    raises ConnectionLost (reason ``lost``, the error's message).
    """

    def __init__(self, connection: _Connection, writer: CaptureWriter, *,
                 service: str | None = None, attempts: int = 1) -> None:
        self.connection = connection
        self.writer = writer
        self.recorded: CaptureConnection | None = None
        self._id = 0
        if writer.version != 1:
            self.recorded = writer.open_connection(
                service or str(getattr(connection, "service", "quorum")),
                transport_of(connection),
                max_msg_size=getattr(connection, "max_msg_size", None),
                attempts=attempts,
            )
            self._id = self.recorded.id

    def request(self, data: bytes, timeout: float | None) -> bytes:
        self.writer.record(Channel.REQUEST, data, self._id)
        try:
            response = self.connection.request(data, timeout)
        except ConnectionLost as exc:
            self._lost(exc)
            raise
        self.writer.record(Channel.RESPONSE, response, self._id)
        return response

    def recv_event(self, timeout: float | None) -> bytes | None:
        try:
            data = self.connection.recv_event(timeout)
        except ConnectionLost as exc:
            self._lost(exc)
            raise
        if data is not None:
            self.writer.record(Channel.EVENT, data, self._id)
        return data

    def _lost(self, exc: ConnectionLost) -> None:
        if self.recorded is not None:
            self.writer.close_connection(self._id, reason=CloseReason.LOST, error=str(exc))

    def fileno(self) -> int:
        return self.connection.fileno()

    def close(self) -> None:
        try:
            self.connection.close()
        finally:
            if self.recorded is not None:
                self.writer.close_connection(self._id)

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

    A capture of several connections (version 2) plays one of them:
    ``connection`` is its id (with a Capture), or ``capture`` is that
    connection's records as :meth:`CaptureDemux.records` streams them, with
    ``header`` given.  None plays every record (a version-1 capture's).
    """

    def __init__(self, capture: Capture | CaptureReader | Iterable[CaptureRecord], *,
                 connection: int | None = None, header: CaptureHeader | None = None) -> None:
        self.capture = capture if isinstance(capture, Capture) else None
        self.connection = connection
        if isinstance(capture, Capture | CaptureReader):
            self.header = capture.header
        elif header is not None:
            self.header = header
        else:
            raise TypeError("PlaybackConnection of a record stream needs its capture's header")
        source: Iterator[CaptureRecord] = (
            iter(capture.records) if isinstance(capture, Capture) else iter(capture)
        )
        if connection is not None and isinstance(capture, Capture | CaptureReader):
            source = (r for r in source if r.connection == connection)
        self._source: Iterator[CaptureRecord] | None = source
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
                                   "call failed or the recording ended there)", record=index,
                                   what=self._where(index))
            i += 1
        raise CaptureError(f"the capture holds no request {wanted.hex()} after "
                           f"{self._where(self._after) or f'record {self._after}'}: it was "
                           "recorded from a different session")

    def _where(self, index: int) -> str | None:
        """How an error names a record: its index among the records played."""
        if self.connection is None:
            return None
        return f"record {index} of connection {self.connection}"

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
        if self.closed:
            return None
        events = self._events
        while not events:  # (_has_event, one call less per event of a replay)
            if not self._pull():
                return None
        data = events.popleft()
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


class CaptureDemux:
    """Takes a streamed version-2 capture apart, connection by connection.

    Reads a :class:`CaptureReader` once, in order.  :meth:`records` is the
    record stream of one connection (for a :class:`PlaybackConnection`);
    iterating the demux yields, in file order, what a printer follows: each
    connection as it opens and closes (a :class:`CaptureConnection`, as
    :meth:`CaptureReader.items` gives them) and each EVENT record.  Records
    read ahead for one connection wait in its queue until taken, so as long
    as each connection's records are taken as their events come up, a long
    capture plays in the memory of a few records.
    """

    def __init__(self, reader: CaptureReader) -> None:
        self.reader = reader
        self.header = reader.header
        self._items: Iterator[CaptureRecord | CaptureConnection] | None = reader.items()
        self._queues: dict[int, deque[CaptureRecord]] = {}
        self._order: deque[CaptureRecord | CaptureConnection] = deque()
        self._closed: set[int] = set()

    def _pull(self) -> bool:
        if self._items is None:
            return False
        item = next(self._items, None)
        if item is None:
            self._items = None
            return False
        if isinstance(item, CaptureConnection):
            if item.closed is not None:
                self._closed.add(item.id)
            self._order.append(item)
        else:
            self._queues.setdefault(item.connection, deque()).append(item)
            if item.channel is Channel.EVENT:
                self._order.append(item)
        return True

    def records(self, connection: int) -> Iterator[CaptureRecord]:
        """The records of ``connection``, read from the file as they are asked for;
        the stream ends at its CLOSE record."""
        queue = self._queues.setdefault(connection, deque())
        while True:
            if queue:
                yield queue.popleft()
            elif connection in self._closed or not self._pull():
                return

    def playback(self, connection: int) -> PlaybackConnection:
        """A :class:`PlaybackConnection` of one connection's records."""
        return PlaybackConnection(self.records(connection), connection=connection,
                                  header=self.header)

    def __iter__(self) -> Iterator[CaptureRecord | CaptureConnection]:
        while True:
            if self._order:
                yield self._order.popleft()
            elif not self._pull():
                return

    def __enter__(self) -> CaptureDemux:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.reader.close()
