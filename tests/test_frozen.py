"""``@frozen`` classes behave as ``@dataclass(frozen=True, slots=True)`` ones,
``@slotted`` ones as ``@dataclass(slots=True)`` ones.

Every class the package decorates with them is compared with the dataclass
built from the same fields: constructor signature, repr, equality, hash,
frozen errors, copy and pickle, and the ``dataclasses`` functions; and
making them imports no ``dataclasses``."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import inspect
import pickle
import subprocess
import sys
from typing import Any, ClassVar

import pytest

import pyquorum._frozen as _frozen_module
from pyquorum._frozen import frozen, slotted

_MODULES = (
    "pyquorum.messages.types", "pyquorum.messages.cmap", "pyquorum.messages.votequorum",
    "pyquorum.messages.cfg", "pyquorum.messages._cmap_values", "pyquorum.status",
    "pyquorum.events", "pyquorum.services.cmap.core", "pyquorum.services.quorum.core",
    "pyquorum.services.votequorum.core", "pyquorum.frontend.core", "pyquorum.ipc.credentials",
    "pyquorum.ipc.client.handshake", "pyquorum.ipc.client.shm_transport",
    "pyquorum.commands._status", "pyquorum.cli",
)


def _frozen_classes(is_frozen: bool = True) -> list[type]:
    found = []
    for name in _MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (isinstance(value, type) and value.__module__ == name
                    and dataclasses.is_dataclass(value)
                    and value.__repr__.__code__.co_filename == _frozen_module.__file__
                    and value.__dataclass_params__.frozen == is_frozen):  # type: ignore[attr-defined]
                found.append(value)
    return found


FROZEN = _frozen_classes()
SLOTTED = _frozen_classes(is_frozen=False)


def _twin(cls: type, is_frozen: bool = True) -> type:
    """The dataclass of the same name, bases and fields."""
    fields = [(f.name, f.type, dataclasses.field(default=f.default))
              if f.default is not dataclasses.MISSING else (f.name, f.type)
              for f in dataclasses.fields(cls)]
    bases = cls.__dict__.get("__orig_bases__", cls.__bases__)  # Generic[S], not Generic
    twin: type = dataclasses.make_dataclass(cls.__name__, fields, bases=bases,
                                            frozen=is_frozen, slots=True)
    twin.__qualname__ = cls.__qualname__
    return twin


def _args(cls: type) -> list[Any]:
    return [(i + 1, f"v{i}") for i, _ in enumerate(dataclasses.fields(cls))]


def test_the_package_uses_it() -> None:
    assert len(FROZEN) > 50
    assert len(SLOTTED) >= 5


@pytest.mark.parametrize("cls", FROZEN, ids=lambda c: c.__qualname__)
def test_a_frozen_class_is_its_dataclass_twin(cls: type) -> None:
    twin = _twin(cls)
    assert str(inspect.signature(cls)) == str(inspect.signature(twin))
    assert cls.__match_args__ == twin.__match_args__  # type: ignore[attr-defined]
    assert cls.__slots__ == twin.__slots__  # type: ignore[attr-defined]
    assert cls.__dataclass_params__.__repr__() == twin.__dataclass_params__.__repr__()  # type: ignore[attr-defined]
    args = _args(cls)
    a, b, t = cls(*args), cls(*args), twin(*args)
    assert repr(a) == repr(t)
    assert a == b and hash(a) == hash(b) == hash(t)
    assert a != t  # another class, as between two dataclasses
    assert dataclasses.asdict(a) == dataclasses.asdict(t)
    assert copy.copy(a) == a and copy.deepcopy(a) == a
    for f in dataclasses.fields(cls):
        other = dataclasses.replace(a, **{f.name: "changed"})
        assert other != a and getattr(other, f.name) == "changed"
        assert hash(other) == hash(dataclasses.replace(t, **{f.name: "changed"}))
        frozen_error = dataclasses.FrozenInstanceError
        with pytest.raises(frozen_error, match=f"cannot assign to field '{f.name}'"):
            setattr(a, f.name, 0)
        with pytest.raises(frozen_error, match=f"cannot delete field '{f.name}'"):
            delattr(a, f.name)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.elsewhere = 1
    with pytest.raises(TypeError):
        cls(*args, 0)


def test_pickling_keeps_a_message() -> None:
    from pyquorum.messages.types import NodelistNotification, RingId

    event = NodelistNotification(RingId(1, 5), (1, 2), (2,), ())
    assert pickle.loads(pickle.dumps(event)) == event


def test_what_it_does_not_support_is_refused() -> None:
    with pytest.raises(TypeError, match="field"):
        @frozen
        class WithFactory:
            items: list[int] = dataclasses.field(default_factory=list)

    with pytest.raises(TypeError, match="__post_init__"):
        @frozen
        class WithPostInit:
            x: int

            def __post_init__(self) -> None:
                pass


@pytest.mark.parametrize("cls", SLOTTED, ids=lambda c: c.__qualname__)
def test_a_slotted_class_is_its_dataclass_twin(cls: type) -> None:
    twin = _twin(cls, is_frozen=False)
    assert str(inspect.signature(cls)) == str(inspect.signature(twin))
    assert cls.__match_args__ == twin.__match_args__  # type: ignore[attr-defined]
    assert cls.__slots__ == twin.__slots__  # type: ignore[attr-defined]
    assert cls.__dataclass_params__.__repr__() == twin.__dataclass_params__.__repr__()  # type: ignore[attr-defined]
    assert cls.__hash__ is None and twin.__hash__ is None
    args = _args(cls)
    a, b, t = cls(*args), cls(*args), twin(*args)
    assert repr(a) == repr(t)
    assert a == b and a != t
    assert dataclasses.asdict(a) == dataclasses.asdict(t)
    assert copy.copy(a) == a
    for f in dataclasses.fields(cls):
        other = dataclasses.replace(a, **{f.name: "changed"})
        assert other != a and getattr(other, f.name) == "changed"
        setattr(b, f.name, "set")
        assert getattr(b, f.name) == "set" and b != a
    with pytest.raises(AttributeError):
        a.elsewhere = 1
    with pytest.raises(TypeError):
        cls(*args, 0)


def test_making_the_classes_imports_no_dataclasses() -> None:
    """The modules of the classes import, and make them, without ``dataclasses``
    (nor ``inspect``); the ``dataclasses`` functions then work for whoever imports it,
    on instances too."""
    # (cfg's codec imports construct, which imports dataclasses)
    clients = [m for m in _MODULES if m != "pyquorum.messages.cfg"]
    code = f"""
