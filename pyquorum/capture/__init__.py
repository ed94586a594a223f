"""Captures: the raw traffic of one quorum session, recorded and replayed.

A capture holds every message one client session exchanged with corosync's
quorum service, byte for byte, with the time it passed: the requests the
client sent, the responses it got and the events (notifications) it
received.  ``pyquorum record`` writes one while watching; ``pyquorum
replay`` decodes one to exactly the lines ``pyquorum watch`` printed live;
the fake server (:mod:`pyquorum.fake`) serves one to any libqb client.
The libqb handshake (connection request and response) is not recorded:
it carries only transport details, summed up in the header.

The API::

    with CaptureWriter("watch.pqcap", CaptureHeader.for_connection(conn, Model.V1)) as w:
        session = QuorumSession(Model.V1, connection=RecordingConnection(conn, w))
        ...
    capture = read_capture("watch.pqcap")          # header + all records, checked
    with iter_capture("watch.pqcap") as reader:    # header at once, records as read
        print(reader.header.transport)
        for record in reader: ...

File format, version 1 (all integers little-endian)
===================================================

A **preamble** line, ``b"pyquorum-capture 1\\n"``: the format name and the
version as ASCII digits.  A reader refuses any other version by name
before looking further.  Then **records**, back to back, each::

    offset  size  field
    0       1     kind      0 HEADER, 1 REQUEST, 2 RESPONSE, 3 EVENT, 4 END
    1       3     reserved  zero
    4       4     length    n, bytes of data (u32, at most MAX_DATA)
    8       8     time      seconds since the capture started (IEEE 754 double;
                            finite, >= 0, never less than the previous record's)
    16      n     data      the message exactly as it crossed the wire
    16+n    4     crc       CRC-32 (zlib.crc32) of bytes 0 .. 16+n of this record

* The first record is the HEADER: its data is one UTF-8 JSON object (see
  :class:`CaptureHeader`; unknown keys are ignored, so version 1 may gain
  optional keys), its time 0.
* Then one REQUEST, RESPONSE or EVENT record per message, in the order
  the client saw them (the ``Channel``; kinds 1-3).
* The last record is END: JSON ``{"records": N}``, N the number of message
  records.  A file without it was cut short (a crashed recording, a
  truncated copy); it is refused, as are bytes after it.

Any damage (a truncated file, a bad magic or version, a CRC mismatch, an
unknown kind, a time going backwards, a header that is not the JSON
described, a record count that does not add up) raises
:class:`CaptureError`, whose message names the record and byte offset,
never anything else.  Message records are numbered from 0 in file order,
as in :attr:`Capture.records`; the header and end records are named as
such.  See docs/capture-format.md for the rationale and an example.
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
