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
