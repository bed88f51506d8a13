"""`ds01 limits show` and `ds01 limits check`: output, exit codes, no tracebacks, fast imports."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ds01.limits.schema import render_markdown

ROOT = Path(__file__).resolve().parents[2]
G = 1024**3


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "limits.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_show_human_view_names_group_and_sources(cli) -> None:
    result = cli("limits", "show", "student1")
    assert result.exit_code == 0, result
    lines = result.stdout.splitlines()
    assert lines[0] == "student1: group student (listed in groups.student.members); priority 10"
    assert lines[1].split() == ["field", "value", "source"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:17]}
    assert rows["memory"] == ["32g", "group:student"]
    assert rows["gpu_hold_after_stop"] == ["1h", "group:student"]
    assert rows["max_gpus_per_container"] == ["1", "defaults"]
    assert rows["allow_full_gpu"] == ["no", "group:student"]
    assert "Traceback" not in result.output


def test_show_unknown_user_says_default_group(cli) -> None:
    result = cli("limits", "show", "someone-new")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == (
        "someone-new: group student (in no group; default_group is student); priority 10"
    )


def test_show_without_default_group_says_defaults(cli, tmp_path: Path) -> None:
    path = write(tmp_path, "defaults:\n  memory: 8g\n")
    result = cli("limits", "show", "x", env={"DS01_CONFIG": str(path)})
    assert result.exit_code == 0
    assert "group (none) (in no group and no default_group is set; defaults apply)" in result.stdout
    assert "unlimited" in result.stdout and "builtin" in result.stdout


def test_show_reservation_line(cli) -> None:
    result = cli("limits", "show", "researcher2")
    assert "reservation: slots 0 from 2027-03-01T09:00:00+00:00 to 2027-03-05T18:00:00+00:00" in result.stdout


def test_show_json(cli) -> None:
    result = cli("limits", "show", "datasciencelab", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert list(data) == ["user", "group", "priority", "limits", "sources"]
    assert data["user"] == "datasciencelab" and data["group"] == "admin" and data["priority"] == 90
    assert data["limits"]["memory"] == 128 * G
    assert data["limits"]["max_mig_instances"] is None
    assert data["limits"]["gpu_hold_after_stop"] == 3 * 3600
    assert data["limits"]["max_runtime"] is None
    assert data["sources"]["max_mig_instances"] == "group:admin"
    assert data["sources"]["pids_limit"] == "defaults"
    override = json.loads(cli("limits", "show", "researcher2", "--json").stdout)
    assert override["priority"] == 100 and override["sources"]["priority"] == "user_override"


def test_show_docker_args_and_group(cli, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        groups:
          lab:
            members: [ann]
            max_cpus: 1
            memory: 2g
            shm_size: 256m
            pids_limit: 512
    """,
    )
    env = {"DS01_CONFIG": str(path)}
    result = cli("limits", "show", "ann", "--docker-args", env=env)
    assert result.exit_code == 0
    assert result.stdout == "--cpus=1 --memory=2g --shm-size=256m --pids-limit=512 --cgroup-parent=ds01-lab.slice\n"
    assert cli("limits", "show", "ann", "--group", env=env).stdout == "lab\n"
    assert cli("limits", "show", "bob", "--group", env=env).stdout == "\n"


def test_show_defaults_to_the_caller(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUDO_USER", "student2")
    monkeypatch.setenv("SUDO_UID", "4242")
    result = cli("limits", "show", "--json")
    assert result.exit_code == 0, result
    data = json.loads(result.stdout)
    assert (data["user"], data["group"]) == ("student2", "student")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "does not exist"),
        ("defaults: {memory: [\n", "is not valid YAML"),
        ("defaults:\n  max_runtime: 48\n", "defaults.max_runtime: 48 is a bare number"),
    ],
)
def test_show_with_bad_config_exits_2_without_traceback(cli, tmp_path: Path, content, fragment) -> None:
    path = tmp_path / "limits.yaml"
    if content is not None:
        path.write_text(content)
    result = cli("limits", "show", "alice", env={"DS01_CONFIG": str(path)})
    assert result.exit_code == 2, result
    assert str(path) in result.stderr and fragment in result.stderr
    assert result.stdout == "" and "Traceback" not in result.output


def test_check_valid_file_prints_summary(cli) -> None:
    result = cli("limits", "check")
    assert result.exit_code == 0, result
    path = ROOT / "config" / "resource-limits.yaml"
    topo = ROOT / "config" / "topologies" / "demo-small.yaml"
    assert result.stdout == (
        f"{path}: OK: 3 groups, 5 users, 1 overrides, 1 reservations, inventory simulated ({topo})\n"
    )


