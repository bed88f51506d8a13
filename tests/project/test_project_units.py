"""The project setup units on a temp HOME, with the real git, git-lfs and ssh-keygen.

Each unit is checked for what it creates, that a second run changes nothing (same
contents and mtimes), that a user's differing file is kept unless forced, and that bad
input exits 2 and leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from ds01.errors import UsageError
from ds01.units.project import git as git_unit
from ds01.units.project.files import validate_project_name
from ds01.units.project.git import GITIGNORE, LFS_PATTERNS, init_repo
from ds01.units.project.layout import FOLDERS, create_layout
from ds01.units.project.readme import create_readme, render_readme
from ds01.units.project.ssh import setup_ssh
from ds01.units.project.vscode import setup_vscode


def snapshot(root: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every path under root (git's object store aside) with its mtime and file bytes."""
    found = {}
    for path in sorted(root.rglob("*")):
        if ".git" in path.relative_to(root).parts[:1] and path.name not in ("config", "HEAD"):
            continue
        st = path.lstat()
        found[str(path.relative_to(root))] = (st.st_mtime_ns, path.read_bytes() if path.is_file() else None)
    return found


@pytest.fixture
def home() -> Path:
    return Path(os.environ["HOME"])


@pytest.fixture
def git_identity_env(home: Path) -> dict[str, str]:
    """A git identity configured the way a user does it: ~/.gitconfig in their HOME."""
    subprocess.run(["git", "config", "--global", "user.name", "Ada Student"], check=True)
    subprocess.run(["git", "config", "--global", "user.email", "ada@example.org"], check=True)
    return dict(os.environ)


# -- names ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["thesis", "my-thesis", "my_thesis2", "my.thesis", "a1", "9lives"])
def test_valid_project_names(name: str) -> None:
    assert validate_project_name(name) == name


@pytest.mark.parametrize("name", ["", "-x", "_x", "A1", "a..b", "a b", "a/b", "x#1", "é", "a" * 49, "a._.1000"])
def test_invalid_project_names(name: str) -> None:
    with pytest.raises(UsageError):
        validate_project_name(name)


# -- dir-create -----------------------------------------------------------------------


def test_dir_create_default_location_and_readmes(cli, home: Path) -> None:
    res = cli("dir-create", "thesis")
    assert res.exit_code == 0, res
    root = home / "workspace" / "thesis"
    for name in FOLDERS:
        readme = root / name / "README.md"
        assert readme.is_file()
        assert FOLDERS[name] in readme.read_text()
    assert "Project folders ready" in res.stderr


def test_dir_create_is_idempotent(cli, home: Path) -> None:
    assert cli("dir-create", "thesis").exit_code == 0
    root = home / "workspace" / "thesis"
    before = snapshot(root)
    res = cli("project", "dir-create", "thesis", "--json")
    assert res.exit_code == 0, res
    data = json.loads(res.stdout)
    assert data["changed"] is False
    assert data["created"] == [] and data["replaced"] == []
    assert len(data["unchanged"]) == 1 + 2 * len(FOLDERS)
    assert snapshot(root) == before


