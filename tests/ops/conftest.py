"""Fixtures for the install tests: an empty staged root that ds01's install targets point into."""

from __future__ import annotations

import pytest


@pytest.fixture
def staged(tmp_path, monkeypatch, docker_env):
    root = tmp_path / "root"
    root.mkdir()
    from ds01.ops.install import Targets

    for name, value in Targets(root).env().items():
        monkeypatch.setenv(name, value)
    return root
