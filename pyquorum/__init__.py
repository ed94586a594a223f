"""pyquorum: a pure-Python client for corosync's quorum service over libqb IPC."""

from pyquorum.errors import *  # noqa: F403
from pyquorum.errors import __all__ as _errors_all
from pyquorum.events import ConnectionLostEvent, Reconnected
from pyquorum.messages.constants import DispatchMode, Model, QuorumType, Track
from pyquorum.messages.types import (
    NodelistNotification,
    QuorumNotification,
    QuorumNotificationV0,
    RingId,
)
from pyquorum.session import QuorumSession

__version__ = "0.1.0"
__all__ = [
    "ConnectionLostEvent",
    "DispatchMode",
    "Model",
    "NodelistNotification",
    "QuorumNotification",
    "QuorumNotificationV0",
    "QuorumSession",
    "QuorumType",
    "Reconnected",
    "RingId",
    "Track",
    "__version__",
    *_errors_all,
]
