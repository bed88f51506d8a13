"""``user setup``: first-time onboarding, explained.

A short lesson (images, containers, GPU slots, holds after stop, limits), then
ssh-setup -> project init -> vscode-setup. The project part is the ``new-project`` flow in its
educational form (one code path with ``project init``); SSH and VS Code are their units,
called directly, as the caller (``ds01.privsep.run_as``: under sudo in a child process with the
caller's rights). Every question has a flag, ``--yes`` takes the defaults, and a re-run
reports each step as already done and changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ds01 import privsep
from ds01.orchestrators import project_init as orch
from ds01.records import dataclass
from ds01.wizards import texts

if TYPE_CHECKING:
    from ds01.identity import Identity
    from ds01.terminal import Terminal


def lesson(term: Terminal) -> None:
    """The plain-words introduction, shown before anything is done."""
    term.info(term.style(texts.WELCOME, "bold"))
    for title, text in texts.LESSON:
        term.info("")
        term.info(term.style(title, "bold"))
        term.prose(text, indent="  ")
    term.info("")


@dataclass
class Server:
    """How the laptop reaches this server: the ``~/.ssh/config`` alias and the host name."""

    host_alias: str
    hostname: str

    @classmethod
    def resolve(cls, host_alias: str | None, hostname: str | None) -> Server:
        from ds01.units.project.files import default_host_alias, server_hostname

        fqdn = hostname or server_hostname()
        return cls(host_alias or default_host_alias(fqdn), fqdn)


def _outcome(step: str, result: Any, done: str, already: str) -> orch.StepOutcome:
    status = orch.DONE if result.changed else orch.ALREADY
    return orch.StepOutcome(step, status, done if result.changed else already, result.to_json())


def ssh_step(owner: Identity, server: Server) -> tuple[orch.StepOutcome, Any]:
    """ssh-setup, run as the caller (ssh-keygen and every file in ~/.ssh with their rights)."""
    from ds01.units.project.files import home_of
    from ds01.units.project.ssh import setup_ssh

    result = privsep.run_as(
        owner, setup_ssh, user=owner.name, home=home_of(owner), host_alias=server.host_alias, hostname=server.hostname
    )
    done = "made a new key pair" if result.key_created else "added this server to ~/.ssh/config"
    return _outcome("ssh-setup", result, done, f"you already have a key ({result.key_path})"), result


def vscode_step(
    owner: Identity, project: str, directory: Path, server: Server, *, force: bool, ask: Any
) -> tuple[orch.StepOutcome, Any]:
    from ds01.units.project.vscode import setup_vscode

    result = privsep.run_as(
        owner,
        setup_vscode,
        project,
        directory,
        user=owner.name,
        uid=owner.uid,
        host_alias=server.host_alias,
        hostname=server.hostname,
        force=force,
        ask=ask,
    )
    vscode_dir = directory / ".vscode"
    return _outcome(
        "vscode-setup", result, f"wrote VS Code settings in {vscode_dir}", "the VS Code settings are already there"
    ), result


def show_ssh(term: Terminal, result: Any) -> None:
    term.info("Public key of your account here (paste it into GitHub/GitLab → Settings → SSH keys):")
    term.out(result.public_key)
    term.info(f"On your laptop, add this to ~/.ssh/config; then `ssh {result.host_alias}` logs you in:")
    term.out(result.config_entry.rstrip())
    term.guide(
        "Your laptop needs its own key to log in here: on the laptop run `ssh-copy-id "
        f"{result.user}@{result.hostname}` (or `ds01 ssh-setup --authorize '<laptop key>'` here)."
    )


def show_vscode(term: Terminal, result: Any, host_alias: str) -> None:
    term.info(
        "In VS Code on your laptop: install Remote - SSH and Dev Containers, then "
        f"Remote-SSH: Connect to Host… → {host_alias}, then Dev Containers: Attach to Running "
        f"Container… → {result.container}."
    )


@dataclass
class SetupReport:
    """What ``user setup`` did: the SSH step, the project flow's report, the VS Code step."""

    ssh: orch.StepOutcome
    project: orch.InitReport | None
    vscode: orch.StepOutcome

    @property
    def error(self) -> Any:
        return self.project.error if self.project is not None else None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.error is None,
            "ssh": self.ssh.to_json(),
            "project": None if self.project is None else self.project.to_json(),
            "vscode": self.vscode.to_json(),
        }


def run_user_setup(
    term: Terminal,
    config: Any,
    owner: Identity,
    *,
    project: str | None,
    make_request: Any,
    given: set[str],
    ssh: bool | None,
    vscode: bool | None,
    server: Server,
    yes: bool,
    force: bool,
    show_data: bool,
) -> SetupReport:
    """Lesson, ssh-setup, the project flow (educational), vscode-setup; stops at a failed project.

    ``make_request(name)`` returns the ``InitRequest`` the flags describe for project ``name``;
    ``show_data``: print the public key and the laptop's entries (not with ``--json``).
    """
    from ds01.wizards import new_project

    if term.guided:
        lesson(term)
    asking = term.can_prompt() and not yes

    term.guide(texts.STEP_GUIDE["ssh-setup"])
    if ssh is None:
        ssh = term.confirm("Set up an SSH key and this server's entry now?", default=True) if asking else True
    if ssh:
        ssh_outcome, ssh_result = ssh_step(owner, server)
        new_project.show_step(term, ssh_outcome)
        if show_data:
            show_ssh(term, ssh_result)
    else:
        ssh_outcome = orch.StepOutcome(
            "ssh-setup", orch.SKIPPED, "skipped (not requested)", {"reason": "not requested"}
        )
        new_project.show_step(term, ssh_outcome)

    if not project:
        project = new_project.ask_name(term)
    request = make_request(project)
    found = orch.survey(request, orch.image_settings(config))
    new_project.fill_request(term, request, found, config, given=given, educational=True)
    report = new_project.execute(term, request, config, ask_files=asking)
    if report.error is not None:
        vs = orch.StepOutcome(
            "vscode-setup", orch.SKIPPED, "not run: an earlier step failed", {"reason": "earlier failure"}
        )
        return SetupReport(ssh_outcome, report, vs)

    term.guide(texts.STEP_GUIDE["vscode-setup"])
    if vscode is None:
        vscode = term.confirm("Write VS Code settings for the project?", default=True) if asking else True
    if vscode:
        ask = None
        if asking:
            term.load_prompts()  # asked by the step, which under sudo runs dropped to the caller

            def ask(question: str) -> bool:
                return term.confirm(question, default=False, what="permission to replace a file")

        vs_outcome, vs_result = vscode_step(owner, project, report.directory, server, force=force, ask=ask)
        new_project.show_step(term, vs_outcome)
        if show_data:
            show_vscode(term, vs_result, server.host_alias)
    else:
        vs_outcome = orch.StepOutcome(
            "vscode-setup", orch.SKIPPED, "skipped (not requested)", {"reason": "not requested"}
        )
        new_project.show_step(term, vs_outcome)
    return SetupReport(ssh_outcome, report, vs_outcome)
