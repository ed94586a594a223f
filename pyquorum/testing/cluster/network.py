"""The cluster's network: namespace names, ``ip`` calls, the switch and its partitions.

Why a module of its own: everything here is about the kernel's network
namespaces and ``iproute2``, nothing about corosync, and the cluster code
reads more easily when these mechanics are out of the way.

Names carry their creator's pid so that leftovers of a crashed run can be
told apart from a live run's objects (see ``cluster.sweep_stale``)::

    pq<pid>c<counter><kind><index>      e.g. pq4242c3n1, pq4242c3h1, pq4242c3b0

``kind`` is ``s`` (the switch namespace holding the bridges), ``n`` (a node's
namespace), ``q`` (the quorum device host's namespace), ``b`` (a bridge) or
``h`` (the switch-side end of a host's veth pair; the qnetd host's is
``h0``).  Interface names must fit IFNAMSIZ (15 characters); the counter is
kept short enough for that even with a 7-digit pid.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pyquorum.netns import NETNS_DIR, netns_context

__all__ = [
    "IFNAMSIZ",
    "NETNS_DIR",
    "Host",
    "IpError",
    "Switch",
    "counter_limit",
    "find_binary",
    "ip",
    "ip_batch",
    "list_netns",
    "list_root_links",
    "make_name",
    "netns_context",
    "netns_pids",
    "parse_name",
    "parse_tag",
]

IFNAMSIZ = 15  # usable characters of an interface name (16 with the NUL)
_MAX_INDEX_DIGITS = 2  # node ids and partition groups stay below 100

_NAME_RE = re.compile(r"^pq(?P<pid>\d+)c(?P<ctr>\d+)(?P<kind>[a-z])(?P<idx>\d*)$")
_TAG_RE = re.compile(r"^pq(?P<pid>\d+)c(?P<ctr>\d+)$")

# sbin directories are often missing from PATH under sudo, cron or CI runners.
_EXTRA_PATH = ("/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin")


class IpError(RuntimeError):
    """An ``ip`` command failed; the message carries the command and its stderr."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(f"{' '.join(argv)!s} failed ({returncode}): {stderr.strip()}")


def find_binary(name: str) -> str | None:
    """Absolute path of ``name`` from PATH or the usual sbin directories, else None."""
    found = shutil.which(name)
    if found:
        return found
    return shutil.which(name, path=os.pathsep.join(_EXTRA_PATH))


def counter_limit(pid: int) -> int:
    """How many cluster counters fit next to ``pid`` in a 15-character interface name."""
    digits = IFNAMSIZ - len(f"pq{pid}c") - 1 - _MAX_INDEX_DIGITS
    return int(10 ** min(max(digits, 1), 6))


def make_name(tag: str, kind: str, index: int | None = None) -> str:
    """The name of one object of the cluster ``tag`` (see the module docstring)."""
    name = f"{tag}{kind}{'' if index is None else index}"
    if kind in "bh" and len(name) > IFNAMSIZ:
        raise ValueError(f"interface name {name!r} is longer than {IFNAMSIZ} characters")
    return name


def parse_name(name: str) -> tuple[str, int] | None:
    """(tag, owner pid) of a harness object name, or None if it is not one of ours."""
    m = _NAME_RE.match(name)
    if m is None:
        return None
    return f"pq{m['pid']}c{m['ctr']}", int(m["pid"])


def parse_tag(tag: str) -> int | None:
    """Owner pid of a cluster tag such as ``pq4242c3``, or None if it is not a tag."""
    m = _TAG_RE.match(tag)
    return int(m["pid"]) if m else None


def ip(*args: str, netns: str | None = None, check: bool = True) -> str:
    """Run one ``ip`` command (inside ``netns`` if given) and return its stdout."""
    argv = [find_binary("ip") or "ip"]
    if netns is not None:
        argv += ["-n", netns]
    argv += list(args)
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    if check and proc.returncode != 0:
        raise IpError(argv, proc.returncode, proc.stderr)
    return proc.stdout


