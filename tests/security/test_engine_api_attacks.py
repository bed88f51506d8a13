"""Names a user gives that the engine would read as another path (``base.engine_api``).

The Engine API path holds an image or container name; ``..`` and ``//`` parts are not encoded
(``/`` is part of image names), and the engine answers such a path with a redirect to the path it
means. A redirect is not the object named: a name like ``IMAGE/../../containers/json`` is an
image that is not there, never an empty image without labels that "exists".
"""

from __future__ import annotations

import pytest

from ds01.base import docker_client as dc
from ds01.base import engine, engine_api

pytestmark = pytest.mark.docker

TRAVERSING = ["{image}/../../containers/json", "{image}/../{image}", "x//..//..//info"]


@pytest.mark.parametrize("name", TRAVERSING)
def test_a_name_the_engine_redirects_is_no_image(docker_env, base_image, name):
    name = name.format(image=base_image.split(":")[0])
    assert engine.image_attrs(name) is None
    assert engine.image_labels(name) is None
    assert not engine.image_present(name)


def test_a_redirected_request_is_the_named_objects_absence(docker_env):
    with pytest.raises(dc.NamedNotFound) as caught:
        engine_api.request("GET", "/images/x/../../info/json", action="look up image x", missing="No image 'x'.")
    assert caught.value.message == "No image 'x'." and int(caught.value.exit_code) == 2
    with pytest.raises(dc.EngineNotFound):
        engine_api.request("GET", "/containers/a/../../info", action="look up container a")
