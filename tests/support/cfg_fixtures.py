"""The cfg fixtures (fixtures/cfg/): loading, and the bytes that belong to no field.

Recorded from corosync 3.1.7 by scripts/record-service-fixtures --services cfg;
:func:`garbage` lists, from docs/cfg.md §2 and not from the schemas, the bytes
a re-encoding need not reproduce.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pyquorum.messages import cfg
from pyquorum.messages.types import Message
from tests.support.message_fixtures import load_hex

__all__ = ["NAMES", "ROOT", "garbage", "load", "zero_garbage"]

ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "cfg"
NAMES = sorted(p.stem for p in ROOT.glob("*.hex"))

_REQ_PAD = [(4, 8), (12, 16)]
_RES_PAD = [(4, 8), (12, 16), (20, 24)]


def load(name: str) -> tuple[bytes, Message]:
    data = load_hex(ROOT / f"{name}.hex")
    obj: dict[str, Any] = json.loads((ROOT / f"{name}.json").read_text())
    cls = getattr(cfg, obj.pop("type"))
    if "addrs" in obj:
        obj["addrs"] = tuple(bytes.fromhex(a) for a in obj["addrs"])
    if "body" in obj:
        obj["body"] = bytes.fromhex(obj["body"])
    if "links" in obj:
        obj["links"] = tuple(cfg.LinkStatus(**link) for link in obj["links"])
    return data, cls(**obj)


def garbage(msg: Message) -> list[tuple[int, int]]:
    """Bytes that belong to no field (docs/cfg.md §2): never compared."""
    if isinstance(msg, cfg.GetNodeAddrsRequest):
        return [*_REQ_PAD, (20, 24)]
    if isinstance(msg, cfg.LocalGetRequest | cfg.UnknownRequest):
        return list(_REQ_PAD)
    if isinstance(msg, cfg.NodeStatusGetRequest):
        return [*_REQ_PAD, (20, 24), (28, 32)]
    if isinstance(msg, cfg.NodeStatusGetResponse):
        if msg.error != 1:  # the short answer, its tail padding
            return [*_RES_PAD, (28, 32)]
        # the node status's tail padding, and each link's pad byte
        return [*_RES_PAD, (38, 40), *((40 + 520 * i + 3, 40 + 520 * i + 4) for i in range(8))]
    if isinstance(msg, cfg.LocalGetResponse):
        return [*_RES_PAD, (28, 32)]
    if isinstance(msg, cfg.GetNodeAddrsResponse | cfg.ErrorResponse):
        return list(_RES_PAD)
    raise TypeError(msg)


def zero_garbage(data: bytes, msg: Message) -> bytes:
    out = bytearray(data)
    for start, end in garbage(msg):
        out[start:end] = bytes(end - start)
    return bytes(out)
