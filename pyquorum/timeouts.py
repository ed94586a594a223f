"""The one timeout default every front end uses.

A request method's ``timeout=`` is seconds (a float), ``None`` (no limit)
or :data:`DEFAULT`, which means "the session's own timeout" (the one given
to its constructor).  :data:`Timeout` is that union, for annotations.
"""

from __future__ import annotations

import enum
from typing import Final, Literal

__all__ = ["DEFAULT", "Default", "Timeout", "resolve"]


class Default(enum.Enum):
    """The type of :data:`DEFAULT` (a one-member enum, so mypy can narrow it)."""

    DEFAULT = "default"


#: "Use the session's timeout": the default of every request method's ``timeout=``.
DEFAULT: Final = Default.DEFAULT

#: What a request method's ``timeout=`` accepts.
Timeout = float | None | Literal[Default.DEFAULT]


def resolve(timeout: Timeout, session_default: float | None) -> float | None:
    """The seconds a call may take: ``timeout``, or the session's when it is DEFAULT."""
    return session_default if timeout is DEFAULT else timeout
