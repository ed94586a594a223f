"""libqb's shared-memory transport (connection_type 1, corosync's default).

Three rings (request, response, event), each a header file holding a
process-shared semaphore and a data file.  The doorbell rules are strict
and corosync punishes mistakes: exactly one byte on the setup socket per
request, *after* the semaphore post (an early byte strands the request, a
missing one freezes corosync's main loop); one byte from the server per
event, after its post.  Responses have no doorbell: only the response
semaphore says one is there, so waits are sliced to notice a dead daemon.
"""

from __future__ import annotations

import errno
import mmap
import os
import select
import socket
import time

from pyquorum._deadline import Deadline
from pyquorum._frozen import slotted
from pyquorum.errors import CsTimeoutError, RemoteProtocolError, TooBigError, TryAgainError
from pyquorum.ipc.client.handshake import Handshake
from pyquorum.ipc.client.transport import LIVENESS_SLICE, ClientTransport, map_server_file
from pyquorum.ipc.client.trust import (
    RESOURCE_ERRNOS,
    check_base_name,
    local_error,
    remove_server_file,
    shared_state_error,
)
from pyquorum.ipc.ring import Ring
from pyquorum.ipc.ring_header import HEADER_SIZE, SEM_OFFSET, RingHeader
from pyquorum.ipc.sem import PosixSemaphore
from pyquorum.ipc.wire import FC_REFUSE, SHM_DIR

__all__ = ["ShmTransport"]

#: How long to wait for a doorbell byte that must already be on its way
#: (the server posts the semaphore first, then writes the byte).
_DOORBELL_GRACE = 0.1

_BYTES = tuple(bytes((i,)) for i in range(256))
_DOORBELL_FLAGS = socket.MSG_NOSIGNAL | socket.MSG_DONTWAIT

#: How long a doorbell may precede its event chunk before the server is
#: declared broken.  corosync posts first, so any wait here is a bug.
_EVENT_GRACE = 1.0


@slotted
class _MappedRing:
    name: str
    header_map: mmap.mmap
    data_map: mmap.mmap
    sem: PosixSemaphore
    ring: Ring
    header_path: str
    data_path: str

    def release(self) -> None:
        self.sem.release()
        self.ring.release()
        self.data_map.close()
        self.header_map.close()


def _header_path(base: str) -> str:
    # libqb <= 1.0.3 sent bare names and kept the files directly in /dev/shm.
    if "/" not in base:
        return os.path.join(SHM_DIR, f"qb-{base}-header")
    return base + "-header"


def _open_ring(
    name: str, base: str, max_msg_size: int, owners: frozenset[int]
) -> _MappedRing:
    # Only a name libqb makes (pyquorum.ipc.client.trust), checked before
    # anything is opened; the files themselves are checked as they are.
    check_base_name(base, name)
    header_path = _header_path(base)
    header_map = map_server_file(header_path, "ring file", name, HEADER_SIZE, owners=owners)
    try:
        header = RingHeader(header_map)
        try:
            word_size = header.word_size
            # The data file is found through the header's data_path, never
            # derived from our own idea of the name (old libqb differs).
            data_path = header.data_path
        finally:
            header.release()
        if word_size < 4 or not data_path:
            raise RemoteProtocolError(
                f"{name} ring header is unusable (word_size {word_size}, data_path {data_path!r})",
                data=bytes(header_map[:16]),
                field="word_size",
                offset=8,
            )
        # data_path is daemon-written shared memory like the rest: it must
        # sit next to its header (libqb names both after the same base).
        if os.path.dirname(data_path) != os.path.dirname(header_path):
            raise RemoteProtocolError(
                f"{name} ring's data_path {data_path!r} is not beside its header "
                f"{header_path!r}",
                data=os.fsencode(data_path),
                field=f"{name}.data_path",
            )
        data_map = map_server_file(
            data_path, "ring file", f"{name}.data_path", word_size * 4, owners=owners
        )
    except BaseException:
        header_map.close()
        raise
    try:
        sem = PosixSemaphore(header_map, SEM_OFFSET)
        try:
            ring = Ring(header_map, data_map, sem, max_msg_size=max_msg_size)
        except BaseException:
            sem.release()
            raise
    except BaseException:
        data_map.close()
        header_map.close()
        raise
    ring.attach()
    return _MappedRing(name, header_map, data_map, sem, ring, header_path, data_path)


def _read(ring: Ring, timeout: float, name: str) -> bytes | None:
    """``ring.read``, with a failing semaphore call as the typed error it means."""
    try:
        return ring.read(timeout)
    except OSError as exc:
        raise shared_state_error(exc, f"the {name} ring's semaphore") from None


