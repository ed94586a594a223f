"""Live exporter tests' helpers: ``pyquorum exporter`` as a process in a node's
namespace, its /metrics as data, what the tools say as the same data, a scrape timer.

Everything that talks to the exporter over HTTP must run with the calling
thread in the exporter's network namespace (``node.netns_context()``): it
listens on that namespace's loopback.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from pyquorum.testing.cluster import Node, QuorumStatus
from pyquorum.testing.prometheus import PrometheusServer

#: A sample: its name and its labels, sorted.
Key = tuple[str, tuple[tuple[str, str], ...]]


def key(metric: str, /, **labels: str) -> Key:
    return metric, tuple(sorted(labels.items()))


@dataclass
class RunningExporter:
    proc: subprocess.Popen[str]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    def scrape(self, timeout: float = 5.0) -> dict[Key, float]:
        """Every sample of one scrape (``_created`` samples left out)."""
        with urllib.request.urlopen(self.url, timeout=timeout) as response:
            text = response.read().decode()
        return {
            key(sample.name, **sample.labels): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples if not sample.name.endswith("_created")
        }

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def shm_files(self) -> list[str]:
        """/dev/shm entries libqb names after this client (``qb-SERVER-CLIENT-...``)."""
        mark = re.compile(rf"qb-\d+-{self.proc.pid}-")
        return sorted(n for n in os.listdir("/dev/shm") if mark.match(n))


@contextmanager
def exporter_on(node: Node, *options: str) -> Iterator[RunningExporter]:
    """``pyquorum exporter --listen 127.0.0.1:0 OPTIONS`` in ``node``'s namespace.

    Stopped with SIGTERM on the way out, which must end it with status 0.
    """
    with tempfile.TemporaryFile("w+") as stderr:
        with node.netns_context():
            proc = subprocess.Popen(
                [sys.executable, "-m", "pyquorum", "exporter", "--listen", "127.0.0.1:0",
                 *options],
                stdout=subprocess.PIPE, stderr=stderr, text=True,
            )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if "serving http://127.0.0.1:" not in line:
                stderr.seek(0)
                raise AssertionError(f"the exporter did not start: {line!r} {stderr.read()}")
            yield RunningExporter(proc, int(line.rsplit(":", 1)[1].split("/")[0]))
            proc.send_signal(signal.SIGTERM)
            status = proc.wait(timeout=20)
            stderr.seek(0)
            assert status == 0, f"exit {status}: {stderr.read()}"
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


_CMAPCTL = re.compile(r"^(\S+) \((\w+)\) = (.*)$")


def parse_cmapctl(text: str) -> dict[str, str]:
    """``corosync-cmapctl`` output → key → value as printed."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        match = _CMAPCTL.match(line)
        if match:
            values[match[1]] = match[3]
    return values


_KNET = re.compile(r"stats\.knet\.node(\d+)\.link(\d+)\.(\w+)")
#: knet fields as their metric, for the fields that do not move by themselves.
KNET_METRICS = {
    "connected": "pyquorum_corosync_knet_link_connected",
    "enabled": "pyquorum_corosync_knet_link_enabled",
    "down_count": "pyquorum_corosync_knet_link_down_total",
    "up_count": "pyquorum_corosync_knet_link_up_total",
}


def tools_view(node: Node) -> dict[Key, float]:
    """What ``corosync-quorumtool -s`` and ``corosync-cmapctl -m stats`` say, as samples.

    Only what does not move by itself: knet latencies are left out (a later
    read gives other numbers); which links have latency samples is kept.
    """
    status: QuorumStatus = node.quorum_status()
    # names as corosync.conf gives them (quorumtool lists members only)
    nodelist = parse_cmapctl(node.run(["corosync-cmapctl", "nodelist.node."], check=True).stdout)
    names = {nodelist[k]: nodelist.get(k.replace(".nodeid", ".name"), nodelist[k])
             for k in nodelist if k.endswith(".nodeid")}
    names["0"] = "Qdevice"
    view: dict[Key, float] = {
        key("ha_cluster_corosync_quorate"): float(status.quorate),
        key("pyquorum_corosync_members"): float(len(status.members)),
    }
    for kind in ("expected_votes", "highest_expected", "total_votes", "quorum"):
        number = getattr(status, kind)
        assert number is not None, status.raw
        view[key("ha_cluster_corosync_quorum_votes", type=kind)] = float(number)
    for nodeid, votes in status.votes.items():
        view[key("ha_cluster_corosync_member_votes", node_id=str(nodeid), node=names[str(nodeid)],
                 local=str(nodeid == status.nodeid).lower())] = float(votes)
    if status.qdevice_votes is not None:
        view[key("ha_cluster_corosync_member_votes", node_id="0", node="Qdevice",
                 local="false")] = float(status.qdevice_votes)
    stats = parse_cmapctl(
        node.run(["corosync-cmapctl", "-m", "stats", "stats.knet."], check=True).stdout)
    for name, value in stats.items():
        match = _KNET.fullmatch(name)
        if not match:
            continue
        node_id, link, field = match.groups()
        labels = {"node_id": node_id, "node": names.get(node_id, node_id), "link": link}
        if field in KNET_METRICS:
            view[key(KNET_METRICS[field], **labels)] = float(value)
        elif field == "latency_samples":
            view[key("has latency", **labels)] = float(int(value) > 0)
    return view


def exporter_view(samples: dict[Key, float]) -> dict[Key, float]:
    """The exporter's samples that :func:`tools_view` has a counterpart for."""
    wanted = {"ha_cluster_corosync_quorate", "pyquorum_corosync_members",
              "ha_cluster_corosync_quorum_votes", "ha_cluster_corosync_member_votes",
              *KNET_METRICS.values()}
    view = {k: v for k, v in samples.items() if k[0] in wanted}
    for name, labels in samples:
        if name == "pyquorum_corosync_knet_link_connected":
            latency = ("pyquorum_corosync_knet_link_latency_average_seconds", labels)
            view["has latency", labels] = float(latency in samples)
    return view


class ScrapeTimer(threading.Thread):
    """Scrapes a URL back to back and keeps the slowest time and any failure.

    Started with the calling thread in a namespace, it runs in that namespace.
    """

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stop = threading.Event()
        self.slowest = 0.0
        self.count = 0
        self.failures: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=10) as response:
                    response.read()
            except OSError as exc:
                self.failures.append(str(exc))
            self.slowest = max(self.slowest, time.monotonic() - started)
            self.count += 1
            time.sleep(0.02)


@contextmanager
def scraped_across_a_restart(node: Node, prom: PrometheusServer, url: str) -> Iterator[ScrapeTimer]:
    """Kill corosync on ``node`` and restart it under the exporter at ``url``
    while a :class:`ScrapeTimer` scrapes it back to back.  The block runs once
    Prometheus sees the exporter reach corosync again (the caller's own waits);
    the timer stops when it ends."""
    timer = ScrapeTimer(url)
    timer.start()
    try:
        node.crash()
        prom.wait_for_value("pyquorum_corosync_reachable", 0)
        time.sleep(2)  # several reconnect attempts against a dead daemon
        node.restart()
        prom.wait_for_value("pyquorum_corosync_reachable", 1, timeout=60)
        yield timer
    finally:
        timer.stop.set()
        timer.join(15)
