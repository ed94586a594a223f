"""``pyquorum cmap get KEY | list [PREFIX] | track PREFIX``: corosync's key/value map.

Text is ``corosync-cmapctl``'s: ``key (type) = value`` with its type names
(i8 … u64, flt, dbl, str, bin), floats with six decimals, binary values
shown as ``-b`` shows them (printable ASCII as is, ``\\\\`` for a backslash,
``\\xHH`` otherwise; corosync-cmapctl sign-extends bytes from 0x80,
``\\xFFFFFFC3``, where this prints ``\\xC3``); a change is ``create>``,
``modify>`` or ``delete>`` and the key with its new value (the old one for
a delete).  ``--json``
prints one object per line::

    {"key": "totem.token", "type": "u32", "value": 1000}
    {"event": "modify", "key": "a.b", "new": {"type": "u32", "value": 2},
     "old": {"type": "u32", "value": 1}}

where a binary value is its bytes in hex and a missing side is null.
Exit 0; 1 on failure (an unknown key included) with one line on stderr.
``track`` ends after ``--count`` changes or ``--timeout`` seconds without one.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from pyquorum.commands._common import (
    DEFAULT_TIMEOUT,
    EXIT_OK,
    Failure,
    Output,
    Parser,
    positive_float,
    positive_int,
)

if TYPE_CHECKING:
    from pyquorum.messages.cmap import CmapValue
    from pyquorum.services.cmap.core import CmapChange
    from pyquorum.services.cmap.session import CmapSession

__all__ = ["TYPE_NAMES", "change_to_dict", "change_to_text", "configure", "entry_to_dict",
           "entry_to_text", "run"]

#: corosync-cmapctl's names of the value types, by cmap_value_types_t number.
TYPE_NAMES = {1: "i8", 2: "u8", 3: "i16", 4: "u16", 5: "i32", 6: "u32", 7: "i64", 8: "u64",
              9: "flt", 10: "dbl", 11: "str", 12: "bin"}
#: corosync-cmapctl's words for the CMAP_TRACK_* event of a change.
EVENT_NAMES = {4: "create", 2: "modify", 1: "delete"}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "Read and track corosync's cmap, as corosync-cmapctl does."
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION",
                                    parser_class=Parser)
    get = actions.add_parser("get", help="print one key's value (corosync-cmapctl -g)")
    get.add_argument("key", metavar="KEY")
    listing = actions.add_parser(
        "list", help="print every key under PREFIX, or all (corosync-cmapctl [PREFIX])"
    )
    listing.add_argument("prefix", nargs="?", default="", metavar="PREFIX")
    track = actions.add_parser(
        "track", help="print changes of keys under PREFIX as they come (corosync-cmapctl -T)"
    )
    track.add_argument("prefix", metavar="PREFIX")
    track.add_argument("--key", action="store_true",
                       help="track the one key PREFIX names, not a prefix (corosync-cmapctl -t)")
    track.add_argument("--count", type=positive_int, metavar="N", help="stop after N changes")
    track.add_argument("--timeout", type=positive_float, metavar="S",
                       help="stop when no change has come for S seconds (default: never)")
    for sub in (get, listing, track):
        sub.add_argument("--json", action="store_true", help="print one JSON object per line")
    for sub in (get, listing):
        sub.add_argument(
            "--timeout", type=positive_float, default=DEFAULT_TIMEOUT, metavar="S",
            help=f"give up after S seconds (default {DEFAULT_TIMEOUT:g})",
        )


def _type_name(value: CmapValue) -> str:
    return TYPE_NAMES.get(int(value.type), str(int(value.type)))


def _binary_text(data: bytes) -> str:
    out = []
    for byte in data:
        if byte == 0x5C:
            out.append("\\\\")
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\x{byte:02X}")
    return "".join(out)


def _value_text(value: CmapValue) -> str:
    kind, raw = int(value.type), value.value
    if isinstance(raw, bytes):
        return _binary_text(raw) if raw else "*empty*"
    if kind in (9, 10) and isinstance(raw, float | int):
        return f"{raw:f}"
    return str(raw)


def _value_dict(value: CmapValue | None) -> dict[str, Any] | None:
    if value is None:
        return None
    raw = value.value
    return {"type": _type_name(value), "value": raw.hex() if isinstance(raw, bytes) else raw}


def entry_to_text(key: str, value: CmapValue) -> str:
    """``key (type) = value``, as corosync-cmapctl prints it."""
    return f"{key} ({_type_name(value)}) = {_value_text(value)}"


def entry_to_dict(key: str, value: CmapValue) -> dict[str, Any]:
    return {"key": key, **(_value_dict(value) or {})}


def change_to_text(change: CmapChange) -> str:
    """``create> key (type) = value`` (delete shows the old value), as corosync-cmapctl."""
    name = EVENT_NAMES.get(int(change.event))
    value = change.old if int(change.event) == 1 else change.new
    if name is None or value is None:
        return f"unknown change> {change.key}"
    return f"{name}> {entry_to_text(change.key, value)}"


def change_to_dict(change: CmapChange) -> dict[str, Any]:
    return {"event": EVENT_NAMES.get(int(change.event), int(change.event)), "key": change.key,
            "new": _value_dict(change.new), "old": _value_dict(change.old)}


def _open(timeout: float) -> CmapSession:
    from pyquorum.services.cmap.session import CmapSession

    return CmapSession(timeout=timeout)


def run(args: argparse.Namespace, out: Output) -> int:
    from pyquorum.errors import NotExistError

    timeout = args.timeout if args.timeout is not None else DEFAULT_TIMEOUT
    with _open(timeout) as session:
        if args.action == "get":
            try:
                value = session.get(args.key)
            except NotExistError:
                raise Failure(f"cmap has no key {args.key!r}; "
                              "pyquorum cmap list PREFIX shows the keys there are") from None
            entries = [(args.key, value)]
        elif args.action == "list":
            entries = list(session.items(args.prefix))
        else:
            return _track(session, args, out)
    for key, value in entries:
        text = json.dumps(entry_to_dict(key, value)) if args.json else entry_to_text(key, value)
        if not out.line(text):
            break
    return EXIT_OK


def _track(session: CmapSession, args: argparse.Namespace, out: Output) -> int:
    from pyquorum.messages.constants import CmapTrack

    kinds = CmapTrack.ADD | CmapTrack.MODIFY | CmapTrack.DELETE
    session.track_add(args.prefix, kinds if args.key else kinds | CmapTrack.PREFIX)
    seen = 0
    for change in session.events(timeout=args.timeout):
        text = json.dumps(change_to_dict(change)) if args.json else change_to_text(change)
        if not out.line(text):
            return EXIT_OK
        seen += 1
        if args.count is not None and seen >= args.count:
            return EXIT_OK
    if args.count is not None:
        raise Failure(f"only {seen} of {args.count} changes came before {args.timeout} s "
                      "passed without one; raise --timeout or lower --count")
    return EXIT_OK
