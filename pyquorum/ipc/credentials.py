"""``struct ucred``: who is at the other end of a setup socket.

The kernel attaches ``SCM_CREDENTIALS`` to a message once ``SO_PASSCRED``
is on: the server reads the client's with the connection request, the
client reads the server's with the connection response.  ``SO_PEERCRED``
gives the same triple for the peer of a connected socket.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from typing import Final

from pyquorum._frozen import frozen

__all__ = ["CMSG_SPACE_UCRED", "UCRED", "Credentials", "from_ancdata", "peer_credentials"]

#: struct ucred { pid_t pid; uid_t uid; gid_t gid; } in host order.
UCRED: Final = struct.Struct("=iII")
#: The ancillary-data room for one SCM_CREDENTIALS message.
CMSG_SPACE_UCRED: Final = socket.CMSG_SPACE(UCRED.size)


@frozen
class Credentials:
    """A process's pid, uid and gid, as the kernel vouches for them."""

    pid: int
    uid: int
    gid: int


def from_ancdata(ancdata: Iterable[tuple[int, int, bytes]]) -> Credentials | None:
    """The first ``SCM_CREDENTIALS`` in ``recvmsg`` ancillary data, if any came."""
    for level, kind, data in ancdata:
        if (
            level == socket.SOL_SOCKET
            and kind == socket.SCM_CREDENTIALS
            and len(data) >= UCRED.size
        ):
            return Credentials(*UCRED.unpack_from(data))
    return None


def peer_credentials(sock: socket.socket) -> Credentials:
    """``SO_PEERCRED`` of a connected unix socket."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, UCRED.size)
    return Credentials(*UCRED.unpack(raw))
