"""What every part of the cluster harness shares: limits, paths, errors and tools.

Why a module of its own: the node, the cluster, the network and the
clean-up registry all raise the same errors and find the same binaries, and
none of them should have to import another just for that.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from pyquorum.testing.cluster.network import find_binary

__all__ = [
    "ADDRESS_PREFIX",
    "DEFAULT_TIMEOUT",
    "DEFAULT_TOKEN_MS",
    "MAX_NODES",
    "PREFIX_LEN",
    "RUN_ROOT",
    "STOP_TIMEOUT",
    "WORK_ROOT",
    "ClusterError",
    "ClusterUnavailable",
    "CommandFailed",
    "binary",
    "check_available",
    "command_env",
]

#: totem token timeout.  1000 ms keeps membership changes around 2 s while
#: staying clear of false token losses on a loaded 2-core box (corosync
#: runs SCHED_RR as root, so it is rarely starved).
DEFAULT_TOKEN_MS = 1000
#: Default for every wait: generous, since a wait costs only what it needs.
DEFAULT_TIMEOUT = 30.0
#: How long a SIGTERMed daemon may take before it is SIGKILLed.
STOP_TIMEOUT = 15.0
#: State file of every cluster: ``RUN_ROOT/<tag>/state.json``.
RUN_ROOT = Path("/run/pyquorum-cluster")
#: Default work directories (configs, logs, corosync state): ``WORK_ROOT/<tag>``.
#: Not under /run, which each node replaces with its own directory.
WORK_ROOT = Path("/tmp/pyquorum-cluster")

#: Node ``i`` is ``ADDRESS_PREFIX + i``; the qnetd host, when there is one, is ``.254``.
ADDRESS_PREFIX = "198.18.0."
PREFIX_LEN = 15
MAX_NODES = 99

_REQUIRED_BINARIES = {
    "ip": "iproute2",
    "corosync": "corosync",
    "corosync-quorumtool": "corosync",
    "corosync-cmapctl": "corosync",
    "unshare": "util-linux",
    "mount": "mount",
    "sh": "dash",
}


class ClusterUnavailable(RuntimeError):
    """This machine cannot run a live cluster (not root, or a tool is missing).

    Test suites turn this into a skip (or a failure where live tests are
    mandatory); it is never raised for a cluster that started and misbehaved.
    """


class ClusterError(RuntimeError):
    """A cluster or node operation failed; the message includes corosync's log tail."""


class CommandFailed(subprocess.CalledProcessError):
    """A command run inside a node's namespace failed; str() includes its stderr."""

    def __str__(self) -> str:
        err = self.stderr.strip() if isinstance(self.stderr, str) else ""
        out = self.stdout.strip() if isinstance(self.stdout, str) else ""
        return f"{super().__str__()}\nstderr: {err or '(empty)'}\nstdout: {out or '(empty)'}"


def check_available(extra: dict[str, str] | None = None) -> None:
    """Raise :class:`ClusterUnavailable` naming everything this machine lacks.

    ``extra`` maps further binaries a particular cluster needs to their
    Debian packages (a quorum device needs corosync-qnetd and corosync-qdevice).
    """
    required = {**_REQUIRED_BINARIES, **(extra or {})}
    missing = []
    if os.geteuid() != 0:
        missing.append(f"root (running as uid {os.geteuid()}; network namespaces need it)")
    if not os.path.exists("/proc/self/ns/net"):
        missing.append("a kernel with network namespaces")
    lacking = sorted({pkg for b, pkg in required.items() if find_binary(b) is None})
    if lacking:
        tools = sorted(b for b, pkg in required.items() if find_binary(b) is None)
        missing.append(f"{', '.join(tools)} (apt-get install {' '.join(lacking)})")
    if missing:
        raise ClusterUnavailable("a live corosync cluster needs " + "; ".join(missing))


def binary(name: str) -> str:
    """Absolute path of a tool the harness runs; :class:`ClusterUnavailable` if missing."""
    path = find_binary(name)
    if path is None:
        raise ClusterUnavailable(f"{name} is not installed")
    return path


def command_env() -> dict[str, str]:
    """The environment for corosync and its tools: ours, in the C locale, with sbin on PATH."""
    env = dict(os.environ)
    env["LC_ALL"] = "C"
    path = env.get("PATH", "")
    extra = [d for d in ("/usr/sbin", "/sbin") if d not in path.split(os.pathsep)]
    env["PATH"] = os.pathsep.join([p for p in [path, *extra] if p])
    return env
