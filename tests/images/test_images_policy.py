"""The image and label rules of ds01.policy (pure: no engine)."""

from __future__ import annotations

import pytest

from ds01.errors import PolicyRefused, UsageError
from ds01.policy import images, labels


def test_foreign_labels_are_reserved_keys_ds01_did_not_write():
    written = {"ds01.managed": "true", "ds01.user": "alice", "ds01.framework": ""}
    image = {
        **written,
        "ds01.gpu.slots": "0",
        "aime.mlc.GPUS": "all",
        "aime.mlc": "bob",
        "org.other": "x",
        "ds01x.nope": "1",
    }
    assert labels.foreign_labels(image, written) == ["aime.mlc", "aime.mlc.GPUS", "ds01.gpu.slots"]
    assert labels.foreign_labels({**written, "ds01.user": "mallory"}, written) == ["ds01.user"]
    assert labels.foreign_labels(written, written) == []
    # An image ds01 did not build: every reserved key is foreign.
    assert labels.foreign_labels({"ds01.test.base": "1", "maintainer": "x"}) == ["ds01.test.base"]
    assert labels.foreign_labels({}) == []


def test_judge_uses_the_record_never_the_name():
    common = dict(catalog_refs=["aimehub/pytorch:2.5"], allowed_refs=["site-base"], allowed_ids=["sha256:a1"])
    assert images.judge(1000, ref="p-image", image_id="sha256:b", owner_uid=1000, **common).why == "own"
    theirs = images.judge(1000, ref="p-image", image_id="sha256:b", owner_uid=1001, **common)
    assert not theirs.allowed and theirs.why == "another user's"
    assert images.judge(1000, ref="docker.io/aimehub/pytorch:2.5", image_id="sha256:c", **common).why == "catalog"
    assert images.judge(1000, ref="site-base:latest", image_id="sha256:d", **common).why == "allowed"
    assert images.judge(1000, ref="sha256:a1", image_id="sha256:a1", **common).why == "allowed"
    assert images.judge(1000, ref="x", image_id="sha256:e", tags=["site-base:latest"], **common).allowed
    assert not images.judge(1000, ref="plain", image_id="sha256:f", **common).allowed
    assert images.judge(1000, ref="gone", image_id=None, **common).why == "absent"
    with pytest.raises(PolicyRefused, match="another user's project image"):
        images.require(1000, ref="p-image", image_id="sha256:b", owner_uid=1001, **common)


def test_referenced_images_of_a_dockerfile():
    text = (
        "# comment\nFROM --platform=linux/amd64 base:1 AS build\nRUN make\nFROM scratch\n"
        "COPY --from=build /a /a\nCOPY --from=0 /b /b\nCOPY --chown=1:1 --from=other:2 /c /c\n"
        "FROM build\nRUN --mount=type=bind,from=mounted,target=/m true\n"
        'COPY ["a", "b"]\n'
    )
    assert images.referenced_images(text) == ["base:1", "other:2", "mounted"]
    for bad in ("ARG B=x\nFROM $B\n", "FROM a\nCOPY --from=${X} /a /a\n", "FROM a\nONBUILD FROM b\n"):
        with pytest.raises(UsageError):
            images.referenced_images(bad)


def test_label_keys_of_a_dockerfile():
    text = (
        'FROM a\nLABEL ds01.gpu.slots="0" "aime.mlc.GPUS"=all \\\n  other=1\nLABEL ds01.user bob\n'
        "ONBUILD LABEL ds01.uid=0\n"
    )
    assert images.label_keys(text) == ["ds01.gpu.slots", "aime.mlc.GPUS", "other", "ds01.user", "ds01.uid"]
