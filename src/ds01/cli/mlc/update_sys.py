"""``ds01 mlc update-sys``: how ds01 is installed (pip or editable, where, which version) and how to update."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import json_option


def installation() -> dict[str, Any]:
    """Facts about this ds01 installation, from the package metadata (PEP 610 direct_url.json)."""
    from importlib import metadata

    import ds01

    info: dict[str, Any] = {
        "version": ds01.__version__,
        "location": str(Path(ds01.__file__).resolve().parent),
        "python": sys.executable,
        "installer": None,
        "editable": False,
        "source": None,
    }
    try:
        dist = metadata.distribution("ds01")
    except metadata.PackageNotFoundError:
        info["update"] = "ds01 is not installed as a package; run it from an installed copy (pip install .)."
        return info
    info["version"] = dist.version
    info["installer"] = (dist.read_text("INSTALLER") or "").strip() or None
    direct = json.loads(dist.read_text("direct_url.json") or "{}")
    info["editable"] = bool((direct.get("dir_info") or {}).get("editable"))
    url = direct.get("url", "")
    info["source"] = url.removeprefix("file://") or None
    if info["editable"] and info["source"]:
        info["update"] = (
            f"Editable install: update the source tree (git -C {info['source']} pull); no reinstall needed."
        )
    elif info["source"]:
        info["update"] = f"{sys.executable} -m pip install --upgrade {info['source']}"
    else:
        info["update"] = f"{sys.executable} -m pip install --upgrade ds01"
    return info


@click.command("update-sys")
@json_option
@pass_app
def command(app: App, as_json: bool) -> None:
    """Report how ds01 is installed and the command that updates it (nothing is changed)."""
    info = installation()
    if as_json:
        app.terminal.json(info)
        return
    kind = "editable (source checkout)" if info["editable"] else (info["installer"] or "unknown installer")
    for label, value in (
        ("version", info["version"]),
        ("installed", kind),
        ("location", info["location"]),
        ("source", info["source"] or "-"),
        ("python", info["python"]),
    ):
        app.terminal.out(f"{label:>10}: {value}")
    app.terminal.info("To update: " + info["update"])
