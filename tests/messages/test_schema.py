"""The construct schemas against the compiler's layout, and compiled against interpreted."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyquorum.messages import (
    CONNECTION_REQUEST_SIZE,
    CONNECTION_RESPONSE_SIZE,
    REQUEST_HEADER_SIZE,
    RESPONSE_HEADER_SIZE,
)
from pyquorum.messages import _schema as s
from tests.support.message_fixtures import FIXTURE_DIR, fixture_names, load_hex

# sizeof/offsetof as gcc computed them from the libqb 2.0.6 / corosync 3.1.7 headers
# (docs/protocol.md §12).  Schema field names on the left; where
# they differ from C (the flattened ring_id, the header's fields) C is in the comment.
GCC_LAYOUT: dict[str, tuple[int, dict[str, int]]] = {
    "qb_ipc_request_header": (16, {"id": 0, "size": 8}),
    "qb_ipc_response_header": (24, {"id": 0, "size": 8, "error": 16}),
    "qb_ipc_connection_request": (24, {"max_msg_size": 16}),
    "qb_ipc_connection_response": (12328, {
        "connection_type": 24, "max_msg_size": 28, "connection": 32,
        "request": 40, "response": 4136, "event": 8232,
    }),
    "req_lib_quorum_trackstart": (24, {"track_flags": 16}),
    "req_lib_quorum_model_gettype": (24, {"model": 16}),
    "res_lib_quorum_getquorate": (32, {"quorate": 24}),
    "res_lib_quorum_gettype": (32, {"quorum_type": 24}),
    "res_lib_quorum_notification": (48, {
        "quorate": 24, "ring_seq": 32, "view_list_entries": 40, "view_list": 44,
    }),
    "res_lib_quorum_v1_quorum_notification": (56, {
        "quorate": 24,
        "ring_nodeid": 32,  # ring_id @32 + mar_quorum_ring_id_t.nodeid @0
        "ring_seq": 40,  # ring_id @32 + mar_quorum_ring_id_t.seq @8
        "view_list_entries": 48, "view_list": 52,
    }),
    "res_lib_quorum_v1_nodelist_notification": (64, {
        "ring_nodeid": 24,  # ring_id @24 + nodeid @0
        "ring_seq": 32,  # ring_id @24 + seq @8
        "member_list_entries": 40, "joined_list_entries": 48, "left_list_entries": 56,
        "member_list": 60,
    }),
}


@pytest.mark.parametrize("schema", s.SCHEMAS, ids=lambda x: x.name)
def test_schema_matches_gcc_layout(schema: s.Schema) -> None:
    size, offsets = GCC_LAYOUT[schema.name]
    assert schema.size == size
    for name, offset in offsets.items():
        assert schema.fields[name][0] == offset, name


def test_sizes_agree_with_the_constants() -> None:
    assert s.REQUEST_HEADER.size == REQUEST_HEADER_SIZE
    assert s.RESPONSE_HEADER.size == RESPONSE_HEADER_SIZE
    assert s.CONNECTION_REQUEST.size == CONNECTION_REQUEST_SIZE
    assert s.CONNECTION_RESPONSE.size == CONNECTION_RESPONSE_SIZE


def test_lists_start_four_bytes_before_the_struct_end() -> None:
    for schema, head in [
        (s.QUORUM_NOTIFICATION_V0, s.QUORUM_NOTIFICATION_V0_HEAD),
        (s.QUORUM_NOTIFICATION, s.QUORUM_NOTIFICATION_HEAD),
        (s.NODELIST_NOTIFICATION, s.NODELIST_NOTIFICATION_HEAD),
    ]:
        assert head.size == schema.size - 4
        assert head.fields == {k: v for k, v in schema.fields.items() if v[1] is not None}


def test_the_shared_32_byte_shape_fits_all_three_responses() -> None:
    for schema, name in [(s.GETQUORATE_RESPONSE, "quorate"), (s.TYPE_RESPONSE, "quorum_type")]:
        assert schema.size == s.VALUE_RESPONSE.size
        assert schema.fields[name] == s.VALUE_RESPONSE.fields["value"]


def _schema_for(name: str, data: bytes) -> s.Schema:
    kind = name.split("_", 1)[0]
    ident = int.from_bytes(data[:4], "little", signed=True)
    if kind == "connection":
        return s.CONNECTION_REQUEST if len(data) == 24 else s.CONNECTION_RESPONSE
    if kind == "request":
        return {1: s.TRACKSTART_REQUEST, 4: s.MODEL_GETTYPE_REQUEST}.get(ident, s.REQUEST_HEADER)
    if kind == "response":
        return s.VALUE_RESPONSE if len(data) == 32 else s.RESPONSE_HEADER
    return {3: s.QUORUM_NOTIFICATION_V0, 6: s.QUORUM_NOTIFICATION, 7: s.NODELIST_NOTIFICATION}[
        ident
    ]


@pytest.mark.parametrize("name", fixture_names())
def test_compiled_and_interpreted_agree_on_captures(name: str) -> None:
    data = load_hex(FIXTURE_DIR / f"{name}.hex")
    schema = _schema_for(name, data)
    interpreted = dict(schema.struct.parse(data))
    compiled = dict(schema.compiled.parse(data))
    interpreted.pop("_io", None)
    compiled.pop("_io", None)
    assert compiled == interpreted
    assert schema.build(compiled) == schema.struct.build(compiled)


@given(st.lists(st.integers(0, 2**32 - 1), max_size=5), st.integers(0, 2**64 - 1))
def test_compiled_and_interpreted_agree_on_build(view: list[int], seq: int) -> None:
    values = {"id": 6, "size": 56 + 4 * len(view), "error": 1, "quorate": 1,
              "ring_nodeid": 3, "ring_seq": seq, "view_list_entries": len(view),
              "view_list": view}
    built = s.QUORUM_NOTIFICATION.build(values)
    assert built == s.QUORUM_NOTIFICATION.struct.build(values)
    assert len(built) == values["size"]


def test_building_writes_zero_padding() -> None:
    built = s.RESPONSE_HEADER.build({"id": -1, "size": -1, "error": -1})
    assert built == b"\xff" * 4 + bytes(4) + b"\xff" * 4 + bytes(4) + b"\xff" * 4 + bytes(4)
