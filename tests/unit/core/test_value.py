"""``@frozen`` behaves as ``@dataclass(frozen=True)``: compared side by side on the same classes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import FrozenInstanceError, dataclass, field

import pytest

from mirror.value import frozen


def _pair(slots: bool = False) -> tuple[type, type]:
    """The same class body made by each decorator."""

    def body(decorate: Callable[[type], type]) -> type:
        @decorate
        class Item:
            name: str
            count: int = 0
            tags: tuple[str, ...] = ()
            note: str = field(default="", compare=False)  # neither compared nor hashed
            secret: str = field(default="", repr=False)
            cached: int = field(default=0, hash=False)  # compared, not hashed
        return Item

    plain = body(dataclass(frozen=True, slots=slots))
    ours = body(frozen(slots=slots) if slots else frozen)
    return plain, ours


SAMPLES = [
    ("a", 1, ("x",), "", "", 0),
    ("a", 1, ("x",), "other note", "", 0),  # equal to the first: note= is not compared
    ("a", 1, ("x",), "", "s", 0),
    ("a", 2, ("x",), "", "", 0),
    ("b", 1, (), "", "", 0),
    ("a", 1, ("x",), "", "", 7),
]


@pytest.mark.parametrize("slots", [False, True])
def test_equality_hash_and_repr_are_those_of_a_frozen_dataclass(slots: bool) -> None:
    plain, ours = _pair(slots)
    for left in SAMPLES:
        for right in SAMPLES:
            assert (ours(*left) == ours(*right)) == (plain(*left) == plain(*right)), (left, right)
            assert (ours(*left) != ours(*right)) == (plain(*left) != plain(*right))
            if ours(*left) == ours(*right):
                assert hash(ours(*left)) == hash(ours(*right))
        assert repr(ours(*left)) == repr(plain(*left))  # the secret is not shown by either
    assert "secret" not in repr(ours("a", secret="hunter2")) and "hunter2" not in repr(ours("a", secret="hunter2"))
    assert len({ours(*s) for s in SAMPLES}) == len({plain(*s) for s in SAMPLES}) == 5


def test_other_classes_are_never_equal_and_fields_stay_frozen() -> None:
    @frozen
    class A:
        x: int

    @frozen
    class B(A):
        pass

    assert A(1) != B(1) and B(1) != A(1) and A(1) == A(1)
    assert A(1) != (1,)  # type: ignore[comparison-overlap]
    assert A(1).__eq__(object()) is NotImplemented
    with pytest.raises(FrozenInstanceError):
        A(1).x = 2  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del A(1).x
    assert dataclasses.replace(A(1), x=3) == A(3) and dataclasses.asdict(A(4)) == {"x": 4}
    assert A.__eq__.__qualname__.endswith("A.__eq__")


def test_a_method_the_class_writes_itself_is_kept() -> None:
    @frozen
    class Token:
        value: str

        def __repr__(self) -> str:
            return "Token(<hidden>)"

    assert repr(Token("abc")) == "Token(<hidden>)" and Token("abc") == Token("abc")

    @frozen
    class Loose:
        name: str

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Loose) and other.name.lower() == self.name.lower()

    @dataclass(frozen=True)
    class Plain:
        name: str

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Plain) and other.name.lower() == self.name.lower()

    assert Loose("A") == Loose("a") and Plain("A") == Plain("a")
    assert hash(Loose("a")) == hash(Loose("a")) and hash(Plain("a")) == hash(Plain("a"))  # hashable, as dataclass makes it


def test_no_fields_and_slots() -> None:
    @frozen
    class Empty:
        pass

    @frozen(slots=True)
    class Slotted:
        x: int

    assert Empty() == Empty() and hash(Empty()) == hash(Empty()) and repr(Empty()).endswith(".Empty()")
    assert Slotted.__slots__ == ("x",) and Slotted(1) == Slotted(1) and repr(Slotted(2)).endswith(".Slotted(x=2)")
