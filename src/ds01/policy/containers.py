"""The hardening every container ds01 creates gets, in each security mode (SPEC §9).

Both modes: never privileged, no host namespaces (network ``host`` or ``container:<id>``,
PID/IPC/UTS/cgroup of the host), no devices beyond the GPU slot (Docker device requests by UUID,
decided by the allocator, never ``--device``). ``advanced.network_mode: host`` is refused in
both modes: a container on the host's network reaches every service bound to localhost
(the Docker API on TCP, other users' notebooks), which is not a user-level setting.

- ``group`` mode keeps the historic defaults: the container runs as the caller's uid with the
  runtime's default capabilities, and where the image has ``/etc/sudoers.d`` a NOPASSWD rule
  for the caller is written inside. Users are in the docker group there, which is root on the
  host anyway; the docs say so.
- ``secure`` mode: the container and every shell or command opened in it run as the caller
  (``User`` = ``uid:gid``, never root inside), with ``no-new-privileges`` (setuid binaries such
  as ``sudo`` gain nothing) and every capability dropped; no sudo rule is written and the
  caller is not added to the image's ``sudo`` group. A root process inside could otherwise
  write a setuid-root file into the read-write workspace, which is a root shell on the host.

The engine applies ``hardening(...)`` at create and, in secure mode, asks ``problems(...)``
about an existing container before it starts it or opens a shell in it, so a container made
before the server switched to secure mode (or by AIME's mlc) is not a way around it.
"""

from __future__ import annotations

from ds01.errors import PolicyRefused
from ds01.records import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

MODES = ("group", "secure")
NO_NEW_PRIVILEGES = "no-new-privileges"
# Supplementary groups a caller is added to inside the container (AIME's choice) per mode.
GROUP_MODE_GROUPS = ("sudo", "video")
SECURE_MODE_GROUPS = ("video",)


@dataclass(frozen=True)
class Hardening:
    """What the engine sets on a container (Docker SDK ``create_host_config``/``create_container``)."""

    mode: str
    user: str  # Config.User: the identity the container's processes start with
    exec_user: str  # the ``user`` of every exec (shells, ``container run`` commands)
    cap_drop: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()
    sudo_rule: bool = False  # write a NOPASSWD sudoers rule when the image has /etc/sudoers.d
    groups: tuple[str, ...] = GROUP_MODE_GROUPS
    privileged: bool = False  # never True: kept as a field so the engine states it explicitly
    ipc_mode: str = "private"
    cgroupns: str = "private"  # the daemon's default is "host" on cgroup v1 hosts


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise PolicyRefused(f"Unknown security mode {mode!r}; the configuration must say group or secure.")
    return mode


def check_network_mode(network_mode: str) -> str:
    """The Docker network mode, unless it shares a namespace with the host or another container."""
    value = str(network_mode or "bridge")
    if value == "host":
        raise PolicyRefused(
            "The configured network mode 'host' is refused: containers never share the host's network "
            "namespace; set advanced.network_mode to bridge, none or a named network."
        )
    if value.startswith("container:"):
        raise PolicyRefused(
            f"The network mode {value!r} is refused: a container never joins another container's network namespace."
        )
    return value


def hardening(mode: str, *, uid: int, gid: int) -> Hardening:
    """The settings for a container owned by ``uid:gid`` under security ``mode``."""
    check_mode(mode)
    if mode == "secure":
        ident = f"{uid}:{gid}"
        return Hardening(
            mode=mode,
            user=ident,
            exec_user=ident,
            cap_drop=("ALL",),
            security_opt=(NO_NEW_PRIVILEGES,),
            sudo_rule=False,
            groups=SECURE_MODE_GROUPS,
        )
    # The uid alone: Docker then takes the primary gid from the passwd entry ds01 wrote and the
    # supplementary groups (sudo, video) from /etc/group; "uid:gid" would drop the latter.
    return Hardening(mode=mode, user=str(uid), exec_user=str(uid), sudo_rule=uid != 0)


def _host_namespace(host: Mapping[str, Any]) -> str | None:
    for key, what in (
        ("NetworkMode", "network"),
        ("PidMode", "PID"),
        ("IpcMode", "IPC"),
        ("UTSMode", "UTS"),
        ("UsernsMode", "user"),
        ("CgroupnsMode", "cgroup"),
    ):
        value = str(host.get(key) or "")
        if value == "host":
            return what
        if key == "NetworkMode" and value.startswith("container:"):
            return what
    return None


def problems(mode: str, *, uid: int, gid: int, attrs: Mapping[str, Any]) -> list[str]:
    """Why an existing container (``docker inspect`` output) does not meet ``mode``; empty when it does."""
    check_mode(mode)
    if mode != "secure":
        # Group mode: its users are in the docker group and can start anything themselves; ds01
        # still creates only hardened containers, but keeps starting containers AIME's mlc made
        # (privileged, host network and IPC by AIME's defaults).
        return []
    config, host = attrs.get("Config") or {}, attrs.get("HostConfig") or {}
    found = []
    if host.get("Privileged"):
        found.append("it is privileged")
    shared = _host_namespace(host)
    if shared:
        found.append(f"it shares the host's {shared} namespace")
    if host.get("Devices"):
        found.append("it has host devices mapped in")
    if uid != 0:
        # The uid must be the owner's and a group must be named (not root's); the gid the caller
        # had at create (sudo's SUDO_GID) may differ from their passwd group without harm.
        user, _, group = str(config.get("User") or "").partition(":")
        if user != str(uid) or not group or (group == "0" and gid != 0):
            found.append(f"it does not run as {uid}:{gid}")
        if "ALL" not in [str(c).upper() for c in host.get("CapDrop") or []] or host.get("CapAdd"):
            found.append("it keeps Linux capabilities")
        opts = [str(o) for o in host.get("SecurityOpt") or []]
        if not any(o in (NO_NEW_PRIVILEGES, f"{NO_NEW_PRIVILEGES}:true", f"{NO_NEW_PRIVILEGES}=true") for o in opts):
            found.append("it allows new privileges (setuid)")
    return found


def check_container(mode: str, *, uid: int, gid: int, attrs: Mapping[str, Any], name: str) -> None:
    """Refuse (exit 3) to start or enter a container that ``problems`` finds fault with."""
    found = problems(mode, uid=uid, gid=gid, attrs=attrs)
    if found:
        raise PolicyRefused(
            f"Container {name!r} does not meet this server's {mode}-mode rules ({'; '.join(found)}); "
            f"remove it with `ds01 container cleanup {name}` and create it again (your workspace is kept)."
        )
