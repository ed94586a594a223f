"""A client's codec calls never import construct: the requests a session sends
and the responses and events it reads take the struct fast paths (each held to
its schema by the test_*fast_path modules).  Importing construct and compiling
the schemas would be a large part of ``pyquorum status``'s start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from pyquorum.errors import CsErrorCode
from pyquorum.messages import cmap as cm
from pyquorum.messages import quorum as q
from pyquorum.messages import types as t
from pyquorum.messages import votequorum as vq
from pyquorum.messages.constants import CmapTrack, CmapValueType, VotequorumInfo

_VALUE = cm.CmapValue(CmapValueType.STRING, "corosync_votequorum")
_OK = CsErrorCode.OK

#: What a client reads (built here, where the server side's encoders may use construct).
ANSWERS: list[tuple[str, bytes]] = [
    ("cm.decode_response", cm.encode_response(
        cm.GetResponse(_OK, CmapValueType.STRING, 20, _VALUE, 256))),
    ("cm.decode_response", cm.encode_response(cm.IterInitResponse(_OK, 3))),
    ("cm.decode_response", cm.encode_response(cm.IterNextResponse(_OK, "a.b", 4, 7))),
    ("cm.decode_response", cm.encode_response(cm.IterFinalizeResponse(_OK))),
    ("cm.decode_notification", cm.encode_notification(
        cm.NotifyCallback(1, "a.b", CmapTrack.MODIFY, _VALUE, None))),
    ("vq.decode_response", vq.encode_response(vq.StatusResponse(_OK))),
    ("vq.decode_response", vq.encode_response(
        vq.GetInfoResponse(_OK, 1, 1, 1, 3, 3, 3, 2, VotequorumInfo.QUORATE, 0, ""))),
    ("vq.decode_notification", vq.encode_notification(vq.ExpectedVotesNotification(0, 3))),
    ("q.decode_notification", q.encode_notification(
        t.QuorumNotification(True, t.RingId(1, 8), (1, 2, 3)))),
]

#: In a fresh interpreter: import what status imports, encode every request a
#: client sends, decode every answer given on stdin, then list construct's modules.
_CHILD = """
import json, sys
from pyquorum.messages import cmap as cm, quorum as q, votequorum as vq
from pyquorum.messages import types as t
from pyquorum.messages.constants import Model, Track
import pyquorum.services.cmap.session, pyquorum.services.votequorum.session
import pyquorum.commands.status, pyquorum.status

for req in (cm.GetRequest("totem.cluster_name", 256), cm.IterInitRequest("nodelist."),
            cm.IterNextRequest(3), cm.IterFinalizeRequest(3), cm.DeleteRequest("a.b"),
            cm.TrackDeleteRequest(9)):
    cm.encode_request(req)
for req in (vq.GetInfoRequest(0), vq.TrackStartRequest(Track.CURRENT, 0),
            vq.TrackStopRequest(), vq.SetExpectedRequest(3), vq.SetVotesRequest(1, 2)):
    vq.encode_request(req)
for req in (t.GetQuorateRequest(), t.TrackStartRequest(Track.CURRENT),
            t.ModelGetTypeRequest(Model.V1)):
    q.encode_request(req)
decoders = {"cm": cm, "vq": vq, "q": q}
for name, raw in json.load(sys.stdin):
    module, function = name.split(".")
    getattr(decoders[module], function)(bytes.fromhex(raw))
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "construct")))
"""


def test_client_codec_calls_import_no_construct() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    answers = json.dumps([(name, raw.hex()) for name, raw in ANSWERS])
    proc = subprocess.run([sys.executable, "-c", _CHILD], input=answers, capture_output=True,
                          text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []
