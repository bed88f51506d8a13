"""`image create --framework/--version` resolves its base through the packaged catalog (no build)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.mark.docker  # reaches the engine through ds01 itself
def test_framework_resolves_through_the_catalog(cli, monkeypatch):
    monkeypatch.setenv("MLC_ARCH", "CUDA_ADA")
    r = cli("image", "create", "fwproj", "--framework", "pytorch", "--version", "2.8.0", "--no-build", "--json")
    assert r.exit_code == 0, r
    data = json.loads(r.stdout)
    assert data["framework"] == "Pytorch-2.8.0" and data["built"] is False
    assert data["base_image"].startswith("aimehub/pytorch-2.8.0")
    text = Path(data["dockerfile"]).read_text()
    assert f"FROM {data['base_image']}" in text and "# ds01:framework=Pytorch-2.8.0" in text


def test_unknown_version_names_the_choices_and_writes_nothing(cli, monkeypatch):
    monkeypatch.setenv("MLC_ARCH", "CUDA_ADA")
    r = cli("image", "create", "fwproj", "--framework", "Pytorch", "--version", "0.1", "--no-build")
    assert r.exit_code == 2 and "available:" in r.stderr
    assert not (Path.home() / "dockerfiles" / "fwproj").exists()


@pytest.mark.docker  # reaches the engine through ds01 itself
def test_project_dockerfile_and_bad_name(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("MLC_ARCH", "CUDA_ADA")
    r = cli(
        "image",
        "create",
        "fwproj",
        "--framework",
        "Pytorch",
        "--project-dockerfile",
        str(tmp_path / "p"),
        "--no-build",
        "--json",
    )
    assert r.exit_code == 0, r
    assert json.loads(r.stdout)["dockerfile"] == str(tmp_path / "p" / "Dockerfile")
    r = cli("image", "create", "Bad Name", "--framework", "Pytorch", "--no-build")
    assert r.exit_code == 2 and "use lowercase letters" in r.stderr
