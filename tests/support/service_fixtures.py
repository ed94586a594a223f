"""The votequorum and cmap fixtures: loading, their JSON forms, and the garbage oracle.

``fixtures/<service>/NAME.hex`` holds bytes recorded from corosync by
scripts/record-service-fixtures (``hexdump -C`` lines after ``#`` comments),
``NAME.json`` the value they decode to (checked by that script against
corosync-cmapctl, corosync-quorumtool and the values it set).
:func:`garbage_ranges` lists, from docs/votequorum.md §2 and docs/cmap.md §2
and *not* from the schemas, the bytes that belong to no field, so re-encoding
is compared with an oracle that can disagree with the code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from pyquorum.messages import cmap, votequorum
from pyquorum.messages.constants import CmapValueType
from pyquorum.messages.types import Message
from tests.support.message_fixtures import build, convert_field, load_hex

ROOT = Path(__file__).resolve().parents[2] / "fixtures"
SERVICES: dict[str, ModuleType] = {"votequorum": votequorum, "cmap": cmap}


@dataclass(frozen=True)
class Fixture:
    service: str
    name: str
    data: bytes
    expected: Message

    @property
    def module(self) -> ModuleType:
        return SERVICES[self.service]

    @property
    def kind(self) -> str:
        return self.name.split("_", 1)[0]  # request / response / notification

    def decoder(self) -> Callable[[bytes], Message]:
        fn: Callable[[bytes], Message] = getattr(self.module, f"decode_{self.kind}")
        return fn

    def encoder(self) -> Callable[[Message], bytes]:
        fn: Callable[[Message], bytes] = getattr(self.module, f"encode_{self.kind}")
        return fn

    def __str__(self) -> str:
        return f"{self.service}/{self.name}"


def fixture_ids() -> list[tuple[str, str]]:
    return [
        (service, p.stem)
        for service in SERVICES
        for p in sorted((ROOT / service).glob("*.hex"))
    ]


def load(service: str, name: str) -> Fixture:
    data = load_hex(ROOT / service / f"{name}.hex")
    obj = json.loads((ROOT / service / f"{name}.json").read_text())
    return Fixture(service, name, data, from_json(SERVICES[service], obj))


def all_fixtures() -> list[Fixture]:
    return [load(service, name) for service, name in fixture_ids()]


def _value(obj: dict[str, Any] | None) -> cmap.CmapValue | None:
    if obj is None:
        return None
    kind, value = obj["type"], obj["value"]
    if kind == CmapValueType.BINARY or kind not in set(CmapValueType):
        value = bytes.fromhex(value)
    return cmap.CmapValue(kind, value)


def from_json(module: ModuleType, obj: dict[str, Any]) -> Message:
    values = dict(obj)
    return build(getattr(module, values.pop("type")), values, _convert)


def _convert(name: str, value: Any) -> Any:
    """The quorum fixtures' conversions plus votequorum's nodes and cmap's values."""
    if name == "nodes":
        return tuple(votequorum.NodeStatus(**n) for n in value)
    if name in ("value", "new_value", "old_value"):
        return _value(value)
    return convert_field(name, value)


# ------------------------------------------------------------------ the garbage oracle

_REQ_PAD = [(4, 8), (12, 16)]
_RES_PAD = [(4, 8), (12, 16), (20, 24)]


def _name(offset: int, key: str) -> list[tuple[int, int]]:
    """mar_name_t at ``offset``: u16 length's slot tail, and the bytes after the name."""
    used = len(key.encode("utf-8", "surrogateescape"))
    return [(offset + 2, offset + 8), (offset + 8 + used, offset + 264)]


def garbage_ranges(msg: Message, length: int) -> list[tuple[int, int]]:
    vq, cm = votequorum, cmap
    if isinstance(msg, vq.GetInfoRequest | vq.SetExpectedRequest):
        return [*_REQ_PAD, (20, 24)]
    if isinstance(msg, vq.SetVotesRequest):
        return list(_REQ_PAD)
    if isinstance(msg, vq.TrackStartRequest):
        return [*_REQ_PAD, (28, 32)]
    if isinstance(msg, vq.TrackStopRequest | vq.UnknownRequest | cm.UnknownRequest):
        return list(_REQ_PAD)
    if isinstance(msg, vq.StatusResponse | vq.UnknownNotification | cm.UnknownNotification):
        return list(_RES_PAD)
    if isinstance(msg, vq.GetInfoResponse):
        used = len(msg.qdevice_name.encode("utf-8", "surrogateescape")) + 1
        return [*_RES_PAD, (60 + used, 315), (315, 320)]
    if isinstance(msg, vq.QuorumNotification):
        return [*_RES_PAD, (28, 32), (44, 48)]
    if isinstance(msg, vq.NodelistNotification):
        return [*_RES_PAD, (36, 40), (52, 56)]
    if isinstance(msg, vq.ExpectedVotesNotification):
        return [*_RES_PAD, (36, 40)]
    if isinstance(msg, cm.SetRequest):
        return [*_REQ_PAD, *_name(16, msg.key), (289, 296)]
    if isinstance(msg, cm.DeleteRequest | cm.GetRequest):
        return [*_REQ_PAD, *_name(16, msg.key)]
    if isinstance(msg, cm.IterInitRequest):
        return [*_REQ_PAD, *_name(16, msg.prefix)]
    if isinstance(msg, cm.AdjustIntRequest | cm.TrackAddRequest):
        return [*_REQ_PAD, *_name(16, msg.key), (284, 288)]
    if isinstance(msg, cm.IterNextRequest | cm.IterFinalizeRequest | cm.TrackDeleteRequest):
        return list(_REQ_PAD)
    if isinstance(msg, cm.SetCurrentMapRequest):
        return [*_REQ_PAD, (20, 24)]
    if isinstance(msg, cm.SetResponse | cm.DeleteResponse | cm.AdjustIntResponse
                  | cm.IterFinalizeResponse | cm.SetCurrentMapResponse | cm.IterInitResponse
                  | cm.TrackAddResponse | cm.TrackDeleteResponse):
        return list(_RES_PAD)
    if isinstance(msg, cm.IterNextResponse):
        return [*_RES_PAD, *_name(24, msg.key), (297, 304)]
    if isinstance(msg, cm.GetResponse):
        start = 40 + msg.value_len if msg.value is not None else 40
        return [*_RES_PAD, (33, 40), (start, length)]
    if isinstance(msg, cm.NotifyCallback):
        return [*_RES_PAD, *_name(32, msg.key), (300, 304), (305, 312), (313, 320)]
    raise TypeError(msg)


def zero_garbage(data: bytes, msg: Message) -> bytes:
    out = bytearray(data)
    for start, end in garbage_ranges(msg, len(data)):
        out[start:end] = bytes(max(0, min(end, len(out)) - start))
    return bytes(out)
