"""What the container, lifecycle and monitoring fixtures share: sudo-style callers unknown to
passwd with workspaces chowned to their uid, session-tagged names, and the removal of whatever a
test's tagged containers leave."""

from __future__ import annotations

import os
from pathlib import Path


class Callers:
    """``SUDO_USER``/``SUDO_UID``/``SUDO_GID`` identities; workspaces go under ``workspace_root``."""

    tag: str
    workspace_root: Path

    def uid(self, user: str) -> int:
        raise NotImplementedError

    def caller(self, user: str) -> dict[str, str]:
        uid = str(self.uid(user))
        return {"SUDO_USER": user, "SUDO_UID": uid, "SUDO_GID": uid}

    def workspace(self, user: str, name: str = "ws") -> Path:
        path = self.workspace_root / f"{user}-{name}"
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, self.uid(user), self.uid(user))
        return path

    def name(self, short: str) -> str:
        return f"{self.tag}-{short}"

    def docker_name(self, short: str, user: str) -> str:
        return f"{self.name(short)}._.{self.uid(user)}"


def switch_caller(monkeypatch, env: Callers, user: str | None) -> None:
    """Make ``user`` the in-process caller; ``None``: plain root."""
    for var in ("SUDO_USER", "SUDO_UID", "SUDO_GID"):
        monkeypatch.delenv(var, raising=False)
    if user is not None:
        for key, value in env.caller(user).items():
            monkeypatch.setenv(key, value)


def tagged_ids(client, tag: str) -> list[str]:
    """Ids of the containers whose name contains ``tag``."""
    return [c["Id"] for c in client.api.containers(all=True) if any(tag in n for n in c.get("Names") or [])]


def remove_tagged(client, tag: str) -> None:
    for cid in tagged_ids(client, tag):
        client.api.remove_container(cid, force=True, v=True)


def ledger_rows(columns: str, order: str = "") -> list[tuple]:
    """``columns`` of the active allocations in this test's ledger (none before it exists)."""
    import sqlite3

    db = Path(os.environ["DS01_STATE_DIR"]) / "ds01.db"
    if not db.exists():
        return []
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            f"SELECT {columns} FROM allocations WHERE released_at IS NULL" + (f" ORDER BY {order}" if order else "")
        ).fetchall()
    finally:
        conn.close()
