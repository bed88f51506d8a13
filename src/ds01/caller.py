"""The one rule for who is calling, on plain ``os``/``pwd`` (the listings' fast path uses it
before anything heavier is imported; ``identity.current`` builds its ``Identity`` on it).

Under sudo (real uid 0 with ``SUDO_USER`` and ``SUDO_UID``) the caller is the sudo user; else the
login of the real uid, or ``uid<N>`` for a uid without a passwd entry. Never ``os.getlogin``.
"""

from __future__ import annotations

import os
import pwd

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


def name_and_uid(env: Mapping[str, str] | None = None) -> tuple[str, int, pwd.struct_passwd | None, bool]:
    """(name, uid, passwd entry or None, via sudo). Raises ValueError when ``SUDO_UID`` is not
    a number."""
    env = os.environ if env is None else env
    real = os.getuid()
    sudo_user, sudo_uid = env.get("SUDO_USER"), env.get("SUDO_UID")
    if real == 0 and sudo_user and sudo_uid:
        uid = int(sudo_uid)
        return sudo_user, uid, _entry(name=sudo_user), True
    entry = _entry(uid=real)
    return (entry.pw_name if entry else f"uid{real}"), real, entry, False


def _entry(*, uid: int | None = None, name: str | None = None) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name) if name is not None else pwd.getpwuid(uid if uid is not None else os.getuid())
    except KeyError:
        return None
