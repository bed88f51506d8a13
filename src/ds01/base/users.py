"""Give a container the caller's user: passwd/group entries, sudo where the image has it, a home.

AIME runs ``useradd`` and ``apt-get install sudo`` in the container and commits it (minutes,
network). ds01 instead edits the image's ``/etc/passwd`` and ``/etc/group`` as text and
copies them, with a home directory owned by ``uid:gid``, into the created (not yet started)
container with ``put_archive``: offline and in milliseconds. The text edits are pure
functions; ``build_archive`` and ``read_single_file`` build and read the tar streams Docker's
archive API speaks. ``build_archive`` writes the plain ustar blocks ``tarfile`` writes for such
members itself (every create sends one; ``tarfile`` is imported only for what needs a pax
header, and to read).
"""

from __future__ import annotations

import time
from pathlib import PurePosixPath

from ds01.records import dataclass

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
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(chunks)) as tar:
        for member in tar:
            if member.isfile():
                handle = tar.extractfile(member)
                return handle.read() if handle else b""
    return b""


BLOCK = 512
RECORD = 20 * BLOCK  # tarfile's RECORDSIZE: the archive is padded to whole records


def _ustar_header(name: str, kind: bytes, mode: int, uid: int, gid: int, size: int, mtime: int) -> bytes | None:
    """The one ustar block ``tarfile`` (POSIX format, no owner names) writes for this member; None
    where it would add a pax header (a name that is not ASCII or longer than 100 characters, a
    number too large for its field)."""
    if not name.isascii() or len(name) > 100:
        return None
    for value, digits in ((uid, 8), (gid, 8), (size, 12), (mtime, 12)):
        if not 0 <= value < 8 ** (digits - 1):
            return None

    def number(value: int, digits: int) -> bytes:
        return b"%0*o\0" % (digits - 1, value)

    header = b"".join(
        [
            name.encode("ascii").ljust(100, b"\0"),
            number(mode & 0o7777, 8),
            number(uid, 8),
            number(gid, 8),
            number(size, 12),
            number(mtime, 12),
            b" " * 8,  # the checksum, counted as spaces
            kind,
            b"\0" * 100,  # link name
            b"ustar\x0000",
            b"\0" * (32 + 32 + 8 + 8 + 155),  # owner and group names, device numbers, prefix
        ]
    ).ljust(BLOCK, b"\0")
    checksum = 256 + sum(header[:148]) + sum(header[156:])
    return header[:148] + b"%06o\0" % checksum + header[155:]


def build_archive(files: dict[str, tuple[bytes, int]], dirs: dict[str, tuple[int, int, int]]) -> bytes:
    """A tar for ``put_archive(path="/")``: ``files`` path -> (content, mode), root-owned;
    ``dirs`` path -> (uid, gid, mode). The same bytes ``tarfile`` writes for them."""
    now = int(time.time())
    blocks: list[bytes] = []
    for path, (uid, gid, mode) in dirs.items():
        name = str(PurePosixPath(path)).lstrip("/")
        header = _ustar_header(name if name.endswith("/") else name + "/", b"5", mode, uid, gid, 0, now)
        if header is None:
            return _tarfile_archive(files, dirs, now)
        blocks.append(header)
    for path, (content, mode) in files.items():
        header = _ustar_header(str(PurePosixPath(path)).lstrip("/"), b"0", mode, 0, 0, len(content), now)
        if header is None:
            return _tarfile_archive(files, dirs, now)
        blocks += [header, content, b"\0" * (-len(content) % BLOCK)]
    blocks.append(b"\0" * (2 * BLOCK))  # the end of the archive
    size = sum(map(len, blocks))
    blocks.append(b"\0" * (-size % RECORD))
    return b"".join(blocks)


def _tarfile_archive(files: dict[str, tuple[bytes, int]], dirs: dict[str, tuple[int, int, int]], now: int) -> bytes:
    """``build_archive`` through ``tarfile`` (pax headers for long or non-ASCII names, large ids)."""
    import io
    import tarfile

    buf = io.BytesIO()
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