def test_dir_create_json_keys(cli, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "proj"
    res = cli("dir-create", "proj", "--dir", str(target), "--json")
    assert res.exit_code == 0, res
    data = json.loads(res.stdout)
    assert set(data) == {
        "unit",
        "path",
        "changed",
        "created",
        "updated",
        "replaced",
        "unchanged",
        "kept",
        "notes",
        "project",
    }
    assert data["unit"] == "dir-create" and data["project"] == "proj"
    assert data["path"] == str(target)
    assert str(target / "src" / "README.md") in data["created"]


@pytest.mark.parametrize("name", ["-bad", "_bad", "Bad", "bad..name", "bad name"])
def test_dir_create_bad_name_exits_2_and_creates_nothing(cli, home: Path, name: str) -> None:
    res = cli("dir-create", "--", name)
    assert res.exit_code == 2, res
    assert "use lowercase letters" in res.stderr
    assert not (home / "workspace").exists()


def test_dir_create_keeps_an_edited_readme_in_scripts(cli, home: Path) -> None:
    assert cli("dir-create", "thesis").exit_code == 0
    readme = home / "workspace" / "thesis" / "data" / "README.md"
    readme.write_text("my own notes\n")
    res = cli("dir-create", "thesis", "--json")
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert data["kept"] == [str(readme)]
    assert any("--force" in note for note in data["notes"])
    assert readme.read_text() == "my own notes\n"
    res = cli("dir-create", "thesis", "--force", "--json")
    assert json.loads(res.stdout)["replaced"] == [str(readme)]
    assert FOLDERS["data"] in readme.read_text()


def test_layout_asks_before_replacing(tmp_path: Path) -> None:
    root = tmp_path / "p"
    create_layout("p", directory=root)
    (root / "src" / "README.md").write_text("mine\n")
    questions: list[str] = []

    def no(question: str) -> bool:
        questions.append(question)
        return False

    result = create_layout("p", directory=root, ask=no)
    assert result.kept == [root / "src" / "README.md"]
    assert len(questions) == 1 and "src/README.md" in questions[0]
    result = create_layout("p", directory=root, ask=lambda q: True)
    assert result.replaced == [root / "src" / "README.md"]


def test_dir_create_refuses_a_file_in_the_way(cli, home: Path) -> None:
    (home / "workspace").mkdir()
    (home / "workspace" / "thesis").write_text("a file\n")
    res = cli("dir-create", "thesis")
    assert res.exit_code == 2, res
    assert "not a directory" in res.stderr


# -- git-init -------------------------------------------------------------------------


def test_git_init_without_identity_makes_no_commit(cli, tmp_path: Path) -> None:
    create_layout("p", directory=tmp_path / "p")
    res = cli("git-init", str(tmp_path / "p"), "--json")
    assert res.exit_code == 0, res
    data = json.loads(res.stdout)
    assert data["initialized"] is True and data["committed"] is False and data["identity"] is None
    assert any("git config --global user.name" in n for n in data["notes"])
    assert (tmp_path / "p" / ".git").is_dir()
    assert (tmp_path / "p" / ".gitignore").read_text() == GITIGNORE
    head = subprocess.run(
        ["git", "-C", str(tmp_path / "p"), "rev-parse", "--verify", "-q", "HEAD"], capture_output=True
    )
    assert head.returncode != 0  # no invented identity, no commit


def test_git_init_commits_with_identity_and_ignores_data(tmp_path: Path, git_identity_env) -> None:
    root = tmp_path / "p"
    create_layout("p", directory=root)
    (root / "data" / "big.csv").write_text("1,2\n")
    (root / "outputs" / "fig.png").write_bytes(b"png")
    (root / "src" / "train.py").write_text("print('hi')\n")
    (root / "src" / "model.pt").write_bytes(b"weights")
    result = init_repo(root, environ=git_identity_env)
    assert result.committed is True and result.identity == "Ada Student <ada@example.org>"
    files = subprocess.run(
        ["git", "-C", str(root), "ls-files"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "src/train.py" in files and "data/README.md" in files and "outputs/README.md" in files
    assert "data/big.csv" not in files and "outputs/fig.png" not in files and "src/model.pt" not in files
    branch = subprocess.run(
        ["git", "-C", str(root), "branch", "--show-current"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert branch == "main"


def test_git_init_is_idempotent(tmp_path: Path, git_identity_env) -> None:
    root = tmp_path / "p"
    create_layout("p", directory=root)
    init_repo(root, lfs=True, environ=git_identity_env)
    before = snapshot(root)
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    again = init_repo(root, lfs=True, environ=git_identity_env)
    assert again.changed is False and again.initialized is False and again.committed is False
    assert again.lfs_patterns == []
    assert snapshot(root) == before
    assert subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True).stdout == head


def test_git_init_lfs_tracks_large_types(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    result = init_repo(root, lfs=True)
    assert result.lfs == "tracked"
    assert result.lfs_patterns == list(LFS_PATTERNS)
    attrs = (root / ".gitattributes").read_text()
    for pattern in ("*.pt", "*.pth", "*.ckpt", "*.h5", "*.onnx", "*.safetensors", "*.parquet"):
        assert f"{pattern} filter=lfs diff=lfs merge=lfs -text" in attrs
    check = subprocess.run(
        ["git", "-C", str(root), "check-attr", "filter", "--", "w.safetensors"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert check.strip().endswith("lfs")


def test_git_init_lfs_missing_is_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "p"
    root.mkdir()
    real_which = shutil.which
    monkeypatch.setattr(git_unit.shutil, "which", lambda name: None if name == "git-lfs" else real_which(name))
    result = init_repo(root, lfs=True)
    assert result.lfs == "unavailable"
    assert any("git-lfs" in n for n in result.notes)
    assert not (root / ".gitattributes").exists()
    assert (root / ".git").is_dir()


def test_git_init_keeps_a_users_gitignore(cli, tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / ".gitignore").write_text("secret.txt\n")
    res = cli("git-init", str(root), "--json")
    assert res.exit_code == 0
    assert json.loads(res.stdout)["kept"] == [str(root / ".gitignore")]
    assert (root / ".gitignore").read_text() == "secret.txt\n"


def test_git_init_missing_directory_exits_2(cli, tmp_path: Path) -> None:
    res = cli("git-init", str(tmp_path / "nope"))
    assert res.exit_code == 2, res
    assert not (tmp_path / "nope").exists()


# -- readme-create --------------------------------------------------------------------


def test_readme_create_content_and_idempotency(cli, tmp_path: Path) -> None:
    root = tmp_path / "thesis"
    root.mkdir()
    res = cli("readme-create", str(root), "--json")
    assert res.exit_code == 0, res
    data = json.loads(res.stdout)
    assert data["project"] == "thesis" and data["created"] == [str(root / "README.md")]
    text = (root / "README.md").read_text()
    for needle in (
        "ds01 image create thesis",
        "ds01 container create thesis",
        "ds01 container run thesis",
        "ds01 container stop thesis",
        "data/",
        "/workspace",
    ):
        assert needle in text
    before = snapshot(root)
    again = json.loads(cli("readme-create", str(root), "--json").stdout)
    assert again["changed"] is False and again["unchanged"] == [str(root / "README.md")]
    assert snapshot(root) == before


def test_readme_create_never_overwrites_without_force(cli, tmp_path: Path) -> None:
    root = tmp_path / "thesis"
    root.mkdir()
    (root / "README.md").write_text("# Mine\n")
    res = cli("readme-create", str(root))
    assert res.exit_code == 0
    assert "Kept your" in res.stderr
    assert (root / "README.md").read_text() == "# Mine\n"
    assert cli("readme-create", str(root), "--force").exit_code == 0
    assert (root / "README.md").read_text() == render_readme("thesis")


def test_readme_create_bad_folder_name_needs_name(cli, tmp_path: Path) -> None:
    root = tmp_path / "My Project"
    root.mkdir()
    res = cli("readme-create", str(root))
    assert res.exit_code == 2 and "--name" in res.stderr
    assert not (root / "README.md").exists()
    assert cli("readme-create", str(root), "--name", "myproject").exit_code == 0
    assert "ds01 image create myproject" in (root / "README.md").read_text()


def test_create_readme_is_pure_in_its_text(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    result = create_readme(tmp_path / "a", project="alpha")
    assert (tmp_path / "a" / "README.md").read_text() == render_readme("alpha")
    assert result.project == "alpha"


# -- ssh-setup ------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ssh_setup_creates_key_config_and_modes(cli, home: Path) -> None:
    res = cli("ssh-setup", "--hostname", "gpu01.lab.example.org", "--json")
    assert res.exit_code == 0, res
    data = json.loads(res.stdout)
    ssh = home / ".ssh"
    key = ssh / "id_ed25519"
    assert data["key_created"] is True and data["key_path"] == str(key)
    assert data["host_alias"] == "gpu01" and data["hostname"] == "gpu01.lab.example.org"
    assert data["public_key"].startswith("ssh-ed25519 ")
    assert data["public_key"] == (ssh / "id_ed25519.pub").read_text().strip()
    assert _mode(ssh) == 0o700 and _mode(key) == 0o600 and _mode(ssh / "config") == 0o600
    # The key is real: ssh-keygen reads it back with its comment user@host.
    fp = subprocess.run(["ssh-keygen", "-l", "-f", str(key)], capture_output=True, text=True, check=True).stdout
    assert "ED25519" in fp
    config = (ssh / "config").read_text()
    assert "Host gpu01\n    HostName gpu01.lab.example.org\n" in config
    assert config == data["config_entry"]


def test_ssh_setup_is_idempotent(cli, home: Path) -> None:
    assert cli("ssh-setup", "--hostname", "gpu01.lab.example.org").exit_code == 0
    before = snapshot(home / ".ssh")
    res = cli("ssh-setup", "--hostname", "gpu01.lab.example.org", "--json")
    data = json.loads(res.stdout)
    assert data["key_created"] is False and data["changed"] is False
    assert snapshot(home / ".ssh") == before
    assert (home / ".ssh" / "config").read_text().count("Host gpu01") == 1


def test_ssh_setup_never_replaces_an_existing_key(home: Path) -> None:
    ssh = home / ".ssh"
    ssh.mkdir(mode=0o755)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(ssh / "id_rsa")],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    key_bytes = (ssh / "id_rsa").read_bytes()
    (ssh / "config").write_text("Host github.com\n    User git\n")
    result = setup_ssh(user="ada", hostname="gpu01.example.org")
    assert result.key_created is False and result.key_path == ssh / "id_rsa"
    assert not (ssh / "id_ed25519").exists()
    assert (ssh / "id_rsa").read_bytes() == key_bytes
    assert result.public_key.startswith("ssh-rsa ")
    assert _mode(ssh) == 0o700  # tightened, and said so
    assert any("0700" in n for n in result.notes)
    config = (ssh / "config").read_text()
    assert config.startswith("Host github.com\n    User git\n") and "Host gpu01\n" in config
    assert result.updated == [ssh / "config"]


def test_ssh_setup_keeps_a_users_host_entry(home: Path) -> None:
    ssh = home / ".ssh"
    ssh.mkdir(mode=0o700)
    (ssh / "config").write_text("Host gpu01\n    HostName 10.0.0.5\n")
    result = setup_ssh(user="ada", hostname="gpu01.example.org")
    assert (ssh / "config").read_text() == "Host gpu01\n    HostName 10.0.0.5\n"
    assert any("already has a `Host gpu01`" in n for n in result.notes)


def test_ssh_setup_authorizes_a_laptop_key_once(cli, home: Path, tmp_path: Path) -> None:
    laptop = tmp_path / "laptop_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(laptop), "-C", "ada@laptop"],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    pub = laptop.with_name("laptop_key.pub")
    res = cli("ssh-setup", "--hostname", "gpu01.example.org", "--authorize", str(pub), "--json")
    assert res.exit_code == 0, res
    assert json.loads(res.stdout)["authorized"] is True
    auth = home / ".ssh" / "authorized_keys"
    assert auth.read_text() == pub.read_text()
    assert _mode(auth) == 0o600
    res = cli("ssh-setup", "--hostname", "gpu01.example.org", "--authorize", pub.read_text().strip(), "--json")
    assert json.loads(res.stdout)["authorized"] is False
    assert auth.read_text() == pub.read_text()


@pytest.mark.parametrize(
    "bad",
    ["hello", "ssh-ed25519 not*base64", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDamaged"],
)
def test_ssh_setup_bad_key_exits_2_and_changes_nothing(cli, home: Path, bad: str) -> None:
    res = cli("ssh-setup", "--hostname", "gpu01.example.org", "--authorize", bad)
    assert res.exit_code == 2, res
    assert not (home / ".ssh" / "authorized_keys").exists()


def test_ssh_setup_bad_alias_exits_2(cli, home: Path) -> None:
    res = cli("ssh-setup", "--host-alias", "-oProxyCommand=x", "--hostname", "gpu01.example.org")
    assert res.exit_code == 2, res
    assert not (home / ".ssh").exists()


def test_ssh_setup_prints_key_on_stdout_and_advice_on_stderr(cli, home: Path) -> None:
    res = cli("ssh-setup", "--hostname", "gpu01.example.org", "--guided")
    assert res.exit_code == 0, res
    pub = (home / ".ssh" / "id_ed25519.pub").read_text().strip()
    assert res.stdout.splitlines()[0] == pub
    assert "Host gpu01" in res.stdout
    assert "GitHub" in res.stderr and "ssh-copy-id" in res.stderr


# -- vscode-setup ---------------------------------------------------------------------


def test_vscode_setup_files_match_the_container(cli, home: Path) -> None:
    assert cli("dir-create", "thesis").exit_code == 0
    res = cli("vscode-setup", "thesis", "--hostname", "gpu01.example.org", "--json")
    assert res.exit_code == 0, res
    data = json.loads(res.stdout)
    uid = os.getuid()
    assert data["container"] == f"thesis._.{uid}"
    assert data["workspace_folder"] == "/workspace"
    root = home / "workspace" / "thesis"
    attach = json.loads((root / ".vscode" / "ds01-attach.json").read_text())
    assert attach == data["attach_config"]
    assert attach["workspaceFolder"] == "/workspace" and attach["remoteUser"] == data["remote_user"]
    settings = json.loads((root / ".vscode" / "settings.json").read_text())
    assert settings["files.watcherExclude"]["**/data/**"] is True
    assert (
        "ms-vscode-remote.remote-ssh"
        in json.loads((root / ".vscode" / "extensions.json").read_text())["recommendations"]
    )
    assert "Host gpu01\n    HostName gpu01.example.org\n" in data["ssh_entry"]
    assert not (root / ".devcontainer").exists()


def test_vscode_setup_is_idempotent_and_keeps_user_settings(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    kwargs = dict(user="ada", uid=1000, host_alias="gpu01", hostname="gpu01.example.org")
    first = setup_vscode("p", root, **kwargs)
    assert len(first.created) == 3
    before = snapshot(root)
    again = setup_vscode("p", root, **kwargs)
    assert again.changed is False and snapshot(root) == before
    settings = root / ".vscode" / "settings.json"
    settings.write_text('{"editor.fontSize": 16}\n')
    kept = setup_vscode("p", root, **kwargs)
    assert kept.kept == [settings] and settings.read_text() == '{"editor.fontSize": 16}\n'
    forced = setup_vscode("p", root, force=True, **kwargs)
    assert forced.replaced == [settings]


def test_vscode_setup_missing_project_exits_2(cli, home: Path) -> None:
    res = cli("vscode-setup", "nothere")
    assert res.exit_code == 2, res
    assert "dir-create nothere" in res.stderr
    res = cli("vscode-setup", "bad.name")
    assert res.exit_code == 2


def test_missing_project_argument_without_terminal_exits_2(cli) -> None:
    res = cli("dir-create")
    assert res.exit_code == 2, res
    assert "PROJECT is required" in res.stderr


def test_top_level_and_noun_spellings_reach_the_same_command(cli, home: Path) -> None:
    assert cli("project", "dir-create", "a1").exit_code == 0
    assert cli("dir-create", "a1", prog="ds01").exit_code == 0
    res = cli("a2", prog="dir-create")
    assert res.exit_code == 0, res
    assert (home / "workspace" / "a2" / "notebooks" / "README.md").is_file()
