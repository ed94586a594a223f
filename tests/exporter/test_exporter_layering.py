"""The exporter's layering: prometheus_client stays an optional extra, the state is sans-I/O."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.test_layering import ROOT, imported_modules, module_level_imports

#: The only modules allowed to import prometheus_client (only the exporter uses them).
PROMETHEUS_USERS = {"exporter/metrics.py", "exporter/server.py"}
#: The state and its inputs: no I/O, nothing of the transport or the sessions.
SANS_IO = ("exporter/state.py", "exporter/inputs.py", "exporter/plan.py")
SANS_IO_FORBIDDEN = ("socket", "select", "selectors", "asyncio", "subprocess", "mmap",
                     "ctypes", "prometheus_client", "pyquorum.ipc",
                     "pyquorum.aio", "pyquorum.frontend", "pyquorum.services")


def _matches(name: str, bad: str) -> bool:
    return name == bad or name.startswith(bad + ".")


def test_only_metrics_and_server_import_prometheus_client() -> None:
    found = [
        f"{path.relative_to(ROOT.parent)}:{line}: imports {name}"
        for path in sorted(ROOT.rglob("*.py"))
        if str(path.relative_to(ROOT)) not in PROMETHEUS_USERS
        for line, name in imported_modules(path)
        if _matches(name, "prometheus_client")
    ]
    assert found == []


def test_the_exporter_package_imports_its_prometheus_modules_lazily() -> None:
    init = ROOT / "exporter" / "__init__.py"
    names = {name for _, name in module_level_imports(init)}
    assert not {n for n in names if n.startswith(("pyquorum.exporter.", "prometheus_client"))}


def test_the_state_is_sans_io() -> None:
    found = [
        f"{rel}:{line}: imports {name}"
        for rel in SANS_IO
        for line, name in imported_modules(ROOT / rel)
        if any(_matches(name, bad) for bad in SANS_IO_FORBIDDEN)
    ]
    assert found == []


def test_importing_pyquorum_and_the_cli_does_not_import_prometheus_client() -> None:
    code = ("import sys, pyquorum, pyquorum.cli, pyquorum.exporter, pyquorum.exporter.state, "
            "pyquorum.exporter.runner, pyquorum.exporter.source, pyquorum.exporter.app; "
            "print(sorted(m for m in sys.modules if m.startswith('prometheus_client')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(ROOT).parent)
    assert out.stdout.strip() == "[]"


def test_every_lazy_name_resolves() -> None:
    import pyquorum.exporter as exporter

    for name in exporter.__all__:
        assert getattr(exporter, name).__name__ == name
