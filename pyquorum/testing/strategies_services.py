"""Hypothesis strategies for every votequorum and cmap message.

Values come out the way the decoders produce them (known enum members as
enums, anything else as a plain ``int``), so ``decode(encode(x)) == x``
holds for every drawn ``x``.  Like :mod:`pyquorum.testing.strategies`, for
property tests of pyquorum and of code built on it.
"""

from __future__ import annotations

from hypothesis import strategies as st

from pyquorum.messages import cmap as cm
from pyquorum.messages import votequorum as vq
from pyquorum.messages.constants import (
    REQUEST_HEADER_SIZE,
    CmapMap,
    CmapRequestId,
    CmapResponseId,
    CmapTrack,
    CmapValueType,
    CsErrorCode,
    NodeState,
    Track,
    VotequorumInfo,
    VotequorumRequestId,
    VotequorumResponseId,
)
from pyquorum.testing.strategies import _known_or_int, cs_errors, ring_ids

__all__ = [
    "cmap_keys",
    "cmap_notifications",
    "cmap_requests",
    "cmap_responses",
    "cmap_values",
    "votequorum_notifications",
    "votequorum_requests",
    "votequorum_responses",
]

_I32 = st.integers(-(2**31), 2**31 - 1)
_U32 = st.integers(0, 2**32 - 1)
_U64 = st.integers(0, 2**64 - 1)
_U8 = st.integers(0, 255)
_MAX_NODES = 16


def _text(max_bytes: int, min_bytes: int = 0) -> st.SearchStrategy[str]:
    """Any bytes but NUL, as the str the decoders make of them (surrogateescape)."""
    return (
        st.binary(min_size=min_bytes, max_size=max_bytes)
        .filter(lambda b: b"\0" not in b)
        .map(lambda b: b.decode("utf-8", "surrogateescape"))
    )


def _unknown_id(known: set[int]) -> st.SearchStrategy[int]:
    return _I32.filter(lambda i: i not in known)


# ------------------------------------------------------------------ votequorum


def votequorum_requests() -> st.SearchStrategy[vq.Request]:
    known = {int(i) for i in VotequorumRequestId if i <= VotequorumRequestId.TRACKSTOP}
    return st.one_of(
        st.builds(vq.GetInfoRequest, _U32),
        st.builds(vq.SetExpectedRequest, _U32),
        st.builds(vq.SetVotesRequest, nodeid=_U32, votes=_U32),
        st.builds(vq.TrackStartRequest, _U32.map(Track), _U64),
        st.just(vq.TrackStopRequest()),
        st.builds(
            lambda i, body: vq.UnknownRequest(i, REQUEST_HEADER_SIZE + len(body), body),
            _unknown_id(known), st.binary(max_size=64),
        ),
    )


def votequorum_responses() -> st.SearchStrategy[vq.Response]:
    return st.one_of(
        st.builds(vq.StatusResponse, cs_errors()),
        st.builds(
            vq.GetInfoResponse,
            error=cs_errors(), nodeid=_U32, state=_known_or_int(NodeState, _U32), votes=_U32,
            expected_votes=_U32, highest_expected=_U32, total_votes=_U32, quorum=_U32,
            flags=_U32.map(VotequorumInfo), qdevice_votes=_U32, qdevice_name=_text(254),
        ),
    )


def votequorum_notifications() -> st.SearchStrategy[vq.Notification]:
    node = st.builds(vq.NodeStatus, _U32, _known_or_int(NodeState, _U32))
    known = {int(i) for i in VotequorumResponseId if i >= VotequorumResponseId.QUORUM_NOTIFICATION}
    return st.one_of(
        st.builds(vq.QuorumNotification, st.booleans(), _U64,
                  st.lists(node, max_size=_MAX_NODES).map(tuple)),
        st.builds(vq.NodelistNotification, _U64, ring_ids(),
                  st.lists(_U32, max_size=_MAX_NODES).map(tuple)),
        st.builds(vq.ExpectedVotesNotification, _U64, _U32),
        st.builds(vq.UnknownNotification, _unknown_id(known), cs_errors(), st.binary(max_size=64)),
    )


# ------------------------------------------------------------------ cmap


def cmap_keys(*, allow_empty: bool = False) -> st.SearchStrategy[str]:
    """Keys as cmap carries them: 1 (or 0) to 255 bytes, no NUL."""
    return _text(255, 0 if allow_empty else 1)


