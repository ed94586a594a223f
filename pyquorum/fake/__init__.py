"""A fake corosync quorum service over real libqb IPC.

It serves a :class:`Script` (a timeline of membership and quorum states) or a
capture recorded with ``pyquorum record`` (:mod:`pyquorum.fake.replay`) to any
client of the quorum service: pyquorum, or the C libquorum (not
``corosync-quorumtool``, which also needs cmap and votequorum).  See
:mod:`pyquorum.fake.script` for the file format, :mod:`pyquorum.fake.service`
for the behaviour it follows, :mod:`pyquorum.fake.hostile` for the broken
variants, and :class:`pyquorum.testing.FakeQuorumServer` for tests.
"""

from pyquorum.fake.hostile import HostileQuorumService, Hostility
from pyquorum.fake.replay import script_from_capture
from pyquorum.fake.script import Change, Script, ScriptError, State, Step
from pyquorum.fake.server import demo_capture, example_script, make_server
from pyquorum.fake.service import ClientState, QuorumService

__all__ = [
    "Change",
    "ClientState",
    "HostileQuorumService",
    "Hostility",
    "QuorumService",
    "Script",
    "ScriptError",
    "State",
    "Step",
    "demo_capture",
    "example_script",
    "make_server",
    "script_from_capture",
]
