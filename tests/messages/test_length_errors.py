"""A message whose length disagrees with what its header and counts say is a
RemoteProtocolError naming the field that gave the length and its offset.

The decoders of the three services share these checks; the cases pin the
text, field and offset each message reports, one byte too long (the header
``size`` still matching, so the per-message check is the one that fires).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pyquorum.errors import RemoteProtocolError
from pyquorum.messages import Buffer, cmap, votequorum
from pyquorum.messages.constants import CmapTrack, CmapValueType
from pyquorum.messages.types import Message, RingId


def _one_byte_more(data: bytes) -> bytes:
    """``data`` plus a zero byte, with the header's ``size`` (i32 @8) following."""
    longer = bytearray(data + b"\0")
    longer[8:12] = len(longer).to_bytes(4, "little", signed=True)
    return bytes(longer)


CASES: list[tuple[str, bytes, Callable[[Buffer], Message], str, str, int]] = [
    (
        "cmap SET request",
        cmap.encode_request(cmap.SetRequest("a", cmap.CmapValue(CmapValueType.STRING, "x"))),
        cmap.decode_request,
        "SET request with value_len 2 must be 298 bytes, not 299",
        "value_len",
        280,
    ),
    (
        "cmap notification",
        cmap.encode_notification(cmap.NotifyCallback(1, "a", CmapTrack.ADD, None, None)),
        cmap.decode_notification,
        "notification with values of 0 and 0 bytes must be 336 bytes, not 337",
        "new_value_len",
        320,
    ),
    (
        "votequorum quorum notification",
        votequorum.encode_notification(votequorum.QuorumNotification(True, 0, ())),
        votequorum.decode_notification,
        "quorum notification with 0 nodes must be 48 bytes, not 49",
        "node_list_entries",
        40,
    ),
    (
        "votequorum nodelist notification",
        votequorum.encode_notification(votequorum.NodelistNotification(0, RingId(1, 2), ())),
        votequorum.decode_notification,
        "nodelist notification with 0 members must be 56 bytes, not 57",
        "node_list_entries",
        48,
    ),
    (
        "votequorum GETINFO request",
        votequorum.encode_request(votequorum.GetInfoRequest(0)),
        votequorum.decode_request,
        "GETINFO request must be 24 bytes, not 25",
        "size",
        8,
    ),
]


@pytest.mark.parametrize(
    ("data", "decode", "message", "field", "offset"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_a_length_the_counts_do_not_give_names_its_field(
    data: bytes,
    decode: Callable[[Buffer], Message],
    message: str,
    field: str,
    offset: int,
) -> None:
    decode(data)  # well-formed as encoded
    with pytest.raises(RemoteProtocolError) as info:
        decode(_one_byte_more(data))
    assert message in str(info.value)
    assert (info.value.field, info.value.offset) == (field, offset)
