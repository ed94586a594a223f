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
    # options
    "Backoff": "pyquorum.frontend.reconnect",
    "DispatchMode": "pyquorum.messages.constants",
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

__all__ = sorted([*_LAZY, "__version__"])

if TYPE_CHECKING:
    from pyquorum.aio import AsyncQuorumSession as AsyncQuorumSession
    from pyquorum.errors import (
        AccessError as AccessError,
    )
    from pyquorum.errors import (
        BadFlagsError as BadFlagsError,
    )
    from pyquorum.errors import (
        BadHandleError as BadHandleError,
    )
    from pyquorum.errors import (
        BadOperationError as BadOperationError,
    )
    from pyquorum.errors import (
        BusyError as BusyError,
    )
    from pyquorum.errors import (
        ConnectionLost as ConnectionLost,
    )
    from pyquorum.errors import (
        ContextNotFoundError as ContextNotFoundError,
    )
    from pyquorum.errors import (
        CorosyncNotRunning as CorosyncNotRunning,
    )
    from pyquorum.errors import (
        CsError as CsError,
    )
    from pyquorum.errors import (
        CsErrorCode as CsErrorCode,
    )
    from pyquorum.errors import (
        CsTimeoutError as CsTimeoutError,
    )
    from pyquorum.errors import (
        ExistError as ExistError,
    )
    from pyquorum.errors import (
        FailedOperationError as FailedOperationError,
    )
    from pyquorum.errors import (
        InitError as InitError,
    )
    from pyquorum.errors import (
        InterruptError as InterruptError,
    )
    from pyquorum.errors import (
        InvalidParamError as InvalidParamError,
    )
    from pyquorum.errors import (
        LibraryError as LibraryError,
    )
    from pyquorum.errors import (
        LocalProtocolError as LocalProtocolError,
    )
    from pyquorum.errors import (
        MessageError as MessageError,
    )
    from pyquorum.errors import (
        NameNotFoundError as NameNotFoundError,
    )
    from pyquorum.errors import (
        NameTooLongError as NameTooLongError,
    )
    from pyquorum.errors import (
        NoMemoryError as NoMemoryError,
    )
    from pyquorum.errors import (
        NoResourcesError as NoResourcesError,
    )
    from pyquorum.errors import (
        NoSectionsError as NoSectionsError,
    )
    from pyquorum.errors import (
        NoSpaceError as NoSpaceError,
    )
    from pyquorum.errors import (
        NotExistError as NotExistError,
    )
    from pyquorum.errors import (
        NotSupportedError as NotSupportedError,
    )
    from pyquorum.errors import (
        ProtocolError as ProtocolError,
    )
    from pyquorum.errors import (
        PyquorumError as PyquorumError,
    )
    from pyquorum.errors import (
        QueueFullError as QueueFullError,
    )
    from pyquorum.errors import (
        QueueNotAvailableError as QueueNotAvailableError,
    )
    from pyquorum.errors import (
        RemoteProtocolError as RemoteProtocolError,
    )
    from pyquorum.errors import (
        SecurityError as SecurityError,
    )
    from pyquorum.errors import (
        TooBigError as TooBigError,
    )
    from pyquorum.errors import (
        TooManyGroupsError as TooManyGroupsError,
    )
    from pyquorum.errors import (
        TryAgainError as TryAgainError,
    )
    from pyquorum.errors import (
        VersionError as VersionError,
    )
    from pyquorum.events import (
        ConnectionLostEvent as ConnectionLostEvent,
    )
    from pyquorum.events import (
        Event as Event,
    )
    from pyquorum.events import (
        NodelistNotification as NodelistNotification,
    )
    from pyquorum.events import (
        QuorumNotification as QuorumNotification,
    )
    from pyquorum.events import (
        QuorumNotificationV0 as QuorumNotificationV0,
    )
    from pyquorum.events import (
        Reconnected as Reconnected,
    )
    from pyquorum.events import (
        RingId as RingId,
    )
    from pyquorum.events import (
        SupervisorEvent as SupervisorEvent,
    )
    from pyquorum.events import (
        UnknownNotification as UnknownNotification,
    )
    from pyquorum.frontend.reconnect import Backoff as Backoff
    from pyquorum.messages.constants import (
        DispatchMode as DispatchMode,
    )
    from pyquorum.messages.constants import (
        Model as Model,
    )
    from pyquorum.messages.constants import (
        QuorumType as QuorumType,
    )
    from pyquorum.messages.constants import (
        Track as Track,
    )
    from pyquorum.reconnect import (
        AsyncReconnectingSession as AsyncReconnectingSession,
    )
    from pyquorum.reconnect import (
        ReconnectingSession as ReconnectingSession,
    )
    from pyquorum.services.quorum.session import QuorumSession as QuorumSession
    from pyquorum.timeouts import DEFAULT as DEFAULT
    from pyquorum.timeouts import Timeout as Timeout


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pyquorum' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once resolved, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
