"""Decoding cmap's GET response and NOTIFY_CALLBACK: the struct fast path against
the construct schema path (``decode_*_by_schema``, the definition it is held to)
and against a hand-written ``struct`` decoder of the one message, in one process.

The GET response is what ``pyquorum status`` reads for each key; the
notification is what ``pyquorum cmap track`` prints for each change.

Run:  .venv/bin/python bench/bench_cmap_decode.py
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_decode import per_call
from pyquorum.errors import CsErrorCode
from pyquorum.messages import cmap as cm
from pyquorum.messages.constants import CmapTrack, CmapValueType

_GET_HEAD = struct.Struct("<i4xi4xi4xQB7x")
_NOTIFY_HEAD = struct.Struct("<i4xi4xi4xQH6x256si4xB7xB7xQQ")
_U32 = CmapValueType.UINT32
_STRING = CmapValueType.STRING


def get_by_hand(raw: bytes) -> cm.GetResponse:
    """A GET response carrying a string, decoded the short way (no checks)."""
    _, size, error, value_len, _kind = _GET_HEAD.unpack_from(raw)
    text = raw[40 : 40 + value_len].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    return cm.GetResponse(CsErrorCode(error), _STRING, value_len, cm.CmapValue(_STRING, text),
                          size - 40)


def notify_by_hand(raw: bytes) -> cm.NotifyCallback:
    """A MODIFY of a u32 key, decoded the short way (no checks)."""
    _, _, _, handle, key_length, key, event, _, _, new_len, _ = _NOTIFY_HEAD.unpack_from(raw)
    new = struct.unpack_from("<I", raw, 336)[0]
    old = struct.unpack_from("<I", raw, 336 + new_len)[0]
    return cm.NotifyCallback(handle, key[:key_length].decode("utf-8", "surrogateescape"),
                             CmapTrack(event), cm.CmapValue(_U32, new), cm.CmapValue(_U32, old))


def messages() -> tuple[bytes, bytes]:
    name = cm.CmapValue(_STRING, "corosync_votequorum")
    from pyquorum.messages._cmap_values import encode_value

    size = len(encode_value(name)[1])
    get = cm.encode_response(cm.GetResponse(CsErrorCode.OK, _STRING, size, name, 256))
    notify = cm.encode_notification(cm.NotifyCallback(
        7, "runtime.totem.pg.mrp.srp.members.1.join_count", CmapTrack.MODIFY,
        cm.CmapValue(_U32, 2), cm.CmapValue(_U32, 1)))
    return get, notify


def measure(n: int = 50_000, rounds: int = 5) -> dict[str, float]:
    """Seconds per decode of each message: fast path, schema path, by hand."""
    get, notify = messages()
    assert cm.decode_response(get) == cm.decode_response_by_schema(get) == get_by_hand(get)
    assert (cm.decode_notification(notify) == cm.decode_notification_by_schema(notify)
            == notify_by_hand(notify))
    calls = {
        "get": (cm.decode_response, get), "get_schema": (cm.decode_response_by_schema, get),
        "get_hand": (get_by_hand, get),
        "notify": (cm.decode_notification, notify),
        "notify_schema": (cm.decode_notification_by_schema, notify),
        "notify_hand": (notify_by_hand, notify),
    }
    result = dict.fromkeys(calls, float("inf"))
    for _ in range(rounds):  # alternate, so all see the same load
        for key, (decode, raw) in calls.items():
            count = n // 5 if key.endswith("schema") else n
            result[key] = min(result[key], per_call(decode, raw, count, 1))
    return result


def main() -> int:
    r = measure()
    for what in ("get", "notify"):
        print(f"{what:7} fast {r[what] * 1e6:6.2f} µs ({1 / r[what]:,.0f}/s), schema "
              f"{r[what + '_schema'] * 1e6:6.2f} µs, by hand {r[what + '_hand'] * 1e6:6.2f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
