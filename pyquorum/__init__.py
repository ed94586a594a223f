"""pyquorum: a pure-Python client for corosync's cluster services over libqb IPC.

The names below are the public surface; each is imported from its module
the first time it is used (a module ``__getattr__``), so ``import pyquorum``
costs almost nothing and brings in neither asyncio nor the test helpers
(:mod:`pyquorum.fake`, :mod:`pyquorum.capture`, :mod:`pyquorum.testing`).
The helpers that map codes to error classes (``raise_for_code``,
``for_code``, ``error_from_errno``) live in :mod:`pyquorum.errors` only.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_ERRORS = (
    "AccessError", "BadFlagsError", "BadHandleError", "BadOperationError", "BusyError",
    "ConnectionLost", "ContextNotFoundError", "CorosyncNotRunning", "CsError", "CsErrorCode",
    "CsTimeoutError", "ExistError", "FailedOperationError", "InitError", "InterruptError",
    "InvalidParamError", "LibraryError", "LocalProtocolError", "MessageError",
    "NameNotFoundError", "NameTooLongError", "NoMemoryError", "NoResourcesError",
    "NoSectionsError", "NoSpaceError", "NotExistError", "NotSupportedError", "ProtocolError",
    "PyquorumError", "QueueFullError", "QueueNotAvailableError", "RemoteProtocolError",
    "SecurityError", "TooBigError", "TooManyGroupsError", "TryAgainError", "VersionError",
)

#: Public name → the module it lives in.
_LAZY: dict[str, str] = {
    # sessions
    "QuorumSession": "pyquorum.services.quorum.session",
    "AsyncQuorumSession": "pyquorum.aio",
    "ReconnectingSession": "pyquorum.reconnect",
    "AsyncReconnectingSession": "pyquorum.reconnect",
    "VotequorumSession": "pyquorum.services.votequorum.session",
    "AsyncVotequorumSession": "pyquorum.aio",
    "CmapSession": "pyquorum.services.cmap.session",
    "AsyncCmapSession": "pyquorum.aio",
    # votequorum and cmap values and events
    "VotequorumNodeInfo": "pyquorum.services.votequorum.session",
    "VotequorumQuorumNotification": "pyquorum.services.votequorum.session",
    "VotequorumNodelistNotification": "pyquorum.services.votequorum.session",
    "ExpectedVotesNotification": "pyquorum.services.votequorum.session",
    "NodeStatus": "pyquorum.services.votequorum.session",
    "CmapValue": "pyquorum.messages.cmap",
    "CmapChange": "pyquorum.services.cmap.core",
    "CmapTracker": "pyquorum.services.cmap.core",
    "CmapKey": "pyquorum.services.cmap.core",
    # options
    "Backoff": "pyquorum.frontend.reconnect",
    "DispatchMode": "pyquorum.messages.constants",
    "CmapMap": "pyquorum.messages.constants",
    "CmapTrack": "pyquorum.messages.constants",
    "CmapValueType": "pyquorum.messages.constants",
    "NodeState": "pyquorum.messages.constants",
    "VotequorumInfo": "pyquorum.messages.constants",
    "Model": "pyquorum.messages.constants",
    "QuorumType": "pyquorum.messages.constants",
    "Track": "pyquorum.messages.constants",
    "DEFAULT": "pyquorum.timeouts",
    "Timeout": "pyquorum.timeouts",
    # events
    "ConnectionLostEvent": "pyquorum.events",
    "Event": "pyquorum.events",
    "NodelistNotification": "pyquorum.events",
    "QuorumNotification": "pyquorum.events",
    "QuorumNotificationV0": "pyquorum.events",
    "Reconnected": "pyquorum.events",
    "RingId": "pyquorum.events",
    "SupervisorEvent": "pyquorum.events",
    "UnknownNotification": "pyquorum.events",
    # errors
    **dict.fromkeys(_ERRORS, "pyquorum.errors"),
}

__all__ = [
    "DEFAULT",
    "AccessError",
    "AsyncCmapSession",
    "AsyncQuorumSession",
    "AsyncReconnectingSession",
    "AsyncVotequorumSession",
    "Backoff",
    "BadFlagsError",
    "BadHandleError",
    "BadOperationError",
    "BusyError",
    "CmapChange",
    "CmapKey",
    "CmapMap",
    "CmapSession",
    "CmapTrack",
    "CmapTracker",
    "CmapValue",
    "CmapValueType",
    "ConnectionLost",
    "ConnectionLostEvent",
    "ContextNotFoundError",
    "CorosyncNotRunning",
    "CsError",
    "CsErrorCode",
    "CsTimeoutError",
    "DispatchMode",
    "Event",
    "ExistError",
    "ExpectedVotesNotification",
    "FailedOperationError",
    "InitError",
    "InterruptError",
    "InvalidParamError",
    "LibraryError",
    "LocalProtocolError",
    "MessageError",
    "Model",
    "NameNotFoundError",
    "NameTooLongError",
    "NoMemoryError",
    "NoResourcesError",
    "NoSectionsError",
    "NoSpaceError",
    "NodeState",
    "NodeStatus",
    "NodelistNotification",
    "NotExistError",
    "NotSupportedError",
    "ProtocolError",
    "PyquorumError",
    "QueueFullError",
    "QueueNotAvailableError",
    "QuorumNotification",
    "QuorumNotificationV0",
    "QuorumSession",
    "QuorumType",
    "Reconnected",
    "ReconnectingSession",
    "RemoteProtocolError",
    "RingId",
    "SecurityError",
    "SupervisorEvent",
    "Timeout",
    "TooBigError",
    "TooManyGroupsError",
    "Track",
    "TryAgainError",
    "UnknownNotification",
    "VersionError",
    "VotequorumInfo",
    "VotequorumNodeInfo",
    "VotequorumNodelistNotification",
    "VotequorumQuorumNotification",
    "VotequorumSession",
    "__version__",
]

if TYPE_CHECKING:
    from pyquorum.aio import AsyncCmapSession, AsyncQuorumSession, AsyncVotequorumSession
    from pyquorum.errors import (
        AccessError,
        BadFlagsError,
        BadHandleError,
        BadOperationError,
        BusyError,
        ConnectionLost,
        ContextNotFoundError,
        CorosyncNotRunning,
        CsError,
        CsErrorCode,
        CsTimeoutError,
        ExistError,
        FailedOperationError,
        InitError,
        InterruptError,
        InvalidParamError,
        LibraryError,
        LocalProtocolError,
        MessageError,
        NameNotFoundError,
        NameTooLongError,
        NoMemoryError,
        NoResourcesError,
        NoSectionsError,
        NoSpaceError,
        NotExistError,
        NotSupportedError,
        ProtocolError,
        PyquorumError,
        QueueFullError,
        QueueNotAvailableError,
        RemoteProtocolError,
        SecurityError,
        TooBigError,
        TooManyGroupsError,
        TryAgainError,
        VersionError,
    )
    from pyquorum.events import (
        ConnectionLostEvent,
        Event,
        NodelistNotification,
        QuorumNotification,
        QuorumNotificationV0,
        Reconnected,
        RingId,
        SupervisorEvent,
        UnknownNotification,
    )
    from pyquorum.frontend.reconnect import Backoff
    from pyquorum.messages.cmap import CmapValue
    from pyquorum.messages.constants import (
        CmapMap,
        CmapTrack,
        CmapValueType,
        DispatchMode,
        Model,
        NodeState,
        QuorumType,
        Track,
        VotequorumInfo,
    )
    from pyquorum.reconnect import AsyncReconnectingSession, ReconnectingSession
    from pyquorum.services.cmap.core import CmapChange, CmapKey, CmapTracker
    from pyquorum.services.cmap.session import CmapSession
    from pyquorum.services.quorum.session import QuorumSession
    from pyquorum.services.votequorum.session import (
        ExpectedVotesNotification,
        NodeStatus,
        VotequorumNodeInfo,
        VotequorumNodelistNotification,
        VotequorumQuorumNotification,
        VotequorumSession,
    )
    from pyquorum.timeouts import DEFAULT, Timeout


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pyquorum' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once resolved, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
