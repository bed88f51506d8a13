"""Who is calling ds01 (SPEC §2 Identity).

Under sudo the caller is ``SUDO_UID``/``SUDO_USER`` (so ``sudo container-create`` labels the
container as the student's, not root's); otherwise the real uid and its passwd name.
``os.getlogin()`` is never used: it fails without a controlling terminal (cron, CI).
"""

from __future__ import annotations

import os
import pwd
import re
from collections.abc import Mapping
from pathlib import Path

from ds01 import caller
from ds01.errors import UsageError
from ds01.records import dataclass


@dataclass(frozen=True)
class Identity:
    name: str
    uid: int
    gid: int
    home: Path
    via_sudo: bool = False

    @property
    def is_root(self) -> bool:
        return self.uid == 0


def current(environ: Mapping[str, str] | None = None) -> Identity:
    """Resolve the calling user (the rule is ``ds01.caller``'s)."""
    env = os.environ if environ is None else environ
    try:
        name, uid, entry, via_sudo = caller.name_and_uid(env)
    except ValueError as exc:
        raise UsageError(f"SUDO_UID is not a number: {env.get('SUDO_UID')!r}.") from exc
    if via_sudo:
        gid = int(env.get("SUDO_GID") or (entry.pw_gid if entry else uid))
        home = Path(entry.pw_dir) if entry else Path("/home") / name
        return Identity(name=name, uid=uid, gid=gid, home=home, via_sudo=True)
    if entry is None:
        # A uid without a passwd entry (some containers, LDAP outages): still usable.
        return Identity(name=name, uid=uid, gid=os.getgid(), home=Path(env.get("HOME") or "/"))
    return Identity(name=entry.pw_name, uid=uid, gid=entry.pw_gid, home=Path(entry.pw_dir))


def lookup(name: str) -> Identity | None:
    """The passwd identity of ``name``, or None when the host does not know it."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    return Identity(name=entry.pw_name, uid=entry.pw_uid, gid=entry.pw_gid, home=Path(entry.pw_dir))


_UNSAFE = re.compile(r"[^a-z0-9_-]+")


def sanitize(name: str) -> str:
    """A login name made safe for slice units, labels and file names.

    Directory logins such as ``jane.doe@lab.edu`` broke slice names and group matching in
    earlier systems; every consumer that embeds a user name in an identifier uses this.
    """
    cleaned = _UNSAFE.sub("-", name.lower()).strip("-_")
    return cleaned or "user"
