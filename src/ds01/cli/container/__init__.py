"""`ds01 container …`: the containers students use every day (Tier 2 units).

Each verb lives in its own module here; ``VERBS`` maps verb -> (import path, one-line help)
so that help listings never import the verbs themselves.
"""

from __future__ import annotations

from ds01.cli.tree import group_on_first_use

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ds01.cli.lazy import LazySpec

VERBS: LazySpec = {
    "create": ("ds01.cli.container.create:command", "Create a container with your limits and a GPU slot."),
    "run": ("ds01.cli.container.run:command", "Start a container (remade if its GPU was released) and open a shell."),
    "start": ("ds01.cli.container.start:command", "Start a container in the background."),
    "stop": ("ds01.cli.container.stop:command", "Stop a container; its GPU stays held for a while."),
    "list": ("ds01.cli.container.list:command", "Your containers: state, GPU slots, hold times."),
    "stats": ("ds01.cli.container.stats:command", "CPU, memory, PIDs and GPU processes of running containers."),
    "cleanup": ("ds01.cli.container.cleanup:command", "Remove containers and release their GPUs now."),
    "exit": ("ds01.cli.container.exit:command", "How to leave a container shell, and what happens then."),
    "deploy": ("ds01.cli.container.deploy:command", "Create a container and open a shell in it."),
    "retire": ("ds01.cli.container.retire:command", "Stop a container and clean it up."),
    "jupyter": ("ds01.cli.container.jupyter:command", "Start JupyterLab in a container; print the ssh line and URL."),
    "keep-alive": ("ds01.cli.container.keep_alive:command", "Postpone a container's idle stop (within policy)."),
}

# ``group``, the click group, is built on first use: the helpers beside the commands
# (``_common``) are imported by click-free paths too.
__getattr__ = group_on_first_use("container", VERBS)
