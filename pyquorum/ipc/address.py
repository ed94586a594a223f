"""Where a libqb service listens, and how a socket name becomes an address.

Both ends need the same names: the client connects where the server binds,
and the socket transport's datagram sockets are named after the
per-connection base the server chose.
"""

from __future__ import annotations

import os

__all__ = [
    "FORCE_FILESYSTEM_SOCKETS",
    "SOCKET_DIR",
    "abstract_address",
    "describe_address",
    "filesystem_sockets_forced",
    "setup_address",
]

#: When this file exists libqb (client and server) uses path sockets instead of
#: abstract ones.
FORCE_FILESYSTEM_SOCKETS = "/etc/libqb/force-filesystem-sockets"

#: Where those path sockets live: libqb's SOCKETDIR.  Debian's libqb 2.0.6 is
#: built with /tmp (upstream's default would be $localstatedir/run).
SOCKET_DIR = "/tmp"

#: struct sockaddr_un.sun_path is 108 bytes; libqb passes the whole struct
#: (addrlen 110), so the NUL padding is part of an abstract name.
_SUN_PATH_LEN = 108


def abstract_address(name: str) -> bytes:
    """The sun_path bytes for an abstract socket, NUL-padded to the full 108 bytes.

    A shorter address names a *different* abstract socket (the padding is part
    of the name), which is why ``b"\\0quorum"`` alone gets ECONNREFUSED.
    """
    raw = b"\0" + os.fsencode(name)
    if len(raw) > _SUN_PATH_LEN:
        raise ValueError(f"socket name too long for sun_path: {name!r}")
    return raw.ljust(_SUN_PATH_LEN, b"\0")


def filesystem_sockets_forced() -> bool:
    """Whether libqb on this host uses path sockets (checked on every call, not cached)."""
    return os.path.exists(FORCE_FILESYSTEM_SOCKETS)


def setup_address(service: str) -> bytes | str:
    """The address corosync listens on for ``service`` on this host."""
    if filesystem_sockets_forced():
        return os.path.join(SOCKET_DIR, service)
    return abstract_address(service)


def describe_address(address: bytes | str) -> str:
    """An address as people write it: ``@quorum`` or a path."""
    if isinstance(address, bytes):
        return "@" + address[1:].rstrip(b"\0").decode(errors="replace")
    return address
