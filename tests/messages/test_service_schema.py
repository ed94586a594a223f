"""The votequorum and cmap schemas put every field where corosync 3.1.7 has it.

The expected offsets are typed in from docs/votequorum.md §2 and docs/cmap.md §2
(x86_64, ipc_votequorum.h / ipc_cmap.h), not computed from the schemas.
"""

from __future__ import annotations

import pytest

from pyquorum.messages import _cmap_schema as cs
from pyquorum.messages import _votequorum_schema as vs
from pyquorum.messages._schema import Schema

LAYOUTS: list[tuple[Schema, int, dict[str, tuple[int, int]]]] = [
    (vs.GETINFO_REQUEST, 24, {"nodeid": (16, 4)}),
    (vs.SETEXPECTED_REQUEST, 24, {"expected_votes": (16, 4)}),
    (vs.SETVOTES_REQUEST, 24, {"votes": (16, 4), "nodeid": (20, 4)}),
    (vs.TRACKSTART_REQUEST, 32, {"context": (16, 8), "track_flags": (24, 4)}),
    (vs.GETINFO_RESPONSE, 320, {
        "error": (16, 4), "nodeid": (24, 4), "state": (28, 4), "votes": (32, 4),
        "expected_votes": (36, 4), "highest_expected": (40, 4), "total_votes": (44, 4),
        "quorum": (48, 4), "flags": (52, 4), "qdevice_votes": (56, 4),
        "qdevice_name": (60, 255),
    }),
    (vs.QUORUM_NOTIFICATION_HEAD, 48,
     {"quorate": (24, 4), "context": (32, 8), "node_list_entries": (40, 4)}),
    (vs.NODELIST_NOTIFICATION_HEAD, 56, {
        "context": (24, 8), "ring_nodeid": (32, 4), "ring_seq": (40, 8),
        "node_list_entries": (48, 4),
    }),
    (vs.EXPECTEDVOTES_NOTIFICATION, 40, {"context": (24, 8), "expected_votes": (32, 4)}),
    (cs.KEY_REQUEST, 280, {"key_length": (16, 2), "key_value": (24, 256)}),
    (cs.SET_REQUEST_HEAD, 296, {"key_length": (16, 2), "value_len": (280, 8), "type": (288, 1)}),
    (cs.GET_REQUEST, 288, {"key_length": (16, 2), "value_len": (280, 8)}),
    (cs.ADJUST_INT_REQUEST, 288, {"step": (280, 4)}),
    (cs.HANDLE_REQUEST, 24, {"handle": (16, 8)}),
    (cs.TRACK_ADD_REQUEST, 296, {"track_type": (280, 4), "track_inst_handle": (288, 8)}),
    (cs.SET_CURRENT_MAP_REQUEST, 24, {"map": (16, 4)}),
    (cs.GET_RESPONSE_HEAD, 40, {"value_len": (24, 8), "type": (32, 1)}),
    (cs.HANDLE_RESPONSE, 32, {"handle": (24, 8)}),
    (cs.ITER_NEXT_RESPONSE, 304, {
        "key_length": (24, 2), "key_value": (32, 256), "value_len": (288, 8), "type": (296, 1),
    }),
    (cs.NOTIFY_CALLBACK_HEAD, 336, {
        "track_inst_handle": (24, 8), "key_length": (32, 2), "key_value": (40, 256),
        "event": (296, 4), "new_type": (304, 1), "old_type": (312, 1), "new_len": (320, 8),
        "old_len": (328, 8),
    }),
]


@pytest.mark.parametrize("schema,size,fields", LAYOUTS, ids=lambda v: getattr(v, "name", ""))
def test_layout(schema: Schema, size: int, fields: dict[str, tuple[int, int]]) -> None:
    assert schema.size == size
    for name, where in fields.items():
        assert schema.fields[name] == where, name


def test_every_schema_is_checked() -> None:
    checked = {id(s) for s, _, _ in LAYOUTS}
    assert all(id(s) in checked for s in (*vs.SCHEMAS, *cs.SCHEMAS))
