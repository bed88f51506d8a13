"""The container rules of ``ds01.policy`` as plain functions: hardening per mode, namespaces,
labels, and bind sources checked without following links (no Docker needed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ds01.errors import PolicyRefused, UsageError
from ds01.policy import containers as pc
from ds01.policy import labels as pl
from ds01.policy import mounts as pm


def test_secure_mode_runs_as_the_caller_without_capabilities_or_sudo():
    h = pc.hardening("secure", uid=1234, gid=2345)
    assert (h.user, h.exec_user) == ("1234:2345", "1234:2345")
    assert h.cap_drop == ("ALL",) and h.security_opt == ("no-new-privileges",)
    assert h.sudo_rule is False and "sudo" not in h.groups and h.privileged is False and h.ipc_mode == "private"


def test_group_mode_keeps_the_historic_defaults():
    h = pc.hardening("group", uid=1234, gid=2345)
    assert (h.user, h.exec_user, h.cap_drop, h.security_opt) == ("1234", "1234", (), ())
    assert h.sudo_rule is True and h.groups == ("sudo", "video") and h.privileged is False
    with pytest.raises(PolicyRefused):
        pc.hardening("lax", uid=1, gid=1)


@pytest.mark.parametrize("mode", ["host", "container:abc123"])
def test_shared_network_namespaces_are_refused(mode):
    with pytest.raises(PolicyRefused, match="network"):
        pc.check_network_mode(mode)


def test_private_networks_pass():
    assert [pc.check_network_mode(m) for m in ("bridge", "none", "lab-net", "")] == [
        "bridge",
        "none",
        "lab-net",
        "bridge",
    ]


def _attrs(**host):
    user = host.pop("User", "1234:2345")
    return {"Config": {"User": user}, "HostConfig": host}


def test_an_unhardened_container_is_refused_in_secure_mode_only():
    old = _attrs(User="1234", CapDrop=None, SecurityOpt=None)
    assert pc.problems("group", uid=1234, gid=2345, attrs=old) == []
    found = pc.problems("secure", uid=1234, gid=2345, attrs=old)
    assert len(found) == 3
    with pytest.raises(PolicyRefused, match="cleanup"):
        pc.check_container("secure", uid=1234, gid=2345, attrs=old, name="x")
    good = _attrs(CapDrop=["ALL"], SecurityOpt=["no-new-privileges"], NetworkMode="none", IpcMode="private")
    assert pc.problems("secure", uid=1234, gid=2345, attrs=good) == []
    for bad in (
        {"Privileged": True},
        {"PidMode": "host"},
        {"CgroupnsMode": "host"},
        {"NetworkMode": "host"},
        {"CapAdd": ["SYS_ADMIN"]},
        {"Devices": [{"PathOnHost": "/dev/sda"}]},
        {"User": "0:0"},
        {"User": "1234:0"},
    ):
        attrs = _attrs(**{"CapDrop": ["ALL"], "SecurityOpt": ["no-new-privileges"], **bad})
        assert pc.problems("secure", uid=1234, gid=2345, attrs=attrs), bad


def test_reserved_image_labels_are_overridden_never_inherited():
    written = {"aime.mlc": "alice", "ds01.user": "alice", "ds01.gpu.slots": "1:0"}
    image = {"ds01.gpu.slots": "0", "ds01.gpu.uuids": "GPU-x", "aime.mlc.GPUS": "0", "org.opencontainers.x": "y"}
    labels = pl.container_labels(written, image)
    assert labels == {**written, "ds01.gpu.uuids": "", "aime.mlc.GPUS": ""}


def test_bind_sources_are_checked_without_following_links(tmp_path: Path):
    me = os.getuid()
    real = tmp_path / "real"
    real.mkdir()
    assert pm.check_bind_source(real, me, "workspace", writable=True) == real
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(PolicyRefused, match="symbolic link"):
        pm.check_bind_source(link, me, "workspace")
    with pytest.raises(PolicyRefused, match="symbolic link"):
        pm.check_bind_source(link / "..", me, "workspace")
    (real / "sub").mkdir()
    with pytest.raises(PolicyRefused, match="symbolic link"):  # a link higher up counts too
        pm.check_bind_source(link / "sub", me, "workspace")
    with pytest.raises(PolicyRefused, match="not yours"):
        pm.check_bind_source(real, me + 1, "workspace")
    with pytest.raises(UsageError, match="cannot be used"):
        pm.check_bind_source(tmp_path / "missing", me, "workspace")
    with pytest.raises(UsageError, match="not absolute"):
        pm.check_bind_source("relative", me, "workspace")
    # At create, the caller's own link is resolved once and the real folder is what is mounted.
    assert pm.resolve_for_create(link / "sub", me, "workspace") == real / "sub"


def test_the_start_check_reads_a_recorded_path_as_pathlib_does(tmp_path: Path):
    """A start checks the recorded text (``check_bind``, no pathlib): doubled slashes and ``.``
    are what pathlib makes of them, ``..`` is refused before anything is looked up, and the
    path is named in the message as pathlib shows it."""
    me = os.getuid()
    (tmp_path / "real").mkdir()
    for text in (f"{tmp_path}//real/", f"{tmp_path}/./real", f"/{tmp_path}/real"):
        pm.check_bind(text, me, "workspace", writable=True)
        assert pm._components(text)[0] == str(Path(text))
    for text in ("//x/y", "///x", "/", "/a/../b", "/a/./b//"):
        assert pm._components(text)[0] == str(Path(text)), text
    with pytest.raises(PolicyRefused, match=r"not a plain path \(it contains '..'\)"):
        pm.check_bind(f"{tmp_path}/real/../real", me, "workspace")
    with pytest.raises(UsageError, match=f"The workspace path {tmp_path}/real/f is not a directory"):
        (tmp_path / "real" / "f").write_text("")
        pm.check_bind(f"{tmp_path}//real/f", me, "workspace")
    for text, shown in (("a//b/.", "a/b"), ("", "."), ("./a", "a")):
        assert str(Path(text)) == shown
        with pytest.raises(UsageError, match=f"The workspace path {shown} is not absolute"):
            pm.check_bind(text, me, "workspace")
