"""git-init: a real git repository for a project, with a data-science ``.gitignore``.

Runs the real ``git`` (argv lists, never a shell). With ``lfs`` the large model and data
file types are tracked by Git LFS when ``git-lfs`` is installed; when it is not, the result
says so and nothing fails. The initial commit is made only when the user has a git
identity: ds01 never invents a name or an e-mail address for someone's history.

git reads the user's configuration (``~/.gitconfig``: hooks, fsmonitor, aliases), so this unit
must run as that user; under sudo the commands call it through ``ds01.privsep.run_as``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ds01.errors import OperationFailed, UsageError
from ds01.records import dataclass, field
from ds01.units.project.files import Ask, SetupResult, place_file, run_tool

GITIGNORE = """\
# Written by ds01 git-init: what a data-science project keeps out of git.

# Data and results: large, regenerable or private. Each folder's README stays tracked.
/data/*
!/data/README.md
/outputs/*
!/outputs/README.md
/models/*
!/models/README.md

# Model weights and checkpoints anywhere (use `ds01 git-init --lfs` to version them).
checkpoints/
*.ckpt
*.pt
*.pth
*.safetensors
*.h5
*.onnx

# Experiment trackers
wandb/
mlruns/
lightning_logs/
runs/

# Jupyter
.ipynb_checkpoints/

# Python
__pycache__/
*.py[cod]
*.egg-info/
.venv/
venv/
.pytest_cache/
.mypy_cache/
.ruff_cache/

# Secrets and local settings
.env
.env.*
*.pem

# Operating systems and editors
.DS_Store
Thumbs.db
*.swp
"""

# File types Git LFS tracks with --lfs: model weights and binary data formats.
LFS_PATTERNS: tuple[str, ...] = (
    "*.pt",
    "*.pth",
    "*.ckpt",
    "*.h5",
    "*.hdf5",
    "*.onnx",
    "*.safetensors",
    "*.pkl",
    "*.joblib",
    "*.npy",
    "*.npz",
    "*.parquet",
    "*.feather",
    "*.arrow",
    "*.tfrecord",
)

INITIAL_COMMIT_MESSAGE = "Initial project layout"


@dataclass
class GitResult(SetupResult):
    initialized: bool = False  # a repository was created by this run
    committed: bool = False  # this run made the initial commit
    lfs: str = "off"  # "off" | "tracked" | "unavailable"
    lfs_patterns: list[str] = field(default_factory=list)  # patterns newly tracked by this run
    identity: str | None = None  # "Name <email>" used for the commit, when configured

    def to_json(self) -> dict:
        data = super().to_json()
        data.update(
            initialized=self.initialized,
            committed=self.committed,
            lfs=self.lfs,
            lfs_patterns=list(self.lfs_patterns),
            identity=self.identity,
        )
        return data


def _git(repo: Path, *args: str, what: str, env: dict[str, str] | None = None, check: bool = True):
    return run_tool(["git", "-C", str(repo), *args], env=env, what=what, check=check)


def _config_value(repo: Path, key: str, env: dict[str, str]) -> str | None:
    proc = _git(repo, "config", "--get", key, what=f"git config {key}", env=env, check=False)
    value = proc.stdout.strip()
    return value or None


def git_identity(repo: Path, environ: dict[str, str] | None = None) -> tuple[str, str] | None:
    """The (name, email) git would use, if the user configured one; never a guessed one."""
    env = dict(os.environ if environ is None else environ)
    name = env.get("GIT_AUTHOR_NAME") or _config_value(repo, "user.name", env)
    email = env.get("GIT_AUTHOR_EMAIL") or _config_value(repo, "user.email", env) or env.get("EMAIL")
    if name and email:
        return name, email
    return None


def _tracked_lfs_patterns(repo: Path) -> set[str]:
    attrs = repo / ".gitattributes"
    if not attrs.is_file():
        return set()
    found = set()
    for line in attrs.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 2 and "filter=lfs" in parts[1:]:
            found.add(parts[0])
    return found


def _has_commits(repo: Path, env: dict[str, str]) -> bool:
    proc = _git(repo, "rev-parse", "--verify", "--quiet", "HEAD", what="git rev-parse", env=env, check=False)
    return proc.returncode == 0


def init_repo(
    path: Path,
    *,
    lfs: bool = False,
    force: bool = False,
    ask: Ask | None = None,
    environ: dict[str, str] | None = None,
) -> GitResult:
    """Make ``path`` a git repository with ds01's ``.gitignore`` (and LFS tracking with ``lfs``).

    Idempotent: an existing repository is kept, an identical ``.gitignore`` is unchanged,
    patterns LFS already tracks are not added twice, and the initial commit is made only
    while the repository has no commit yet.
    """
    repo = Path(path).expanduser().absolute()
    if not repo.is_dir():
        raise UsageError(f"{repo} is not a directory; create the project first (ds01 dir-create NAME).")
    if shutil.which("git") is None:
        raise OperationFailed("git is not installed on this server; ask an admin to install it.")
    env = dict(os.environ if environ is None else environ)
    result = GitResult(unit="git-init", path=repo)

    if (repo / ".git").exists():
        result.unchanged.append(repo / ".git")
    else:
        args = ["init", "--quiet"]
        # Respect a user's own init.defaultBranch; otherwise "main", not git's old default.
        if _config_value(repo, "init.defaultBranch", env) is None:
            args.append("--initial-branch=main")
        _git(repo, *args, what="git init", env=env)
        result.initialized = True
        result.created.append(repo / ".git")

    place_file(result, repo / ".gitignore", GITIGNORE, force=force, ask=ask)

    if lfs:
        if shutil.which("git-lfs") is None:
            result.lfs = "unavailable"
            result.notes.append(
                "Git LFS is not installed on this server, so large files are not tracked; ask an admin "
                "to install git-lfs, then run `ds01 git-init --lfs` again."
            )
        else:
            attrs = repo / ".gitattributes"
            existed = attrs.exists()
            before = _tracked_lfs_patterns(repo)
            _git(repo, "lfs", "install", "--local", what="git lfs install", env=env)
            missing = [p for p in LFS_PATTERNS if p not in before]
            if missing:
                _git(repo, "lfs", "track", "--", *missing, what="git lfs track", env=env)
                (result.updated if existed else result.created).append(attrs)
            else:
                result.unchanged.append(attrs)
            result.lfs = "tracked"
            result.lfs_patterns = missing

    ident = git_identity(repo, env)
    if ident is not None:
        result.identity = f"{ident[0]} <{ident[1]}>"
    if _has_commits(repo, env):
        return result
    if ident is None:
        result.notes.append(
            "No initial commit: git does not know who you are yet. Run "
            '`git config --global user.name "Your Name"` and '
            "`git config --global user.email you@example.org`, then "
            f'`git -C {repo} add . && git -C {repo} commit -m "{INITIAL_COMMIT_MESSAGE}"`.'
        )
        return result
    _git(repo, "add", "--all", "--", ".", what="git add", env=env)
    staged = _git(repo, "diff", "--cached", "--name-only", what="git diff", env=env).stdout.strip()
    if not staged:
        result.notes.append("No initial commit: there is nothing to commit yet.")
        return result
    _git(repo, "commit", "--quiet", "-m", INITIAL_COMMIT_MESSAGE, what="git commit", env=env)
    result.committed = True
    return result
