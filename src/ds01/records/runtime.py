"""What ``ds01.records`` gives at run time: data classes without ``exec`` and without ``inspect``.

The standard ``dataclasses`` module imports ``inspect`` (and with it ``ast``, ``dis``,
``tokenize``) and compiles each generated method from source with ``exec``; on a small
server that is about 16 ms for the import and 0.6 ms per class, paid by every process before
it does anything. ``ds01 mlc create`` defines some thirty classes on its way to the engine.
The decorator here builds the same methods as closures over each class's field table, for
the subset of ``dataclasses`` that ds01 uses:

- ``dataclass`` and ``dataclass(frozen=..., kw_only=...)``; fields inherited from data-class
  bases, in definition order; ``ClassVar`` annotations are not fields;
- ``field(default=..., default_factory=..., init=..., repr=..., compare=..., kw_only=...)``;
- the generated ``__init__`` (with ``__post_init__``), ``__repr__``, ``__eq__``, ``__hash__``
  (frozen and compared classes hash their compared fields; other compared classes are
  unhashable unless they define ``__hash__``), ``__match_args__``, and for frozen classes
  ``__setattr__``/``__delattr__`` raising ``FrozenInstanceError``; methods a class defines
  itself are kept, as ``dataclasses`` keeps them;
- ``fields``, ``replace``, ``asdict`` and ``is_dataclass``.

The errors are the standard ones (``TypeError`` for a bad call or a non-default field after a
default one, ``ValueError`` for a mutable default, ``FrozenInstanceError`` an
``AttributeError``). ``tests/test_records.py`` runs every behaviour above against the
standard module side by side.
"""

from __future__ import annotations

import reprlib
from operator import attrgetter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class FrozenInstanceError(AttributeError):
    """Assigning to or deleting a field of a frozen data class."""


class Field:
    __slots__ = ("name", "type", "default", "default_factory", "init", "repr", "compare", "kw_only")

    def __init__(
        self,
        default: Any = MISSING,
        default_factory: Any = MISSING,
        init: bool = True,
        repr: bool = True,
        compare: bool = True,
        kw_only: Any = MISSING,
    ) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.type: Any = None
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.compare = compare
        self.kw_only = kw_only

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, default={self.default!r}, init={self.init}, kw_only={self.kw_only})"


def field(**options: Any) -> Any:
    """``dataclasses.field``: ``default``, ``default_factory``, ``init``, ``repr``, ``compare``, ``kw_only``."""
    return Field(**options)


_FIELDS = "__record_fields__"


def is_dataclass(obj: object) -> bool:
    cls = obj if isinstance(obj, type) else type(obj)
    return hasattr(cls, _FIELDS)


def fields(obj: object) -> tuple[Field, ...]:
    try:
        table: dict[str, Field] = getattr(obj, _FIELDS)
    except AttributeError:
        raise TypeError("must be called with a dataclass type or instance") from None
    return tuple(table.values())


def replace(obj: Any, /, **changes: Any) -> Any:
    for f in fields(obj):
        if not f.init:
            if f.name in changes:
                raise ValueError(f"field {f.name} is declared with init=False, it cannot be specified with replace()")
            continue
        if f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    return obj.__class__(**changes)


def asdict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, type) or not is_dataclass(obj):
        raise TypeError("asdict() should be called on dataclass instances")
    return _asdict(obj)  # type: ignore[no-any-return]


