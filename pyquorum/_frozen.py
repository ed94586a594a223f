"""``@frozen`` and ``@slotted``: ``@dataclass(frozen=True, slots=True)`` and
``@dataclass(slots=True)`` without the ``dataclasses`` module.

Every command imports the ~60 message classes.  ``dataclass`` compiles six
methods for each (one ``exec`` apiece) and builds each class twice for its
slots, and importing ``dataclasses`` imports ``inspect`` (and with it
``ast``, ``dis``, ``tokenize``, ``linecache``): together about a fifth of
``pyquorum status``'s start-up.  Here the class is built once more with its
slots, and its methods are shared functions and closures over the field
names; ``__init__`` is a code object compiled once per number of fields and
given the class's parameter names.

The classes behave as the dataclasses did: the same constructor signature and
defaults, equality (same class, equal fields), hashing (of the field tuple;
none for ``@slotted``), ``repr``, ``__match_args__``, ``__slots__``,
``FrozenInstanceError`` on assignment or deletion, ``copy`` and pickling.
``__dataclass_fields__`` and ``__dataclass_params__`` are made on first
access (real ``dataclasses.Field`` objects, importing ``dataclasses`` then),
so ``dataclasses.fields``/``replace``/``asdict``/``is_dataclass`` work on the
classes and their instances for whoever imports ``dataclasses``.
tests/test_frozen.py holds every class to the dataclass it replaces.

Only plain fields with or without a default: no ``field()``, no
``__post_init__``, no ``ClassVar``/``InitVar``/``KW_ONLY``, no dataclass
base; anything else is a TypeError here rather than a silent difference.
"""

from __future__ import annotations

import sys
from operator import attrgetter
from types import CellType, CodeType, FunctionType
from typing import TYPE_CHECKING, Any, TypeVar, dataclass_transform

if TYPE_CHECKING:
    import dataclasses

__all__ = ["frozen", "slotted"]

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


def _frozen_error(verb: str, name: str) -> AttributeError:
    import dataclasses  # (only when someone tries: an error path)

    return dataclasses.FrozenInstanceError(f"cannot {verb} field {name!r}")


class _Fields:
    """The class's ``__dataclass_fields__`` (or ``__dataclass_params__``), made
    on first access from the class's field names, annotations and defaults,
    then stored on the class in place of this descriptor."""

    cls: type  # (set once the class is made)

    def __init__(self, attribute: str, frozen: bool, defaults: dict[str, Any]) -> None:
        self.attribute = attribute
        self.frozen = frozen
        self.defaults = defaults

    def __get__(self, instance: object, owner: type | None = None) -> object:
        import dataclasses

        cls = self.cls
        value: object
        if self.attribute == "__dataclass_params__":
            newer = {"match_args": True, "kw_only": False, "slots": True, "weakref_slot": False}
            value = dataclasses._DataclassParams(  # type: ignore[attr-defined]
                init=True, repr=True, eq=True, order=False, unsafe_hash=False,
                frozen=self.frozen, **(newer if sys.version_info >= (3, 12) else {}))
        else:
            annotations = cls.__dict__.get("__annotations__", {})  # noqa: RUF063
            made: dict[str, dataclasses.Field[Any]] = {}
            for name in cls.__slots__:  # type: ignore[attr-defined]
                f: Any = dataclasses.field(default=self.defaults.get(name, dataclasses.MISSING))
                f.name, f.type, f.kw_only = name, annotations[name], False
                f._field_type = dataclasses._FIELD  # type: ignore[attr-defined]
                made[name] = f
            value = made
        type.__setattr__(cls, self.attribute, value)
        return value


