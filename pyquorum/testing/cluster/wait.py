"""Deadline-based polling for live tests, with failure messages worth reading.

Why not ``time.sleep(3)``: a fixed sleep is either too short on a loaded CI
box or wastes time everywhere else.  Polling a predicate against a deadline
costs only what the cluster actually needs, and when it does time out the
error says what was awaited, what was last seen, and what corosync logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

__all__ = ["WaitTimeout", "log_tail", "wait_until"]

T = TypeVar("T")

DEFAULT_INTERVAL = 0.05


class WaitTimeout(TimeoutError):
    """A wait helper's deadline passed; the message names what was awaited."""

    def __init__(self, what: str, timeout: float, details: str) -> None:
        self.what = what
        self.timeout = timeout
        super().__init__(f"timed out after {timeout:g} s waiting for {what}{details}")


def log_tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a text file, or a note saying why there are none."""
    try:
        with path.open("rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read().decode("utf-8", "replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc.strerror})"
    tail = data.splitlines()[-lines:]
    return "\n".join(tail) if tail else "(empty)"


def wait_until(
    predicate: Callable[[], T | None],
    timeout: float,
    what: str,
    *,
    interval: float = DEFAULT_INTERVAL,
    logs: Iterable[Path] = (),
    describe: Callable[[], str] | None = None,
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """Poll ``predicate`` until it returns something truthy, and return that.

    Raises :class:`WaitTimeout` (a ``TimeoutError``) after ``timeout``
    seconds.  The message names ``what``, the last value or ignored
    exception seen, ``describe()`` if given, and the tail of each of ``logs``.
    Exceptions listed in ``ignore`` count as "not yet"; any other exception
    propagates at once (a dead daemon should fail fast, not time out).
    The predicate is always tried at least once, even with ``timeout=0``.
    """
    deadline = time.monotonic() + timeout
    last: str = "nothing (never evaluated)"
    while True:
        try:
            value = predicate()
        except ignore as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if value:
                return value
            last = repr(value)
        now = time.monotonic()
        if now >= deadline:
            break
        time.sleep(min(interval, deadline - now))
    details = f"\nlast seen: {last}"
    if describe is not None:
        try:
            details += f"\nstate: {describe()}"
        except Exception as exc:  # the description is a courtesy, never the failure
            details += f"\nstate: (unavailable: {type(exc).__name__}: {exc})"
    for path in logs:
        details += f"\n--- tail of {path} ---\n{log_tail(path)}"
    raise WaitTimeout(what, timeout, details)
