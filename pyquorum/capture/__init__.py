"""Captures: the raw traffic of one quorum session, recorded and replayed.

A capture holds every request, response and event one client session
exchanged with corosync's quorum service, byte for byte, with the time each
passed.  ``pyquorum record`` writes one while watching, ``pyquorum replay``
prints one as ``pyquorum watch`` printed it live, and the fake server
(:mod:`pyquorum.fake`) serves one to any libqb client.  The file format
(version 1: the preamble, the CRC-checked records, the JSON header and end
record), the reasons for it, the errors a damaged file gives and this
package's API are described once, in ``docs/capture-format.md``.
"""

from pyquorum.capture.connections import PlaybackConnection, RecordingConnection
from pyquorum.capture.reader import CaptureReader, capture_from_bytes, iter_capture, read_capture
from pyquorum.capture.records import (
    CAPTURE_VERSION,
    MAGIC,
    MAX_DATA,
    Capture,
    CaptureError,
    CaptureHeader,
    CaptureRecord,
    Channel,
)
from pyquorum.capture.writer import CaptureWriter, write_capture

__all__ = [
    "CAPTURE_VERSION",
    "MAGIC",
    "MAX_DATA",
    "Capture",
    "CaptureError",
    "CaptureHeader",
    "CaptureReader",
    "CaptureRecord",
    "CaptureWriter",
    "Channel",
    "PlaybackConnection",
    "RecordingConnection",
    "capture_from_bytes",
    "iter_capture",
    "read_capture",
    "write_capture",
]
