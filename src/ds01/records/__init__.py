"""Data classes for ds01's code: ``from ds01.records import dataclass, field`` in place of ``dataclasses``.

Type checkers see the standard module (its plugin checks every class as a data class); at run
time the names come from ``ds01.records.runtime``, which builds the same methods without the
standard module's import and per-class compile cost (see there for the subset it covers and
why). No module of ds01 imports ``dataclasses`` itself (``tests/test_architecture.py``).
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import FrozenInstanceError, asdict, dataclass, field, fields, is_dataclass, replace
else:
    from ds01.records.runtime import FrozenInstanceError, asdict, dataclass, field, fields, is_dataclass, replace

__all__ = ["FrozenInstanceError", "asdict", "dataclass", "field", "fields", "is_dataclass", "replace"]
