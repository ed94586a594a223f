"""Captures: the raw traffic of client sessions with corosync, recorded and replayed.

A capture holds every request, response and event of one or more client
connections (quorum, votequorum, cmap, cfg), byte for byte, with the time
each passed, and when each connection opened and closed.  ``pyquorum
record`` writes one while watching (or reading one status snapshot),
``pyquorum replay`` prints one as ``pyquorum watch`` (or ``status``)
printed it live, and the fake corosync (:mod:`pyquorum.fake`) serves one's
story (every service it recorded) to any libqb client.  The file format (versions 1 and 2: the
preamble, the CRC-checked records, the JSON header, connection and end
records), the reasons for it, the errors a damaged file gives and this
package's API are described once, in ``docs/capture-format.md``.
"""

from pyquorum.capture.connections import CaptureDemux, PlaybackConnection, RecordingConnection
from pyquorum.capture.decode import decode_record, decoded
from pyquorum.capture.reader import (
    IN_MEMORY_LIMIT,
    CaptureBytes,
    CaptureReader,
    capture_from_bytes,
    iter_capture,
    read_capture,
)
from pyquorum.capture.records import (
    CAPTURE_VERSION,
    MAGIC,
    MAX_DATA,
    READ_VERSIONS,
    Capture,
    CaptureConnection,
    CaptureError,
    CaptureHeader,
    CaptureRecord,
    Channel,
    CloseReason,
)
from pyquorum.capture.writer import CaptureWriter, write_capture

__all__ = [
    "CAPTURE_VERSION",
    "IN_MEMORY_LIMIT",
    "MAGIC",
    "MAX_DATA",
    "READ_VERSIONS",
    "Capture",
    "CaptureBytes",
    "CaptureConnection",
    "CaptureDemux",
    "CaptureError",
    "CaptureHeader",
    "CaptureReader",
    "CaptureRecord",
    "CaptureWriter",
    "Channel",
    "CloseReason",
    "PlaybackConnection",
    "RecordingConnection",
    "capture_from_bytes",
    "decode_record",
    "decoded",
    "iter_capture",
    "read_capture",
    "write_capture",
]
