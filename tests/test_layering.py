"""Dependencies point one way (DESIGN.md): checked on the source, import by import.

``messages/`` is pure (no I/O modules, nothing from the layers above it), and
``ipc/`` is service-agnostic (nothing from the quorum service's messages or
the session).  The scan reads every ``import`` in the AST, resolves relative
imports, and treats ``from pkg import name`` as importing ``pkg.name`` too,
so ``from pyquorum import session`` and ``from ..messages import quorum``
are caught like the plain forms.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import pyquorum.messages.quorum

ROOT = Path(__file__).resolve().parents[1] / "pyquorum"

MESSAGES_FORBIDDEN = (
    "socket", "mmap", "ctypes", "select", "selectors", "asyncio",
    "pyquorum.ipc", "pyquorum.frontend", "pyquorum.services", "pyquorum.aio",
    "pyquorum.libquorum", "pyquorum.cli",
)
IPC_FORBIDDEN = ("pyquorum.messages.quorum", "pyquorum.frontend", "pyquorum.services")

#: What ``from pyquorum.messages import X`` brings from the quorum service.
QUORUM_NAMES = frozenset(pyquorum.messages.quorum.__all__)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """Every module (and, for ``from`` imports, every ``module.name``) ``path`` imports."""
    package = module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:
                yield node.lineno, f"{target}.{alias.name}"


def violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, name in imported_modules(path):
            if any(name == bad or name.startswith(bad + ".") for bad in forbidden):
                found.append(f"{path.relative_to(ROOT.parent)}:{line}: imports {name}")
    return found


def test_messages_imports_no_io_and_no_higher_layer() -> None:
    assert violations("messages", MESSAGES_FORBIDDEN) == []


def test_ipc_imports_nothing_of_the_quorum_service() -> None:
    assert violations("ipc", IPC_FORBIDDEN) == []


#: The service-independent front end knows no service, nor the IPC client's insides
#: (frontend/blocking.py's connect_ipc is the one place that opens an IPC connection).
FRONTEND_FORBIDDEN = (
    "pyquorum.services", "pyquorum.messages.quorum", "pyquorum.cli", "pyquorum.commands",
    "pyquorum.fake", "pyquorum.capture", "pyquorum.testing",
)


def test_frontend_imports_no_service() -> None:
    assert violations("frontend", FRONTEND_FORBIDDEN) == []


def test_services_do_not_import_each_other() -> None:
    found = []
    for service in sorted(p for p in (ROOT / "services").iterdir() if p.is_dir()):
        if service.name.startswith("__"):
            continue
        others = tuple(
            f"pyquorum.services.{p.name}"
            for p in (ROOT / "services").iterdir()
            if p.is_dir() and p != service and not p.name.startswith("__")
        )
        if others:
            found += violations(f"services/{service.name}", others)
    assert found == []


def test_ipc_takes_no_quorum_names_from_the_messages_package() -> None:
    """``from pyquorum.messages import decode_response`` would dodge the module check."""
    found = []
    for path in sorted((ROOT / "ipc").rglob("*.py")):
        for line, name in imported_modules(path):
            package, _, leaf = name.rpartition(".")
            if package == "pyquorum.messages" and leaf in QUORUM_NAMES:
                found.append(f"{path.relative_to(ROOT.parent)}:{line}: imports {name}")
    assert found == []


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("import socket", "pyquorum/messages/x.py", "socket"),
        ("from .. import session", "pyquorum/messages/x.py", "pyquorum.session"),
        ("from ..ipc.shm import Ring", "pyquorum/messages/x.py", "pyquorum.ipc.shm.Ring"),
        ("from ..messages import quorum", "pyquorum/ipc/x.py", "pyquorum.messages.quorum"),
        ("from . import quorum", "pyquorum/messages/__init__.py", "pyquorum.messages.quorum"),
        ("from pyquorum import session as s", "pyquorum/ipc/x.py", "pyquorum.session"),
    ],
)
def test_the_scanner_resolves_every_import_form(
    tmp_path: Path, source: str, module: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "pyquorum"
    path = tmp_path / module
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source + "\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", root)
    assert expected in {name for _, name in imported_modules(path)}


IPC_SIDES = {"client": "pyquorum.ipc.server", "server": "pyquorum.ipc.client"}


@pytest.mark.parametrize("side", sorted(IPC_SIDES))
def test_ipc_client_and_server_import_nothing_of_each_other(side: str) -> None:
    assert violations(f"ipc/{side}", (IPC_SIDES[side],)) == []


def test_ipc_shared_modules_import_neither_side() -> None:
    """ring, sem, address, wire, credentials, disconnect: what both ends build on."""
    found = []
    for path in sorted((ROOT / "ipc").glob("*.py")):
        for line, name in imported_modules(path):
            if any(
                name == bad or name.startswith(bad + ".")
                for bad in ("pyquorum.ipc.client", "pyquorum.ipc.server")
            ):
                found.append(f"{path.relative_to(ROOT.parent)}:{line}: imports {name}")
    assert found == []


def test_ipc_carries_no_test_only_code() -> None:
    """The hostile server's hooks live in pyquorum.fake, which ipc never imports."""
    assert violations("ipc", ("pyquorum.fake", "pyquorum.testing", "pyquorum.capture")) == []


