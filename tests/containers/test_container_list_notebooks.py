"""`container list` shows the notebook `container jupyter` started (NOTEBOOK column, `notebook`
in --json) on the real engine, without exec'ing into containers; it disappears when the notebook
no longer answers, and the column is the first to go at 80 columns."""

from __future__ import annotations

import json

from test_container_jupyter import _bridge_config, notebook_image  # noqa: F401 - the fixture


def _listed(cli, name):
    rows = json.loads(cli("container", "list", "--json").stdout)
    return next(r for r in rows if r["name"] == name)


def test_list_shows_the_running_notebook(cli, cenv, as_user, notebook_image, monkeypatch):  # noqa: F811
    _bridge_config(cenv, notebook_image)
    as_user("alice")
    name = cenv.name("nb-list")
    other = cenv.name("nb-none")
    for n in (name, other):
        r = cli("container", "create", n, "--image", notebook_image, "--gpus", "0", "-w", str(cenv.workspace("alice")))
        assert r.exit_code == 0, r
    assert cli("container", "start", other).exit_code == 0
    assert _listed(cli, name)["notebook"] is None
    port = json.loads(cli("container", "jupyter", name, "--json").stdout)["server_port"]
    assert _listed(cli, name)["notebook"] == {"host": "127.0.0.1", "port": port}
    assert _listed(cli, other)["notebook"] is None  # running, but no notebook started in it
    # Wide terminal: the column; 80 columns: it is dropped first, the names stay whole.
    monkeypatch.setenv("COLUMNS", "250")
    wide = cli("container", "list").stdout
    assert "NOTEBOOK" in wide and f"localhost:{port}" in wide
    monkeypatch.setenv("COLUMNS", "80")
    narrow = cli("container", "list").stdout
    assert "NOTEBOOK" not in narrow and name in narrow
    assert all(len(line) <= 80 for line in narrow.splitlines())
    # A restart ends the notebook: the listing no longer shows it (its record alone is not enough).
    assert cli("container", "stop", name).exit_code == 0
    assert _listed(cli, name)["notebook"] is None
    assert cli("container", "start", name).exit_code == 0
    assert _listed(cli, name)["notebook"] is None
