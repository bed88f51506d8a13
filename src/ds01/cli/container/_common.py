"""What the `ds01 container` commands share: picking a NAME, admin rights, the hold message."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ds01.cli.context import App
    from ds01.units.containers.lifecycle import Hold, Target


def pick_name(
    app: App,
    name: str | None,
    *,
    what: str = "a container NAME",
    include_released: bool = True,
    running: bool | None = None,
) -> str:
    """NAME as given, or a picker over the caller's containers on a terminal (else exit 2)."""
    if name:
        return name
    term = app.terminal
    term._require_prompt(what)
    from ds01.units.containers.listing import list_entries

    every = list_entries(app.config, app.identity, include_released=True)
    entries = every if include_released else [e for e in every if e.status != "released"]
    if running is True:  # what can be stopped: a paused container too
        entries = [e for e in entries if e.status in ("running", "paused")]
    elif running is False:  # what can be started (a paused one is resumed)
        entries = [e for e in entries if e.status != "running"]
    if not entries:
        from ds01.errors import UsageError

        kind = "" if running is None else ("running " if running else "stopped ")
        # Advice that works in this state: nothing at all -> create; only released ones -> --all.
        if not every:
            advice = "create one with `ds01 container create NAME`"
        elif all(e.status == "released" for e in every):
            advice = "`ds01 container list --all` shows the released ones"
        else:
            advice = "`ds01 container list` shows yours"
        raise UsageError(f"You have no {kind}containers to choose from; {advice}.")
    labels = {
        f"{e.name}  ({e.status}{', GPU ' + ','.join(e.gpu_slots) if e.gpu_slots else ''})": e.name for e in entries
    }
    picked = term.choose("Which container?", list(labels), what=what)
    return labels[picked]


def gpu_words(slots: list[str] | tuple[str, ...]) -> str:
    """``GPU slot 1:0`` / ``GPU slots 0, 1:1`` / ``no GPU`` for the start and run messages."""
    if not slots:
        return "no GPU"
    return f"GPU slot{'s' if len(slots) > 1 else ''} {', '.join(slots)}"


def locate(app: App, name: str) -> Target:
    from ds01.units.containers.lifecycle import locate as _locate

    return _locate(name, app.identity, admin=app.is_admin())


def show_hold(app: App, name: str, hold: Hold) -> None:
    """After a stop: how long the GPU stays held, how to release it now, what survives."""
    from ds01.units.containers.common import human_duration

    term = app.terminal
    if hold.slots:
        slots = ", ".join(hold.slots)
        if hold.seconds is None:
            term.info(f"Its GPU slot {slots} stays held for you until you clean the container up.")
        else:
            term.info(
                f"Its GPU slot {slots} stays held for you for {human_duration(hold.seconds)}; "
                f"`ds01 container run {name}` inside that time gets it back."
            )
        term.next_step(f"ds01 container cleanup {name}", "release the GPU now")
        term.warning(
            "Only files in /workspace, /data and /models survive when the hold ends and the "
            "container is removed; anything else inside it is lost."
        )
