"""`--wait` says what it waits for and for how long."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ds01.errors import NoCapacity


def test_create_with_wait_says_what_it_waits_for(monkeypatch):
    from ds01.gpu import service
    from ds01.units.containers import create

    def allocate(config, user, container, count, *a, wait=None, on_wait=None, **k):
        on_wait("No GPU slot is free for you now (7 of 7 in use).")
        raise NoCapacity("No GPU slot became free within 2m.")

    monkeypatch.setattr(service, "allocate", allocate)
    said: list[str] = []
    spec = SimpleNamespace(owner=SimpleNamespace(name="alice"), name="thesis")
    with pytest.raises(NoCapacity):
        create.allocate_and_create(None, spec, "thesis._.4301", 1, wait=120.0, project=None, progress=said.append)
    assert said[0] == "Allocating 1 GPU slot(s) (waiting up to 2m for one to be free)…"
    assert said[1] == "No GPU slot is free for you now (7 of 7 in use). Waiting up to 2m for a GPU slot…"
