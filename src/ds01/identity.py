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
from dataclasses import dataclass
from pathlib import Path

from ds01.errors import UsageError


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


def _passwd(uid: int | None = None, name: str | None = None) -> pwd.struct_passwd | None:
    try:
        if name is not None:
            return pwd.getpwnam(name)
        if uid is not None:
            return pwd.getpwuid(uid)
    except KeyError:
        return None
    return None


def current(environ: Mapping[str, str] | None = None) -> Identity:
    """Resolve the calling user."""
    env = os.environ if environ is None else environ
    real_uid = os.getuid()
    sudo_user, sudo_uid = env.get("SUDO_USER"), env.get("SUDO_UID")
    if real_uid == 0 and sudo_user and sudo_uid:
        try:
            uid = int(sudo_uid)
        except ValueError as exc:
            raise UsageError(f"SUDO_UID is not a number: {sudo_uid!r}.") from exc
        entry = _passwd(name=sudo_user)
        gid = int(env.get("SUDO_GID") or (entry.pw_gid if entry else uid))
        home = Path(entry.pw_dir) if entry else Path("/home") / sudo_user
        return Identity(name=sudo_user, uid=uid, gid=gid, home=home, via_sudo=True)
    entry = _passwd(uid=real_uid)
    if entry is None:
        # A uid without a passwd entry (some containers, LDAP outages): still usable.
        return Identity(
            name=f"uid{real_uid}",
            uid=real_uid,
            gid=os.getgid(),
            home=Path(env.get("HOME") or "/"),
        )
    return Identity(name=entry.pw_name, uid=real_uid, gid=entry.pw_gid, home=Path(entry.pw_dir))


def lookup(name: str) -> Identity | None:
    """The passwd identity of ``name``, or None when the host does not know it."""
    entry = _passwd(name=name)
    if entry is None:
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
