"""votequorum and cmap: decode(encode(x)) == x, and the bytes hold zeros where no field is."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyquorum.messages import cmap, votequorum
from pyquorum.messages.constants import CmapValueType
from pyquorum.messages.types import Message
from pyquorum.testing import strategies_services as ss
from tests.support.service_fixtures import garbage_ranges

CODECS: list[tuple[Callable[[], st.SearchStrategy[Any]], Callable[[Any], bytes],
                   Callable[[bytes], Any]]] = [
    (ss.votequorum_requests, votequorum.encode_request, votequorum.decode_request),
    (ss.votequorum_responses, votequorum.encode_response, votequorum.decode_response),
    (ss.votequorum_notifications, votequorum.encode_notification,
     votequorum.decode_notification),
    (ss.cmap_requests, cmap.encode_request, cmap.decode_request),
    (ss.cmap_responses, cmap.encode_response, cmap.decode_response),
    (ss.cmap_notifications, cmap.encode_notification, cmap.decode_notification),
]


def _same(a: object, b: object) -> bool:
    """Equality, field types included (an IntEnum is not the plain int it equals)."""
    return a == b and type(a) is type(b)


@pytest.mark.parametrize("strategy,encode,decode", CODECS, ids=lambda c: getattr(c, "__name__", ""))
@given(data=st.data())
def test_roundtrip(
    strategy: Callable[[], st.SearchStrategy[Message]],
    encode: Callable[[Message], bytes],
    decode: Callable[[bytes], Message],
    data: st.DataObject,
) -> None:
    msg = data.draw(strategy())
    raw = encode(msg)
    back = decode(raw)
    assert back == msg
    assert type(back) is type(msg)
    for name in getattr(msg, "__dataclass_fields__", {}):
        assert _same(getattr(back, name), getattr(msg, name)) or name in (
            "flags", "track_type", "event",  # IntFlag values: equal, and typed as decoded
        ), name
    for start, end in garbage_ranges(msg, len(raw)):
        assert raw[start:end] == bytes(end - start), (start, end)


@given(ss.cmap_values())
def test_every_value_survives_set(value: cmap.CmapValue) -> None:
    req = cmap.decode_request(cmap.encode_request(cmap.SetRequest("a.b", value)))
    assert isinstance(req, cmap.SetRequest)
    if value.type == CmapValueType.FLOAT and isinstance(value.value, float):
        assert math.isclose(float(req.value.value), value.value) or req.value.value == value.value
    assert req.value == value


def test_string_length_counts_the_nul() -> None:
    """docs/cmap.md §2.3: a string's value_len includes its terminating NUL."""
    raw = cmap.encode_request(cmap.SetRequest("a.b", cmap.CmapValue.string("abc")))
    assert int.from_bytes(raw[280:288], "little") == 4
    assert raw[296:] == b"abc\0"
