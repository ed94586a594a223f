"""What the blocking and the asyncio front ends share, written once.

The properties (:attr:`~FrontendBase.timeout`, :attr:`~FrontendBase.closed`,
:attr:`~FrontendBase.context`), the timeout rule (a request's ``timeout=``
is seconds, None, or :data:`~pyquorum.timeouts.DEFAULT` for the session's
own, made a :class:`~pyquorum._deadline.Deadline` once per call so a
multi-step operation never overruns it) and the run rule: an exchange that
fails *because the session was closed meanwhile* is reported as
BadHandleError, whatever the torn-down connection said.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from pyquorum._deadline import Deadline
from pyquorum.errors import BadHandleError
from pyquorum.frontend.core import ServiceCore
from pyquorum.timeouts import Timeout, resolve

__all__ = ["FrontendBase"]

E = TypeVar("E")


class FrontendBase(Generic[E]):
    """The state both front ends keep around a service core."""

    _core: ServiceCore[E]

    def __init__(self, core: ServiceCore[E], *, timeout: float | None, context: object) -> None:
        Deadline(timeout)  # validates timeout
        self._core = core
        self._timeout = timeout
        self._context = context

    @property
    def timeout(self) -> float | None:
        """The default timeout of calls that expect an answer."""
        return self._timeout

    @property
    def closed(self) -> bool:
        return self._core.closed

    @property
    def context(self) -> object:
        """Any object of yours (``*_context_get/set`` in C); pyquorum never looks at it."""
        self._core.check_open("context")
        return self._context

    @context.setter
    def context(self, value: object) -> None:
        self._core.check_open("context")
        self._context = value

    def _deadline(self, timeout: Timeout) -> Deadline:
        """The deadline of one call (its ``timeout=``, DEFAULT: the session's)."""
        return Deadline(resolve(timeout, self._timeout))

    def _raise_if_closed(self, what: str, exc: BaseException) -> None:
        """An exchange failed with ``exc``: once the session is closed (the
        connection was torn down under it) that is BadHandleError; else the
        caller re-raises ``exc`` as it is."""
        if self._core.closed:
            raise BadHandleError(f"{what}: the session was finalized during the call") from exc
