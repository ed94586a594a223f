"""Running one script through a C oracle and through pyquorum's twin of it.

A service's differential test supplies a :class:`ScriptRunner` (its
``command`` mirrors the oracle's script mode on a pyquorum session);
:func:`both` runs the script on both sides so the lines can be compared.
"""

from __future__ import annotations

import textwrap
from typing import Any, Protocol

from tests.oracle import run_oracle
from tests.support.oracles import require_oracle

Node = Any  # pyquorum.testing.cluster.Node
Lines = list[dict[str, Any]]


class _Closable(Protocol):
    def close(self) -> None: ...


class ScriptRunner:
    """Runs an oracle script's lines (blank and ``#`` lines skipped) through
    :meth:`command`, then closes the session the script left open."""

    out: Lines
    session: _Closable | None

    def command(self, line: str) -> None:
        raise NotImplementedError

    def run(self, script: str) -> Lines:
        for line in script.splitlines():
            if line.strip() and not line.strip().startswith("#"):
                self.command(line.strip())
        if self.session is not None:
            self.session.close()
        return self.out


def both(service: str, node: Node, script: str, runner: ScriptRunner) -> tuple[Lines, Lines]:
    """(oracle's lines, ``runner``'s lines) for ``script`` on ``node``."""
    script = textwrap.dedent(script).strip() + "\n"
    require_oracle(service)
    expected = run_oracle(service, node, script)
    with node.netns_context():
        got = runner.run(script)
    return expected, got