def test_the_ipc_side_rule_sees_a_relative_import_of_the_other_side(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "pyquorum"
    path = root / "ipc" / "server" / "x.py"
    path.parent.mkdir(parents=True)
    path.write_text("from ..client import handshake\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", root)
    assert violations("ipc/server", (IPC_SIDES["server"],)) == [
        "pyquorum/ipc/server/x.py:1: imports pyquorum.ipc.client",
        "pyquorum/ipc/server/x.py:1: imports pyquorum.ipc.client.handshake",
    ]


# -- the command: lazy subcommands, no cycle; the capture format probes no host ----------


def _resolved(node: ast.Import | ast.ImportFrom, package: str) -> Iterator[str]:
    """The modules (and ``module.name``s) one import statement names, as imported_modules."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    if node.level:
        base = package.split(".")
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    yield target
    yield from (f"{target}.{alias.name}" for alias in node.names)


def module_level_imports(path: Path) -> Iterator[tuple[int, str]]:
    """What ``path`` imports when it is imported: top-level statements (and the
    branches of top-level ``if``/``try``), not function bodies, not ``if TYPE_CHECKING``."""
    package = module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    pending: list[ast.stmt] = list(ast.parse(path.read_text(), filename=str(path)).body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield from ((node.lineno, name) for name in _resolved(node, package))
        elif isinstance(node, ast.If):
            if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                pending += node.body
            pending += node.orelse
        elif isinstance(node, ast.Try):
            pending += node.body + node.orelse + node.finalbody
            for handler in node.handlers:
                pending += handler.body
        elif isinstance(node, ast.With):
            pending += node.body


def subcommand_modules() -> list[str]:
    return sorted(
        f"pyquorum.commands.{p.stem}"
        for p in (ROOT / "commands").glob("*.py") if not p.stem.startswith("_")
    )


def test_cli_and_the_shared_command_modules_import_no_subcommand_at_module_level() -> None:
    """Only the command that runs is imported: pyquorum.cli names each in a function."""
    commands = subcommand_modules()
    assert "pyquorum.commands.status" in commands and "pyquorum.commands.watch" in commands
    shared = [ROOT / "cli.py", *sorted((ROOT / "commands").glob("_*.py"))]
    found = [
        f"{path.relative_to(ROOT.parent)}:{line}: imports {name}"
        for path in shared
        for line, name in module_level_imports(path)
        if any(name == c or name.startswith(c + ".") for c in commands)
    ]
    assert found == []


def test_no_command_module_imports_the_cli_or_another_command() -> None:
    """No cycle: the commands import shared modules, never pyquorum.cli nor each other."""
    found = []
    for path in sorted((ROOT / "commands").glob("*.py")):
        own = module_name(path)
        others = [c for c in subcommand_modules() if c != own]
        for line, name in imported_modules(path):
            bad = ("pyquorum.cli", *others)
            if any(name == b or name.startswith(b + ".") for b in bad):
                found.append(f"{path.relative_to(ROOT.parent)}:{line}: imports {name}")
    assert found == []


def test_the_capture_format_probes_no_host() -> None:
    """Versions come in as values (pyquorum.hostinfo asks the host, for record)."""
    assert violations("capture", ("subprocess", "shutil", "pyquorum.hostinfo")) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from pyquorum.commands import status", {"pyquorum.commands.status"}),
        ("import pyquorum.commands.watch as w", {"pyquorum.commands.watch"}),
        ("try:\n    from . import serve\nexcept ImportError:\n    pass",
         {"pyquorum.commands.serve"}),
        ("if X:\n    pass\nelse:\n    from .demo import run",
         {"pyquorum.commands.demo", "pyquorum.commands.demo.run"}),
        ("def f():\n    from pyquorum.commands import status", set()),
        ("if TYPE_CHECKING:\n    from pyquorum.commands import status", set()),
    ],
)
def test_the_module_level_scanner(
    tmp_path: Path, source: str, expected: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "pyquorum"
    path = root / "commands" / "_x.py"
    path.parent.mkdir(parents=True)
    path.write_text(source + "\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", root)
    found = {name for _, name in module_level_imports(path)}
    assert {n for n in found if n.startswith("pyquorum.commands.")} == expected


# -- the tests: shared helpers in tests/support, never a conftest or a test module --------

#: An import inside a string, such as the script of a child process: ``from tests.x import y``.
_EMBEDDED_IMPORT = re.compile(r"^\s*(?:from|import)\s+((?:tests|conftest|test_\w+)[\w.]*)",
                              re.MULTILINE)


def _names_a_test_module_or_a_conftest(name: str) -> bool:
    return any(part == "conftest" or part.startswith("test_") for part in name.split("."))


def imports_of_tests_or_conftests() -> list[str]:
    """What each module under tests/ imports from a conftest or a ``test_*`` module.

    Shared helpers live in tests/support (see its docstring); a conftest keeps
    fixtures and hooks, which pytest finds without an import.  Both real
    imports and imports written in strings (scripts run by child processes)
    are read.
    """
    tests = ROOT.parent / "tests"
    found = []
    for path in sorted(tests.rglob("*.py")):
        names = list(imported_modules(path))
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                names += [(node.lineno, m.group(1))
                          for m in _EMBEDDED_IMPORT.finditer(node.value)]
        found += [f"{path.relative_to(ROOT.parent)}:{line}: imports {name}"
                  for line, name in names if _names_a_test_module_or_a_conftest(name)]
    return found


def test_no_test_imports_a_conftest_or_another_test_module() -> None:
    assert imports_of_tests_or_conftests() == []


@pytest.mark.parametrize(
    "source",
    [
        "from TESTS.fake.conftest import Factory",
        "from .conftest import Factory",
        "import TESTS.libquorum.test_live_differential",
        "from TESTS.cli import test_cli",
        "CHILD = \"\"\"\n    import sys\n    from TESTS.ipc.test_ring import message\n\"\"\"",
    ],
)
def test_the_tests_rule_sees_every_form(
    tmp_path: Path, source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tests" / "fake" / "test_x.py"
    path.parent.mkdir(parents=True)
    path.write_text(source.replace("TESTS", "tests") + "\n")  # not a match itself
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path / "pyquorum")
    found = imports_of_tests_or_conftests()
    assert found and all(v.startswith("tests/fake/test_x.py:1: imports ") for v in found)


# -- the exporter: prometheus_client stays an optional extra, the state is sans-I/O -----

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
