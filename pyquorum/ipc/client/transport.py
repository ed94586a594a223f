"""What the two client transports (SHM rings, datagram sockets) have in common.

A transport moves opaque messages for one connection: requests out,
responses and events in.  It owns every fd and mapping of that connection.
Liveness always comes from the setup socket: corosync never writes to it
after the handshake except SHM event doorbells, so a hang-up (or EOF) there
means the daemon is gone.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import select
import socket
from abc import ABC, abstractmethod
from collections.abc import Collection

from pyquorum._deadline import Deadline
from pyquorum.errors import ConnectionLost, RemoteProtocolError
from pyquorum.ipc.client._spin import RESPONSE_SPIN
from pyquorum.ipc.client.handshake import Handshake
from pyquorum.ipc.client.trust import RESOURCE_ERRNOS, local_error, open_server_file
from pyquorum.ipc.mapping import map_shared_fd

__all__ = ["LIVENESS_SLICE", "ClientTransport", "map_server_file"]

#: The longest single wait for an SHM response before liveness is checked
#: again.  A response has no fd (only the ring's semaphore says it is
#: there), so this is the one wait that needs a timer; libqb uses 2 s
#: (QB_IPC_MAX_WAIT_MS), shorter slices notice a dead daemon sooner.  It
#: costs nothing while idle: every other wait (events, hang-ups, a full
#: socket) sleeps on fds that report the daemon's death (docs/protocol.md §5.2).
LIVENESS_SLICE = 0.5


_HANGUP = select.POLLHUP | select.POLLERR | select.POLLNVAL


class ClientTransport(ABC):
    """One libqb connection's data path.  Not thread-safe: callers serialise."""

    def __init__(self, handshake: Handshake) -> None:
        self.setup: socket.socket = handshake.sock
        self.service = handshake.service
        self.max_msg_size = handshake.response.max_msg_size
        # The daemon's pid as the kernel recorded it for the listening socket
        # (SO_PEERCRED); SCM_CREDENTIALS may carry any existing pid if the
        # sender has CAP_SYS_ADMIN.  It decides whether a crashed daemon's
        # files are removed, so it must be the daemon's.
        creds = handshake.peer or handshake.credentials
        self.server_pid = creds.pid if creds is not None and creds.pid > 0 else None
        #: Who may own the files the server names (see Handshake.owners).
        self.owners = handshake.owners
        self.lost = False
        #: Set by :meth:`interrupt`: a hang-up seen after it is our own doing.
        self.interrupted = False
        #: How long recv_response busy-waits first (see pyquorum.ipc.client._spin).
        self.response_spin = RESPONSE_SPIN
        # Two poll objects on the same socket: the event path (under the
        # connection's event lock) and the request path's hang-up checks
        # (under its request lock) run in different threads, and one
        # select.poll object refuses concurrent poll() calls.
        self._setup_poll = select.poll()
        self._setup_poll.register(self.setup, select.POLLIN)
        self._hangup_poll = select.poll()
        self._hangup_poll.register(self.setup, select.POLLIN)

    # -- the data path ---------------------------------------------------

    @abstractmethod
    def send(self, data: bytes, deadline: Deadline) -> None:
        """Queue one request; raises TryAgainError, TooBigError, ConnectionLost."""

    @abstractmethod
    def recv_response(self, deadline: Deadline) -> bytes:
        """The next response; raises CsTimeoutError at the deadline, ConnectionLost."""

    @abstractmethod
    def recv_event(self, deadline: Deadline) -> bytes | None:
        """The next event, or None if none arrived by the deadline."""

    def try_event(self) -> bytes | None:
        """The next event if one is there now, else None; never waits, never polls.

        The hot path of a flood (no deadline, no poll): when it says None,
        :meth:`recv_event` waits, and reports a hang-up.  This default
        leaves everything to :meth:`recv_event`.
        """
        return None

    @abstractmethod
    def fileno(self) -> int:
        """An fd that polls readable when an event or a hang-up is pending."""

    @abstractmethod
    def close(self) -> None:
        """Release every fd and mapping; idempotent."""

    # -- shared helpers --------------------------------------------------

    def lost_error(self, why: str) -> ConnectionLost:
        self.lost = True
        return ConnectionLost(f"connection to corosync's {self.service} service lost: {why}")

    def check_setup_hangup(self) -> None:
        """Raise ConnectionLost if the setup socket says the daemon hung up.

        Only POLLHUP/POLLERR count here: in the SHM transport POLLIN is a
        doorbell byte, not an end-of-file.
        """
        if self.lost:
            raise self.lost_error("the daemon hung up earlier")
        for _fd, revents in self._hangup_poll.poll(0):
            if revents & _HANGUP:
                raise self.lost_error("the daemon hung up (setup socket closed)")

    def interrupt(self) -> None:
        """Shut the setup socket down (from any thread) to wake a thread waiting on it.

        The waiter then sees a hang-up, which :attr:`interrupted` marks as
        ours rather than the daemon's.
        """
        self.interrupted = True
        with contextlib.suppress(OSError):
            self.setup.shutdown(socket.SHUT_RDWR)

    def close_setup(self) -> None:
        with contextlib.suppress(OSError):
            self.setup.shutdown(socket.SHUT_RDWR)
        self.setup.close()


def map_server_file(
    path: str,
    what: str,
    field: str,
    minimum: int,
    length: int = 0,
    *,
    owners: Collection[int],
) -> mmap.mmap:
    """Map a file the server created and named (a ring file, the control file).

    The file is opened only if it is what libqb creates
    (:func:`~pyquorum.ipc.client.trust.open_server_file`: under /dev/shm,
    named ``qb-…``, no symbolic link, a regular file owned by a uid in
    ``owners``).  ``length`` 0 maps what is there: the server sized the
    file, and truncating it to a guessed size could shrink the server's own
    mapping under it.  A file that cannot be opened, or is shorter than
    ``minimum``, is the server's fault: RemoteProtocolError naming
    ``field``.  Running out of fds or memory is a typed error of its own.
    The file's fd is closed before this returns: the mapping holds none.
    """
    fd = open_server_file(path, field, what, owners)
    try:
        size = os.fstat(fd).st_size
        if size < minimum:
            raise RemoteProtocolError(
                f"{what} is {size} bytes, expected at least {minimum}",
                data=os.fsencode(path),
                field=field,
            )
        try:
            # Not mmap.mmap(fd, ...): it would keep a duplicate of fd open
            # for as long as the mapping lives (pyquorum.ipc.mapping).
            return map_shared_fd(fd, length or size)
        except OSError as exc:
            if exc.errno in RESOURCE_ERRNOS:
                raise local_error(exc, f"cannot map the {what} corosync named") from None
            raise RemoteProtocolError(
                f"cannot map the {what} corosync named: {exc.strerror}",
                data=os.fsencode(path),
                field=field,
            ) from None
        except OverflowError:
            raise RemoteProtocolError(
                f"{what} is {size} bytes, too large to map",
                data=os.fsencode(path),
                field=field,
            ) from None
    finally:
        os.close(fd)
