"""What ``ds01 admin install`` puts on a server, and the manifest that lets ``uninstall`` take
exactly that away again (SPEC §8).

Every path is under a root (``/`` on the server, a temporary folder in tests and staging).
Each step compares what is there with what should be and changes only the difference, so a
second install changes nothing. Whatever install *created* is listed in the manifest
(``<state>/install-manifest.json``); uninstall removes only what the manifest lists, and
never the ledger, the logs or containers unless asked to purge.
"""

from __future__ import annotations

import grp
import json
import os
import shutil
import stat
import time
from pathlib import Path
from typing import Any

from ds01 import paths
from ds01.errors import ConfigError, OperationFailed
from ds01.records import dataclass, field

MANIFEST = "install-manifest.json"
MODES = ("group", "secure")
GROUP_DIR_MODE = 0o2775  # docker group, setgid, group-writable: every user runs ds01 as themselves
SECURE_DIR_MODE = 0o755  # root's: only the root entry point writes


def etc_mirrors() -> Path:
    """The ``etc-mirrors/`` folder shipped with ds01 (cron, logrotate, systemd units)."""
    here = Path(__file__).resolve().parent.parent
    installed = here / "_etc-mirrors"
    return installed if installed.is_dir() else here.parent.parent / "etc-mirrors"


@dataclass(frozen=True)
class Targets:
    """Where everything goes under ``root``."""

    root: Path = Path("/")

    def under(self, absolute: str | Path) -> Path:
        return self.root / str(absolute).lstrip("/")

    @property
    def real(self) -> bool:
        return self.root == Path("/")

    @property
    def config(self) -> Path:
        return paths.config_path() if self.real and os.environ.get("DS01_CONFIG") else self.under(paths.DEFAULT_CONFIG)

    @property
    def state(self) -> Path:
        return paths.state_dir() if self.real else self.under(paths.DEFAULT_STATE_DIR)

    @property
    def logs(self) -> Path:
        return paths.log_dir() if self.real else self.under(paths.DEFAULT_LOG_DIR)

    @property
    def bin(self) -> Path:
        return self.under("/usr/local/bin")

    @property
    def cron(self) -> Path:
        return self.under("/etc/cron.d/ds01")

    @property
    def logrotate(self) -> Path:
        return self.under("/etc/logrotate.d/ds01")

    @property
    def systemd(self) -> Path:
        return self.under("/etc/systemd/system")

    @property
    def sudoers(self) -> Path:
        return self.under("/etc/sudoers.d/ds01")

    @property
    def entry(self) -> Path:
        from ds01.secure_entry import DEFAULT_ENTRY

        return self.under(DEFAULT_ENTRY)

    @property
    def manifest(self) -> Path:
        return self.state / MANIFEST

    def env(self) -> dict[str, str]:
        """The DS01_* paths a staged installation runs with."""
        return {"DS01_CONFIG": str(self.config), "DS01_STATE_DIR": str(self.state), "DS01_LOG_DIR": str(self.logs)}


# -- the manifest ------------------------------------------------------------------------------


@dataclass
class Manifest:
    mode: str = "group"
    installed_at: float = 0.0
    created: list[dict[str, str]] = field(default_factory=list)  # {"kind": file|dir|link|cgroup, "path": ...}
    written: dict[str, str] = field(default_factory=dict)  # created file -> sha256 of what install left in it

    @classmethod
    def load(cls, path: Path) -> Manifest:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            raise OperationFailed(f"Cannot read the install manifest {path}: {exc}.") from exc
        return cls(
            mode=data.get("mode", "group"),
            installed_at=float(data.get("installed_at") or 0),
            created=list(data.get("created") or []),
            written=dict(data.get("written") or {}),
        )

    def add(self, kind: str, path: Path) -> None:
        entry = {"kind": kind, "path": str(path)}
        if entry not in self.created:
            self.created.append(entry)

    def save(self, path: Path) -> None:
        from ds01.fsutil import write_atomic

        write_atomic(
            path,
            json.dumps(
                {
                    "mode": self.mode,
                    "installed_at": self.installed_at,
                    "created": self.created,
                    "written": self.written,
                },
                indent=2,
            )
            + "\n",
            mode=0o644,
        )


# -- steps -------------------------------------------------------------------------------------


@dataclass
class Plan:
    """One install run: the changes (one line each), and what they created."""

    targets: Targets
    mode: str
    dry_run: bool
    manifest: Manifest
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def change(self, line: str) -> None:
        self.changes.append(("would " if self.dry_run else "") + line)