def _make(cls: type, frozen: bool) -> type:
    """``cls`` rebuilt with slots and the methods of a frozen (or plain) dataclass."""
    name = cls.__name__
    if "__post_init__" in cls.__dict__:
        raise TypeError(f"@frozen: {name} has __post_init__ (use @dataclass)")
    if "__slots__" in cls.__dict__:
        raise TypeError(f"{name} already specifies __slots__")
    for base in cls.__mro__[1:]:
        if "__dataclass_fields__" in base.__dict__:
            raise TypeError(
                f"@frozen: {name} has a dataclass base {base.__name__} (use @dataclass)")
    # (as dataclass reads them; inspect.get_annotations would import inspect)
    annotations: dict[str, Any] = cls.__dict__.get("__annotations__", {})  # noqa: RUF063
    dc = sys.modules.get("dataclasses")  # a field() can only come from there
    names = tuple(annotations)
    defaults: dict[str, Any] = {}
    for field_name, annotation in annotations.items():
        shown = annotation if isinstance(annotation, str) else repr(annotation)
        if "ClassVar" in shown or "InitVar" in shown or "KW_ONLY" in shown:
            raise TypeError(f"@frozen: {name}.{field_name} is a {shown} (use @dataclass)")
        if field_name in cls.__dict__:
            default = cls.__dict__[field_name]
            if dc is not None and isinstance(default, dc.Field):
                raise TypeError(f"@frozen: {name}.{field_name} uses field() (use @dataclass)")
            if default.__class__.__hash__ is None:  # as dataclass refuses list, dict, set
                raise ValueError(f"mutable default {type(default)} for field {field_name} "
                                 "is not allowed: use default_factory")
            defaults[field_name] = default
        elif defaults:
            raise TypeError(f"non-default argument {field_name!r} follows default argument")

    body = dict(cls.__dict__)
    for field_name in names:
        body.pop(field_name, None)
    body.pop("__dict__", None)
    body.pop("__weakref__", None)
    body["__slots__"] = names
    body.setdefault("__match_args__", names)
    if not cls.__doc__:
        body["__doc__"] = name  # (dataclass would build one with inspect.signature)
    qualname = cls.__qualname__

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

    # Every method goes into the body, so that the class is made once, complete
    # (setting a method on a made class costs as much as a small class).  What
    # refers to the class itself reads ``made`` (or, for __init__, cells holding
    # the slots' setters) once it exists.
    made: Any = None
    cells = tuple(CellType() for _ in names)
    methods: dict[str, Any] = {}
    if "__init__" not in body:
        # __init__ fills the slots through their descriptors (as dataclass's does
        # through object.__setattr__), in the module's globals as dataclass's is.
        code = _init_code(len(names)).replace(
            co_varnames=("self", *names), co_qualname=f"{qualname}.__init__")
        module = sys.modules.get(cls.__module__)
        init = FunctionType(code, module.__dict__ if module is not None else {}, "__init__",
                            tuple(defaults.values()) or None,
                            tuple(cells[int(free[1:])] for free in code.co_freevars))
        init.__annotations__ = {**annotations, "return": None}
        methods["__init__"] = init

    def __repr__(self: Any) -> str:
        shown = ", ".join([f"{n}={v!r}" for n, v in zip(names, values(self), strict=True)])
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is self.__class__:
            return bool(values(self) == values(other))
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(values(self))

    def __setattr__(self: Any, attr: str, value: object) -> None:
        if type(self) is made or attr in names:
            raise _frozen_error("assign to", attr)
        super(made, self).__setattr__(attr, value)

    def __delattr__(self: Any, attr: str) -> None:
        if type(self) is made or attr in names:
            raise _frozen_error("delete", attr)
        super(made, self).__delattr__(attr)

    def __getstate__(self: Any) -> list[Any]:
        return list(values(self))

    def __setstate__(self: Any, state: list[Any]) -> None:
        for attr, value in zip(names, state, strict=True):
            object.__setattr__(self, attr, value)

    for shared in (__repr__, __eq__):
        if shared.__name__ not in body:
            methods[shared.__name__] = shared
    # dataclass's hash rule (eq=True, unsafe_hash=False): a class's own __hash__
    # stays; otherwise frozen classes hash their fields, the others are unhashable.
    explicit_hash = body.get("__hash__") is not None or (
        "__hash__" in body and "__eq__" not in body)
    if not explicit_hash:
        methods["__hash__"] = __hash__ if frozen else None
    if frozen:
        for guard in (__setattr__, __delattr__):
            if guard.__name__ in body:
                raise TypeError(f"Cannot overwrite attribute {guard.__name__} in class {name}")
            methods[guard.__name__] = guard
        for pickling in (__getstate__, __setstate__):
            if pickling.__name__ not in body:
                methods[pickling.__name__] = pickling
    for attr, method in methods.items():
        if method is not None:
            method.__qualname__ = f"{qualname}.{attr}"
    fields = _Fields("__dataclass_fields__", frozen, defaults)
    params = _Fields("__dataclass_params__", frozen, defaults)
    body.update(methods, __dataclass_fields__=fields, __dataclass_params__=params)

    made = type(cls)(name, cls.__bases__, body)
    made.__qualname__ = qualname
    fields.cls = params.cls = made
    for cell, field_name in zip(cells, names, strict=True):
        cell.cell_contents = made.__dict__[field_name].__set__
    return made  # type: ignore[no-any-return]


@dataclass_transform(frozen_default=True)
def frozen(cls: type[T]) -> type[T]:
    """The class as ``@dataclass(frozen=True, slots=True)`` would make it."""
    return _make(cls, frozen=True)


@dataclass_transform()
def slotted(cls: type[T]) -> type[T]:
    """The class as ``@dataclass(slots=True)`` would make it (mutable, unhashable)."""
    return _make(cls, frozen=False)
