"""A long-running command in a node's network namespace, its stdout read line by line.

Live tests start ``pyquorum watch`` or ``pyquorum record`` on a node and read
what it prints while they change the cluster; a thread moves each line into a
queue so a read can wait with a deadline.
"""

from __future__ import annotations

import queue
import subprocess
import threading
from pathlib import Path

from pyquorum.testing.cluster import Node


class NodeCommand:
    """``argv`` run with ``ip netns exec`` in ``node``'s namespace."""

    def __init__(self, node: Node, *argv: str, cwd: Path | None = None) -> None:
        self.proc = subprocess.Popen(["ip", "netns", "exec", node.netns, *argv],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     cwd=cwd)
        self.lines: queue.Queue[str | None] = queue.Queue()
        #: Every line read so far (for failure messages).
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next(self, timeout: float = 10.0) -> str:
        """The next line within ``timeout``; AssertionError if none comes or the command ended."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no line within {timeout} s after {self.seen}") from None
        assert line is not None, f"the command ended after {self.seen}"
        self.seen.append(line)
        return line
