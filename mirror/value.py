"""``@frozen``: the house's frozen dataclass, its comparison, hash and repr written once.

Why not plain ``@dataclass(frozen=True)``: Python 3.11 compiles each method a dataclass
generates on its own (an ``exec`` of its source each), six for a frozen class. A run creates
some 75 value classes before its first request, and compiling ``__eq__``, ``__hash__`` and
``__repr__`` took about a third of that (13 ms of every ``discover``). Here the three are
closures over the class's field names, made without compiling anything.

They behave as the generated ones: equal when the other object is of the same class and
the compared fields are equal (``NotImplemented`` otherwise); the hash of the hashed fields
(``field(hash=…)``, else the compared ones); ``Name(field=value, …)`` of the fields with
``repr=True``. A method the class writes itself (a ``__repr__`` that hides a secret) is kept.
``__init__`` and immutability are the dataclass's own; ``fields``, ``replace`` and
``asdict`` work as on any dataclass.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform, overload

__all__ = ["frozen"]

T = TypeVar("T")


@overload
def frozen(cls: type[T], /) -> type[T]: ...


@overload
def frozen(*, slots: bool = False) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def frozen(cls: type[T] | None = None, /, *, slots: bool = False) -> type[T] | Callable[[type[T]], type[T]]:
    """Make ``cls`` a frozen dataclass (with ``__slots__`` when ``slots``); see the module."""

    def wrap(cls: type[T]) -> type[T]:
        own = {name for name in ("__eq__", "__hash__", "__repr__") if name in cls.__dict__}
        if cls.__dict__.get("__hash__", False) is None and "__eq__" in own:
            own.discard("__hash__")  # Python's None for a class that writes __eq__: hashed as dataclass does
        made = dataclasses.dataclass(frozen=True, eq=False, repr=False, slots=slots)(cls)
        for name, method in _methods(made).items():
            if name not in own:
                method.__qualname__ = f"{made.__qualname__}.{name}"
                setattr(made, name, method)
        return made

    return wrap if cls is None else wrap(cls)


def _methods(cls: type) -> dict[str, Callable[..., Any]]:
    specs = dataclasses.fields(cls)
    compared = _getter([spec.name for spec in specs if spec.compare])
    hashed = _getter([spec.name for spec in specs if (spec.compare if spec.hash is None else spec.hash)])
    shown = [spec.name for spec in specs if spec.repr]

    def __eq__(self: object, other: object) -> bool:
        if other.__class__ is self.__class__:
            return compared(self) == compared(other)
        return NotImplemented

    def __hash__(self: object) -> int:
        return hash(hashed(self))

    def __repr__(self: object) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{self.__class__.__qualname__}({args})"

    return {"__eq__": __eq__, "__hash__": __hash__, "__repr__": __repr__}


def _getter(names: list[str]) -> Callable[[object], object]:
    """The fields, read by one C call (``attrgetter``): a tuple, or the value of a single one."""
    if not names:
        return lambda _: ()
    return attrgetter(*names)