def cmap_values() -> st.SearchStrategy[cm.CmapValue]:
    """A value of every type (and of unknown types 13-255, as bytes)."""
    T = CmapValueType
    ints = {
        T.INT8: st.integers(-(2**7), 2**7 - 1), T.UINT8: st.integers(0, 2**8 - 1),
        T.INT16: st.integers(-(2**15), 2**15 - 1), T.UINT16: st.integers(0, 2**16 - 1),
        T.INT32: _I32, T.UINT32: _U32,
        T.INT64: st.integers(-(2**63), 2**63 - 1), T.UINT64: _U64,
    }
    return st.one_of(
        *(st.builds(cm.CmapValue, st.just(t), values) for t, values in ints.items()),
        st.floats(width=32, allow_nan=False).map(lambda v: cm.CmapValue(T.FLOAT, v)),
        st.floats(allow_nan=False).map(lambda v: cm.CmapValue(T.DOUBLE, v)),
        _text(128).map(cm.CmapValue.string),
        st.binary(max_size=128).map(cm.CmapValue.binary),
        st.builds(cm.CmapValue, st.integers(13, 255), st.binary(max_size=32)),
    )


def _value_len(value: cm.CmapValue) -> int:
    return len(cm.encode_request(cm.SetRequest("k", value))) - 296


@st.composite
def _get_responses(draw: st.DrawFn) -> cm.GetResponse:
    error = draw(cs_errors())
    if error == CsErrorCode.OK:
        if draw(st.booleans()):
            value = draw(cmap_values())
            size = _value_len(value)
            room = size + draw(st.integers(0, 32))
            return cm.GetResponse(error, value.type, size, value, room)
        room = draw(st.integers(0, 64))
        value_len = draw(st.integers(room + 1, 2**64 - 1))
        kind = draw(_known_or_int(CmapValueType, _U8))
        return cm.GetResponse(error, kind, value_len, None, room)
    kind = draw(_known_or_int(CmapValueType, _U8))
    return cm.GetResponse(error, kind, draw(_U64), None, draw(st.integers(0, 64)))


def cmap_requests() -> st.SearchStrategy[cm.Request]:
    known = {int(i) for i in CmapRequestId}
    return st.one_of(
        st.builds(cm.SetRequest, cmap_keys(), cmap_values()),
        st.builds(cm.DeleteRequest, cmap_keys()),
        st.builds(cm.GetRequest, cmap_keys(), st.integers(0, 2**31 - 41)),
        st.builds(cm.AdjustIntRequest, cmap_keys(), _I32),
        st.builds(cm.IterInitRequest, cmap_keys(allow_empty=True)),
        st.builds(cm.IterNextRequest, _U64),
        st.builds(cm.IterFinalizeRequest, _U64),
        st.builds(
            cm.TrackAddRequest, cmap_keys(allow_empty=True),
            _I32.map(lambda v: CmapTrack(v) if v >= 0 else v), _U64,
        ),
        st.builds(cm.TrackDeleteRequest, _U64),
        st.builds(cm.SetCurrentMapRequest, _known_or_int(CmapMap, _I32)),
        st.builds(
            lambda i, body: cm.UnknownRequest(i, REQUEST_HEADER_SIZE + len(body), body),
            _unknown_id(known), st.binary(max_size=64),
        ),
    )


def cmap_responses() -> st.SearchStrategy[cm.Response]:
    return st.one_of(
        *(st.builds(cls, cs_errors()) for cls in (
            cm.SetResponse, cm.DeleteResponse, cm.AdjustIntResponse,
            cm.IterFinalizeResponse, cm.SetCurrentMapResponse)),
        st.builds(cm.IterInitResponse, cs_errors(), _U64),
        st.builds(cm.TrackAddResponse, cs_errors(), _U64),
        st.builds(cm.TrackDeleteResponse, cs_errors(), _U64),
        st.builds(cm.IterNextResponse, cs_errors(), cmap_keys(allow_empty=True), _U64,
                  _known_or_int(CmapValueType, _U8)),
        _get_responses(),
    )


def cmap_notifications() -> st.SearchStrategy[cm.Notification]:
    events = {int(e): e for e in (CmapTrack.ADD, CmapTrack.DELETE, CmapTrack.MODIFY)}
    sides = st.none() | cmap_values()
    return st.one_of(
        st.builds(
            cm.NotifyCallback, _U64, cmap_keys(),
            st.sampled_from(sorted(events.values())) | _I32.map(lambda v: events.get(v, v)),
            sides, sides,
        ),
        st.builds(
            cm.UnknownNotification, _unknown_id({int(CmapResponseId.NOTIFY_CALLBACK)}),
            cs_errors(), st.binary(max_size=64),
        ),
    )

