"""Whether the config file is the one last validated, without reading any YAML.

Every successful validation stores the config in the last-good record (``last_good``) with a
stamp: the ds01 version, the host's CPU count (a validation input), the size and mtime of the
code that validates, the security mode, and the identity (device, inode, size, mtime and ctime
in nanoseconds) of the config file and of the topology file it names. A write to either file
changes its ctime, which no user can set back, so a file whose identity is the stamp's holds
what was validated. The listings (``container list``) use this to skip the parse when all
they need to know is that the config is valid; every other command (``last_good.load``)
takes the validated config from the record instead of parsing the file again.

A file changed in the same clock tick as the read that validated it would keep its identity
(a file's times come from a coarse clock: a tick is a few milliseconds on most filesystems
and a whole second on some, such as ext4 with small inodes or some network filesystems), so
a file younger than ``RACY_NS`` (2 s) when it was read is not stamped: the next command
validates it again, as git re-reads a "racily clean" file. Once a read began a whole tick
after the file's last change, a later write falls in a later tick and changes the ctime.

The record is read as hostile input (``read_json``): never through a link, never a FIFO or a
device (which would block every command), at most ``MAX_RECORD`` bytes, a nesting too deep
for the parser is "no record", and a record whose values are wanted is read only when its
owner may be believed.

A record is believed only as ``last_good.recall`` believes it: a regular file, not a link,
writable by its owner only, owned by root or by this process's user (or, to know that the
config is valid, by anyone on a server in group mode, where every user writes the state
folder; values are never taken from another user's record). A stamp that does not match
sends the command the slow way, which validates and stores a new one.
"""

from __future__ import annotations

import os
import stat

from ds01 import __version__, jsonlite

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FILE_NAME = "config-last-good.json"


def identity(path: str) -> list[int] | None:
    """(device, inode, size, mtime_ns, ctime_ns) of the file at ``path``; None when it cannot be read."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


RACY_NS = 2_000_000_000  # a file younger than this when read is not stamped (see above)
MAX_RECORD = 1 << 22  # bytes; a config record is a few kilobytes

# The modules whose code decides what a valid config is and what it holds (package paths).
_CODE = (
    "limits/config.py",
    "limits/schema.py",
    "limits/units.py",
    "limits/reservation.py",
    "limits/topology.py",
    "limits/legacy.py",
    "yaml12.py",
)


def _code_mark() -> list[list[int]]:
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = []
    for name in _CODE:
        try:
            st = os.stat(os.path.join(package, name))
        except OSError:
            out.append([-1, -1])
            continue
        out.append([st.st_size, st.st_mtime_ns])
    return out


def make(
    config_path: str, topology: str | None, security_mode: str, *, read_at_ns: int, home: str | None = None
) -> dict[str, Any] | None:
    """The stamp of a config just validated, whose read began at ``read_at_ns`` (``time.time_ns``);
    None when a file cannot be stat'ed or was changed too shortly before (``RACY_NS``).
    ``home``: the home folder a ``~`` in its paths was expanded with (``Config.home``)."""
    files = [config_path] + ([topology] if topology else [])
    ids = [identity(f) for f in files]
    if any(i is None or read_at_ns - i[4] < RACY_NS for i in ids):
        return None
    pairs = [[f, i] for f, i in zip(files, ids, strict=True)]
    return {
        "ds01": __version__,
        "cpus": os.cpu_count(),
        "code": _code_mark(),
        "security_mode": security_mode,
        "home": home,
        "files": pairs,
    }


def read_json(path: str, *, owners: tuple[int, ...] | None = None) -> tuple[Any, os.stat_result] | None:
    """The JSON document in the regular file at ``path``, and the file's stat; None when it is
    missing, a link, not a regular file (a FIFO would block the reader), writable by others
    than its owner, larger than ``MAX_RECORD``, owned by none of ``owners`` (when given; checked
    before anything is read), or not JSON this parser can read (a nesting too deep included)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except (OSError, ValueError):
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_mode & 0o022 or st.st_size > MAX_RECORD:
            return None
        if owners is not None and st.st_uid not in owners:
            return None
        chunks = []
        size = 0
        while size <= MAX_RECORD and (chunk := os.read(fd, 1 << 20)):
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_RECORD:
            return None
        return jsonlite.loads(b"".join(chunks)), st
    except (OSError, ValueError, RecursionError):
        return None
    finally:
        os.close(fd)


def read_record(state_dir: str, *, values: bool = False) -> dict[str, Any] | None:
    """The last-good record as stored, when it is believed (see the module's text); else None.
    ``values``: the caller takes values from it, so only root's record or this user's own will do."""
    found = read_json(os.path.join(state_dir, FILE_NAME), owners=(0, os.geteuid()) if values else None)
    if found is None or not isinstance(found[0], dict):
        return None
    record, st = found
    mark = record.get("stamp")
    mode = mark.get("security_mode") if isinstance(mark, dict) else None
    if st.st_uid not in (0, os.geteuid()) and (values or mode != "group"):
        return None
    return record


def valid_as_stamped(config_path: str, state_dir: str) -> bool:
    """True when the config at ``config_path`` (and its topology) are the files last validated."""
    record = read_record(state_dir)
    return record is not None and matches(record, config_path)


def matches(record: dict[str, Any], config_path: str) -> bool:
    """Whether ``record`` (``read_record``) holds the validation of the config at ``config_path``
    as it is now: same files, same ds01, same validating code, same host CPU count (and the
    same home folder, when a path in it began with ``~``)."""
    if record.get("source") != config_path:
        return False
    mark = record.get("stamp")
    if not isinstance(mark, dict) or mark.get("ds01") != __version__ or mark.get("cpus") != os.cpu_count():
        return False
    files = mark.get("files")
    if not isinstance(files, list) or not files or files[0] != [config_path, identity(config_path)]:
        return False
    if mark.get("code") != _code_mark():
        return False
    if mark.get("home") is not None and mark.get("home") != os.path.expanduser("~"):
        return False  # a ``~`` in a path would expand elsewhere for this process
    return all(isinstance(f, list) and len(f) == 2 and isinstance(f[0], str) and f[1] == identity(f[0]) for f in files)
