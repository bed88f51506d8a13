"""Users: ``ds01 admin add-user`` and ``ds01 admin users`` (SPEC §8).

Group membership lives in the config (``groups.<g>.members``). ``add-user`` edits that list
with a round-trip YAML editor (ruamel.yaml) that keeps the file's comments, order and quoting;
the edited text is validated before it replaces the file. Where the file cannot be edited
that way, the lines to add are printed instead and the file is left alone.
"""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path
from typing import Any

from ds01.errors import ConfigError, OperationFailed, UsageError
from ds01.records import dataclass
from ds01.timefmt import iso


def _replace_checked(path: Path, text: str) -> None:
    """Write ``text`` over the config only if it is a valid config (then atomically)."""
    from ds01.fsutil import write_atomic
    from ds01.limits.config import check_file

    probe = path.with_name(f".{path.name}.check")
    try:
        try:
            probe.write_text(text)
        except OSError as exc:
            raise OperationFailed(f"Cannot write beside {path}: {exc.strerror or exc}.") from exc
        _config, problems, _warn = check_file(probe)
    finally:
        probe.unlink(missing_ok=True)
    if problems:
        raise ConfigError(
            f"The edited config would not be valid; {path} was left alone.", details=[str(p) for p in problems[:5]]
        )
    mode = os.stat(path).st_mode & 0o777
    write_atomic(path, text, mode=mode)


@dataclass
class AddResult:
    edited: bool  # the config was changed in place
    already: bool  # the user was already a member
    lines: str  # what to add by hand when not edited
    reason: str  # why the file could not be edited
    docker_group: str  # "added", "already", "not in group mode", or why not


def add_to_group(path: Path, user: str, group: str) -> AddResult:
    """Record ``user`` in ``groups.<group>.members`` keeping comments; or say what to add."""
    from ds01.limits.config import load_config

    config = load_config(path)
    if group not in config.groups:
        raise UsageError(f"There is no group {group!r} in {path}; groups: {', '.join(config.groups) or 'none'}.")
    current, _source = config.group_of(user)
    if current == group and _source == "member":
        return AddResult(False, True, "", "", "")
    if current is not None and _source == "member":
        raise UsageError(
            f"{user} is already a member of group {current!r}; a user may be in one group only "
            f"(remove them from groups.{current}.members first)."
        )
    lines = f"groups:\n  {group}:\n    members: [..., {user}]\n"
    try:
        import yaml as plain

        text = path.read_text()
        from ds01.yaml12 import round_trip

        yaml = round_trip()
        doc = yaml.load(text)
        body = doc["groups"][group]
        members = body.get("members")
        if members is None:
            from ruamel.yaml.comments import CommentedSeq

            members = CommentedSeq()
            members.fa.set_flow_style()
            body["members"] = members
        members.append(user)
        out = io.StringIO()
        yaml.dump(doc, out)
        # The edit must change exactly one thing: this group's members gain the user. A list
        # shared through a YAML anchor, say, would add the user to every group that uses it.
        expected = plain.safe_load(text)
        expected["groups"][group]["members"] = [*(expected["groups"][group].get("members") or []), user]
        if plain.safe_load(out.getvalue()) != expected:
            return AddResult(
                False,
                False,
                lines,
                f"the edit would change more than groups.{group}.members (is the list shared through a YAML anchor?)",
                "",
            )
    except ImportError:
        return AddResult(False, False, lines, "ruamel.yaml is not installed", "")
    except Exception as exc:  # noqa: BLE001 - an unusual document shape: say what to add instead
        return AddResult(False, False, lines, f"the file could not be edited safely ({exc})", "")
    try:
        _replace_checked(path, out.getvalue())
    except OperationFailed as exc:  # read-only file or folder: nothing was written
        return AddResult(False, False, lines, f"it cannot be written ({exc.message.rstrip('.')})", "")
    return AddResult(True, False, "", "", "")


def set_security_mode(path: Path, mode: str) -> None:
    from ds01.yaml12 import round_trip

    yaml = round_trip()
    doc = yaml.load(path.read_text())
    if doc.get("security") is None:
        doc["security"] = {"mode": mode}
    else:
        doc["security"]["mode"] = mode
    out = io.StringIO()
    yaml.dump(doc, out)
    _replace_checked(path, out.getvalue())


def add_to_docker_group(user: str) -> str:
    import grp

    try:
        members = grp.getgrnam("docker").gr_mem
    except KeyError:
        return "no docker group on this host"
    if user in members:
        return "already"
    proc = subprocess.run(["gpasswd", "-a", user, "docker"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise OperationFailed(f"Could not add {user} to the docker group: {proc.stderr.strip() or proc.returncode}.")
    return "added"


# -- listing -----------------------------------------------------------------------------------


def known_users(config: Any) -> set[str]:
    users = {m for g in config.groups.values() for m in g.members} | set(config.user_overrides)
    return users


def users_table(config: Any, *, containers: list[Any] | None, ledger: Any | None) -> list[dict[str, Any]]:
    """One row per known user (config members and overrides, container owners, ledger holders)."""
    from ds01.limits.resolver import resolve

    rows_by_user: dict[str, list[Any]] = {}
    last: dict[str, float] = {}
    if ledger is not None:
        for r in ledger.active():
            rows_by_user.setdefault(r.user, []).append(r)
        last = ledger.last_activity()
    by_owner: dict[str, list[Any]] = {}
    for c in containers or []:
        if getattr(c, "user", None):
            by_owner.setdefault(c.user, []).append(c)
    names = known_users(config) | set(rows_by_user) | set(by_owner)
    out = []
    for user in sorted(names):
        r = resolve(config, user)
        mine = by_owner.get(user, [])
        out.append(
            {
                "user": user,
                "group": r.group,
                "priority": r.values.get("priority"),
                "containers": None if containers is None else len(mine),
                "running": None if containers is None else sum(1 for c in mine if c.state == "running"),
                "slots": sorted(x.slot for x in rows_by_user.get(user, [])),
                "last_activity": iso(last.get(user)),
            }
        )
    return out
