"""A fake corosync over real libqb IPC.

It serves a :class:`Script` (a timeline of membership and quorum states; a
story when its states also hold a :class:`Cluster`) or a capture recorded
with ``pyquorum record`` (:mod:`pyquorum.fake.capture_story`): the quorum service
alone (:func:`make_server`) to any client of it, pyquorum or the C
libquorum, or the quorum, votequorum, cmap and cfg services together
(:class:`FakeCorosync`), which ``corosync-quorumtool`` and
``corosync-cmapctl`` also run against.  See docs/fake.md and
:mod:`pyquorum.fake.script` for the file format, :mod:`pyquorum.fake.service`
and :mod:`pyquorum.fake.votequorum_service` for the behaviour they follow,
:mod:`pyquorum.fake.hostile` for the broken variants, and
:class:`pyquorum.testing.FakeQuorumServer` and
:class:`pyquorum.testing.FakeCorosyncServer` for tests.
"""

from pyquorum.fake.capture_story import story_from_capture
from pyquorum.fake.corosync import FakeCorosync
from pyquorum.fake.hostile import HostileQuorumService, Hostility
from pyquorum.fake.replay import script_from_capture
from pyquorum.fake.script import Change, Script, ScriptError, State, Step
from pyquorum.fake.server import demo_capture, example_script, make_server
from pyquorum.fake.service import ClientState, QuorumService
from pyquorum.fake.story import Cluster, ClusterChange, Node, NodeQdevice, Votequorum

__all__ = [
    "Change",
    "ClientState",
    "Cluster",
    "ClusterChange",
    "FakeCorosync",
    "HostileQuorumService",
    "Hostility",
    "Node",
    "NodeQdevice",
    "QuorumService",
    "Script",
    "ScriptError",
    "State",
    "Step",
    "Votequorum",
    "demo_capture",
    "example_script",
    "make_server",
    "script_from_capture",
    "story_from_capture",
]
