"""``ds01 admin sudoers``: install secure mode's root entry point and the sudoers rule for it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import json_option
from ds01.errors import OperationFailed, PolicyRefused, UsageError


def _current(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OperationFailed(f"Cannot read {path}: {exc.strerror}.") from exc


def _temp_beside(path: Path, text: str, mode: int) -> Path:
    """A new file beside ``path`` (a dotted name: sudo skips it) holding ``text`` with ``mode``."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        os.fchown(fd, 0, 0)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def _visudo_check(candidate: Path) -> None:
    visudo = shutil.which("visudo") or next(
        (p for p in ("/usr/sbin/visudo", "/sbin/visudo") if os.path.exists(p)), None
    )
    if visudo is None:
        raise OperationFailed("visudo is not installed; install the sudo package first (apt-get install sudo).")
    proc = subprocess.run([visudo, "-cf", str(candidate)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise OperationFailed("visudo rejects the sudoers rule; nothing was installed.", details=detail[:5])


def _untrusted(paths: dict[str, Path]) -> list[str]:
    from ds01.paths import root_controlled

    return [f"{what}: {path}" for what, path in paths.items() if not root_controlled(path)]


def install_rule(entry: str, target: Path | None, group: str | None, *, dry_run: bool = False) -> dict:
    """Write the entry point and the rule (checked by ``visudo -cf`` first); what was done.

    Used by ``ds01 admin sudoers`` and ``ds01 admin install --mode secure`` alike. Keys:
    script, text, problems, entry_state and rule_state (create, replace, unchanged, printed).
    """
    from ds01 import sudoers

    python = sys.executable
    fixed = {name: str(Path(os.environ[name]).absolute()) for name in sudoers.FIXED_ENV if os.environ.get(name)}
    script = sudoers.entry_script(python, fixed)
    text = sudoers.rule(entry, group)

    import ds01

    problems = _untrusted(
        {
            "Python interpreter": Path(python),
            "Python environment": Path(sys.prefix),
            "ds01 package": Path(ds01.__file__).parent,
            "entry point folder": Path(entry).parent,
            **{name: Path(value) for name, value in fixed.items()},
        }
    )
    if problems and not dry_run:
        raise PolicyRefused(
            "Refusing: users other than root could change what sudo would run as root.",
            details=problems,
            hint="Make these root-owned and writable by root only, then run `ds01 admin sudoers` again.",
        )

    entry_path = Path(entry)
    entry_state = (
        "unchanged" if _current(entry_path) == script.encode() else ("replace" if entry_path.exists() else "create")
    )
    if target is None:
        rule_state = "printed"
    elif _current(target) == text.encode() and (target.stat().st_mode & 0o7777) == 0o440:
        rule_state = "unchanged"
    else:
        rule_state = "replace" if target.exists() else "create"

    if not dry_run:
        candidate = None
        if target is not None and rule_state != "unchanged":
            if not target.parent.is_dir():
                raise UsageError(f"{target.parent} does not exist; is sudo installed?")
            candidate = _temp_beside(target, text, 0o440)
        try:
            if candidate is not None:
                _visudo_check(candidate)
            if entry_state != "unchanged":
                entry_path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
                os.replace(_temp_beside(entry_path, script, 0o755), entry_path)
            if candidate is not None:
                os.replace(candidate, target)  # type: ignore[arg-type]
                candidate = None
        finally:
            if candidate is not None:
                candidate.unlink(missing_ok=True)
    return {"script": script, "text": text, "problems": problems, "entry_state": entry_state, "rule_state": rule_state}


@click.command("sudoers")
@click.option(
    "--output",
    "output",
    metavar="FILE",
    default=None,
    help="Where to install the rule (default /etc/sudoers.d/ds01; - prints it).",
)
@click.option(
    "--entry",
    "entry",
    metavar="PATH",
    default=None,
    help="The root entry point to write and allow (default /usr/local/libexec/ds01/ds01-secure).",
)
@click.option(
    "--group", "group", metavar="GROUP", default=None, help="Allow only members of this group (default: every user)."
)
@click.option("--dry-run", is_flag=True, help="Show the rule and the entry point; change nothing.")
@json_option
@pass_app
def command(app: App, output: str | None, entry: str | None, group: str | None, dry_run: bool, as_json: bool) -> None:
    """Let users run ds01 in secure mode: write its root entry point and the sudoers rule for it.

    The entry point runs this installation's Python isolated (-I), with the DS01_CONFIG,
    DS01_STATE_DIR and DS01_LOG_DIR this command runs with fixed inside it. The rule lets
    every user (or --group) run exactly that entry point as root without a password, keeps
    no DS01_* variable, and is checked with `visudo -cf` before it is installed (mode 0440).
    Idempotent: unchanged files are left alone.
    """
    from ds01 import sudoers
    from ds01.secure_entry import DEFAULT_ENTRY

    term = app.terminal
    entry = sudoers.check_path(entry or DEFAULT_ENTRY, "entry point")
    target = None if output == "-" else Path(output or sudoers.DEFAULT_RULE_FILE)
    if group is not None:
        import grp

        sudoers.check_group(group)
        try:
            grp.getgrnam(group)
        except KeyError as exc:
            raise UsageError(f"There is no group {group!r} on this host.") from exc
    if (
        target is not None
        and target.parent == Path("/etc/sudoers.d")
        and ("." in target.name or target.name.endswith("~"))
    ):
        raise UsageError(
            f"sudo skips files in /etc/sudoers.d whose name has a dot or ends in ~: "
            f"choose another name than {target.name!r}."
        )
    if not dry_run and os.geteuid() != 0:
        raise PolicyRefused("`ds01 admin sudoers` installs a sudoers rule and must run as root (--dry-run shows it).")

    r = install_rule(entry, target, group, dry_run=dry_run)
    script, text, problems, entry_state, rule_state = (
        r["script"],
        r["text"],
        r["problems"],
        r["entry_state"],
        r["rule_state"],
    )

    if as_json:
        term.out(
            json.dumps(
                {
                    "entry": entry,
                    "entry_action": entry_state,
                    "rule_file": str(target) if target else None,
                    "rule_action": rule_state,
                    "rule": text,
                    "entry_script": script,
                    "dry_run": dry_run,
                    "problems": problems,
                },
                indent=2,
            )
        )
        return
    if target is None or dry_run:
        term.out(text.rstrip("\n"))
    if dry_run:
        term.info(f"entry point {entry}:")
        for line in script.rstrip("\n").splitlines():
            term.info("  " + line)
        for problem in problems:
            term.warning(f"not root-controlled, {problem}")
    prefix = "would " if dry_run else ""
    if entry_state != "unchanged" or not dry_run:
        term.success(f"{prefix}{entry_state if dry_run else _done(entry_state)} entry point {entry}")
    if target is not None:
        term.success(f"{prefix}{rule_state if dry_run else _done(rule_state)} sudoers rule {target}")


def _done(state: str) -> str:
    return {"create": "created", "replace": "replaced", "unchanged": "unchanged"}.get(state, state)
