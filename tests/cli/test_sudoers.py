"""Secure mode's way in: the sudoers rule and entry point (pure and installed), and the re-exec decision."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ds01 import secure_entry, sudoers
from ds01.errors import UsageError
from support.cli import run_process
from support.users import world_dir

ROOT = Path(__file__).resolve().parents[2]
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="installs root-owned files")
needs_visudo = pytest.mark.skipif(shutil.which("visudo") is None, reason="visudo (Debian's sudo package) is missing")


# -- the rule and the entry point as text -----------------------------------------------------------


def test_rule_allows_exactly_the_entry_point_and_keeps_no_ds01_variable():
    text = sudoers.rule("/usr/local/libexec/ds01/ds01-secure")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines[-1] == "ALL ALL=(root) NOPASSWD: /usr/local/libexec/ds01/ds01-secure"
    assert "Defaults!/usr/local/libexec/ds01/ds01-secure env_reset" in lines
    keep = next(line for line in lines if "env_keep" in line)
    assert " env_keep = " in keep  # set, not added to: a site-wide env_keep += DS01_* does not leak in
    assert "DS01" not in keep and "PYTHON" not in keep and "PATH" not in keep.split("=", 1)[1]
    assert "SETENV" not in text and "ALL, " not in text
    assert (
        sudoers.rule("/opt/x/entry", group="gpu-users").splitlines()[-1]
        == "%gpu-users ALL=(root) NOPASSWD: /opt/x/entry"
    )


@pytest.mark.parametrize(
    "bad",
    [
        "relative/entry",
        "/opt/with space",
        "/opt/a,b",
        "/opt/a:b",
        "/opt/../etc/x",
        "/opt/x\nALL ALL=(ALL) ALL",
        "/opt/a=b",
        "/opt/*",
        "/opt//x",
    ],
)
def test_rule_refuses_paths_that_would_change_its_meaning(bad):
    with pytest.raises(UsageError):
        sudoers.rule(bad)


@pytest.mark.parametrize("bad", ["%x", "a b", "x,y", "1abc", "a!", "a\nALL"])
def test_rule_refuses_bad_groups(bad):
    with pytest.raises(UsageError):
        sudoers.rule("/opt/x/entry", group=bad)


@needs_visudo
def test_visudo_accepts_the_generated_rule(tmp_path):
    for group in (None, "root"):
        path = tmp_path / "rule"
        path.write_text(sudoers.rule("/usr/local/libexec/ds01/ds01-secure", group))
        proc = subprocess.run(["visudo", "-cf", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, proc


def test_entry_script_fixes_paths_runs_python_isolated_and_passes_argv_unchanged(tmp_path):
    fake = tmp_path / "fake python"  # a space: the script must quote it
    fake.write_text('#!/bin/sh\nprintf "%s\\n" "$@"; echo "CONFIG=$DS01_CONFIG STATE=$DS01_STATE_DIR"\n')
    fake.chmod(0o755)
    with pytest.raises(UsageError):
        sudoers.entry_script(str(fake))  # not a plain path
    plain = tmp_path / "python"
    fake.rename(plain)
    script = sudoers.entry_script(str(plain), {"DS01_CONFIG": "/etc/ds01 x/limits.yaml", "DS01_STATE_DIR": "/srv/s"})
    entry = tmp_path / "entry"
    entry.write_text(script)
    entry.chmod(0o755)
    proc = subprocess.run(
        [str(entry), "container-create", "my box", "--gpus", "1", "$(id)"],
        capture_output=True,
        text=True,
        env={"DS01_CONFIG": "/home/evil.yaml", "PATH": "/usr/bin:/bin"},
    )
    assert proc.stdout.splitlines() == [
        "-I",
        "-m",
        "ds01.secure_entry",
        "container-create",
        "my box",
        "--gpus",
        "1",
        "$(id)",
        "CONFIG=/etc/ds01 x/limits.yaml STATE=/srv/s",
    ]
    with pytest.raises(UsageError):
        sudoers.entry_script(str(plain), {"DS01_CONFIG": "relative.yaml"})


# -- reading security.mode without YAML --------------------------------------------------------------


MODE_CASES = [
    "security:\n  mode: secure\n",
    "security:\n  mode: group\n",
    'defaults: {}\nsecurity:\n  allowed_base_images: [a]\n  mode: "secure"  # comment\nimages: {}\n',
    "security:   # trust model\n    mode: 'secure'\n",
    "security:\n  nested:\n    mode: secure\n  mode: group\n",
    "defaults:\n  mode: secure\n",
    "",
    "security:\n  allowed_base_images: []\n",
    "security: {mode: secure}\n",
    "security:\n  mode: &m secure\n",
]


@pytest.mark.parametrize("text", MODE_CASES)
def test_mode_scan_agrees_with_yaml(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    data = yaml.safe_load(text) or {}
    expected = (data.get("security") or {}).get("mode", "group")
    assert secure_entry.security_mode(str(path)) == expected


def test_mode_of_the_packaged_config_is_read_without_importing_yaml():
    probe = (
        "import sys, os; os.geteuid = lambda: 1000\n"
        "from ds01 import secure_entry\n"
        f"print(secure_entry.security_mode({str(ROOT / 'config' / 'resource-limits.yaml')!r}))\n"
        "print(secure_entry._wanted(['container-list'], os.environ))\n"
        "print(sorted(m for m in ('yaml', 'click', 'docker', 'rich') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["group", "False", "[]"]


# -- the re-exec decision ------------------------------------------------------------------------------


@pytest.fixture
def non_root(monkeypatch, tmp_path):
    """A process that believes it is uid 1000; the sudo run (ending with ``calls["code"]``) and
    the sudo probe are recorded, not run."""
    calls: dict[str, object] = {"exec": None, "code": 0, "allowed": True, "asked": 0}

    def run_sudo(argv):
        calls["exec"] = argv
        return calls["code"]

    def allows(entry):
        calls["asked"] += 1
        return calls["allowed"]

    monkeypatch.setattr(secure_entry.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(secure_entry, "_run_sudo", run_sudo)
    monkeypatch.setattr(secure_entry, "_sudo_allows", allows)
    config = tmp_path / "limits.yaml"
    monkeypatch.setenv("DS01_CONFIG", str(config))
    monkeypatch.setenv("DS01_SECURE_ENTRY", "/opt/ds01/entry")

    def mode(value: str) -> None:
        config.write_text(f"security:\n  mode: {value}\n")

    calls["mode"] = mode
    return calls


def test_group_mode_and_root_never_reexec(non_root, monkeypatch):
    non_root["mode"]("group")
    secure_entry.reexec_if_secure(["/usr/local/bin/container-create", "x"])
    assert non_root["exec"] is None
    non_root["mode"]("secure")
    monkeypatch.setattr(secure_entry.os, "geteuid", lambda: 0)
    secure_entry.reexec_if_secure(["/usr/local/bin/container-create", "x"])
    assert non_root["exec"] is None


def test_secure_mode_reexecs_through_sudo_with_argv_unchanged(non_root):
    non_root["mode"]("secure")
    with pytest.raises(SystemExit) as exc:
        secure_entry.reexec_if_secure(["/usr/local/bin/container-create", "box", "--gpus", "2"])
    assert exc.value.code == 0
    assert non_root["exec"] == ["sudo", "-n", "--", "/opt/ds01/entry", "container-create", "box", "--gpus", "2"]
    assert non_root["asked"] == 0  # one sudo run when it succeeds: no probe before or after
    # Help is served as the caller: it needs no root.
    non_root["exec"] = None
    secure_entry.reexec_if_secure(["/usr/local/bin/ds01", "--help"])
    assert non_root["exec"] is None


def test_the_commands_own_exit_code_is_the_callers(non_root, capsys):
    """A command that fails (exit 1, like a sudo refusal) is told from a refusal by one probe;
    other codes pass through untouched."""
    non_root["mode"]("secure")
    for code, asked in ((1, 1), (4, 1), (0, 1)):
        non_root["code"] = code
        with pytest.raises(SystemExit) as exc:
            secure_entry.reexec_if_secure(["/usr/local/bin/container-list"])
        assert exc.value.code == code and non_root["asked"] == asked
    assert capsys.readouterr().err == ""


def test_secure_mode_without_a_sudo_rule_says_what_to_do_and_exits_3(non_root, capsys):
    non_root["mode"]("secure")
    non_root["code"], non_root["allowed"] = 1, False  # sudo -n refuses with exit 1
    with pytest.raises(SystemExit) as exc:
        secure_entry.reexec_if_secure(["/usr/local/bin/container-list"])
    assert exc.value.code == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ask an admin to run `ds01 admin sudoers`" in err
    assert non_root["exec"] == ["sudo", "-n", "--", "/opt/ds01/entry", "container-list"]


def test_the_sudo_run_is_waited_for_with_its_exit_code_and_signals(tmp_path, monkeypatch):
    """The caller's side stays until the command ends: it gives its exit code, ignores the
    terminal's interrupt (which reaches the command itself) and passes a termination on."""
    import signal

    fake = tmp_path / "sudo"
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")

    def sudo_doing(script: str) -> int:
        fake.write_text(f"#!/bin/sh\n{script}\n")
        fake.chmod(0o755)
        return secure_entry._run_sudo(["sudo", "-n", "--", "/opt/ds01/entry", "container-list"])

    assert sudo_doing("exit 7") == 7
    assert sudo_doing("kill -TERM $$") == -signal.SIGTERM
    # Ctrl-C goes to the whole foreground group; only the command decides what it means.
    assert sudo_doing("trap 'exit 5' INT; kill -INT $PPID; kill -INT $$") == 5
    # A termination sent to the caller's side alone reaches sudo (which relays it to the command).
    waits_for_term = (
        "import os, signal, sys\n"
        "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})\n"
        "os.kill(os.getppid(), signal.SIGTERM)\n"
        "sys.exit(42 if signal.sigtimedwait({signal.SIGTERM}, 60) else 0)"
    )
    assert sudo_doing(f"exec {sys.executable} -c '{waits_for_term}'") == 42
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored afterwards


