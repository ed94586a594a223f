"""Decoded messages of a capture: each record as the message object of its
connection's service (what a multi-service story is rebuilt from).

The capture stores bytes; which codec reads them depends on the service
the connection was made to (its OPEN record, or a version-1 header).
Decoding is lazy and per record, so only a consumer that wants objects
pays for them (``pyquorum replay`` decodes through its sessions instead).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pyquorum.capture.records import Capture, CaptureConnection, CaptureRecord, Channel
from pyquorum.errors import RemoteProtocolError

__all__ = ["DECODED_SERVICES", "decode_record", "decoded"]

_Decoders = tuple[Callable[[bytes], Any], Callable[[bytes], Any], Callable[[bytes], Any]]


def _codecs(service: str) -> _Decoders | None:
    """(request, response, notification) decoders of a service, None if unknown."""
    if service == "quorum":
        from pyquorum.messages import quorum

        return quorum.decode_request, quorum.decode_response, quorum.decode_notification
    if service == "votequorum":
        from pyquorum.messages import votequorum

        return (votequorum.decode_request, votequorum.decode_response,
                votequorum.decode_notification)
    if service == "cmap":
        from pyquorum.messages import cmap

        return cmap.decode_request, cmap.decode_response, cmap.decode_notification
    return None


#: The services whose messages :func:`decode_record` can decode.
DECODED_SERVICES = ("quorum", "votequorum", "cmap")


def decode_record(record: CaptureRecord, service: str) -> Any:
    """The message of ``record`` on a connection to ``service``: a request,
    response or notification object of :mod:`pyquorum.messages`.

    Raises :class:`~pyquorum.errors.RemoteProtocolError` when the bytes are
    not a message of that service, ValueError for a service pyquorum has no
    codec for (cfg, say: its records stay bytes)."""
    codecs = _codecs(service)
    if codecs is None:
        raise ValueError(f"pyquorum decodes no {service!r} messages (only "
                         f"{', '.join(DECODED_SERVICES)})")
    request, response, notification = codecs
    if record.channel is Channel.REQUEST:
        return request(record.data)
    if record.channel is Channel.RESPONSE:
        return response(record.data)
    return notification(record.data)


def decoded(
    capture: Capture, service: str | None = None
) -> Iterator[tuple[CaptureConnection, CaptureRecord, Any]]:
    """Every record of ``capture`` (of one service's connections if given), in
    file order, with its connection and its decoded message (None for a
    service without a codec, or bytes that do not decode: the record is
    still there to look at)."""
    by_id = {conn.id: conn for conn in capture.connections}
    for record in capture.records:
        conn = by_id[record.connection]
        if service is not None and conn.service != service:
            continue
        try:
            message = decode_record(record, conn.service)
        except (ValueError, RemoteProtocolError):
            message = None
        yield conn, record, message