def ip_batch(commands: Iterable[str], *, netns: str | None = None, force: bool = False) -> None:
    """Run several ``ip`` commands in one process (``ip -batch -``).

    Setting up a cluster takes a few dozen commands; one process per
    namespace instead of one per command keeps start-up in the tens of ms.
    Stops at the first error unless ``force`` (then runs them all and still
    raises if any failed).
    """
    lines = "\n".join(commands) + "\n"
    argv = [find_binary("ip") or "ip"]
    if netns is not None:
        argv += ["-n", netns]
    if force:
        argv.append("-force")
    argv += ["-batch", "-"]
    proc = subprocess.run(
        argv, input=lines, capture_output=True, text=True, check=False, timeout=30
    )
    if proc.returncode != 0:
        raise IpError([*argv, f"<<{lines.strip()!r}"], proc.returncode, proc.stderr)


def list_netns() -> list[str]:
    """Names of the named network namespaces (the bind mounts under /run/netns)."""
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def list_root_links() -> list[str]:
    """Interface names in this process's network namespace."""
    try:
        return sorted(os.listdir("/sys/class/net"))
    except OSError:
        return []


def netns_pids(name: str) -> list[int]:
    """Pids of the processes inside the named network namespace."""
    out = ip("netns", "pids", name, check=False)
    return [int(word) for word in out.split() if word.isdigit()]


def disable_ipv6(netns: str) -> None:
    """No IPv6 in the cluster: no link-local addresses, DAD or MLD chatter to wait on."""
    with netns_context(netns):
        for scope in ("all", "default"):
            with open(f"/proc/sys/net/ipv6/conf/{scope}/disable_ipv6", "w") as f:
                f.write("1")


@dataclass(frozen=True, slots=True)
class Host:
    """One machine on the switch: its namespace, the switch end of its veth, its address."""

    netns: str
    veth: str
    address: str


class Switch:
    """The cluster's switch: a namespace of bridges that every host's veth plugs into.

    Nothing is created in the caller's network namespace, so host firewalls
    never see the cluster's frames and deleting the namespaces removes
    every interface.  A partition moves hosts' switch ends onto other
    bridges: links stay up on both sides, packets simply stop arriving, as
    with a cut cable further away (no nftables or tc needed).
    """

    def __init__(self, tag: str, prefix_len: int) -> None:
        self.tag = tag
        self.netns = make_name(tag, "s")
        self.bridge = make_name(tag, "b", 0)
        self.prefix_len = prefix_len
        self._bridges = [self.bridge]

    def create(self, hosts: Sequence[Host]) -> None:
        """Create the namespaces of the switch and of ``hosts``, and wire them up.

        Raises :class:`IpError` or OSError; the caller removes what was made.
        """
        ip_batch([f"netns add {ns}" for ns in (self.netns, *(h.netns for h in hosts))])
        disable_ipv6(self.netns)
        ip_batch(
            [f"link add {self.bridge} type bridge", f"link set {self.bridge} up"],
            netns=self.netns,
        )
        for host in hosts:
            disable_ipv6(host.netns)
        ip_batch(
            [
                f"link {verb}"
                for host in hosts
                for verb in (
                    f"add {host.veth} type veth peer name eth0 netns {host.netns}",
                    f"set {host.veth} master {self.bridge} up",
                )
            ],
            netns=self.netns,
        )
        for host in hosts:
            ip_batch(
                [
                    "link set lo up",
                    f"addr add {host.address}/{self.prefix_len} dev eth0",
                    "link set eth0 up",
                ],
                netns=host.netns,
            )

    def split(self, groups: Sequence[Sequence[str]]) -> None:
        """Put each group of veths on a bridge of its own; the first stays on the main one."""
        commands = []
        for index, veths in enumerate(groups):
            bridge = make_name(self.tag, "b", index)
            if bridge not in self._bridges:
                commands += [f"link add {bridge} type bridge", f"link set {bridge} up"]
                self._bridges.append(bridge)
            commands += [f"link set {veth} master {bridge}" for veth in veths]
        ip_batch(commands, netns=self.netns)

    def join(self, veths: Iterable[str]) -> None:
        """Every veth back on the main bridge; the other bridges go."""
        commands = [f"link set {veth} master {self.bridge}" for veth in veths]
        commands += [f"link delete {b}" for b in self._bridges if b != self.bridge]
        ip_batch(commands, netns=self.netns)
        self._bridges = [self.bridge]
