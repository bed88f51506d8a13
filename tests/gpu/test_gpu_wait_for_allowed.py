"""`--wait` waits whenever waiting can help: also when the only free slots are ones the user may
not take now (whole GPUs for a MIG-only user, reserved slots); never for their own quota."""

from __future__ import annotations

import time

import pytest
from gpu_support import write_config

from ds01.errors import PolicyRefused
from ds01.gpu import service, sync
from ds01.limits.config import load_config

WHOLE_AND_ONE_SLICE = """\
gpus:
  - name: NVIDIA A100-SXM4-80GB
    memory: 80g
  - name: NVIDIA A100-SXM4-80GB
    memory: 80g
    mig: [3g.40gb]
"""


@pytest.fixture
def config(tmp_path, monkeypatch):
    cfg = write_config(
        tmp_path / "cfg",
        topology=WHOLE_AND_ONE_SLICE,
        max_mig="1",
        extra="groups:\n  students:\n    members: [alice, bob]\n    allow_full_gpu: false\n",
    )
    monkeypatch.setenv("DS01_CONFIG", str(cfg))
    monkeypatch.setattr(sync, "_docker_views", lambda listed=None: [])
    return load_config(cfg)


def _clock():
    clock = [time.time()]
    sleeps: list[float] = []
    return clock, sleeps


def test_only_whole_gpus_free_waits_until_a_slice_frees(config):
    service.allocate(config, "bob", "b._.1", 1, 10)
    # Without --wait: refused at once, as before.
    with pytest.raises(PolicyRefused):
        service.allocate(config, "alice", "a._.1", 1, 10)
    clock, sleeps = _clock()
    told: list[str] = []

    def fake_sleep(seconds):
        sleeps.append(seconds)
        clock[0] += seconds
        if len(sleeps) == 2:
            service.release("b._.1")

    r = service.allocate(
        config, "alice", "a._.1", 1, 10, wait=60, now=lambda: clock[0], sleep=fake_sleep, on_wait=told.append
    )
    assert r.slots == ["1:0"] and len(sleeps) == 2 and len(told) == 1


def test_own_quota_is_not_waited_for(config):
    service.allocate(config, "alice", "a1._.1", 1, 10)
    clock, sleeps = _clock()

    def fake_sleep(seconds):
        sleeps.append(seconds)
        clock[0] += seconds

    with pytest.raises(PolicyRefused):
        service.allocate(config, "alice", "a2._.1", 1, 10, wait=60, now=lambda: clock[0], sleep=fake_sleep)
    assert sleeps == []