def test_the_root_side_dispatches_on_the_name_it_is_given(capsys):
    if os.geteuid() != 0:
        assert secure_entry.main(["container-list", "--help"]) == 3
        return
    assert secure_entry.main(["container-list", "--help"]) == 0
    assert "Usage: ds01 container list" in capsys.readouterr().out


@pytest.fixture
def world():
    """Root-owned 0755 folders (as on a server), removed afterwards."""
    made: list[Path] = []

    def make(prefix: str) -> Path:
        made.append(world_dir(prefix))
        return made[-1]

    yield make
    for path in made:
        shutil.rmtree(path, ignore_errors=True)


# -- ds01 admin sudoers --------------------------------------------------------------------------------


@needs_root
@needs_visudo
def test_admin_sudoers_installs_checked_rule_and_entry_idempotently(world):
    rules = world("ds01-rules-")
    target = rules / "ds01"
    entry = world("ds01-entry-") / "libexec" / "ds01-secure"
    env = {"DS01_CONFIG": str(ROOT / "config" / "resource-limits.yaml")}
    args = ("admin", "sudoers", "--output", str(target), "--entry", str(entry))

    dry = run_process(*args, "--dry-run", env=env)
    assert dry.exit_code == 0, dry
    assert not target.exists() and not entry.exists()
    assert "NOPASSWD: " + str(entry) in dry.stdout

    first = run_process(*args, env=env)
    assert first.exit_code == 0, first
    assert target.read_text() == sudoers.rule(str(entry))
    assert (target.stat().st_mode & 0o7777) == 0o440 and target.stat().st_uid == 0
    assert subprocess.run(["visudo", "-cf", str(target)], capture_output=True).returncode == 0
    script = entry.read_text()
    assert f"DS01_CONFIG={env['DS01_CONFIG']}; export DS01_CONFIG" in script
    assert "-I -m ds01.secure_entry" in script and (entry.stat().st_mode & 0o7777) == 0o755
    assert sorted(p.name for p in rules.iterdir()) == ["ds01"]  # no temporary file left behind

    stamps = (target.stat().st_mtime_ns, entry.stat().st_mtime_ns)
    again = run_process(*args, env=env)
    assert again.exit_code == 0, again
    assert "unchanged" in again.stderr
    assert (target.stat().st_mtime_ns, entry.stat().st_mtime_ns) == stamps