def _asdict(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _asdict(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*[_asdict(v) for v in value])
    if isinstance(value, (list, tuple)):
        return type(value)(_asdict(v) for v in value)
    if isinstance(value, dict):
        return type(value)((_asdict(k), _asdict(v)) for k, v in value.items())
    import copy

    return copy.deepcopy(value)


def _is_classvar(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return text.startswith(("ClassVar", "typing.ClassVar", "t.ClassVar"))


def _collect(cls: type, kw_only: bool) -> dict[str, Field]:
    table: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        table.update(getattr(base, _FIELDS, None) or {})
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if _is_classvar(annotation):
            continue
        value = cls.__dict__.get(name, MISSING)
        f = value if isinstance(value, Field) else Field(default=value)
        f.name, f.type = name, annotation
        if f.kw_only is MISSING:
            f.kw_only = kw_only
        if isinstance(f.default, (list, dict, set)):
            raise ValueError(f"mutable default {type(f.default)} for field {name} is not allowed: use default_factory")
        if isinstance(value, Field):
            if f.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
        table[name] = f
    return table


def _make_init(cls: type, table: dict[str, Field]) -> Callable[..., None]:
    positional = [f for f in table.values() if f.init and not f.kw_only]
    keyword = [f for f in table.values() if f.init and f.kw_only]
    seen_default = False
    for f in positional:
        if f.default is not MISSING or f.default_factory is not MISSING:
            seen_default = True
        elif seen_default:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")
    names = [f.name for f in positional]
    accepted = {f.name for f in positional} | {f.name for f in keyword}
    order = list(table.values())
    post_init = getattr(cls, "__post_init__", None)
    qualname = cls.__qualname__
    npos = len(names)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > npos:
            raise TypeError(
                f"{qualname}.__init__() takes {npos + 1} positional arguments but {len(args) + 1} were given"
            )
        given = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in accepted:
                raise TypeError(f"{qualname}.__init__() got an unexpected keyword argument {key!r}")
            if key in given:
                raise TypeError(f"{qualname}.__init__() got multiple values for argument {key!r}")
            given[key] = value
        values = {}
        for f in order:
            if f.init and f.name in given:
                values[f.name] = given[f.name]
            elif f.default is not MISSING:
                values[f.name] = f.default
            elif f.default_factory is not MISSING:
                values[f.name] = f.default_factory()
            elif f.init:
                raise TypeError(f"{qualname}.__init__() missing 1 required argument: {f.name!r}")
        self.__dict__.update(values)
        if post_init is not None:
            self.__post_init__()

    __init__.__qualname__ = f"{qualname}.__init__"
    return __init__


def _make_repr(table: dict[str, Field]) -> Callable[[Any], str]:
    shown = [f.name for f in table.values() if f.repr]

    @reprlib.recursive_repr()
    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{self.__class__.__qualname__}({inner})"

    return __repr__


def _key(table: dict[str, Field]) -> Callable[[Any], tuple[Any, ...]]:
    """The compared fields of an instance as a tuple (as the standard methods compare and hash them)."""
    names = [f.name for f in table.values() if f.compare]
    if not names:
        return lambda _obj: ()
    get = attrgetter(*names)
    if len(names) == 1:
        return lambda obj: (get(obj),)
    return get  # type: ignore[no-any-return]


def _make_eq(table: dict[str, Field]) -> Callable[[Any, Any], Any]:
    key = _key(table)

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return key(self) == key(other)

    return __eq__


def _make_hash(table: dict[str, Field]) -> Callable[[Any], int]:
    key = _key(table)

    def __hash__(self: Any) -> int:
        return hash(key(self))

    return __hash__


def _make_frozen(cls: type[Any], table: dict[str, Field]) -> tuple[Callable[..., None], Callable[..., None]]:
    names = frozenset(table)

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return __setattr__, __delattr__


def _process(cls: type, frozen: bool, kw_only: bool) -> type:
    own = cls.__dict__
    table = _collect(cls, kw_only)
    bases_frozen = {b.__dict__["__record_frozen__"] for b in cls.__mro__[1:] if "__record_frozen__" in b.__dict__}
    if bases_frozen and bases_frozen != {frozen}:
        raise TypeError(
            "cannot inherit frozen dataclass from a non-frozen one"
            if frozen
            else "cannot inherit non-frozen dataclass from a frozen one"
        )
    setattr(cls, _FIELDS, table)
    setattr(cls, "__record_frozen__", frozen)  # noqa: B010 - a name type checkers do not know
    if "__init__" not in own:
        cls.__init__ = _make_init(cls, table)  # type: ignore[misc]
    if "__repr__" not in own:
        cls.__repr__ = _make_repr(table)  # type: ignore[assignment]
    if "__eq__" not in own:
        cls.__eq__ = _make_eq(table)  # type: ignore[assignment]
    if own.get("__hash__") is None:  # none of its own (a class defining __eq__ gets __hash__ = None)
        cls.__hash__ = _make_hash(table) if frozen else None  # type: ignore[assignment]
    if frozen:
        for name in ("__setattr__", "__delattr__"):
            if name in own:
                raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")
        cls.__setattr__, cls.__delattr__ = _make_frozen(cls, table)  # type: ignore[method-assign]
    if "__match_args__" not in own:
        setattr(cls, "__match_args__", tuple(f.name for f in table.values() if f.init and not f.kw_only))  # noqa: B010
    return cls


def dataclass(cls: type | None = None, /, *, frozen: bool = False, kw_only: bool = False) -> Any:
    def wrap(c: type) -> type:
        return _process(c, frozen, kw_only)

    return wrap if cls is None else wrap(cls)
