"""The interactive phases of ``image create`` (the command and the new-project wizard ask them):
they only fill in a ``CreateRequest``.

The flag-driven path and the interactive path run the same code after this point; a
prompt is shown only for a choice that no flag made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ds01.errors import Ds01Error, UsageError
from ds01.units.images.packages import (
    DATA_SCIENCE,
    JUPYTER,
    USE_CASE,
    USE_CASE_TITLES,
    USE_CASES,
    ImageSettings,
    split_packages,
    split_system_packages,
    validate_specs,
    validate_system_packages,
)

if TYPE_CHECKING:
    from ds01.identity import Identity
    from ds01.terminal import Terminal
    from ds01.units.images.create import CreateRequest

LOCAL_IMAGE = "A local base image…"
OTHER_IMAGE = "Another local image (name it)"


def catalog_frameworks(settings: ImageSettings, arch: str | None) -> dict[str, list[str]]:
    """framework -> versions from the catalog for this host; empty when none can be offered."""
    from ds01.base import catalog

    try:
        resolved = catalog.resolve_arch(arch)
        cat = catalog.load_catalog(aime_catalog=settings.aime_catalog or catalog.DEFAULT_AIME_CATALOG)
    except Ds01Error:
        # No GPU architecture known (or no catalog): a local image is still a valid base.
        return {}
    return {fw: cat.versions(fw, resolved) for fw in cat.frameworks(resolved)}


def ask_local_image(term: Terminal, settings: ImageSettings | None = None, identity: Identity | None = None) -> str:
    """Pick one of the server's base images (``ds01 image bases``), or name another local image the
    caller may use; asked again until one is usable (Ctrl-C cancels)."""
    from ds01 import identity as _identity
    from ds01.base import images as docker_images
    from ds01.units.images import bases as _bases
    from ds01.units.images.common import require_usable_image

    settings = settings or ImageSettings()
    who = identity or _identity.current()
    offered = {b.choice(): b.ref for b in _bases.bases(settings, who) if b.present}
    if offered:
        picked = term.choose("Base image:", [*offered, OTHER_IMAGE], what="--base-image")
        if picked != OTHER_IMAGE:
            return offered[picked]
    else:
        term.info("  This server offers no base images yet (an admin lists them in security.allowed_base_images).")
    while True:
        name = term.ask("Local base image (name:tag):", what="--base-image").strip()
        if not name:
            term.error("A base image is needed; `ds01 image bases` lists the ones this server offers.")
        elif not docker_images.image_exists(name):
            term.error(f"Base image {name} is not present locally and ds01 never pulls one; name another.")
        else:
            try:
                require_usable_image(name, settings, who)
            except Ds01Error as exc:
                term.error(exc.message)
                continue
            return name


def ask_phases(
    term: Terminal,
    request: CreateRequest,
    settings: ImageSettings,
    *,
    ask_jupyter: bool,
    ask_data_science: bool,
    ask_use_case: bool,
    ask_packages: bool,
    ask_system: bool = False,
    identity: Identity | None = None,
) -> None:
    from ds01.base import images as docker_images

    # Phases are numbered as they are shown: one a flag settled is not counted (1, 2, 3; never 1, 4).
    phases = [
        title
        for title, asked in (
            ("framework", not request.base_image and not request.framework),
            ("Jupyter", ask_jupyter),
            ("data science", ask_data_science),
            ("use case", ask_use_case),
            ("your own packages", ask_packages),
            ("system packages", ask_system),
        )
        if asked
    ]

    def phase(title: str) -> None:
        number = phases.index(title) + 1
        term.info(term.style(f"Phase {number} of {len(phases)}: {title}", "bold"))

    # The framework base.
    if not request.base_image and not request.framework:
        phase("framework")
        frameworks = catalog_frameworks(settings, request.arch)
        if frameworks:
            choice = term.choose("Framework:", [*frameworks, LOCAL_IMAGE], what="a framework")
        else:
            term.info("  The GPU architecture is not known here, so no framework list; pick a base image.")
            choice = LOCAL_IMAGE
        if choice == LOCAL_IMAGE:
            request.base_image = ask_local_image(term, settings, identity)
        else:
            request.framework = choice
            request.version = term.choose("Version:", frameworks[choice], what="--version")
    if request.base_image:
        if not docker_images.image_exists(request.base_image):
            raise UsageError(f"Base image {request.base_image} is not present locally; ds01 never pulls it.")
        installed = docker_images.pip_freeze(request.base_image)
        shown = ", ".join(installed[:30]) + (" …" if len(installed) > 30 else "") if installed else "no pip packages"
        term.info(f"  {request.base_image} already contains: {shown}")

    if ask_jupyter:
        phase("Jupyter")
        pkgs = " ".join(settings.phase_defaults(JUPYTER))
        term.info("  (then `ds01 container jupyter NAME` opens it from your laptop)")
        request.jupyter = term.confirm(f"Install Jupyter ({pkgs})?", default=True)
    if ask_data_science:
        phase("data science")
        pkgs = " ".join(settings.phase_defaults(DATA_SCIENCE))
        request.data_science = term.confirm(f"Install data-science packages ({pkgs})?", default=True)
    if ask_use_case:
        phase("use case")
        titles = {USE_CASE_TITLES[u]: u for u in USE_CASES}
        # The request may carry a default already (the config's wizard.default_use_case).
        preselected = USE_CASE_TITLES.get(request.use_case or "general-ml", USE_CASE_TITLES["general-ml"])
        picked = term.choose("Use case:", list(titles), what="--use-case", default=preselected)
        request.use_case = titles[picked]
        pkgs = " ".join(settings.phase_defaults(USE_CASE, request.use_case)) or "nothing"
        term.info(f"  adds: {pkgs}")
    if ask_packages:
        phase("your own packages")
        while True:
            text = term.ask("Extra pip packages (space-separated, empty for none):", what="--packages")
            try:
                items = split_packages(text)
                validate_specs(items, allow_urls=settings.allow_urls)
            except UsageError as exc:
                term.error(exc.message)
                continue
            request.packages = items
            break
    if ask_system:
        phase("system packages")
        while True:
            text = term.ask(
                "System packages for apt (Debian names such as libgl1 ffmpeg, empty for none):",
                what="--system-packages",
            )
            try:
                items = validate_system_packages(split_system_packages(text))
            except UsageError as exc:
                term.error(exc.message)
                continue
            request.system_packages = items
            break
