"""dir-create: the folder layout of a data-science project.

``<project>/`` with data/, notebooks/, src/, models/ and outputs/, each carrying a short
README.md that says what belongs there (which also keeps the empty folder in git). The
default place is ``~/workspace/<project>``: the workspace is what ds01 containers mount at
``/workspace``, so the project is visible inside every container of the user.
"""

from __future__ import annotations

from pathlib import Path

from ds01.records import dataclass
from ds01.units.project.files import (
    Ask,
    SetupResult,
    caller_home,
    default_project_dir,
    ensure_dir,
    place_file,
    validate_project_name,
)

# folder -> what it is for (first line of its README; also shown by --guided).
FOLDERS: dict[str, str] = {
    "data": "Datasets: raw inputs and prepared data. Not committed to git (too large; keep the source "
    "or a download script in src/ instead).",
    "notebooks": "Jupyter notebooks for exploration and reports. Committed to git; clear large outputs "
    "before committing.",
    "src": "Your Python code: data loading, models, training and evaluation scripts. Committed to git.",
    "models": "Trained model weights and checkpoints (*.pt, *.ckpt, *.safetensors). Not committed to git "
    "unless tracked with Git LFS.",
    "outputs": "Results: figures, logs, metrics, predictions. Not committed to git; regenerate them from "
    "src/ and notebooks/.",
}


def folder_readme(name: str, project: str) -> str:
    purpose = FOLDERS[name]
    return (
        f"# {name}/\n\n{purpose}\n\n"
        f"Inside a ds01 container of this project this folder is `/workspace/{project}/{name}` "
        "when the whole workspace is mounted, or `/workspace/" + name + "` when only the project is.\n"
    )


@dataclass
class LayoutResult(SetupResult):
    project: str = ""

    def to_json(self) -> dict:
        return {**super().to_json(), "project": self.project}


def create_layout(
    project: str,
    *,
    directory: Path | None = None,
    home: Path | None = None,
    force: bool = False,
    ask: Ask | None = None,
) -> LayoutResult:
    """Create (or complete) the layout of ``project``.

    ``directory`` is the project directory itself (default ``<home>/workspace/<project>``).
    Existing folders and identical READMEs are reported as unchanged; a README the user
    edited is kept unless ``force`` or ``ask`` allows replacing it.
    """
    validate_project_name(project)
    root = Path(directory).expanduser() if directory is not None else default_project_dir(project, caller_home(home))
    root = root.absolute()
    result = LayoutResult(unit="dir-create", path=root, project=project)
    ensure_dir(result, root)
    for name in FOLDERS:
        folder = root / name
        ensure_dir(result, folder)
        place_file(result, folder / "README.md", folder_readme(name, project), force=force, ask=ask)
    return result