@needs_root
@needs_visudo
def test_admin_sudoers_refuses_a_rule_visudo_rejects_and_changes_nothing(cli, monkeypatch, world):
    rules = world("ds01-rules-")
    entry = world("ds01-entry-") / "ds01-secure"
    monkeypatch.setattr(sudoers, "rule", lambda entry, group=None: f"ALL ALL=(root NOPASSWD: {entry}\n")
    result = cli("admin", "sudoers", "--output", str(rules / "ds01"), "--entry", str(entry))
    assert result.exit_code == 1, result
    assert "visudo rejects the sudoers rule; nothing was installed" in result.stderr
    assert list(rules.iterdir()) == [] and not entry.exists()


@needs_root
def test_admin_sudoers_refuses_an_entry_point_users_could_replace(cli, world):
    # The attack: whoever can replace the entry point runs their own program as root through sudo.
    open_dir = world("ds01-open-")
    os.chmod(open_dir, 0o777)
    rules = world("ds01-rules-")
    result = cli("admin", "sudoers", "--output", str(rules / "ds01"), "--entry", str(open_dir / "ds01-secure"))
    assert result.exit_code == 3, result
    assert "users other than root could change" in result.stderr
    assert list(rules.iterdir()) == [] and list(open_dir.iterdir()) == []


def test_admin_sudoers_usage_errors(cli, monkeypatch):
    r = cli("admin", "sudoers", "--output", "/etc/sudoers.d/ds01.rule", "--dry-run")
    assert r.exit_code == 2 and "has a dot" in r.stderr
    r = cli("admin", "sudoers", "--entry", "/opt/a b", "--dry-run")
    assert r.exit_code == 2
    r = cli("admin", "sudoers", "--group", "no-such-group-ds01", "--dry-run")
    assert r.exit_code == 2 and "no group" in r.stderr
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    r = cli("admin", "sudoers")
    assert r.exit_code == 3 and "must run as root" in r.stderr
