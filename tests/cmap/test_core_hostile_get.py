"""CmapCore's GET against lengths a correct daemon never sends (no I/O).

Both failed before the fix they pin (docs/trust-boundary.md §11.1): an answer
with more room than asked handed its extra bytes back as the value (0 instead
of the real 5), and a probe saying 2**64-1 bytes raised LocalProtocolError, a
caller's error, for the daemon's fault.
"""

from __future__ import annotations

import pytest

from pyquorum.errors import CsErrorCode, RemoteProtocolError
from pyquorum.messages import cmap as cm
from pyquorum.messages.constants import CmapValueType
from pyquorum.services.cmap.core import CmapCore

OK = CsErrorCode.OK
U32 = CmapValueType.UINT32
FIVE = cm.CmapValue(U32, 5)


def answer(value_len: int, value: cm.CmapValue | None, room: int) -> bytes:
    return cm.encode_response(cm.GetResponse(OK, U32, value_len, value, room))


def test_a_probe_answered_with_room_is_refused() -> None:
    op = CmapCore().get("k")
    with pytest.raises(RemoteProtocolError, match="8 bytes of room, not the 0 asked for"):
        op.feed(answer(4, cm.CmapValue(U32, 0), 8))


def test_a_read_answered_with_other_room_is_refused() -> None:
    op = CmapCore().get("k")
    op.feed(answer(4, None, 0))
    assert cm.decode_request(op.request) == cm.GetRequest("k", 4)
    with pytest.raises(RemoteProtocolError, match="12 bytes of room, not the 4"):
        op.feed(answer(4, FIVE, 12))


def test_a_sized_get_answered_with_other_room_is_refused() -> None:
    op = CmapCore().get("k", room=16)
    with pytest.raises(RemoteProtocolError, match="8 bytes of room, not the 16"):
        op.feed(answer(4, FIVE, 8))
    op = CmapCore().get("k", room=16)
    op.feed(answer(4, FIVE, 16))
    assert op.result == FIVE


def test_a_probe_longer_than_any_answer_is_the_daemons_error() -> None:
    op = CmapCore().get("k")
    with pytest.raises(RemoteProtocolError, match="more than any answer can hold") as info:
        op.feed(answer(2**64 - 1, None, 0))
    assert info.value.field == "value_len"
