"""``pyquorum exporter``: the subcommand's table row, lazy imports, the missing extra,
a port in use, and the command run against the fake server (root: its namespace)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pyquorum import cli
from pyquorum.fake.script import Script
from pyquorum.testing.cluster import wait_until
from pyquorum.testing.fake import FakeQuorumServer
from tests.support.exporter_runs import require_fake_root

PYQUORUM = [sys.executable, "-m", "pyquorum"]


def test_the_command_is_in_the_table_and_imports_nothing_before_it_runs() -> None:
    assert "exporter" in [command.name for command in cli.COMMANDS]
    code = (
        "import sys\n"
        "from pyquorum.cli import build_parser\n"
        "args = build_parser().parse_args(['exporter', '--listen', '127.0.0.1:1',"
        " '--stats-interval', '2', '--timeout', '3'])\n"
        "assert (args.listen, args.stats_interval, args.timeout) == ('127.0.0.1:1', 2.0, 3.0)\n"
        "heavy = [m for m in ('prometheus_client', 'pyquorum.exporter.metrics',"
        " 'pyquorum.exporter.corosync_source') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    help_text = subprocess.run([*PYQUORUM, "--help"], capture_output=True, text=True,
                               check=True, timeout=60).stdout
    assert "exporter" in help_text


def test_a_missing_extra_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # find_spec → None
    assert cli.main(["exporter", "--listen", "127.0.0.1:0"]) == 1
    err = capsys.readouterr().err
    assert err == ("pyquorum: the exporter needs prometheus_client: "
                   "pip install 'pyquorum[exporter]'\n")


def test_a_port_in_use_is_one_line_and_exit_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run([*PYQUORUM, "exporter", "--listen", f"127.0.0.1:{port}"],
                              capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert f"cannot serve on 127.0.0.1:{port}" in proc.stderr


def scrape(server: FakeQuorumServer, port: int) -> dict[str, float]:
    with server.netns_context():
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    return {sample.name + str(sorted(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text.decode())
            for sample in family.samples}


def test_the_command_serves_the_fake_servers_numbers_and_stops_on_sigterm() -> None:
    require_fake_root()
    with FakeQuorumServer(Script.build([1, 2, 3], quorate=True)) as server:
        # the fake's private namespace starts with loopback down
        assert server.run(["ip", "link", "set", "lo", "up"]).returncode == 0
        proc = server.popen([*PYQUORUM, "exporter", "--listen", "127.0.0.1:0",
                             "--stats-interval", "1", "--timeout", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line.startswith("pyquorum exporter: serving http://127.0.0.1:"), line
            port = int(line.rsplit(":", 1)[1].split("/")[0])

            def served() -> dict[str, float] | None:
                values = scrape(server, port)
                return values if values.get("pyquorum_corosync_members[]") == 3 else None

            values = wait_until(served, 10, "the fake's members in /metrics")
            assert values["pyquorum_corosync_reachable[]"] == 1
            assert values["ha_cluster_corosync_quorate[]"] == 1
            tracked = {k: v for k, v in values.items()
                       if k.startswith("pyquorum_corosync_service_tracked")}
            assert tracked == {
                f"pyquorum_corosync_service_tracked[('service', '{name}')]": value
                for name, value in (("quorum", 1), ("votequorum", 0), ("cmap", 0),
                                    ("cmap_stats", 0))
            }
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0
            assert proc.stderr is not None
            err = proc.stderr.read()
            # the fake serves the quorum service alone: the rest is reported, once each
            assert err.count("not tracking votequorum") == 1, err
            assert err.count("not tracking cmap:") == 1, err
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
        server.wait_connections(0)
