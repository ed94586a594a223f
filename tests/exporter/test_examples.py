"""examples/: the alert rules pass promtool, the unit's command line is one the exporter takes."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

from pyquorum.exporter.server import DEFAULT_PORT, parse_listen
from tests.support.live import require_live

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_alert_rules_pass_promtool() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        require_live("promtool is missing (apt-get install prometheus)")
    rules = EXAMPLES / "pyquorum-exporter-alerts.yml"
    out = subprocess.run([promtool, "check", "rules", str(rules)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 3 rules found" in out.stdout


def test_the_unit_runs_the_exporter_on_the_default_port() -> None:
    lines = (EXAMPLES / "pyquorum-exporter.service").read_text().splitlines()
    (exec_start,) = [line.partition("=")[2] for line in lines if line.startswith("ExecStart=")]
    argv = shlex.split(exec_start)
    assert Path(argv[0]).name == "pyquorum" and argv[1] == "exporter"
    listen = argv[argv.index("--listen") + 1]
    assert parse_listen(listen) == ("", DEFAULT_PORT)
    assert float(argv[argv.index("--stats-interval") + 1]) > 0
    sections = {line for line in lines if line.startswith("[")}
    assert sections == {"[Unit]", "[Service]", "[Install]"}
