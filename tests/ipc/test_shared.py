"""The modules both IPC ends share: disconnect detection, credentials, the control file."""

from __future__ import annotations

import os
import socket
import struct
import sys

import pytest

from pyquorum.ipc import disconnect
from pyquorum.ipc.credentials import (
    CMSG_SPACE_UCRED,
    UCRED,
    Credentials,
    from_ancdata,
    peer_credentials,
)
from pyquorum.ipc.disconnect import is_disconnect_request
from pyquorum.ipc.wire import CONTROL_I32, CONTROL_SIZE, REQ_FLOW_CONTROL, REQ_SENT
from pyquorum.messages.constants import IpcMessageId
from pyquorum.messages.libqb import encode_request_header


def test_a_disconnect_header_is_a_disconnect_request() -> None:
    assert is_disconnect_request(encode_request_header(IpcMessageId.DISCONNECT, 16))
    assert is_disconnect_request(bytearray(encode_request_header(-3, 16)) + b"body")


@pytest.mark.parametrize(
    "data",
    [
        encode_request_header(0, 16),  # an ordinary request (quorum's GETQUORATE is 0)
        encode_request_header(IpcMessageId.NEW_MESSAGE, 16),
        encode_request_header(IpcMessageId.DISCONNECT, 16)[:15],  # no whole header
        b"",
        struct.pack("<iI", -3, 8) + bytes(8),  # size below the header's own: malformed
    ],
)
def test_anything_else_is_not(data: bytes) -> None:
    assert is_disconnect_request(data) is False


def test_a_bug_in_decoding_is_not_mistaken_for_not_a_disconnect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the decoder's bad-bytes error means "no header"; other errors surface."""

    def broken(data: bytes) -> object:
        raise TypeError("a bug")

    monkeypatch.setattr(disconnect, "decode_request_header", broken)
    with pytest.raises(TypeError, match="a bug"):
        is_disconnect_request(encode_request_header(IpcMessageId.DISCONNECT, 16))


def test_credentials_come_from_scm_credentials_or_so_peercred() -> None:
    me = Credentials(os.getpid(), os.getuid(), os.getgid())
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with a, b:
        assert peer_credentials(a) == me
        b.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        creds = UCRED.pack(me.pid, me.uid, me.gid)
        a.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, creds)])
        _data, ancdata, _flags, _addr = b.recvmsg(1, CMSG_SPACE_UCRED)
        assert from_ancdata(ancdata) == me


def test_ancillary_data_without_credentials_gives_none() -> None:
    assert from_ancdata([]) is None
    assert from_ancdata([(socket.SOL_SOCKET, socket.SCM_RIGHTS, bytes(4))]) is None
    short = (socket.SOL_SOCKET, socket.SCM_CREDENTIALS, bytes(UCRED.size - 1))
    assert from_ancdata([short]) is None


def test_the_control_file_words_are_host_order_int32s() -> None:
    """Both ends read the control file through CONTROL_I32: signed, 4 bytes, host order."""
    ctl = bytearray(CONTROL_SIZE)
    CONTROL_I32.pack_into(ctl, REQ_SENT, -1)
    CONTROL_I32.pack_into(ctl, REQ_FLOW_CONTROL, 1)
    assert ctl[0:8] == (-1).to_bytes(4, sys.byteorder, signed=True) + (1).to_bytes(4, sys.byteorder)
    assert CONTROL_I32.size == 4 and 3 * 2 * CONTROL_I32.size == CONTROL_SIZE
