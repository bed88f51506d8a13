"""The last known good configuration: what ds01 runs on when the file on disk is invalid.

Every successful validation stores the validated ``Config`` in the state folder
(``config-last-good.json``, written atomically; root's file in secure mode, where only root
writes the state folder). When ``resource-limits.yaml`` later fails validation, commands that
only read or give back (stop, cleanup, retire, list, status, gpu release, the lifecycle pass)
run on that copy with one warning line; commands that take new resources refuse (exit 2) and
tell a user who is not an admin to ask one. A config never validated stays an error for
every command. The copy is plain tagged JSON (no code runs when it is read), rebuilt through
the config's own dataclasses.
"""

from __future__ import annotations

import json
import os
import stat
import time
from datetime import UTC, date, datetime
from pathlib import Path

from ds01 import paths, records
from ds01.errors import ConfigError, Ds01Error
from ds01.limits import config as _config
from ds01.limits import stamp as _stamp
from ds01.timefmt import now_iso

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FILE_NAME = _stamp.FILE_NAME
FORMAT = 1


def store_path(state_dir: Path | None = None) -> Path:
    return (paths.state_dir() if state_dir is None else state_dir) / FILE_NAME


# -- tagged JSON --------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    if records.is_dataclass(value) and not isinstance(value, type):
        return {
            "$dc": type(value).__name__,
            "f": {f.name: _encode(getattr(value, f.name)) for f in records.fields(value)},
        }
    if isinstance(value, Path):
        return {"$path": str(value)}
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, frozenset):
        return {"$fs": [_encode(v) for v in sorted(value, key=repr)]}
    if isinstance(value, set):
        return {"$set": [_encode(v) for v in sorted(value, key=repr)]}
    if isinstance(value, tuple):
        return {"$t": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {"$kv": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__}")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$dc" in value:
        cls = getattr(_config, str(value["$dc"]), None)
        if not (isinstance(cls, type) and records.is_dataclass(cls) and cls.__module__ == _config.__name__):
            raise ValueError(f"unknown config type {value['$dc']!r}")
        known = {f.name for f in records.fields(cls) if f.init}
        return cls(**{k: _decode(v) for k, v in value["f"].items() if k in known})
    if "$path" in value:
        return Path(value["$path"])
    if "$dt" in value:
        return datetime.fromisoformat(value["$dt"])
    if "$date" in value:
        return date.fromisoformat(value["$date"])
    if "$fs" in value:
        return frozenset(_decode(v) for v in value["$fs"])
    if "$set" in value:
        return {_decode(v) for v in value["$set"]}
    if "$t" in value:
        return tuple(_decode(v) for v in value["$t"])
    if "$kv" in value:
        return {_decode(k): _decode(v) for k, v in value["$kv"]}
    raise ValueError("unknown tagged value")


# -- store and read back -------------------------------------------------------------------


def remember(config: _config.Config, *, state_dir: Path | None = None, stamp: dict[str, Any] | None = None) -> bool:
    """Store ``config`` as the last good one (only when it or its ``stamp`` changed). False when
    it cannot be stored. ``stamp`` (``limits.stamp.make``): the identity of the files validated."""
    from ds01.fsutil import write_atomic

    target = store_path(state_dir)
    found = _stamp.read_json(str(target))
    old = found[0] if found is not None and isinstance(found[0], dict) else {}
    if (
        stamp is not None
        and old.get("source") == str(config.path)
        and old.get("stamp") == stamp
        and _own_or_roots(target)
    ):
        return True  # the very files stored last time: the same config, not encoded again
    try:
        body = _encode(config)
    except TypeError:
        return False
    if old.get("source") == str(config.path) and old.get("config") == body and old.get("stamp") == stamp:
        return True
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    if not os.access(target.parent, os.W_OK):
        return False
    record = {"format": FORMAT, "source": str(config.path), "validated_at": now_iso(), "config": body}
    if stamp is not None:
        record["stamp"] = stamp
    try:
        write_atomic(target, json.dumps(record, sort_keys=True), mode=0o644)
    except Ds01Error:
        return False
    return True


def _own_or_roots(target: Path) -> bool:
    """Whether the stored record is this process's or root's own file (not a link): only then
    is a matching stamp taken as proof that the stored config is the one validated. A record
    someone else wrote (group mode lets any member write it) is written afresh instead."""
    try:
        st = os.lstat(target)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_uid in (0, os.geteuid())


@records.dataclass(frozen=True)
class LastGood:
    config: _config.Config
    validated_at: str


def recall(source: Path, *, state_dir: Path | None = None) -> LastGood | None:
    """The last good config stored for ``source``, or None (never stored, unreadable, untrusted)."""
    found = _stamp.read_json(str(store_path(state_dir)))
    if found is None or not isinstance(found[0], dict):
        return None
    record, st = found
    if record.get("source") != str(source):
        return None
    config = _rebuilt(record)
    if config is None:
        return None
    # In secure mode only root writes the state folder: a copy someone else wrote is not used.
    # In group mode every user writes it (and every user may run Docker anyway).
    if st.st_uid not in (0, os.geteuid()) and config.security.mode != "group":
        return None
    return LastGood(config, str(record.get("validated_at") or "?"))


def _stamped(path: Path) -> _config.Config | None:
    """The config as last validated, when the files are still the ones stamped then
    (``limits.stamp``) and the record is root's or this process's own; else None."""
    record = _stamp.read_record(str(paths.state_dir()), values=True)
    if record is None or not _stamp.matches(record, str(path)):
        return None
    return _rebuilt(record)


def _rebuilt(record: dict[str, Any]) -> _config.Config | None:
    """The config a record of this format holds, rebuilt; None when it cannot be."""
    if record.get("format") != FORMAT:
        return None
    try:
        config = _decode(record["config"])
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None
    return config if isinstance(config, _config.Config) else None


# -- the policy ---------------------------------------------------------------------------

READ = "read"  # the command only reads or gives back
TAKE = "take"  # the command takes new resources (the default)


def invalid_since(path: Path) -> str:
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return "now"
    return datetime.fromtimestamp(mtime, UTC).strftime("%Y-%m-%d %H:%M UTC")


def load(path: Path, *, use: str, is_admin: Any = None, warn: Any = None) -> _config.Config:
    """The config for a command that ``use``s it (READ or TAKE).

    A file that is still the one last validated (``limits.stamp``): the config stored then,
    without parsing the file. Valid file: that config, stored as the last good one. Invalid
    file: for READ the last good config with one ``warn`` line; for TAKE (or when none was
    ever stored) ConfigError, exit 2.
    ``is_admin(config_or_None)`` tells whether the caller may fix the file (decides the advice).
    """
    stamped = _stamped(path)
    if stamped is not None:
        return stamped
    read_at = time.time_ns()
    before = _stamp.identity(str(path))
    try:
        config = _config.load_config(path)
    except ConfigError as error:
        good = recall(path)
        since = invalid_since(path)
        if good is None:
            raise
        if use == READ:
            if warn is not None:
                warn(
                    f"The config {path} is invalid since {since}; using the last valid one "
                    f"(validated {good.validated_at}); admins: `ds01 limits check {path}`."
                )
            return good.config
        admin = bool(is_admin(good.config)) if is_admin is not None else False
        if admin:
            raise ConfigError(
                f"{error.message} New resources are refused until it is valid again "
                "(stopping, cleanup and listing use the last valid config).",
                details=error.details,
            ) from None
        raise ConfigError(
            f"The server's configuration is invalid since {since}, so ds01 gives out no new "
            "resources until it is fixed; ask your admin to fix it. Stopping, cleaning up "
            "and listing your containers still work."
        ) from None
    topology = config.gpu_allocation.topology
    mark = _stamp.make(
        str(path), str(topology) if topology else None, config.security.mode, read_at_ns=read_at, home=config.home
    )
    # Stamped only when the file did not change while it was read.
    remember(config, stamp=mark if mark and before is not None and mark["files"][0][1] == before else None)
    return config
