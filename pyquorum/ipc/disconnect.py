"""The request that asks a libqb server to hang up (``QB_IPC_MSG_DISCONNECT``).

libqb's clients never send it, but a server must honour it: the connection
ends as if the client had gone.
"""

from __future__ import annotations

from pyquorum._buffer import Buffer
from pyquorum.errors import RemoteProtocolError
from pyquorum.messages.constants import IpcMessageId
from pyquorum.messages.libqb import decode_request_header

__all__ = ["is_disconnect_request"]


def is_disconnect_request(data: Buffer) -> bool:
    """Whether ``data`` is a request whose header carries the DISCONNECT id.

    A request too short or too malformed to have a header is not a
    disconnect (the service handler gets it and answers it as bad input).
    Only :class:`~pyquorum.errors.RemoteProtocolError`, the one error the
    decoder raises on bad bytes, means "no header": anything else is a bug
    and must not be mistaken for "not a disconnect".
    """
    try:
        return decode_request_header(data).id == IpcMessageId.DISCONNECT
    except RemoteProtocolError:
        return False
