"""corosync.conf for one node of a harness cluster, from the cluster's settings.

Why a module of its own: what goes into the file (totem timing, the
nodelist, votequorum's options, a quorum device, logging into the work
directory) is the part of the harness a reader changes most, and it needs
nothing but strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = ["NodeEntry", "QdeviceConfig", "VotequorumOptions", "check_config_word", "render"]

Algorithm = Literal["ffsplit", "lms"]


def check_config_word(value: str) -> None:
    """Refuse what corosync's one-item-per-line parser would misread."""
    if not value or any(c in value for c in "{}\n:#") or value != value.strip():
        raise ValueError(f"{value!r} cannot go into corosync.conf as a key or value")


@dataclass(frozen=True, slots=True)
class VotequorumOptions:
    """votequorum's options in the ``quorum`` section (corosync's votequorum(5)).

    None leaves an option out, so corosync applies its default (for
    ``wait_for_all`` that default is on with ``two_node``).
    """

    two_node: bool | None = None
    wait_for_all: bool | None = None
    last_man_standing: bool | None = None
    last_man_standing_window: int | None = None
    auto_tie_breaker: bool | None = None
    auto_tie_breaker_node: str | None = None  # "lowest", "highest" or node ids
    allow_downscale: bool | None = None

    def items(self) -> dict[str, str]:
        out = {}
        for name in self.__slots__:
            value = getattr(self, name)
            if value is None:
                continue
            out[name] = ("1" if value else "0") if isinstance(value, bool) else str(value)
        return out


@dataclass(frozen=True, slots=True)
class QdeviceConfig:
    """A quorum device of model net: corosync-qdevice on each node, asking the
    cluster's corosync-qnetd.  ``votes`` None gives what the algorithm
    accepts: 1 for ffsplit (corosync-qdevice refuses any other count), and
    corosync-qdevice's default, the nodes' votes minus one, for lms.
    ``tls`` makes the certificates and requires TLS on both sides.
    ``timeout_ms`` is ``quorum.device.timeout``: qdevice's heartbeat to
    qnetd is 0.8 of it, so the default 10 s of corosync would make a lost
    qnetd take tens of seconds to notice; 2 s keeps tests short (qnetd
    accepts heartbeats from 1 s).  ``extra`` adds items to ``device.net``."""

    algorithm: Algorithm = "ffsplit"
    tls: bool = True
    votes: int | None = None
    port: int = 5403
    timeout_ms: int = 2000
    sync_timeout_ms: int = 4000
    extra: Mapping[str, str] = field(default_factory=dict)

    def effective_votes(self) -> int | None:
        return 1 if self.votes is None and self.algorithm == "ffsplit" else self.votes

    def to_json(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "tls": self.tls,
            "votes": self.votes,
            "port": self.port,
            "timeout_ms": self.timeout_ms,
            "sync_timeout_ms": self.sync_timeout_ms,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> QdeviceConfig:
        return cls(**data)

    def section(self, host: str) -> str:
        device = {
            "model": "net",
            "timeout": str(self.timeout_ms),
            "sync_timeout": str(self.sync_timeout_ms),
        }
        votes = self.effective_votes()
        if votes is not None:
            device["votes"] = str(votes)
        net = {
            "host": host,
            "port": str(self.port),
            "algorithm": self.algorithm,
            "tls": "required" if self.tls else "off",
            **self.extra,
        }
        return (
            "    device {\n"
            + "".join(f"        {k}: {v}\n" for k, v in device.items())
            + "        net {\n"
            + "".join(f"            {k}: {v}\n" for k, v in net.items())
            + "        }\n    }\n"
        )


@dataclass(frozen=True, slots=True)
class NodeEntry:
    """What the config needs to know of one node."""

    nodeid: int
    name: str
    address: str


def render(
    *,
    tag: str,
    node: NodeEntry,
    nodes: Sequence[NodeEntry],
    log_path: Path,
    state_dir: Path,
    transport: str,
    token_ms: int,
    quorum: bool,
    expected_votes: int | None,
    quorum_options: Mapping[str, str | int],
    qdevice: QdeviceConfig | None,
    qnetd_host: str,
    uidgid: Sequence[int],
    uidgid_gids: Sequence[int],
    debug: bool,
    extra_config: str,
) -> str:
    """corosync.conf for ``node``: one item per line, as corosync's parser needs."""
    nodelist = "".join(
        f"    node {{\n        nodeid: {n.nodeid}\n        name: {n.name}\n"
        f"        ring0_addr: {n.address}\n    }}\n"
        for n in nodes
    )
    section = ""
    if quorum:
        items = {"provider": "corosync_votequorum"}
        if expected_votes is not None:
            items["expected_votes"] = str(expected_votes)
        items.update({k: str(v) for k, v in quorum_options.items()})
        section = "quorum {\n" + "".join(f"    {k}: {v}\n" for k, v in items.items())
        section += (qdevice.section(qnetd_host) if qdevice is not None else "") + "}\n"
    users = "".join(f"uidgid {{\n    uid: {u}\n}}\n" for u in uidgid)
    users += "".join(f"uidgid {{\n    gid: {g}\n}}\n" for g in uidgid_gids)
    return (
        f"# written by pyquorum.testing.cluster for {tag} node {node.nodeid}\n"
        "totem {\n"
        "    version: 2\n"
        f"    cluster_name: {tag}\n"
        "    transport: knet\n"
        "    crypto_cipher: none\n"
        "    crypto_hash: none\n"
        f"    token: {token_ms}\n"
        # The token must not grow with the node count: tests time their waits on it.
        "    token_coefficient: 0\n"
        "}\n"
        f"nodelist {{\n{nodelist}}}\n"
        f"{section}"
        "logging {\n"
        "    to_logfile: yes\n"
        f"    logfile: {log_path}\n"
        "    to_syslog: no\n"
        "    to_stderr: no\n"
        "    timestamp: hires\n"
        f"    debug: {'on' if debug else 'off'}\n"
        "}\n"
        "system {\n"
        f"    state_dir: {state_dir}\n"
        f"    qb_ipc_type: {transport}\n"
        "}\n"
        f"{users}"
        f"{extra_config}"
    )
