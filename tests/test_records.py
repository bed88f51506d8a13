"""ds01's data classes behave as the standard ``dataclasses`` for everything ds01 uses.

Each test defines the same class with both decorators and checks the two agree; what the
standard module does is the expected result, so a difference is a bug in ``ds01.records.runtime``.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import subprocess
import sys
from collections.abc import Callable
from typing import Any, ClassVar

import pytest

from ds01.records import runtime as _records

BOTH = pytest.mark.parametrize("impl", [dataclasses, _records], ids=["standard", "ds01"])


def both(build: Callable[[Any], Any]) -> tuple[Any, Any]:
    return build(dataclasses), build(_records)


def _point(dc: Any) -> Any:
    @dc.dataclass(frozen=True)
    class Point:
        x: int
        y: int = 0
        tags: list[str] = dc.field(default_factory=list)
        note: str = dc.field(default="", compare=False)
        secret: str = dc.field(default="s", repr=False)
        LIMIT: ClassVar[int] = 3

    return Point


def _mutable(dc: Any) -> Any:
    @dc.dataclass
    class Box:
        items: dict[str, int] = dc.field(default_factory=dict)
        size: int = 1

    return Box


def test_init_repr_eq_and_hash_agree():
    std, ours = both(_point)
    for args, kwargs in [((1,), {}), ((1, 2), {"note": "n"}), ((), {"x": 5, "tags": ["a"], "secret": "z"})]:
        a, b = std(*args, **kwargs), ours(*args, **kwargs)
        assert repr(a) == repr(b)
        assert vars(a) == vars(b) and list(vars(a)) == list(vars(b))
        assert hash(ours(1, 2, ("t",))) == hash(ours(1, 2, ("t",), note="other"))
    assert ours(1) == ours(1, note="ignored") and ours(1) != ours(2)
    assert (ours(1) == std(1)) is False  # another class: NotImplemented, then identity
    assert ours(1).tags is not ours(1).tags  # a fresh default per instance
    assert hash(ours(1, 2, ())) == hash(std(1, 2, ()))  # the same tuple of compared fields
    assert ours.LIMIT == 3 and "LIMIT" not in [f.name for f in _records.fields(ours)]
    assert ours.__match_args__ == std.__match_args__


def test_nan_fields_compare_as_tuples_do():
    std, ours = both(_point)
    nan = float("nan")
    assert (std(nan) == std(nan)) == (ours(nan) == ours(nan))  # each False: two different objects
    same = float("nan")
    assert (std(same) == std(same)) is True and (ours(same) == ours(same)) is True  # identity first, as in tuples


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), ((1, 2, [], "n", "s", "extra"), {}), ((1,), {"x": 2}), ((1,), {"nope": 1})],
    ids=["missing", "too-many", "twice", "unknown"],
)
def test_bad_calls_raise_type_error_as_the_standard_one_does(args, kwargs):
    std, ours = both(_point)
    with pytest.raises(TypeError):
        std(*args, **kwargs)
    with pytest.raises(TypeError) as caught:
        ours(*args, **kwargs)
    assert "Point.__init__()" in str(caught.value)


@BOTH
def test_frozen_fields_cannot_be_set_or_deleted(impl):
    p = _point(impl)(1)
    with pytest.raises(impl.FrozenInstanceError):
        p.x = 2
    with pytest.raises(AttributeError):
        del p.y
    with pytest.raises(AttributeError):
        p.other = 1  # the class itself: no new attributes either
    object.__setattr__(p, "x", 9)  # the escape hatch code uses for caches
    assert p.x == 9


@BOTH
def test_mutable_classes_are_unhashable_and_settable(impl):
    box = _mutable(impl)()
    box.size = 4
    assert box.size == 4 and box.items == {}
    with pytest.raises(TypeError):
        hash(box)


@BOTH
def test_an_explicit_hash_is_kept(impl):
    @impl.dataclass
    class Keyed:
        key: str

        def __hash__(self) -> int:
            return 7

    assert hash(Keyed("a")) == 7


@BOTH
def test_methods_a_class_defines_are_kept(impl):
    @impl.dataclass(frozen=True)
    class Shown:
        a: int

        def __repr__(self) -> str:
            return "mine"

        def __eq__(self, other: object) -> bool:
            return True

    assert repr(Shown(1)) == "mine" and Shown(1) == Shown(2)
    assert hash(Shown(1)) == hash(Shown(1))  # frozen with eq: hashed on its fields still


@BOTH
def test_inherited_fields_come_first_and_defaults_can_change(impl):
    @impl.dataclass
    class Base:
        a: int
        b: str = "b"

    @impl.dataclass
    class Child(Base):
        c: float = 1.0
        b: str = "child"

    child = Child(1)
    assert [f.name for f in impl.fields(Child)] == ["a", "b", "c"]
    assert (child.a, child.b, child.c) == (1, "child", 1.0)
    assert repr(child).endswith(".<locals>.Child(a=1, b='child', c=1.0)")
    assert impl.is_dataclass(child) and impl.is_dataclass(Child) and not impl.is_dataclass(object())


@BOTH
def test_frozen_and_mutable_do_not_mix_in_inheritance(impl):
    @impl.dataclass(frozen=True)
    class Frozen:
        a: int

    with pytest.raises(TypeError):

        @impl.dataclass
        class Thawed(Frozen):
            b: int = 0


@BOTH
def test_keyword_only(impl):
    @impl.dataclass(frozen=True, kw_only=True)
    class Sample:
        when: float
        value: int = 0

    with pytest.raises(TypeError):
        Sample(1.0)
    assert Sample(when=1.0).value == 0 and Sample.__match_args__ == ()


@BOTH
def test_class_definition_errors(impl):
    with pytest.raises(ValueError):

        @impl.dataclass
        class Shared:
            items: list[int] = []  # the mistake under test

    with pytest.raises(TypeError):

        @impl.dataclass
        class Ordered:
            a: int = 0
            b: int  # type: ignore[misc]

    with pytest.raises(ValueError):
        impl.field(default=1, default_factory=list)


@BOTH
def test_fields_replace_and_asdict(impl):
    Point = _point(impl)

    @impl.dataclass(frozen=True)
    class Line:
        start: Any
        points: tuple[Any, ...] = ()
        meta: dict[str, Any] = impl.field(default_factory=dict)

    line = Line(Point(1), (Point(2, 3),), {"k": [Point(4)]})
    assert impl.asdict(line) == {
        "start": {"x": 1, "y": 0, "tags": [], "note": "", "secret": "s"},
        "points": ({"x": 2, "y": 3, "tags": [], "note": "", "secret": "s"},),
        "meta": {"k": [{"x": 4, "y": 0, "tags": [], "note": "", "secret": "s"}]},
    }
    moved = impl.replace(line.start, y=7)
    assert (moved.x, moved.y) == (1, 7) and line.start.y == 0
    assert [(f.name, f.init, f.compare, f.repr) for f in impl.fields(Point)][3:] == [
        ("note", True, False, True),
        ("secret", True, True, False),
    ]
    with pytest.raises(TypeError):
        impl.fields(object())
    with pytest.raises(TypeError):
        impl.asdict(Point)


@BOTH
def test_instances_pickle_and_copy(impl):
    Point = _point(impl)
    globals()["Point"] = Point  # pickle finds classes by module and name
    Point.__qualname__ = "Point"
    try:
        p = Point(1, 2, ["a"], note="n")
        assert pickle.loads(pickle.dumps(p)) == p
        assert copy.deepcopy(p) == p and copy.copy(p) == p
    finally:
        del globals()["Point"]


def test_ds01_code_uses_these_and_never_loads_the_standard_module():
    """Importing the whole of ds01's data types loads neither ``dataclasses`` nor ``inspect``."""
    probe = (
        "import sys\n"
        "import ds01.limits.config, ds01.base.container_spec, ds01.gpu.ledger, ds01.units.containers.create\n"
        "print(sorted(m for m in ('dataclasses', 'inspect') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "[]"
