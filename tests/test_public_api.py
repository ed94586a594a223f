"""The public surface: ``import pyquorum`` is cheap, and every exported name resolves."""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys
import typing

import pyquorum
import pyquorum.errors

#: What importing the package must not drag in.
HEAVY = ("asyncio", "pyquorum.fake", "pyquorum.capture", "pyquorum.testing")


def fresh_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_import_pyquorum_leaves_asyncio_fake_capture_and_testing_out() -> None:
    out = fresh_python(
        "import json, sys, pyquorum\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    assert json.loads(out) == []


def test_the_blocking_sessions_need_no_asyncio_either() -> None:
    out = fresh_python(
        "import json, sys\n"
        "from pyquorum import QuorumSession, Model, Track, Backoff, ConnectionLost, Event\n"
        "from pyquorum import ReconnectingSession, Reconnected\n"
        "from pyquorum import VotequorumSession, CmapSession, CmapValue, CmapMap\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    assert json.loads(out) == []


def test_every_name_in_all_resolves_in_a_fresh_interpreter() -> None:
    out = fresh_python(
        "import json, pyquorum\n"
        "missing = [n for n in pyquorum.__all__ if getattr(pyquorum, n, None) is None]\n"
        "print(json.dumps(missing))\n"
    )
    assert json.loads(out) == []


def test_the_surface_has_what_it_promises() -> None:
    promised = {
        "QuorumSession", "AsyncQuorumSession", "ReconnectingSession", "AsyncReconnectingSession",
        "Model", "Track", "DispatchMode", "Backoff", "QuorumType",
        "Event", "UnknownNotification", "RingId", "ConnectionLostEvent", "Reconnected",
        "NodelistNotification", "QuorumNotification", "QuorumNotificationV0",
        "VotequorumSession", "AsyncVotequorumSession", "CmapSession", "AsyncCmapSession",
        "VotequorumNodeInfo", "VotequorumInfo", "NodeState", "NodeStatus",
        "VotequorumQuorumNotification", "VotequorumNodelistNotification",
        "ExpectedVotesNotification", "CmapValue", "CmapValueType", "CmapMap", "CmapTrack",
        "CmapChange", "CmapTracker", "CmapKey",
    }
    assert promised <= set(pyquorum.__all__)
    errors = {
        name for name in pyquorum.errors.__all__
        if inspect.isclass(getattr(pyquorum.errors, name))
    }
    assert errors <= set(pyquorum.__all__)
    helpers = {"raise_for_code", "for_code", "error_from_errno", "cs_error_from_errno"}
    assert not helpers & set(pyquorum.__all__)
    assert not any(hasattr(pyquorum, name) for name in helpers)


def test_dir_lists_the_public_names() -> None:
    assert set(pyquorum.__all__) <= set(dir(pyquorum))


def test_unknown_names_are_attribute_errors() -> None:
    assert not hasattr(pyquorum, "no_such_name")


def test_no_public_signature_names_a_private_module_type() -> None:
    """Every annotation of every public callable resolves to a type of a public module."""
    found = []
    # Names a module imports only for type checking (to stay light) are public ones.
    public = {name: getattr(pyquorum, name) for name in pyquorum.__all__}
    public["asyncio"] = importlib.import_module("asyncio")
    for name in pyquorum.__all__:
        obj = getattr(pyquorum, name)
        if not inspect.isclass(obj) or issubclass(obj, BaseException):
            continue
        for attr in dir(obj):
            if attr.startswith("_") and attr not in ("__init__", "__enter__", "__aenter__"):
                continue
            member = inspect.getattr_static(obj, attr)
            if isinstance(member, property):
                member = member.fget
            if not inspect.isfunction(member):
                continue
            for value in typing.get_type_hints(member, localns=public).values():
                for part in _parts(value):
                    module = getattr(part, "__module__", "")
                    if module.startswith("pyquorum") and any(
                        p.startswith("_") for p in module.split(".")
                    ):
                        found.append(f"{name}.{attr}: {part!r} from {module}")
    assert found == []


def _parts(tp: object) -> list[object]:
    args = typing.get_args(tp)
    if not args:
        return [tp]
    return [tp if typing.get_origin(tp) is None else typing.get_origin(tp)] + [
        p for a in args for p in _parts(a)
    ]


def test_the_async_sessions_are_at_pyquorum_aio() -> None:
    import pyquorum.aio

    for name in ("AsyncQuorumSession", "AsyncVotequorumSession", "AsyncCmapSession"):
        assert getattr(pyquorum.aio, name) is getattr(pyquorum, name)
        assert name in pyquorum.aio.__all__
