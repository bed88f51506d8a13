"""Attacks on the GPU ledger, run as a real user through sudo (``ds01`` as root with SUDO_*).

- A container made with the Docker API directly (as anyone in the docker group can) or from an
  image whose Dockerfile says ``LABEL ds01.gpu.slots=…``, carrying every ``ds01.*`` label and a
  plausible ``<name>._.<uid>`` name: ``gpu reconcile`` must not adopt it, and the user must not
  get past their quota with it.
- ``gpu allocate … PRIORITY`` by a non-admin; a row recorded for another user's container name
  ("borrowed"), then released or marked stopped by its first user.
- Logins ``sa.colXXXX`` and ``sa-colXXXX`` (one sanitised name): each sees and deletes only
  their own saved container definitions, also those kept in the old name-keyed folder.
- The ledger file deleted while a ``--wait`` allocation waits: one exclusive slot must not be
  granted twice; the waiting command fails closed.
- Secure mode: the ledger and the logs are never left writable by a user.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import sqlite3
import stat
import subprocess
import time
from pathlib import Path

import pytest

from support import configs
from support.cli import ds01_executable
from support.users import make_user, run_as_sudo, world_dir

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="attacks through sudo need root")

SEVEN = configs.topology(configs.SEVEN)
ONE = configs.topology(None)


def _config(folder: Path, *, topology: str = SEVEN, pending: str = "10m", mode: str = "group") -> Path:
    cfg = configs.write(
        folder,
        topology,
        topology_name=f"ledger-attacks-{secrets.token_hex(3)}.yaml",
        base=False,
        defaults={"max_mig_instances": 1, "max_gpus_per_container": 1, "priority": 10},
        admins=[],
        gpu_allocation={"device_requests": "never"},
        policies={"pending_allocation_timeout": pending},
        security={"mode": mode},
    )
    os.environ["DS01_CONFIG"] = str(cfg)
    return cfg


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("DS01_CONFIG", "")
    return _config(tmp_path)


_as = run_as_sudo


def _db() -> Path:
    return Path(os.environ["DS01_STATE_DIR"]) / "ds01.db"


def _rows() -> list[tuple]:
    if not _db().exists():
        return []
    conn = sqlite3.connect(_db())
    try:
        return conn.execute(
            "SELECT slot, container, user, priority FROM allocations WHERE released_at IS NULL ORDER BY id"
        ).fetchall()
    finally:
        conn.close()


# -- forged labels ------------------------------------------------------------------------------


def _forged_labels(user, tag: str, slot: str, uuid: str) -> dict[str, str]:
    return {
        "ds01.test.session": tag,
        "aime.mlc": user.name,
        "aime.mlc.DS01_MANAGED": "true",
        "aime.mlc.NAME": "forged",
        "ds01.user": user.name,
        "ds01.uid": str(user.uid),
        "ds01.gpu.slots": slot,
        "ds01.gpu.uuids": uuid,
        "ds01.managed": "true",
    }


def test_forged_gpu_labels_are_never_adopted_and_grant_no_slot_beyond_the_quota(
    config, docker_env, base_image, session_tag
):
    from ds01.gpu import inputs
    from ds01.limits.config import load_config

    uuid = {s.id: s.uuid for s in inputs.inventory(load_config(config)).slots}
    client = docker_env
    made = []
    with make_user("ds01l") as user:
        try:
            # 1. straight from the Docker API, with every label ds01 would write
            direct = client.containers.create(
                base_image,
                ["sleep", "300"],
                name=f"forged-{session_tag}._.{user.uid}",
                labels=_forged_labels(user, session_tag, "0:0", uuid["0:0"]),
            )
            made.append(direct)
            direct.start()
            # 2. from an image whose Dockerfile writes the labels (the container inherits them)
            labels = _forged_labels(user, session_tag, "0:1", uuid["0:1"])
            dockerfile = f"FROM {base_image}\n" + "".join(f'LABEL {k}="{v}"\n' for k, v in labels.items())
            image, _ = client.images.build(
                fileobj=io.BytesIO(dockerfile.encode()), tag=f"forged-{session_tag}-image:latest", rm=True
            )
            inherited = client.containers.create(
                image.id,
                ["sleep", "300"],
                name=f"inh-{session_tag}._.{user.uid}",
                labels={"ds01.test.session": session_tag},
            )
            made.append(inherited)
            inherited.start()
            assert inherited.labels["ds01.gpu.slots"] == "0:1"

            res = _as(None, "gpu", "reconcile", "--json")
            assert res.exit_code == 0, res
            report = json.loads(res.stdout)
            assert "adopted" not in report
            unrecorded = {c["container"]: c for c in report["conflicts"] if c["kind"] == "unrecorded"}
            assert {direct.name, inherited.name} <= set(unrecorded)
            assert "grant nothing" in unrecorded[direct.name]["reason"]
            assert _rows() == []  # nothing was given to the forged containers

            # The user's quota (one slot) is untouched by them: one real allocation, then a refusal.
            status = json.loads(_as(user, "gpu", "user-status", user.name, "--json").stdout)
            assert status["count"] == 0
            ok = _as(user, "gpu", "allocate", user.name, f"real._.{user.uid}", "1")
            assert ok.exit_code == 0, ok
            more = _as(user, "gpu", "allocate", user.name, f"more._.{user.uid}", "1")
            assert more.exit_code == 3 and "already holds 1 of 1" in more.stderr
            # implicit reconciles (status, allocate) adopted nothing either
            assert [r[1] for r in _rows()] == [f"real._.{user.uid}"]
        finally:
            for c in made:
                c.remove(force=True)
            client.images.remove(f"forged-{session_tag}-image:latest", force=True)


def test_a_replacement_under_a_recorded_name_is_not_the_recorded_container(config, docker_env, base_image, session_tag):
    """An export re-imported (or any container made again) under the name of a recorded one
    comes back with the old labels; the row follows the recorded id, not the name."""
    from ds01.gpu import service, sync
    from ds01.gpu.ledger import Ledger
    from ds01.limits.config import load_config

    cfg = load_config(config)
    client = docker_env
    name = f"again-{session_tag}._.4242"
    labels = {
        "ds01.test.session": session_tag,
        "aime.mlc.DS01_MANAGED": "true",
        "ds01.user": "root",
        "ds01.gpu.slots": "0:0",
    }
    first = client.containers.create(base_image, ["sleep", "300"], name=name, labels=labels)
    service.allocate(cfg, "nobody-here", name, 1, reconcile_first=False)
    service.confirm(name, container_id=first.id)
    first.remove(force=True)
    second = client.containers.create(base_image, ["sleep", "300"], name=name, labels=labels)
    try:
        # Docker's creation time is in seconds: count the replacement as old enough to be judged.
        report = sync.reconcile(cfg, now=lambda: time.time() + 3600)
        assert [e["reason"] for e in report.released if e["container"] == name] == [
            "container no longer exists (another container took its name)"
        ]
        assert any(c["container"] == name and c["kind"] == "unrecorded" for c in report.conflicts)
        assert Ledger().rows_for(name) == []
    finally:
        second.remove(force=True)


# -- priority and borrowed rows -----------------------------------------------------------------


def test_a_non_admin_cannot_choose_their_priority(config, docker_env):
    with make_user("ds01p") as user:
        res = _as(user, "gpu", "allocate", user.name, f"c._.{user.uid}", "1", "100")
        assert res.exit_code == 3 and "only an admin" in res.stderr and "yours is 10" in res.stderr
        assert _rows() == []
        # their own configured value changes nothing and is accepted; no value means the config's
        assert _as(user, "gpu", "allocate", user.name, f"c._.{user.uid}", "1", "10").exit_code == 0
        assert _rows() == [("0:0", f"c._.{user.uid}", user.name, 10)]
        # root (an admin, not through sudo) may override
        assert _as(None, "gpu", "allocate", "root", "r._.0", "1", "100").exit_code == 0
        assert _rows()[-1] == ("0:1", "r._.0", "root", 100)


def test_a_row_for_another_users_container_name_cannot_be_made_taken_or_released(config, docker_env):
    with make_user("ds01a") as alice, make_user("ds01b") as bob:
        theirs = f"nb._.{bob.uid}"
        # alice cannot record a row for bob's container name (nor can an admin for her)
        res = _as(alice, "gpu", "allocate", alice.name, theirs, "1")
        assert res.exit_code == 3 and f"named for uid {bob.uid}" in res.stderr
        assert _as(None, "gpu", "allocate", alice.name, theirs, "1").exit_code == 3
        assert _rows() == []
        # A row borrowed that way (kept from an older version) is never handed to bob...
        assert _as(None, "gpu", "status").exit_code == 0  # creates the ledger
        conn = sqlite3.connect(_db())
        conn.execute(
            "INSERT INTO allocations (slot, uuid, container, user, priority, allocated_at, exclusive) "
            "VALUES ('0:0', 'MIG-x', ?, ?, 10, ?, 1)",
            (theirs, alice.name, time.time()),
        )
        conn.commit()
        conn.close()
        res = _as(bob, "gpu", "allocate", bob.name, theirs, "1")
        assert res.exit_code == 3 and f"for {alice.name}, not for {bob.name}" in res.stderr
        # ...and bob's own GPU cannot be released or marked stopped by alice
        assert _as(bob, "gpu", "allocate", bob.name, f"own._.{bob.uid}", "1").exit_code == 0
        for verb in ("release", "mark-stopped"):
            res = _as(alice, "gpu", verb, f"own._.{bob.uid}")
            assert res.exit_code == 3 and "not yours" in res.stderr, (verb, res)
            # nor through the borrowed row named for bob's container
            res = _as(alice, "gpu", verb, theirs)
            assert res.exit_code == 3, (verb, res)
        assert sorted((r[1], r[2]) for r in _rows()) == sorted([(f"own._.{bob.uid}", bob.name), (theirs, alice.name)])
        conn = sqlite3.connect(_db())
        assert conn.execute("SELECT COUNT(*) FROM allocations WHERE stopped_at IS NOT NULL").fetchone()[0] == 0
        conn.close()
        # bob releases his own
        assert _as(bob, "gpu", "release", f"own._.{bob.uid}").exit_code == 0


# -- state folders keyed by uid -----------------------------------------------------------------


def _useradd(name: str):
    from ds01.identity import lookup

    home = Path("/tmp/ds01-test-homes") / name
    home.parent.mkdir(mode=0o755, exist_ok=True)
    subprocess.run(
        ["useradd", "--badname", "--create-home", "--home-dir", str(home), "--shell", "/bin/sh", "--user-group", name],
        check=True,
        capture_output=True,
    )
    os.chmod(home, 0o755)
    ident = lookup(name)
    assert ident is not None
    return ident


def _userdel(name: str) -> None:
    subprocess.run(["userdel", "--remove", "--force", name], capture_output=True)


def _definition(user, name: str, image: str) -> dict:
    return {
        "format": 1,
        "name": name,
        "docker_name": f"{name}._.{user.uid}",
        "user": user.name,
        "uid": user.uid,
        "image": image,
        "labels": {"ds01.gpu.slots": ""},
        "mounts": {},
    }


def test_logins_with_one_sanitised_name_keep_separate_definitions(config, docker_env):
    from ds01.identity import sanitize
    from ds01.units.containers import definitions

    hexa = secrets.token_hex(3)
    dot, dash = f"sa.col{hexa}", f"sa-col{hexa}"
    assert sanitize(dot) == sanitize(dash)
    try:
        a, b = _useradd(dot), _useradd(dash)
        # Both keep a released container called "nb" (and each one more, in the old layout).
        definitions.save(dot, "nb", _definition(a, "nb", "img-of-dot"), gpu_count=0, project="nb")
        definitions.save(dash, "nb", _definition(b, "nb", "img-of-dash"), gpu_count=0, project="nb")
        legacy = Path(os.environ["DS01_STATE_DIR"]) / "containers" / sanitize(dot)
        legacy.mkdir(parents=True)
        (legacy / "old-dot.json").write_text(json.dumps(_definition(a, "old-dot", "x")))
        (legacy / "old-dash.json").write_text(json.dumps(_definition(b, "old-dash", "y")))

        def seen(user) -> dict[str, str]:
            res = _as(user, "container", "list", "--all", "--json")
            assert res.exit_code == 0, res
            return {e["name"]: e.get("image") for e in json.loads(res.stdout)}

        assert set(seen(a)) == {"nb", "old-dot"} and seen(a)["nb"] == "img-of-dot"
        assert set(seen(b)) == {"nb", "old-dash"} and seen(b)["nb"] == "img-of-dash"
        # sa-col removes "nb": only theirs goes
        res = _as(b, "container", "cleanup", "nb")
        assert res.exit_code == 0, res
        assert set(seen(b)) == {"old-dash"}
        assert set(seen(a)) == {"nb", "old-dot"}
        assert definitions.load(dot, "nb")["image"] == "img-of-dot"
        assert not legacy.exists()  # the old folder was emptied into the uid folders
    finally:
        _userdel(dot)
        _userdel(dash)


# -- a ledger file replaced under a waiting command ---------------------------------------------


def test_deleting_the_ledger_while_an_allocation_waits_never_grants_one_slot_twice(tmp_path, monkeypatch, docker_env):
    monkeypatch.setenv("DS01_CONFIG", "")
    _config(tmp_path, topology=ONE, pending="6s")
    # (Accounts this host does not know: an admin may record rows for them.)
    # The only slot is promised to a container that is still being made (a pending row) ...
    assert _as(None, "gpu", "allocate", "ghostone", "first._.70001", "1").exit_code == 0
    # ... so the next allocation waits. When the pending row times out it would get the slot.
    err_path = tmp_path / "waiter.err"
    with open(err_path, "w") as err_file:
        waiter = subprocess.Popen(
            [ds01_executable(), "gpu", "allocate", "ghosttwo", "waiter._.70002", "1", "--wait", "40s"],
            stdout=subprocess.PIPE,
            stderr=err_file,
            text=True,
            env=dict(os.environ),
        )
    try:
        deadline = time.time() + 30
        while time.time() < deadline and "Waiting" not in err_path.read_text():
            time.sleep(0.2)
        assert "Waiting" in err_path.read_text()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{_db()}{suffix}").unlink(missing_ok=True)
        # A fresh ledger: someone else is given the (now unrecorded) slot.
        other = _as(None, "gpu", "allocate", "ghostthree", "other._.70003", "1")
        assert other.exit_code == 0, other
        out, _ = waiter.communicate(timeout=60)
    finally:
        if waiter.poll() is None:
            waiter.kill()
            waiter.wait()
    err = err_path.read_text()
    # Without the check the waiter wrote to the deleted file: the pending row timed out there and
    # it took slot 0 while "other" holds it in the ledger everyone else reads.
    assert waiter.returncode == 1, (out, err)
    assert "was removed or replaced while this command ran" in err
    assert "0" not in out.split()
    assert [(r[0], r[1]) for r in _rows()] == [("0", "other._.70003")]


# -- secure mode: the ledger and logs stay root's -----------------------------------------------


def test_secure_mode_never_leaves_the_ledger_or_logs_writable_by_a_user(tmp_path, monkeypatch, docker_env):
    monkeypatch.setenv("DS01_CONFIG", "")
    _config(tmp_path, mode="secure")
    with make_user("ds01s") as user:
        state, logs = world_dir("ds01-state-"), world_dir("ds01-log-")
        monkeypatch.setenv("DS01_STATE_DIR", str(state))
        monkeypatch.setenv("DS01_LOG_DIR", str(logs))
        # A ledger and a log left group-writable for the user's group (as a group-mode install did).
        for path in (state / "ds01.db", logs / "gpu-allocations.log"):
            path.touch()
            os.chown(path, 0, user.gid)
            os.chmod(path, 0o664)
        sqlite3.connect(state / "ds01.db").close()
        res = _as(user, "gpu", "allocate", user.name, f"s._.{user.uid}", "1")
        assert res.exit_code == 0, res
        for path in (state / "ds01.db", logs / "gpu-allocations.log", logs / "events.jsonl"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
            probe = subprocess.run(
                ["sh", "-c", f": >> '{path}'"], user=user.uid, group=user.gid, extra_groups=[], capture_output=True
            )
            assert probe.returncode != 0, f"{user.name} could write {path}"


def test_an_interrupted_create_is_confirmed_by_its_seal_and_a_forged_seal_confirms_nothing(
    tmp_path, monkeypatch, docker_env, base_image, session_tag
):
    """ds01 dies between Docker's create and its confirmation: the ``ds01.allocation`` seal it
    wrote makes reconcile confirm that container. A user's own container under a pending row's
    name, with a guessed seal, is reported and gets nothing."""
    from ds01.gpu import service, sync
    from ds01.gpu.ledger import Ledger
    from ds01.limits.config import load_config

    cfg = load_config(_config(tmp_path, pending="1s"))
    key = Path(os.environ["DS01_STATE_DIR"]) / Ledger.KEY_NAME
    made = []
    with make_user("ds01s") as user, make_user("ds01g") as guesser:
        try:
            good, bad = f"sealed-{session_tag}._.{user.uid}", f"guess-{session_tag}._.{guesser.uid}"
            ok = service.allocate(cfg, user.name, good, 1, uid=user.uid)
            assert ok.seal and len(ok.seal) == 64
            assert key.stat().st_mode & 0o077 == 0  # the state folder is not group-writable here: 0600
            forged = service.allocate(cfg, guesser.name, bad, 1, uid=guesser.uid)
            for who, name, seal in ((user, good, ok.seal), (guesser, bad, "0" * 64)):
                labels = {**_forged_labels(who, session_tag, "", ""), "ds01.allocation": seal}
                made.append(docker_env.containers.create(base_image, ["sleep", "300"], name=name, labels=labels))
            time.sleep(1.1)  # both rows are now past the pending timeout
            report = sync.reconcile(cfg)
            assert [(r["container"], r.get("confirmed")) for r in report.recorded] == [(good, True)]
            assert [r["container"] for r in report.released] == [bad]
            assert [r[1] for r in _rows()] == [good]
            assert forged.slots != ok.slots
        finally:
            for c in made:
                c.remove(force=True)
