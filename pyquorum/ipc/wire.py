"""Layout facts both ends of a connection share: files, offsets, flow control.

Everything here describes memory or names that a libqb client and a libqb
server read and write together, so the two ends of this package take them
from one place.
"""

from __future__ import annotations

import struct
from typing import Final, Literal

__all__ = [
    "CONTROL_I32",
    "CONTROL_SIZE",
    "FC_REFUSE",
    "REQ_FLOW_CONTROL",
    "REQ_SENT",
    "SHM_DIR",
    "TransportName",
    "wrap_i32",
]

#: A libqb transport as people name it (``ConnectionType.SHM`` / ``SOCKET`` on the
#: wire): the one spelling for options, capture headers and the cluster harness.
#: Here because this module imports nothing heavy (no construct, no sockets).
TransportName = Literal["shm", "socket"]

#: Where the server makes each connection's directory (ring files, control file).
SHM_DIR: Final = "/dev/shm"

#: The socket transport's control file: struct ipc_us_control[3], one
#: ``{int32_t sent; int32_t flow_control}`` each for request, response and
#: event, at offsets 0, 8 and 16.
CONTROL_SIZE: Final = 24
#: ``ctl[0].sent``: requests the client sent that the server has not read.
REQ_SENT: Final = 0
#: ``ctl[0].flow_control``: the server's flow-control word for requests.
REQ_FLOW_CONTROL: Final = 4

#: One ``int32_t`` of the control file.  Native byte order ("="), not
#: little-endian: the file is shared memory between two processes on the same
#: host, and libqb stores plain C ints in it, so the host's order is right by
#: construction (as for the ring's words, see :mod:`pyquorum.ipc.ring`).  "="
#: also keeps the standard 4-byte size with no alignment padding.
CONTROL_I32: Final = struct.Struct("=i")

#: A flow-control word of 1 (QB_IPCS_RATE_OFF) refuses sends; 2 (RATE_OFF_2)
#: still allows them under libqb's default fc_enable_max of 1.  The same
#: value is used in the SHM request ring's user word and in the control file.
FC_REFUSE: Final = 1


def wrap_i32(value: int) -> int:
    """``value`` wrapped into int32_t, as C's atomic adds on these counters wrap.

    libqb adds to ``ref_count`` and to the control file's ``sent`` with
    atomic builtins, which wrap at INT32_MAX; a value the daemon left at
    either end must wrap here too, not raise.
    """
    return (value + 0x80000000) % 0x100000000 - 0x80000000
