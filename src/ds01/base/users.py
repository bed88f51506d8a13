"""Give a container the caller's user: passwd/group entries, sudo where the image has it, a home.

AIME runs ``useradd`` and ``apt-get install sudo`` in the container and commits it (minutes,
network). ds01 instead edits the image's ``/etc/passwd`` and ``/etc/group`` as text and
copies them, with a home directory owned by ``uid:gid``, into the created (not yet started)
container with ``put_archive``: offline and in milliseconds. The text edits are pure
functions; ``archive_*`` build and read the tar streams Docker's archive API speaks.
"""

from __future__ import annotations

import io
import tarfile
import time
from dataclasses import dataclass
from pathlib import PurePosixPath

SUPPLEMENTARY_GROUPS = ("sudo", "video")  # AIME adds its users to these


@dataclass(frozen=True)
class UserEntry:
    name: str
    uid: int
    gid: int
    home: str
    shell: str = "/bin/sh"


def _rows(text: str) -> list[list[str]]:
    return [line.split(":") for line in text.splitlines() if line.strip()]


def _join(rows: list[list[str]]) -> str:
    return "".join(":".join(r) + "\n" for r in rows)


def choose_shell(passwd_text: str) -> str:
    """bash when the image's root uses it (so the image has it), else sh."""
    for row in _rows(passwd_text):
        if len(row) >= 7 and row[2] == "0" and row[6].endswith("bash"):
            return "/bin/bash"
    return "/bin/sh"


def with_user(
    passwd_text: str, group_text: str, user: UserEntry, member_of: tuple[str, ...] = SUPPLEMENTARY_GROUPS
) -> tuple[str, str]:
    """``(passwd, group)`` with ``user`` present exactly once and in ``member_of`` (sudo, video) when they exist.

    An image entry with the same name or uid (``ubuntu`` at 1000 in many images) is replaced,
    so ``id`` and ``whoami`` inside the container say what they say on the host. uid 0 is
    never rewritten.
    """
    passwd = _rows(passwd_text)
    if user.uid != 0:
        passwd = [r for r in passwd if not (r[0] == user.name or (len(r) > 2 and r[2] == str(user.uid)))]
        passwd.append([user.name, "x", str(user.uid), str(user.gid), user.name, user.home, user.shell])
    groups = _rows(group_text)
    if not any(len(r) > 2 and r[2] == str(user.gid) for r in groups):
        taken = {r[0] for r in groups}
        gname = user.name if user.name not in taken else f"{user.name}-{user.gid}"
        groups.append([gname, "x", str(user.gid), ""])
    for row in groups:
        if len(row) < 4:
            row.extend([""] * (4 - len(row)))
        if row[0] in member_of:
            members = [m for m in row[3].split(",") if m]
            if user.name not in members:
                members.append(user.name)
            row[3] = ",".join(members)
    return _join(passwd), _join(groups)


def sudoers_line(name: str) -> str:
    return f"{name} ALL=(ALL) NOPASSWD: ALL\n"


def read_single_file(chunks: bytes) -> bytes:
    """The content of the one file in a ``get_archive`` tar stream."""
    with tarfile.open(fileobj=io.BytesIO(chunks)) as tar:
        for member in tar:
            if member.isfile():
                handle = tar.extractfile(member)
                return handle.read() if handle else b""
    return b""


def build_archive(files: dict[str, tuple[bytes, int]], dirs: dict[str, tuple[int, int, int]]) -> bytes:
    """A tar for ``put_archive(path="/")``: ``files`` path -> (content, mode), root-owned;
    ``dirs`` path -> (uid, gid, mode)."""
    buf = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path, (uid, gid, mode) in dirs.items():
            info = tarfile.TarInfo(str(PurePosixPath(path)).lstrip("/"))
            info.type, info.mode, info.uid, info.gid, info.mtime = tarfile.DIRTYPE, mode, uid, gid, now
            tar.addfile(info)
        for path, (content, mode) in files.items():
            info = tarfile.TarInfo(str(PurePosixPath(path)).lstrip("/"))
            info.size, info.mode, info.mtime = len(content), mode, now
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()
