"""The shape of the command tree: nouns, top-level commands, and the alternative spellings.

Each noun lives in ``ds01/cli/<noun>/`` and lists its verbs in that package's ``VERBS``.
``container-create`` (a symlink to ``ds01``) and ``container create`` (the noun dispatcher)
both become ``ds01 container create``; ``ALIASES`` adds the spellings of the design notes.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# noun -> one-line help. The group object is ds01.cli.<noun>:group.
NOUNS: dict[str, str] = {
    "container": "Create, run, stop and clean up your GPU containers.",
    "image": "Build and manage your own images on top of framework images.",
    "project": "Set up a project: folders, git, README, SSH, VS Code, image, container.",
    "user": "Onboarding wizards: first-time setup and new projects.",
    "gpu": "GPU slots: status, allocation, release, reconciliation.",
    "limits": "Show and check the per-user limits in resource-limits.yaml.",
    "mlc": "The AIME-compatible container engine (Tier 1).",
    "monitor": "Idle detection, dashboards and metrics.",
    "lifecycle": "The scheduled pass: warn, stop idle or over-runtime containers, release, remove.",
    "admin": "Administration: symlinks, slices, users, installation.",
}

# Top-level commands that are not nouns: name -> (import path, help).
TOP_LEVEL: dict[str, tuple[str, str]] = {
    "status": ("ds01.cli.status:command", "One screen: your containers, GPU slots and usage against limits."),
}

# Nouns that get a dispatcher symlink of their own (``container create x``).
DISPATCHER_NOUNS: tuple[str, ...] = ("container", "image", "project", "user")

# Extra spellings: invoked name (symlink or top-level word) -> argv prefix.
ALIASES: dict[str, tuple[str, ...]] = {
    "new-user": ("user", "setup"),
    "user-setup": ("user", "setup"),
    "new-project": ("user", "new-project"),
    "project-init": ("project", "init"),
    "dir-create": ("project", "dir-create"),
    "git-init": ("project", "git-init"),
    "readme-create": ("project", "readme-create"),
    "ssh-setup": ("project", "ssh-setup"),
    "vscode-setup": ("project", "vscode-setup"),
}

# Other spellings of a verb, the ones Docker users type (``container ls``). They are words
# of the noun's group only: no symlink is installed for them and ``--help`` lists them apart.
VERB_ALIASES: dict[str, dict[str, str]] = {
    "container": {"ls": "list", "ps": "list", "rm": "cleanup"},
    "image": {"ls": "list", "rm": "delete"},
}

# Aliases that are also top-level commands of ``ds01`` (``ds01 dir-create``).
TOP_LEVEL_ALIASES: tuple[str, ...] = (
    "new-user",
    "user-setup",
    "new-project",
    "project-init",
    "dir-create",
    "git-init",
    "readme-create",
    "ssh-setup",
    "vscode-setup",
)


def translate_argv0(prog: str, args: list[str]) -> list[str]:
    """Map the name ds01 was started as (``container-create``) to ``ds01`` arguments."""
    if prog in ("ds01", "__main__.py", "__main__", "") or prog.startswith("python"):
        return args
    if prog in ALIASES:
        return [*ALIASES[prog], *args]
    if prog in NOUNS:
        return [prog, *args]
    noun, sep, verb = prog.partition("-")
    if sep and noun in NOUNS and verb:
        return [noun, verb, *args]
    if noun == "ds01" and verb in TOP_LEVEL:
        return [verb, *args]
    if sep and verb and _near_noun(noun):
        # A link named like a command but misspelt (``contianer-list``): dispatch it as
        # ``NOUN VERB`` so that the answer is a suggestion rather than the root's usage.
        return [noun, verb, *args]
    return args


def _near_noun(word: str) -> bool:
    import difflib

    return bool(difflib.get_close_matches(word, list(NOUNS), n=1, cutoff=0.75))


def verbs_of(noun: str) -> dict[str, tuple[str, str]]:
    """The lazily imported verbs of one noun (imports only that noun's small package)."""
    import importlib

    return dict(importlib.import_module(f"ds01.cli.{noun}").VERBS)


# The verbs of each noun: the keys of ``ds01/cli/<noun>/__init__.py``'s ``VERBS``, copied here so
# that ``ds01 --help`` (which lists every symlink) reads no file and imports no command package.
# ``tests/cli/test_import_sets.py`` keeps it equal to the packages; after adding a verb, paste
# the output of ``python -m ds01.cli.tree --verb-table`` here.
VERB_NAMES: dict[str, tuple[str, ...]] = {
    "container": (
        "cleanup",
        "create",
        "deploy",
        "exit",
        "jupyter",
        "keep-alive",
        "list",
        "retire",
        "run",
        "start",
        "stats",
        "stop",
    ),
    "image": ("bases", "create", "delete", "list", "update"),
    "project": ("dir-create", "git-init", "init", "readme-create", "ssh-setup", "vscode-setup"),
    "user": ("new", "new-project", "setup"),
    "gpu": ("allocate", "mark-stopped", "reconcile", "release", "release-stale", "status", "user-status"),
    "limits": ("check", "migrate", "show"),
    "mlc": ("create", "export", "import", "list", "open", "remove", "start", "stats", "stop", "update-sys"),
    "monitor": ("dashboard", "idle", "metrics"),
    "lifecycle": ("run",),
    "admin": ("add-user", "doctor", "install", "report", "setup-slices", "sudoers", "symlinks", "uninstall", "users"),
}


def verb_names(noun: str) -> list[str]:
    """The verbs of one noun, from ``VERB_NAMES`` (no import; the test keeps it true)."""
    return list(VERB_NAMES[noun])


def verb_table() -> str:
    """``VERB_NAMES`` as read from the packages themselves (imports every noun's package)."""
    lines = ["VERB_NAMES: dict[str, tuple[str, ...]] = {"]
    lines += [f"    {noun!r}: {tuple(sorted(verbs_of(noun)))!r}," for noun in NOUNS]
    return "\n".join(lines).replace("'", '"') + "\n}\n"


def symlink_groups() -> list[tuple[str, list[str]]]:
    """What ``ds01 admin symlinks`` installs, by kind: (label, names)."""
    groups = [(f"{noun}-VERB", [f"{noun}-{verb}" for verb in verb_names(noun)]) for noun in NOUNS]
    groups.append(("ds01-COMMAND", [f"ds01-{name}" for name in sorted(TOP_LEVEL)]))
    groups.append(("NOUN", sorted(DISPATCHER_NOUNS)))
    groups.append(("aliases", sorted(ALIASES)))
    return groups


def symlink_names() -> list[str]:
    """Every command name ``ds01 admin symlinks`` installs: ``<noun>-<verb>`` for every verb of
    every noun (``mlc-create``, ``gpu-status``, ``limits-show``, ``admin-doctor``), ``ds01-<cmd>``
    for the top-level commands (``ds01-status``), the dispatcher nouns and the aliases."""
    return sorted({name for _label, names in symlink_groups() for name in names})


def symlinks_markdown() -> str:
    """The README's list of the installed commands (``python -m ds01.cli.tree --markdown``)."""
    lines = ["| kind | commands (each a symlink to `ds01`) |", "|---|---|"]
    for label, names in symlink_groups():
        lines.append(f"| `{label}` | {', '.join(f'`{n}`' for n in names)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--markdown"]:
        sys.stdout.write(symlinks_markdown())
    elif sys.argv[1:] == ["--verb-table"]:
        sys.stdout.write(verb_table())
    else:
        sys.stdout.write("\n".join(symlink_names()) + "\n")


def group_on_first_use(noun: str, verbs: dict[str, tuple[str, str]], finish: Any = None) -> Any:
    """A noun package's module ``__getattr__`` that builds its click ``group`` on first use
    (``finish(group)``, when given, adds what the noun's group has beyond its verbs).

    Importing such a package (for its ``VERBS``, or a click-free helper beside its commands that
    the fast paths in ``cli.starts`` and ``cli.creates`` use) then never imports click."""
    built: dict[str, Any] = {}

    def __getattr__(name: str) -> Any:
        if name != "group":
            raise AttributeError(f"module 'ds01.cli.{noun}' has no attribute {name!r}")
        if "group" not in built:
            from ds01.cli.lazy import LazyGroup

            group = LazyGroup(name=noun, help=NOUNS[noun], lazy=verbs, no_args_is_help=True)
            if finish is not None:
                finish(group)
            built["group"] = group
        return built["group"]

    return __getattr__
