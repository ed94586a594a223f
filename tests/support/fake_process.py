"""A fake corosync in a process of its own, in a private network namespace.

The in-process :class:`~pyquorum.testing.fake.FakeQuorumServer` shares the
test's fd table, CPU time and GIL with the clients it serves.  What is
measured per client (file descriptors, idle CPU, a flood's pace) needs the
server elsewhere: ``pyquorum serve`` under ``unshare --net`` (root), which
the clients join through ``/proc/<pid>/ns/net``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pyquorum.fake import Script
from pyquorum.netns import NetNamespace

__all__ = ["FakeProcess", "fake_process"]


@dataclass
class FakeProcess:
    """A running ``pyquorum serve``: its process and its network namespace."""

    proc: subprocess.Popen[bytes]
    netns: NetNamespace
    name: str
    transport: str

    @property
    def pid(self) -> int:
        return self.proc.pid

    def netns_context(self) -> contextlib.AbstractContextManager[None]:
        """Move the calling thread into the server's namespace for the block."""
        return self.netns.entered()


def _listening(pid: int, name: str) -> bool:
    """Whether ``@name`` is bound in ``pid``'s namespace (read, not connected to)."""
    try:
        with open(f"/proc/{pid}/net/unix", "rb") as f:
            table = f.read()
    except OSError:
        return False
    return any(line.split()[-1].rstrip(b"@") == b"@" + name.encode()
               for line in table.splitlines()[1:] if len(line.split()) >= 8)


@contextlib.contextmanager
def fake_process(
    script: Script,
    *,
    name: str = "quorum",
    transport: str = "shm",
    extra: Sequence[str] = (),
    command: Sequence[str] | None = None,
    timeout: float = 20.0,
) -> Iterator[FakeProcess]:
    """Serve ``script`` from a child process in a private namespace; stopped on exit.

    ``command`` replaces ``pyquorum serve`` (it must listen on ``@name``
    and stop on SIGTERM; ``script`` is then not used).  Needs root
    (``unshare --net``).  Waits, with a deadline, until the server listens.
    """
    unshare = shutil.which("unshare")
    if unshare is None:
        raise RuntimeError("unshare(1) is needed to start a fake server in its own namespace")
    tmp = Path(tempfile.mkdtemp(prefix="pyquorum-fake-"))
    path = tmp / "script.jsonl"
    path.write_text(script.dumps())
    server = command or [sys.executable, "-m", "pyquorum", "serve", "--script", str(path),
                         "--name", name, "--transport", transport, *extra]
    argv = [unshare, "--net", *server]
    with open(tmp / "stderr", "w+b") as log:  # a file, not a pipe nobody drains
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=log)
        netns: NetNamespace | None = None
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    err = log.read().decode(errors="replace")
                    raise RuntimeError(f"the fake server exited with {proc.returncode}: {err}")
                if netns is None:
                    # unshare(1) without --fork execs Python in the new namespace;
                    # until then /proc/<pid>/ns/net is still the parent's.
                    with contextlib.suppress(OSError):
                        candidate = NetNamespace.open(f"/proc/{proc.pid}/ns/net")
                        if candidate.is_current():
                            candidate.close()
                        else:
                            netns = candidate
                if netns is not None and _listening(proc.pid, name):
                    break
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"the fake server did not listen within {timeout} s")
                time.sleep(0.01)
            yield FakeProcess(proc, netns, name, transport)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
            if netns is not None:
                netns.close()
            shutil.rmtree(tmp, ignore_errors=True)
            # A server killed before it could clean up leaves its /dev/shm files.
            for entry in os.listdir("/dev/shm"):
                if entry.startswith(f"qb-{proc.pid}-"):
                    shutil.rmtree(os.path.join("/dev/shm", entry), ignore_errors=True)
