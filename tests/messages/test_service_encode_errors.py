"""Bad arguments to the votequorum and cmap encoders raise LocalProtocolError, nothing else."""

from __future__ import annotations

import pytest

from pyquorum.errors import LocalProtocolError
from pyquorum.messages import cmap, votequorum
from pyquorum.messages.constants import CmapTrack, CmapValueType, Track, VotequorumInfo

V = cmap.CmapValue
T = CmapValueType

BAD_CMAP_REQUESTS = [
    cmap.GetRequest("k" * 256),  # 255 bytes at most
    cmap.GetRequest(""),
    cmap.GetRequest("a\0b"),
    cmap.GetRequest("\udcff\ud800"),  # not encodable
    cmap.GetRequest(123),  # type: ignore[arg-type]
    cmap.GetRequest("a.b", -1),
    cmap.GetRequest("a.b", 2**31),
    cmap.SetRequest("a.b", V(T.INT8, 128)),
    cmap.SetRequest("a.b", V(T.UINT8, -1)),
    cmap.SetRequest("a.b", V(T.UINT64, 2**64)),
    cmap.SetRequest("a.b", V(T.INT32, True)),
    cmap.SetRequest("a.b", V(T.INT32, 1.5)),
    cmap.SetRequest("a.b", V(T.FLOAT, 1e40)),
    cmap.SetRequest("a.b", V(T.FLOAT, "1")),
    cmap.SetRequest("a.b", V(T.STRING, b"x")),
    cmap.SetRequest("a.b", V(T.STRING, "a\0b")),
    cmap.SetRequest("a.b", V(T.BINARY, "x")),
    cmap.SetRequest("a.b", V(0, b"")),
    cmap.SetRequest("a.b", V(256, b"")),
    cmap.SetRequest("a.b", 5),  # type: ignore[arg-type]
    cmap.AdjustIntRequest("a.b", 2**31),
    cmap.IterNextRequest(-1),
    cmap.IterFinalizeRequest(2**64),
    cmap.TrackAddRequest("a.b", 2**31),
    cmap.TrackAddRequest("a.b", CmapTrack.ADD, -1),
    cmap.SetCurrentMapRequest(2**31),
    cmap.UnknownRequest(2, 16, b""),  # GET's id
    cmap.UnknownRequest(42, 17, b""),
]

BAD_VQ_REQUESTS = [
    votequorum.GetInfoRequest(-1),
    votequorum.GetInfoRequest(2**32),
    votequorum.SetExpectedRequest(-1),
    votequorum.SetVotesRequest(nodeid=1, votes=2**32),
    votequorum.TrackStartRequest(Track.CHANGES, -1),
    votequorum.TrackStartRequest(Track.CHANGES, 2**64),
    votequorum.UnknownRequest(0, 16, b""),
    votequorum.UnknownRequest(42, 99, b""),
]


@pytest.mark.parametrize("req", BAD_CMAP_REQUESTS, ids=repr)
def test_cmap_request(req: cmap.Request) -> None:
    with pytest.raises(LocalProtocolError):
        cmap.encode_request(req)


@pytest.mark.parametrize("req", BAD_VQ_REQUESTS, ids=repr)
def test_votequorum_request(req: votequorum.Request) -> None:
    with pytest.raises(LocalProtocolError):
        votequorum.encode_request(req)


@pytest.mark.parametrize(
    "resp",
    [
        cmap.GetResponse(1, T.UINT32, 4, V(T.UINT32, 1), 2),  # value bigger than the room
        cmap.GetResponse(1, T.UINT32, 8, V(T.UINT32, 1), 8),  # value_len disagrees
        cmap.GetResponse(1, T.UINT8, 4, V(T.UINT32, 1), 8),  # type disagrees
        cmap.GetResponse(12, T.UINT32, 4, V(T.UINT32, 1), 8),  # error with a value
        cmap.GetResponse(1, T.UINT32, 4, None, 8),  # fits the room but missing
        cmap.IterNextResponse(1, "a", 0, 256),
        votequorum.GetInfoResponse(1, 1, 1, 1, 1, 1, 1, 1, VotequorumInfo(0), 0, "q" * 255),
    ],
    ids=repr,
)
def test_responses(resp: cmap.Response | votequorum.Response) -> None:
    with pytest.raises(LocalProtocolError):
        if isinstance(resp, cmap.Response):
            cmap.encode_response(resp)
        else:
            votequorum.encode_response(resp)


def test_notifications() -> None:
    with pytest.raises(LocalProtocolError):
        cmap.encode_notification(cmap.NotifyCallback(1, "", 4, None, None))
    with pytest.raises(LocalProtocolError):
        votequorum.encode_notification(votequorum.QuorumNotification(True, 0, (1,)))  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        votequorum.encode_notification(votequorum.UnknownNotification(3, 1, b""))


def test_the_longest_key_fits() -> None:
    raw = cmap.encode_request(cmap.DeleteRequest("k" * 255))
    assert raw[16] == 255 and raw[24 + 255] == 0
