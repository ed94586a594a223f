"""``@frozen`` classes behave as ``@dataclass(frozen=True, slots=True)`` ones.

Every class the package decorates with it is compared with the dataclass
built from the same fields: constructor signature, repr, equality, hash,
frozen errors, copy and pickle, and the ``dataclasses`` functions."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import inspect
import pickle
from typing import Any

import pytest

import pyquorum._frozen as _frozen_module
from pyquorum._frozen import frozen

_MODULES = (
    "pyquorum.messages.types", "pyquorum.messages.cmap", "pyquorum.messages.votequorum",
    "pyquorum.messages.cfg", "pyquorum.messages._cmap_values", "pyquorum.status",
    "pyquorum.events", "pyquorum.services.cmap.core", "pyquorum.services.quorum.core",
)


def _frozen_classes() -> list[type]:
    found = []
    for name in _MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (isinstance(value, type) and value.__module__ == name
                    and dataclasses.is_dataclass(value)
                    and value.__repr__.__code__.co_filename == _frozen_module.__file__):
                found.append(value)
    return found


FROZEN = _frozen_classes()


def _twin(cls: type) -> type:
    """The dataclass of the same name, bases and fields."""
    fields = [(f.name, f.type, dataclasses.field(default=f.default))
              if f.default is not dataclasses.MISSING else (f.name, f.type)
              for f in dataclasses.fields(cls)]
    twin: type = dataclasses.make_dataclass(cls.__name__, fields, bases=cls.__bases__,
                                            frozen=True, slots=True)
    twin.__qualname__ = cls.__qualname__
    return twin


def _args(cls: type) -> list[Any]:
    return [(i + 1, f"v{i}") for i, _ in enumerate(dataclasses.fields(cls))]


def test_the_package_uses_it() -> None:
    assert len(FROZEN) > 50


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
