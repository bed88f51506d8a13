"""readme-create: the project's README.md, a short manual for working on it with ds01.

It says what the folders are for, how to build the image (``ds01 image create``), create
and enter the container, where data goes, and how to stop and give the GPU back, so that a
student (or their supervisor) can pick the project up later from the README alone.
"""

from __future__ import annotations

from pathlib import Path

from ds01.errors import UsageError
from ds01.records import dataclass
from ds01.units.project.files import Ask, SetupResult, place_file, validate_project_name

_FOLDERS = (
    ("data/", "datasets (not in git; keep a download or preparation script in `src/`)"),
    ("notebooks/", "Jupyter notebooks for exploration and reports"),
    ("src/", "your Python code: data loading, models, training, evaluation"),
    ("models/", "trained weights and checkpoints (not in git unless tracked with Git LFS)"),
    ("outputs/", "figures, logs, metrics and predictions (not in git; regenerate them)"),
)


def render_readme(project: str) -> str:
    """The README text for ``project`` (pure; the same name always gives the same text)."""
    folders = "\n".join(f"| `{name}` | {what} |" for name, what in _FOLDERS)
    return f"""# {project}

A data-science project on the shared GPU server, set up with ds01.

## Layout

| folder | what goes there |
|---|---|
{folders}

## Build the image

The image holds the framework (PyTorch, TensorFlow, …) and the packages this project needs.
Build it once, and again after changing its packages:

```bash
ds01 image create {project}      # builds {project}-image
ds01 image update {project}-image  # add or remove packages, then rebuild
```

## Create and enter the container

```bash
ds01 container create {project}  # a container from {project}-image, with a GPU slot
ds01 container run {project}     # open a shell in it (starts it when stopped)
```

Inside the container your workspace is at `/workspace`: edit code on the server or in
VS Code (`ds01 vscode-setup {project}`), run it in the container.

## Where data goes

Put datasets in `data/` and write results to `outputs/` and weights to `models/`. These
folders live on the server's disk (mounted into the container), so they survive container
restarts and removal. Anything written elsewhere inside the container is lost when the
container is removed.

## Stop and release the GPU

```bash
exit                             # leave the container's shell
ds01 container stop {project}    # stop it; the GPU stays reserved for a while
ds01 container retire {project}  # stop and remove it, and give the GPU back now
```

A stopped container keeps its GPU only for a limited time (see `ds01 limits show`); after
that the GPU is released automatically and `ds01 container run {project}` recreates the
container from the same image. Your files in this folder are never touched.
"""


@dataclass
class ReadmeResult(SetupResult):
    project: str = ""

    def to_json(self) -> dict:
        return {**super().to_json(), "project": self.project}


def create_readme(
    path: Path,
    *,
    project: str | None = None,
    force: bool = False,
    ask: Ask | None = None,
) -> ReadmeResult:
    """Write ``<path>/README.md`` for ``project`` (default: the directory's name).

    A README that already says exactly this is unchanged; any other README is kept unless
    ``force`` or ``ask`` allows replacing it.
    """
    root = Path(path).expanduser().absolute()
    if not root.is_dir():
        raise UsageError(f"{root} is not a directory; create the project first (ds01 dir-create NAME).")
    name = project if project is not None else root.name
    try:
        validate_project_name(name)
    except UsageError as exc:
        if project is None:
            raise UsageError(
                f"The folder name {name!r} cannot be a project name; pass one with --name (for example my-thesis)."
            ) from exc
        raise
    result = ReadmeResult(unit="readme-create", path=root, project=name)
    place_file(result, root / "README.md", render_readme(name), force=force, ask=ask)
    return result