def test_check_invalid_file_lists_every_problem(cli, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        defaults:
          memory: 32
          idel_timeout: 1h
        groups:
          a: {members: [x]}
          b: {members: [x]}
    """,
    )
    result = cli("limits", "check", str(path))
    assert result.exit_code == 2
    assert f"error: {path} is not a valid ds01 configuration: 3 problem(s); nothing was changed." in result.stderr
    assert f"{path}: defaults.memory: 32 is a bare number without a unit; expected" in result.stderr
    assert "defaults.idel_timeout: 'idel_timeout' is not a known key (did you mean 'idle_timeout'?)" in result.stderr
    assert "groups.b.members: 'x' is already a member of group 'a'" in result.stderr
    assert result.stdout == "" and "Traceback" not in result.output


def test_check_json(cli, tmp_path: Path) -> None:
    path = write(tmp_path, "defaults:\n  priority: 500\n")
    result = cli("limits", "check", str(path), "--json")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["valid"] is False and data["summary"] is None
    assert data["problems"][0]["key_path"] == "defaults.priority" and data["problems"][0]["value"] == 500
    good = json.loads(cli("limits", "check", "--json").stdout)
    assert good["valid"] is True and good["summary"]["groups"] == 3


@pytest.mark.parametrize("kind", ["missing", "directory", "not-yaml", "unreadable"])
def test_check_unreadable_exits_2_with_path(cli, tmp_path: Path, kind: str) -> None:
    path = tmp_path / "limits.yaml"
    if kind == "directory":
        path.mkdir()
    elif kind == "not-yaml":
        path.write_text("groups: [a\n")
    elif kind == "unreadable":
        path.write_bytes(b"\xff\xfe\x00bad")
    result = cli("limits", "check", str(path))
    assert result.exit_code == 2, result
    assert result.stderr.startswith(f"error: {path} ")
    assert "Traceback" not in result.output


def test_check_warns_about_cpus_on_stderr(cli, tmp_path: Path) -> None:
    path = write(tmp_path, "defaults:\n  max_cpus: 100000\n")
    result = cli("limits", "check", str(path))
    assert result.exit_code == 0
    assert "warning:" in result.stderr and "defaults.max_cpus: 100000 is more than" in result.stderr
    assert "OK" in result.stdout


def test_limits_show_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from ds01.cli import run\n"
        "code = run(['limits', 'show', 'student1', '--json'], prog='ds01')\n"
        "heavy = [m for m in ('docker', 'questionary', 'pynvml', 'rich') if m in sys.modules]\n"
        "sys.stderr.write('HEAVY=' + ','.join(heavy) + '\\n')\n"
        "sys.exit(code)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY=\n" in proc.stderr
    assert json.loads(proc.stdout)["user"] == "student1"


def test_config_doc_is_generated_from_schema() -> None:
    committed = (ROOT / "docs" / "config.md").read_text()
    assert committed == render_markdown(), (
        "docs/config.md is stale: run `python -m ds01.limits.schema --markdown > docs/config.md`"
    )


def test_config_doc_names_every_key() -> None:
    from ds01.limits import schema

    doc = render_markdown()
    specs = schema.PER_USER_SPECS + schema.GROUP_EXTRA_SPECS + schema.OVERRIDE_EXTRA_SPECS
    for section in schema.SECTION_SPECS.values():
        specs += section
    for spec in specs:
        assert f"| `{spec.name}` |" in doc, spec.name
    for key in schema.TOP_LEVEL:
        assert f"`{key}`" in doc


def test_schema_module_main(capsys) -> None:
    from ds01.limits.schema import main

    assert main(["--markdown"]) == 0
    assert capsys.readouterr().out == render_markdown()
    assert main([]) == 2


@pytest.mark.parametrize("user", ["", "a|b", "two words", "a/b"])
def test_show_refuses_a_user_name_no_login_could_have(cli, user: str) -> None:
    result = cli("limits", "show", user)
    assert result.exit_code == 2
    assert "is not a user name" in result.stderr and result.stdout == "" and "Traceback" not in result.output


def test_show_accepts_every_login_name_form(cli) -> None:
    for user in ("alice", "a.b-c_d", "alice@example.org", "machine$", "4301"):
        assert cli("limits", "show", user, "--group").exit_code == 0, user


def test_check_binary_file_is_not_called_a_permission_problem(cli, tmp_path: Path) -> None:
    path = tmp_path / "limits.yaml"
    path.write_bytes(b"\xff\xfe\x00bad")
    result = cli("limits", "check", str(path))
    assert result.exit_code == 2
    assert "is not a text file" in result.stderr and "permissions" not in result.stderr


@pytest.mark.parametrize(
    ("topology", "fragment"),
    [
        ("gpus:\n  - {name: g, memory: 80g, mig: [foo]}\n", "gpus[0].mig[0]: 'foo' is not a MIG profile"),
        (
            "gpus:\n  - {name: g, memory: 80g, mig: null, compute_capability: eight}\n",
            "gpus[0].compute_capability: 'eight' is not a compute capability",
        ),
        ("gpus:\n  - {name: g, memory: 80g, mig: null, lost: maybe}\n", "gpus[0].lost: 'maybe' is not true or false"),
        ("", "gpus: None is not a list"),
        ("# nothing but a comment\n", "gpus: None is not a list"),
    ],
)
def test_check_refuses_every_topology_the_inventory_refuses(cli, tmp_path: Path, topology: str, fragment: str) -> None:
    """`limits check` passing means every gpu command can load the inventory."""
    topo = tmp_path / "topo.yaml"
    topo.write_text(topology)
    path = write(tmp_path, f"gpu_allocation: {{inventory: simulated, topology: {topo}}}\n")
    result = cli("limits", "check", str(path))
    assert result.exit_code == 2, result
    assert fragment in result.stderr and "Traceback" not in result.output
    assert cli("gpu", "status", env={"DS01_CONFIG": str(path)}).exit_code == 2


def test_check_topology_that_is_a_directory(cli, tmp_path: Path) -> None:
    path = write(tmp_path, f"gpu_allocation: {{inventory: simulated, topology: {tmp_path}}}\n")
    result = cli("limits", "check", str(path))
    assert result.exit_code == 2
    assert f"{tmp_path} is a directory; expected a topology file" in result.stderr


def test_every_packaged_topology_passes_check(cli, tmp_path: Path) -> None:
    for topo in sorted((ROOT / "config" / "topologies").glob("*.yaml")):
        path = write(tmp_path, f"gpu_allocation: {{inventory: simulated, topology: {topo}}}\n")
        result = cli("limits", "check", str(path))
        assert result.exit_code == 0, (topo, result)
