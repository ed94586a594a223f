"""``@frozen``: ``@dataclass(frozen=True, slots=True)`` without its import-time cost.

Every command imports the ~60 message classes, and ``dataclass`` compiles six
methods for each (``__init__``, ``__repr__``, ``__eq__``, ``__hash__``,
``__setattr__``, ``__delattr__``: one ``exec`` apiece) and builds each class
twice for its slots: about 1 ms a class, half of ``pyquorum status``'s
start-up.  Here ``dataclass`` still makes the class (its fields,
``__dataclass_fields__``, the slots, ``__match_args__``) but generates no
method; the methods are shared functions and closures over the field names,
and ``__init__`` is a code object compiled once per number of fields and
given the class's parameter names.

The classes behave as the dataclasses did: the same constructor signature and
defaults, equality (same class, equal fields), hashing (of the field tuple),
``repr``, ``FrozenInstanceError`` on assignment or deletion, ``copy`` and
pickling, and ``dataclasses.fields``/``replace``/``asdict``/``is_dataclass``.
tests/test_frozen.py holds them to the dataclass they replace.
"""

from __future__ import annotations

import dataclasses
import sys
from operator import attrgetter
from types import CellType, CodeType, FunctionType
from typing import Any, TypeVar, dataclass_transform

__all__ = ["frozen"]

T = TypeVar("T")


_INITS: dict[int, CodeType] = {}


def _init_code(count: int) -> CodeType:
    """``def __init__(self, a0, ..): s0(self, a0); ..`` for ``count`` fields (compiled
    once), the setters ``s0``.. its free variables."""
    code = _INITS.get(count)
    if code is None:
        params = "".join(f", a{i}" for i in range(count))
        setters = "".join(f"    s{i} = None\n" for i in range(count))
        body = "".join(f"        s{i}(self, a{i})\n" for i in range(count)) or "        pass\n"
        namespace: dict[str, Any] = {}
        exec(f"def make():\n{setters}    def __init__(self{params}):\n{body}"
             "    return __init__\n", {}, namespace)
        code = _INITS[count] = namespace["make"]().__code__
    return code


def _frozen_setattr_error(verb: str, name: str) -> dataclasses.FrozenInstanceError:
    return dataclasses.FrozenInstanceError(f"cannot {verb} field {name!r}")


def _getstate(self: Any) -> list[Any]:
    return [getattr(self, f.name) for f in dataclasses.fields(self)]


def _setstate(self: Any, state: list[Any]) -> None:
    for f, value in zip(dataclasses.fields(self), state, strict=True):
        object.__setattr__(self, f.name, value)


@dataclass_transform(frozen_default=True)
def frozen(cls: type[T]) -> type[T]:
    """The class as ``@dataclass(frozen=True, slots=True)`` would make it.

    Only plain fields with or without a default (no ``field()``, no
    ``__post_init__``): what the message classes use; anything else is a
    TypeError here rather than a silent difference."""
    if "__post_init__" in cls.__dict__:
        raise TypeError(f"@frozen: {cls.__name__} has __post_init__ (use @dataclass)")
    if not cls.__doc__:
        cls.__doc__ = cls.__name__  # (dataclass would build one with inspect.signature)
    made: Any = dataclasses.dataclass(cls, init=False, repr=False, eq=False, slots=True)
    fields = dataclasses.fields(made)
    names = tuple(f.name for f in fields)
    defaults: list[Any] = []
    for f in fields:
        if f.default_factory is not dataclasses.MISSING or not (f.init and f.repr and f.compare):
            raise TypeError(f"@frozen: {made.__name__}.{f.name} uses field() (use @dataclass)")
        if f.default is not dataclasses.MISSING:
            defaults.append(f.default)
        elif defaults:
            raise TypeError(f"@frozen: {made.__name__}.{f.name} has no default after one that has")

    # __init__ fills the slots through their descriptors (as dataclass's does
    # through object.__setattr__), in the module's globals as dataclass's is.
    setters = {f"s{i}": made.__dict__[name].__set__ for i, name in enumerate(names)}
    code = _init_code(len(names)).replace(
        co_varnames=("self", *names), co_qualname=f"{made.__qualname__}.__init__")
    module = sys.modules.get(made.__module__)
    init = FunctionType(code, module.__dict__ if module is not None else {}, "__init__",
                        tuple(defaults) or None,
                        tuple(CellType(setters[name]) for name in code.co_freevars))
    init.__annotations__ = {**{f.name: f.type for f in fields}, "return": None}

    values: Any
    if len(names) > 1:
        values = attrgetter(*names)
    elif names:
        one = attrgetter(names[0])

        def values(self: Any) -> tuple[Any, ...]:
            return (one(self),)
    else:
        def values(self: Any) -> tuple[Any, ...]:
            return ()

    def __repr__(self: Any) -> str:
        shown = ", ".join([f"{n}={v!r}" for n, v in zip(names, values(self), strict=True)])
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is self.__class__:
            return bool(values(self) == values(other))
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(values(self))

    def __setattr__(self: Any, name: str, value: object) -> None:
        if type(self) is made or name in names:
            raise _frozen_setattr_error("assign to", name)
        super(made, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is made or name in names:
            raise _frozen_setattr_error("delete", name)
        super(made, self).__delattr__(name)

    for method in (init, __repr__, __eq__, __hash__, __setattr__, __delattr__):
        method.__qualname__ = f"{made.__qualname__}.{method.__name__}"
        setattr(made, method.__name__, method)
    made.__getstate__ = _getstate
    made.__setstate__ = _setstate
    # The parameters dataclass() recorded (this class's own object), as
    # @dataclass(frozen=True, slots=True) records them.
    params = made.__dataclass_params__
    params.init = params.repr = params.eq = params.frozen = True
    return made  # type: ignore[no-any-return]
