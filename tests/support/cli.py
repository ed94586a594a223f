"""A scripted corosync for the command's tests, in process or in a child process.

:class:`Daemon` replaces ``QuorumSession`` where the command looks it up; a
test that runs ``pyquorum`` in a child process imports it from here, the
child having no access to the test module's globals.
"""

from __future__ import annotations

from typing import Any

from pyquorum import QuorumSession
from pyquorum.messages.constants import Model, QuorumType
from pyquorum.messages.types import (
    ErrorResponse,
    GetTypeResponse,
    ModelGetTypeResponse,
    TrackStartResponse,
)
from tests.support.session_fakes import OK, FakeConnection, Reply, Script


class Daemon:
    """Replaces QuorumSession in the CLI; each session gets a scripted FakeConnection."""

    def __init__(self, *replies: Script, old: bool = False,
                 refuse: BaseException | None = None) -> None:
        self.replies = replies
        self.old = old
        self.refuse = refuse
        self.connections: list[FakeConnection] = []
        self.models: list[Model] = []

    def __call__(self, model: Model, **kw: Any) -> QuorumSession:
        if self.refuse is not None:
            raise self.refuse
        self.models.append(model)
        init: list[Script]
        if model is Model.V0:
            init = [GetTypeResponse(OK, QuorumType.SET)]
        elif self.old:
            init = [ErrorResponse(7), GetTypeResponse(OK, QuorumType.SET)]
        else:
            init = [ModelGetTypeResponse(OK, QuorumType.SET)]
        fake = FakeConnection(*init, *self.replies)
        self.connections.append(fake)
        return QuorumSession(model, connection=fake, **kw)


def snapshot(*events: object) -> Reply:
    return Reply(TrackStartResponse(OK), tuple(events))  # type: ignore[arg-type]