def make_parents(plan: Plan, folder: Path) -> None:
    """Create ``folder`` and its missing parents (0755), each recorded for uninstall."""
    missing = []
    for f in [folder, *folder.parents]:
        if f.exists():
            break
        missing.append(f)
    for f in reversed(missing):
        f.mkdir(mode=0o755)
        plan.manifest.add("dir", f)


def docker_gid() -> int | None:
    try:
        return grp.getgrnam("docker").gr_gid
    except KeyError:
        return None


def dir_owner_mode(mode: str) -> tuple[int, int, int]:
    """(uid, gid, mode) of the state and log folders in a security mode."""
    if mode == "secure":
        return 0, 0, SECURE_DIR_MODE
    gid = docker_gid()
    return 0, (gid if gid is not None else 0), GROUP_DIR_MODE


def ensure_config(plan: Plan) -> None:
    from ds01.limits.config import check_file

    path = plan.targets.config
    if not path.exists():
        example = paths.packaged_config_dir() / "resource-limits.yaml"
        plan.change(f"create {path} (from the example; edit it, then `ds01 limits check`)")
        if not plan.dry_run:
            make_parents(plan, path.parent)
            shutil.copyfile(example, path)
            os.chmod(path, 0o644)
            plan.manifest.add("file", path)
    check = path if path.exists() else paths.packaged_config_dir() / "resource-limits.yaml"
    _config, problems, _warnings = check_file(check)
    if problems:
        raise ConfigError(
            f"The config {path} is not valid; fix it and install again.", details=[str(p) for p in problems[:5]]
        )
    made = {"kind": "file", "path": str(path)} in plan.manifest.created
    example_bytes = (paths.packaged_config_dir() / "resource-limits.yaml").read_bytes()
    pristine = (
        made
        and path.exists()
        and (path.read_bytes() == example_bytes or plan.manifest.written.get(str(path)) == _sha256(path))
    )
    _set_mode(plan, check, plan.mode)
    if pristine and not plan.dry_run:
        # What install left in the config it made (the example, perhaps with security.mode set):
        # uninstall removes the file only while it still holds exactly this; an admin's edit keeps it.
        plan.manifest.written[str(path)] = _sha256(path)


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _set_mode(plan: Plan, config: Path, mode: str) -> None:
    """Make ``security.mode`` in the config say ``mode`` when install was asked for another."""
    from ds01.secure_entry import scan_mode

    current = scan_mode(config.read_text()) if config.exists() else "group"
    if current == mode:
        return
    from ds01.ops.users import set_security_mode

    plan.change(f"set security.mode: {mode} in {plan.targets.config}")
    if not plan.dry_run:
        set_security_mode(plan.targets.config, mode)


def ensure_dir(plan: Plan, path: Path) -> None:
    uid, gid, mode = dir_owner_mode(plan.mode)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise OperationFailed(f"{path} exists and is not a folder; move it away and install again.")
    if st is None:
        plan.change(f"create {path} (mode {mode:o}, group {_group_name(gid)})")
        if not plan.dry_run:
            make_parents(plan, path.parent)
            path.mkdir()
            os.chown(path, uid, gid)
            os.chmod(path, mode)
            plan.manifest.add("dir", path)
        return
    if (st.st_uid, st.st_gid) != (uid, gid):
        plan.change(f"chown {path} to root:{_group_name(gid)}")
        if not plan.dry_run:
            os.chown(path, uid, gid)
    if stat.S_IMODE(st.st_mode) != mode:
        plan.change(f"chmod {path} {stat.S_IMODE(st.st_mode):o} -> {mode:o}")
        if not plan.dry_run:
            os.chmod(path, mode)


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def ensure_file(plan: Plan, source: Path, target: Path, mode: int = 0o644) -> None:
    """``target`` holds ``source``'s bytes with ``mode`` (cron ignores group-writable files)."""
    want = source.read_bytes()
    try:
        have = target.read_bytes()
        current_mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        have, current_mode = None, None
    if have == want and current_mode == mode:
        return
    plan.change(f"{'write' if have is None else 'update'} {target}")
    if plan.dry_run:
        return
    from ds01.fsutil import write_atomic

    make_parents(plan, target.parent)
    write_atomic(target, want.decode(), mode=mode)
    os.chmod(target, mode)
    if have is None:
        plan.manifest.add("file", target)


