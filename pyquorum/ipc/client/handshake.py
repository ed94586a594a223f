"""The libqb setup socket: address, connection request/response, credentials.

The setup socket is a unix ``SOCK_STREAM`` socket named after the service
(``quorum``, ``votequorum``, ``cmap`` …).  It carries the handshake, then the
SHM doorbell bytes, and in every transport it is the liveness channel.  This
module does the handshake with a finite deadline (libqb itself waits forever)
and turns each way it can fail into a typed error.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import struct
import time

from pyquorum._deadline import Deadline
from pyquorum._frozen import slotted
from pyquorum.errors import (
    AccessError,
    ConnectionLost,
    CorosyncNotRunning,
    CsTimeoutError,
    NotSupportedError,
    RemoteProtocolError,
    TryAgainError,
    error_from_errno,
)
from pyquorum.ipc.address import describe_address, setup_address
from pyquorum.ipc.client._spin import HANDSHAKE_SPIN
from pyquorum.ipc.client.trust import MAX_ERRNO, local_error
from pyquorum.ipc.credentials import (
    CMSG_SPACE_UCRED,
    Credentials,
    from_ancdata,
    peer_credentials,
)
from pyquorum.messages.constants import CONNECTION_RESPONSE_SIZE, ConnectionType
from pyquorum.messages.libqb import decode_connection_response, encode_connection_request
from pyquorum.messages.types import ConnectionResponse

__all__ = ["MAX_GRANT", "Handshake", "connect"]

#: The largest max_msg_size a server may grant: libqb keeps sizes in C ints,
#: and the client sizes socket buffers and mappings from it.
MAX_GRANT = 0x7FFFFFFF


@slotted
class Handshake:
    """A completed handshake: the connected setup socket and what the server said.

    ``credentials`` came with the response (SCM_CREDENTIALS), ``peer`` is what
    the kernel recorded for the listening socket (SO_PEERCRED): the daemon.
    """

    sock: socket.socket
    response: ConnectionResponse
    credentials: Credentials | None
    service: str
    peer: Credentials | None = None

    @property
    def owners(self) -> frozenset[int]:
        """The uids whose files the daemon may name: its own, and ours (it chowns to us)."""
        uids = {os.geteuid()}
        if self.peer is not None:
            uids.add(self.peer.uid)
        return frozenset(uids)

    @property
    def connection_type(self) -> ConnectionType:
        return ConnectionType(self.response.connection_type)


def connect(
    service: str,
    *,
    max_msg_size: int,
    timeout: float | None,
) -> Handshake:
    """Connect to ``service`` and do the libqb handshake within ``timeout`` seconds.

    Raises CorosyncNotRunning (nothing listens here), TryAgainError (daemon
    starting, or its backlog is full), AccessError (uid/gid not allowed),
    NotSupportedError (service not loaded / unsupported transport),
    CsTimeoutError, ConnectionLost, RemoteProtocolError.
    """
    deadline = Deadline(timeout)
    address = setup_address(service)
    try:
        sock = socket.socket(
            socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK
        )
    except OSError as exc:
        raise local_error(exc, f"cannot open a socket to corosync's {service} service") from None
    try:
        _connect(sock, address, service)
        peer = peer_credentials(sock)
        # Ask the kernel to attach our credentials to what we send and to show
        # us the server's on what it sends; corosync authorises on the former.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        _send_all(sock, encode_connection_request(max_msg_size), deadline, service)
        raw, creds = _recv_response(sock, deadline, service)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 0)
        response = decode_connection_response(raw)
        _check_response(response, raw, service)
    except BaseException:
        sock.close()
        raise
    return Handshake(
        sock=sock, response=response, credentials=creds, service=service, peer=peer
    )


def _connect(sock: socket.socket, address: bytes | str, service: str) -> None:
    try:
        sock.connect(address)
    except (ConnectionRefusedError, FileNotFoundError) as exc:
        raise CorosyncNotRunning(
            f"corosync is not running, or not in this network namespace: nothing "
            f"listens on {describe_address(address)} (start corosync, or run this inside "
            f"corosync's network namespace)",
            errno=exc.errno,
        ) from None
    except BlockingIOError:
        # A non-blocking unix connect fails with EAGAIN only when the listen
        # backlog is full: the daemon is alive but swamped.
        raise TryAgainError(
            f"corosync's {service} socket backlog is full; try again",
            errno=errno.EAGAIN,
        ) from None
    except PermissionError as exc:
        raise AccessError(
            f"not allowed to connect to {describe_address(address)}: {exc.strerror}",
            errno=exc.errno,
        ) from None


def _wait(sock: socket.socket, events: int, deadline: Deadline, what: str) -> int:
    poller = select.poll()
    poller.register(sock, events)
    while True:
        left = deadline.remaining()
        ready = poller.poll(None if left is None else left * 1000.0)
        if ready:
            return ready[0][1]
        if deadline.expired():
            raise CsTimeoutError(f"timed out waiting for {what}")


def _send_all(sock: socket.socket, data: bytes, deadline: Deadline, service: str) -> None:
    view = memoryview(data)
    while view:
        try:
            sent = sock.send(view, socket.MSG_NOSIGNAL)
        except BlockingIOError:
            _wait(sock, select.POLLOUT, deadline, f"the {service} socket to accept the request")
            continue
        except (BrokenPipeError, ConnectionResetError):
            raise ConnectionLost(
                f"corosync closed the {service} connection during the handshake"
            ) from None
        view = view[sent:]


def _recv_response(
    sock: socket.socket, deadline: Deadline, service: str
) -> tuple[bytes, Credentials | None]:
    buf = bytearray(CONNECTION_RESPONSE_SIZE)
    got = 0
    creds: Credentials | None = None
    # Try without sleeping first (see pyquorum.ipc.client._spin).
    spin_until = time.perf_counter() + deadline.slice(HANDSHAKE_SPIN)
    while got < CONNECTION_RESPONSE_SIZE:
        try:
            nbytes, ancdata, _flags, _addr = sock.recvmsg_into(
                [memoryview(buf)[got:]], CMSG_SPACE_UCRED
            )
        except BlockingIOError:
            if time.perf_counter() < spin_until:
                continue
            _wait(sock, select.POLLIN, deadline, f"corosync's answer on the {service} socket")
            continue
        except ConnectionResetError:
            nbytes, ancdata = 0, []
        if creds is None:
            creds = from_ancdata(ancdata)
        if nbytes == 0:
            if got >= 24:
                # A denial is a full response too, but be lenient about a
                # server that sent only the header before hanging up.
                break
            raise ConnectionLost(
                f"corosync closed the {service} connection during the handshake "
                f"after {got} of {CONNECTION_RESPONSE_SIZE} bytes"
            )
        got += nbytes
    if got < CONNECTION_RESPONSE_SIZE:
        # Only the header arrived: decode its error, the rest is zero anyway.
        raw = bytes(buf[:got]).ljust(CONNECTION_RESPONSE_SIZE, b"\0")
        error = struct.unpack_from("<i", raw, 16)[0]
        if error == 0:
            raise RemoteProtocolError(
                "truncated connection response", data=bytes(buf[:got]), offset=got
            )
        return raw, creds
    return bytes(buf), creds


def _check_response(response: ConnectionResponse, raw: bytes, service: str) -> None:
    # error is an int32 the daemon chose: 0, or -errno with errno in 1..4095.
    # Anything else (a positive value, INT32_MIN) is no errno at all.
    err = -response.error
    if not 0 <= err <= MAX_ERRNO:
        raise RemoteProtocolError(
            f"connection response error {response.error} is neither 0 nor -errno "
            f"(-1..-{MAX_ERRNO})",
            data=raw[:24],
            field="error",
            offset=16,
        )
    if err == errno.EAGAIN:
        raise TryAgainError(
            "corosync is not ready to provide service yet; try again shortly",
            errno=err,
        )
    if err == errno.EACCES:
        uid, gid = os.getuid(), os.getgid()
        raise AccessError(
            f"corosync denied access to the {service} service for uid {uid} gid {gid}: "
            f"run as root, or allow this user in corosync.conf with "
            f"'uidgid {{ uid: {uid} }}' (or 'gid: {gid}') and reload corosync",
            errno=err,
        )
    if err == errno.ENOSYS:
        raise NotSupportedError(
            f"corosync does not provide the {service} service (not loaded)", errno=err
        )
    if err:
        raise error_from_errno(
            err, f"corosync refused the {service} connection: {os.strerror(err)}"
        )
    ctype = response.connection_type
    if ctype in (ConnectionType.POSIX_MQ, ConnectionType.SYSV_MQ):
        raise NotSupportedError(
            f"corosync offers the {ConnectionType(ctype).name} transport, which "
            "pyquorum (like libqb's client) does not support",
            errno=errno.ENOTSUP,
        )
    if ctype not in (ConnectionType.SHM, ConnectionType.SOCKET):
        raise RemoteProtocolError(
            f"unknown connection_type {ctype}", data=raw[:40], field="connection_type", offset=24
        )
    if not 0 < response.max_msg_size <= MAX_GRANT:
        raise RemoteProtocolError(
            f"server granted max_msg_size {response.max_msg_size} (expected 1..{MAX_GRANT})",
            data=raw[:40],
            field="max_msg_size",
            offset=28,
        )