import sys
for name in {clients!r}:
    __import__(name)
assert "dataclasses" not in sys.modules and "inspect" not in sys.modules, "imported"
import dataclasses
from pyquorum.messages.types import RingId
assert dataclasses.is_dataclass(RingId) and dataclasses.is_dataclass(RingId(1, 2))
assert [f.name for f in dataclasses.fields(RingId(1, 2))] == ["nodeid", "seq"]
assert dataclasses.asdict(RingId(1, 2)) == {{"nodeid": 1, "seq": 2}}
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert (proc.returncode, proc.stderr) == (0, "")


def test_a_frozen_error_needs_no_dataclasses_imported_first() -> None:
    code = """
import sys
from pyquorum.messages.types import RingId
try:
    RingId(1, 2).seq = 3
except AttributeError as exc:
    import dataclasses
    assert type(exc) is dataclasses.FrozenInstanceError, type(exc)
    print(exc)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "cannot assign to field 'seq'\n", "")


def test_what_a_class_defines_itself_stays() -> None:
    """As with dataclass: the class's own __repr__, __eq__ and __hash__ are kept."""

    @frozen
    class Own:
        x: int

        def __repr__(self) -> str:
            return "own"

        def __hash__(self) -> int:
            return 7

    @dataclasses.dataclass(frozen=True, slots=True)
    class OwnTwin:
        x: int

        def __repr__(self) -> str:
            return "own"

        def __hash__(self) -> int:
            return 7

    assert (repr(Own(1)), hash(Own(1)), Own(1) == Own(1)) == (
        repr(OwnTwin(1)), hash(OwnTwin(1)), OwnTwin(1) == OwnTwin(1))

    @slotted
    class Hashed:
        x: int

        def __hash__(self) -> int:
            return 5

    assert hash(Hashed(1)) == 5


def test_more_that_it_does_not_support_is_refused() -> None:
    with pytest.raises(TypeError, match="ClassVar"):
        @frozen
        class WithClassVar:
            x: ClassVar[int] = 1

    with pytest.raises(TypeError, match="dataclass base"):
        @frozen
        class OnADataclass(_twin(FROZEN[0])):  # type: ignore[misc]
            y: int

    with pytest.raises(TypeError, match="non-default argument 'y'"):
        @slotted
        class DefaultFirst:
            x: int = 0
            y: int  # type: ignore[misc]  # (what is refused)

    with pytest.raises(ValueError, match="mutable default"):
        @frozen
        class MutableDefault:
            x: list[int] = []  # noqa: RUF012

    with pytest.raises(TypeError, match="already specifies __slots__"):
        @frozen
        class HasSlots:
            __slots__ = ("x",)
            x: int
