"""Bring up a real Docker engine and the offline base image (no registry, no GPU).

Used by the test suite's fixtures and by the demo script; runnable on its own:

    python dev/engine.py            # ensure dockerd answers and the base image exists
    python dev/engine.py --cleanup TAG

On a machine where no engine answers and we are root, Debian's ``docker.io`` is installed
when missing and ``dockerd`` is started in the background. The base image is a static
busybox root filesystem imported with ``docker import``; it carries a stand-in ``pip``
that records its arguments, so image builds can be checked without a network.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

BASE_IMAGE = "ds01-base:busybox"
BASE_LABEL = "ds01.test.base"
TEST_LABEL = "ds01.test.session"
DOCKERD_LOG = Path("/tmp/ds01-dockerd.log")

# The stand-in pip: records every call (one line, arguments separated by a tab) and keeps
# a list of "installed" requirements so that `pip list`/`pip freeze` answer something.
PIP_STAND_IN = r"""#!/bin/sh
# Stand-in for pip inside the offline test image: records its arguments, installs nothing.
mkdir -p /var/lib/pip-stand-in
log=/var/lib/pip-stand-in/calls.log
line=""
for a in "$@"; do line="$line$a	"; done
echo "$line" >> "$log"
case "$1" in
  install)
    shift
    for a in "$@"; do
      case "$a" in -*) ;; *) echo "$a" >> /var/lib/pip-stand-in/installed ;; esac
    done ;;
  list|freeze)
    [ -f /var/lib/pip-stand-in/installed ] && cat /var/lib/pip-stand-in/installed ;;
esac
exit 0
"""


def _client():
    import docker

    return docker.from_env(timeout=120)


def engine_answers() -> bool:
    try:
        return bool(_client().ping())
    except Exception:  # noqa: BLE001 - any failure means "not answering"
        return False


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def ensure_engine(timeout: float = 90.0) -> None:
    """Make sure a Docker engine answers; start one (as root) when none does."""
    if engine_answers():
        return
    if os.geteuid() != 0:
        raise RuntimeError("No Docker engine answers and we are not root, so none can be started here.")
    if shutil.which("dockerd") is None:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "docker.io"], check=True, env=env)
    log = open(DOCKERD_LOG, "ab")  # noqa: SIM115 - handed to the daemon
    subprocess.Popen(["dockerd"], stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if engine_answers():
            return
        time.sleep(0.5)
    raise RuntimeError(f"dockerd did not answer within {timeout:.0f}s; see {DOCKERD_LOG}.")


def _busybox() -> Path:
    for candidate in ("/bin/busybox", "/usr/bin/busybox"):
        path = Path(candidate)
        if path.exists() and _is_static(path):
            return path
    if os.geteuid() == 0:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "busybox-static"], check=True, env=env)
        return Path("/bin/busybox")
    raise RuntimeError("A static busybox is needed for the offline base image: apt-get install busybox-static.")


def _is_static(path: Path) -> bool:
    # A dynamically linked ELF carries a PT_INTERP program header naming its loader.
    data = path.read_bytes()[:65536]
    return b"/lib64/ld-linux" not in data and b"/lib/ld-linux" not in data and b"ld-musl" not in data


def _add(
    tar: tarfile.TarFile,
    name: str,
    data: bytes | None = None,
    *,
    mode: int = 0o644,
    kind: bytes = tarfile.REGTYPE,
    link: str = "",
) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = int(time.time())
    if kind == tarfile.SYMTYPE:
        info.linkname = link
        tar.addfile(info)
    elif kind == tarfile.DIRTYPE:
        tar.addfile(info)
    else:
        payload = data or b""
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))


def base_rootfs_tar() -> bytes:
    busybox = _busybox()
    applets = subprocess.run([str(busybox), "--list"], check=True, capture_output=True, text=True).stdout.split()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in (
            "bin",
            "etc",
            "home",
            "root",
            "usr",
            "usr/bin",
            "usr/local",
            "usr/local/bin",
            "var",
            "var/lib",
            "workspace",
            "data",
            "models",
            "dev",
            "proc",
            "sys",
        ):
            _add(tar, d, kind=tarfile.DIRTYPE, mode=0o755)
        _add(tar, "tmp", kind=tarfile.DIRTYPE, mode=0o1777)
        _add(tar, "bin/busybox", busybox.read_bytes(), mode=0o755)
        for applet in applets:
            if applet != "busybox":
                _add(tar, f"bin/{applet}", kind=tarfile.SYMTYPE, link="busybox")
        _add(tar, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
        _add(tar, "etc/group", b"root:x:0:\nsudo:x:27:\nvideo:x:44:\nnogroup:x:65534:\n")
        _add(tar, "usr/local/bin/pip", PIP_STAND_IN.encode(), mode=0o755)
        _add(tar, "usr/local/bin/pip3", kind=tarfile.SYMTYPE, link="pip")
    return buf.getvalue()


def ensure_base_image(tag: str = BASE_IMAGE) -> str:
    """Import the busybox base image once; return its tag."""
    import docker.errors

    client = _client()
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    repo, _, version = tag.partition(":")
    client.api.import_image_from_data(
        base_rootfs_tar(),
        repository=repo,
        tag=version or "latest",
        changes=[
            f"LABEL {BASE_LABEL}=1",
            "ENV PATH=/usr/local/bin:/usr/bin:/bin",
            'CMD ["sh"]',
        ],
    )
    client.images.get(tag)
    return tag


def cleanup(tag: str) -> tuple[int, int]:
    """Remove containers and images of one test session (by label, or by the tag in their name)."""
    import docker.errors

    client = _client()
    removed_c = removed_i = 0
    seen = set()
    for filt in ({"label": f"{TEST_LABEL}={tag}"}, {"label": "aime.mlc"}, {"label": "ds01.user"}):
        for c in client.api.containers(all=True, filters=filt):
            names = [n.lstrip("/") for n in c.get("Names", [])]
            labelled = (c.get("Labels") or {}).get(TEST_LABEL) == tag
            if c["Id"] in seen or not (labelled or any(tag in n for n in names)):
                continue
            seen.add(c["Id"])
            try:
                client.api.remove_container(c["Id"], force=True, v=True)
                removed_c += 1
            except docker.errors.NotFound:
                pass
    for img in client.api.images(all=False):
        tags = img.get("RepoTags") or []
        labels = img.get("Labels") or {}
        ours = [t for t in tags if tag in t]
        # Earlier builds of a rebuilt project lose their tag; their ds01.project label still names it.
        labelled = labels.get(TEST_LABEL) == tag or tag in labels.get("ds01.project", "")
        try:
            if ours and len(ours) < len(tags):
                # Also tagged with names of other sessions (the shared base image): untag ours only.
                for name in ours:
                    client.api.remove_image(name)
                removed_i += 1
            elif ours or labelled:
                client.api.remove_image(img["Id"], force=True)
                removed_i += 1
        except docker.errors.APIError:
            pass
    return removed_c, removed_i


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--cleanup":
        removed = cleanup(sys.argv[2])
        print(f"removed {removed[0]} containers, {removed[1]} images")
    else:
        ensure_engine()
        print(ensure_base_image())