def schedule_files(targets: Targets) -> list[tuple[Path, Path]]:
    """(source, target): the timer under systemd on the real root, else the cron file; logrotate."""
    mirrors = etc_mirrors()
    out = [(mirrors / "logrotate.d" / "ds01", targets.logrotate)]
    if targets.real and Path("/run/systemd/system").is_dir():
        out += [
            (mirrors / "systemd" / n, targets.systemd / n) for n in ("ds01-lifecycle.service", "ds01-lifecycle.timer")
        ]
    else:
        out.append((mirrors / "cron.d" / "ds01", targets.cron))
    return out


def ensure_slices(plan: Plan, config: Any) -> None:
    from ds01.ops import slices

    try:
        outcome = slices.setup(config, unit_root=plan.targets.root, dry_run=plan.dry_run)
    except Exception as exc:  # Docker down: the rest of the install still stands
        from ds01.errors import Ds01Error

        if not isinstance(exc, Ds01Error):
            raise
        plan.notes.append(f"slices not set up: {exc}; run `ds01 admin setup-slices` later")
        return
    plan.changes.extend(outcome.changes)
    for folder in outcome.created:
        plan.manifest.add("cgroup", folder)


def begin(targets: Targets, mode: str, dry_run: bool) -> Plan:
    if mode not in MODES:
        from ds01.errors import UsageError

        raise UsageError(f"--mode must be one of {', '.join(MODES)}, not {mode!r}.")
    manifest = Manifest.load(targets.manifest)
    manifest.mode = mode
    if not manifest.installed_at:
        manifest.installed_at = time.time()
    return Plan(targets, mode, dry_run, manifest)


def finish(plan: Plan) -> None:
    if plan.dry_run or not plan.changes:
        return
    plan.manifest.save(plan.targets.manifest)


# -- uninstall ---------------------------------------------------------------------------------


def uninstall(targets: Targets, *, purge: bool = False, dry_run: bool = False) -> tuple[list[str], list[str]]:
    """Remove what the manifest lists (links, files, cgroup folders, then folders that are empty
    or, with ``purge``, the state and log folders whole). (changes, kept-with-reason)."""
    manifest = Manifest.load(targets.manifest)
    changes: list[str] = []
    kept: list[str] = []
    prefix = "would " if dry_run else ""
    example = (paths.packaged_config_dir() / "resource-limits.yaml").read_bytes()
    data_dirs = {str(targets.state), str(targets.logs)}
    for entry in reversed(manifest.created):
        kind, path = entry["kind"], Path(entry["path"])
        if kind == "link":
            if path.is_symlink() and Path(os.readlink(path)).name == "ds01":
                changes.append(f"{prefix}remove {path}")
                if not dry_run:
                    path.unlink()
        elif kind == "file":
            if not path.exists():
                continue
            if (
                path == targets.config
                and path.read_bytes() != example
                and manifest.written.get(str(path)) != _sha256(path)
            ):
                kept.append(f"{path} (edited since install; remove it yourself)")
                continue
            changes.append(f"{prefix}remove {path}")
            if not dry_run:
                path.unlink()
        elif kind == "cgroup":
            if path.is_dir():
                try:
                    if not dry_run:
                        path.rmdir()
                    changes.append(f"{prefix}remove cgroup {path}")
                except OSError:
                    kept.append(f"cgroup {path} (containers still use it)")
    if targets.manifest.exists():
        changes.append(f"{prefix}remove {targets.manifest}")
        if not dry_run:
            targets.manifest.unlink()
    made = {e["path"] for e in manifest.created if e["kind"] == "dir"}
    for path in (targets.state, targets.logs):
        if not path.exists():
            continue
        if purge:
            changes.append(f"{prefix}remove {path} and everything in it (--purge)")
            if not dry_run:
                shutil.rmtree(path)
        elif str(path) in made:
            _remove_empty(path, changes, kept, dry_run, why="holds the ledger or logs; --purge removes it")
        elif any(path.iterdir()):
            kept.append(f"{path} (holds the ledger or logs; --purge removes it)")
    for entry in reversed(manifest.created):
        path = Path(entry["path"])
        if entry["kind"] == "dir" and str(path) not in data_dirs:
            _remove_empty(path, changes, kept, dry_run)
    return changes, kept


def _remove_empty(path: Path, changes: list[str], kept: list[str], dry_run: bool, why: str = "not empty") -> None:
    if not path.is_dir():
        return
    if any(path.iterdir()):
        kept.append(f"{path} ({why})")
        return
    changes.append(f"{'would ' if dry_run else ''}remove {path}")
    if not dry_run:
        path.rmdir()