def _server_gone(pid: int | None, tries: int = 4) -> bool:
    """Whether ``pid`` has exited; libqb gives it 4 × 10 ms to finish dying."""
    if pid is None or pid <= 0:
        return False
    for attempt in range(tries):
        if attempt:
            time.sleep(0.01)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        if _is_zombie(pid):
            return True  # dead, only not yet reaped by its parent
    return False


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    # Field 3, after the parenthesised command name (which may hold spaces).
    return stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] == b"Z"


class ShmTransport(ClientTransport):
    """Client side of libqb's shared-memory transport."""

    def __init__(self, handshake: Handshake) -> None:
        super().__init__(handshake)
        resp = handshake.response
        self._rings: list[_MappedRing] = []
        try:
            for name, base in (
                ("request", resp.request),
                ("response", resp.response),
                ("event", resp.event),
            ):
                self._rings.append(_open_ring(name, base, self.max_msg_size, self.owners))
        except BaseException:
            self._release_rings()
            raise
        self._req, self._resp, self._evt = (r.ring for r in self._rings)
        self._owed_pokes = 0
        self._missing_doorbells = 0
        self._closed = False

    # -- requests ------------------------------------------------------------

    def send(self, data: bytes, deadline: Deadline) -> None:
        if len(data) > self.max_msg_size:
            raise TooBigError(
                f"request of {len(data)} bytes exceeds max_msg_size {self.max_msg_size}"
            )
        if self.lost:
            raise self.lost_error("the daemon hung up earlier")
        # No poll of the setup socket here (libqb does not either): after an
        # orderly teardown the server drops ref_count from 2 to 0, and after a
        # crash the doorbell write fails with EPIPE.
        if self._req.header.ref_count != 2:
            raise self.lost_error("the request ring was torn down (ref_count != 2)")
        if self._owed_pokes:
            self._flush_pokes(deadline)
        # user_data of the request ring is the flow-control word.
        if self._req.header.user_data == FC_REFUSE:
            raise TryAgainError("corosync asks clients to hold off (flow control); try again")
        try:
            self._req.write(data)  # commits the chunk, then posts the semaphore
        except OSError as exc:
            # The semaphore (daemon-shared) refused: at SEM_VALUE_MAX, or corrupt.
            raise shared_state_error(exc, "the request ring's semaphore") from None
        # The doorbell: exactly one byte per posted chunk, after the post.  Its
        # value is ignored; libqb happens to send the length's low byte.
        self._owed_pokes += 1
        self._flush_pokes(deadline, first_byte=len(data) & 0xFF)

    def _flush_pokes(self, deadline: Deadline, first_byte: int = 0) -> None:
        while self._owed_pokes:
            try:
                self.setup.send(_BYTES[first_byte], _DOORBELL_FLAGS)
            except BlockingIOError:
                if deadline.expired():
                    # Still owed: it goes out before the next request.
                    raise CsTimeoutError(
                        "timed out: corosync is not reading its setup socket"
                    ) from None
                poller = select.poll()
                poller.register(self.setup, select.POLLOUT)
                # A hang-up ends the wait too (poll always reports POLLHUP).
                left = deadline.remaining()
                poller.poll(None if left is None else left * 1000.0)
                self.check_setup_hangup()
                continue
            except (BrokenPipeError, ConnectionResetError) as exc:
                raise self.lost_error(f"doorbell write failed: {exc.strerror}") from None
            except OSError as exc:
                if exc.errno in RESOURCE_ERRNOS or exc.errno == errno.ENOBUFS:
                    raise local_error(exc, "ringing corosync's doorbell") from None
                raise self.lost_error(f"doorbell write failed: {exc.strerror}") from None
            self._owed_pokes -= 1

    def recv_response(self, deadline: Deadline) -> bytes:
        # Spinning on the ring's pointers costs no system call (see pyquorum.ipc.client._spin).
        if self.response_spin:
            self._resp.spin_until_written(deadline.slice(self.response_spin))
        while True:
            data = _read(self._resp, deadline.slice(LIVENESS_SLICE), "response")
            if data is not None:
                return data
            # No doorbell comes with a response: between slices, ask the
            # setup socket whether the daemon is still there.
            self.check_setup_hangup()
            if deadline.expired():
                raise CsTimeoutError("timed out waiting for corosync's response")

    # -- events --------------------------------------------------------------

    def try_event(self) -> bytes | None:
        try:
            data = self._evt.try_read()
        except OSError as exc:
            raise shared_state_error(exc, "the event ring's semaphore") from None
        if data is not None:
            self._take_doorbell()
        return data

    def recv_event(self, deadline: Deadline) -> bytes | None:
        while True:
            data = self.try_event()
            if data is not None:
                return data
            if self.lost:
                raise self.lost_error("the daemon hung up")
            # Even with no time left the setup socket is looked at once: a
            # caller that polls fileno() and then reads with timeout 0 must
            # learn of a hang-up (or have a late doorbell byte consumed), or
            # it would find the fd readable again at once, for ever.
            # The setup socket carries both signs an idle session waits for:
            # a doorbell (POLLIN) and the daemon's death (POLLHUP, or EOF as
            # POLLIN), so the wait needs no timer (docs/protocol.md §5.2):
            # it lasts until one of them, or the caller's deadline.
            expired = deadline.expired()
            left = deadline.remaining()
            wait = None if left is None else (0.0 if expired else left * 1000.0)
            for _fd, revents in self._setup_poll.poll(wait):
                if revents & select.POLLIN:
                    if not self._doorbell_pending():
                        continue
                    # corosync posts the event before writing its byte, so the
                    # chunk is there; the grace only covers other orderings.
                    data = _read(self._evt, _EVENT_GRACE, "event")
                    if data is None:
                        raise RemoteProtocolError(
                            "event doorbell byte arrived without an event in the ring",
                            field="event doorbell",
                        )
                    self._take_doorbell()
                    return data
                if revents:
                    self.lost = True
            if expired and not self.lost:
                return None
            # (lost: the top of the loop delivers what the ring still holds, then raises)

    def _doorbell_pending(self) -> bool:
        """Whether the readable setup socket holds the doorbell of an unread event.

        Otherwise it is end-of-file (the daemon is gone, though events already
        in the ring are still delivered) or the late byte of an event that
        was already read.
        """
        try:
            peek = self.setup.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        except (ConnectionResetError, BrokenPipeError):
            peek = b""
        if not peek:
            self.lost = True
            return False
        if self._missing_doorbells:
            self.setup.recv(1, socket.MSG_DONTWAIT)
            self._missing_doorbells -= 1
            return False
        return True

    def _take_doorbell(self) -> None:
        """Consume the one setup-socket byte that belongs to the event just read."""
        try:
            byte = self.setup.recv(1, socket.MSG_DONTWAIT)
        except BlockingIOError:
            self._await_doorbell()  # posted before it was rung: wait a little
            return
        except (ConnectionResetError, BrokenPipeError):
            byte = b""
        if not byte:
            self.lost = True

    def _await_doorbell(self) -> None:
        """:meth:`_take_doorbell` for a byte that is not there yet."""
        poller = self._setup_poll
        deadline = Deadline(_DOORBELL_GRACE)
        while True:
            try:
                byte = self.setup.recv(1, socket.MSG_DONTWAIT)
            except BlockingIOError:
                if deadline.expired():
                    # Sent late (the server's socket buffer was full); it is
                    # matched up when it arrives.
                    self._missing_doorbells += 1
                    return
                poller.poll(deadline.slice(_DOORBELL_GRACE) * 1000.0)
                continue
            except (ConnectionResetError, BrokenPipeError):
                byte = b""
            if not byte:
                self.lost = True
            return

    def fileno(self) -> int:
        # In this transport the doorbells make the setup socket the event fd
        # (it is what quorum_fd_get returns), and it reports hang-ups too.
        return self.setup.fileno()

    # -- teardown ------------------------------------------------------------

    def close(self) -> None:
        if getattr(self, "_closed", False):
            return
        self._closed = True
        # A hang-up we caused ourselves (close from another thread shuts the
        # socket down to wake a waiter) is not a sign of a dying daemon:
        # then one look, without libqb's 40 ms of patience.
        dead = self.lost and _server_gone(self.server_pid, 1 if self.interrupted else 4)
        leftovers = [
            path
            for r in self._rings
            for path in (r.header_path, r.data_path)
        ]
        # The setup socket first, as libqb's client does: the hang-up starts the
        # daemon's side of the teardown (docs/protocol.md §3.11) while we unmap,
        # rather than after.
        self.close_setup()
        for r in self._rings:
            r.ring.detach()
        self._release_rings()
        if dead:
            # Nobody else will remove a crashed server's files.
            _remove_debris(leftovers)

    def _release_rings(self) -> None:
        for r in self._rings:
            r.release()
        self._rings = []


def _remove_debris(paths: list[str]) -> None:
    """Unlink a dead server's ring files, touching only libqb's own names.

    The paths passed the trust checks when they were opened; they are
    removed through directory fds opened without following links
    (:func:`~pyquorum.ipc.client.trust.remove_server_file`), so a directory
    swapped for a link since cannot redirect the unlink, even as root.  A
    file we may not unlink is emptied instead, as libqb's client does.
    """
    for path in paths:
        remove_server_file(path, truncate_if_denied=True)
