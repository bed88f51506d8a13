"""Words for people new to containers: the ``--guided`` explanations and ``container exit``."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ds01.terminal import Terminal

GUIDE = {
    "create": [
        "A container is your own small Linux machine on this server, made from an image "
        "(the software) plus your folders (your files).",
        "ds01 first checks your limits, the image and your folders; only then does it reserve a GPU slot "
        "(a whole GPU or a MIG slice) for you, so a refused request leaves nothing behind.",
        "Your workspace folder is mounted at /workspace: files there live on the server's disk and "
        "survive the container. Anything else inside the container is lost when it is removed.",
    ],
    "run": [
        "`container run` starts your container if needed and opens a shell inside it, as you.",
        "Type `exit` (or press Ctrl-D) to leave; when the last shell leaves, the container stops and "
        "its GPU is held for you for a while.",
    ],
    "start": [
        "`container start` starts your container in the background without opening a shell; "
        "use `ds01 container run NAME` to get a shell.",
    ],
    "stop": [
        "Stopping a container ends every program in it. Its GPU slot stays reserved for you for "
        "gpu_hold_after_stop; after that the GPU goes back to others and the container is removed "
        "(your workspace stays; `container run` makes it again).",
    ],
    "list": ["Each line is one of your containers: its state, its GPU slots and how long a stopped one keeps them."],
    "stats": ["CPU, memory and process counts of your running containers, from Docker, plus GPU processes."],
    "cleanup": [
        "Cleanup removes a container for good and gives its GPU back at once. Files in your workspace "
        "stay; everything else inside the container is deleted.",
    ],
    "deploy": ["deploy = create the container, then open a shell in it (run)."],
    "retire": ["retire = stop the container, then clean it up (remove it and give its GPU back)."],
    "status": ["One screen: your containers, the GPU slots you hold, and how much of each limit you use."],
}

EXIT_TEXT = """\
Leaving a container shell
-------------------------
Inside a container shell, type `exit` or press Ctrl-D. You are back on the server.

What happens then:
  * If that was the last shell in the container, the container stops (all programs in it end).
  * A stopped container keeps its GPU slot for a while (your gpu_hold_after_stop,
    see `ds01 limits show`), so `ds01 container run NAME` gets you straight back in.
  * After the hold, the GPU goes back to the others and the container is removed; its
    definition is kept, and `ds01 container run NAME` makes it again with a new GPU.
  * Files in /workspace (and /data, /models) are folders on the server: they always survive.
    Anything else you changed inside the container does not survive a removal.

Want a program to keep running after you leave? Programs started in the shell (also
with `nohup CMD &`) end when the last shell leaves and the container stops. Either keep a
shell open (run `ds01 container run NAME` inside `tmux` or `screen` on the server and
detach from tmux/screen, not from the container), or start the program in the background
with `ds01 mlc start -d NAME CMD ARGS...`: the container keeps running while it runs.
Stop the container when you are done, so its GPU goes back to the others.

Useful next steps:
  ds01 container list              what you have and what is held until when
  ds01 container stop NAME         stop now (the GPU stays held for a while)
  ds01 container cleanup NAME      remove it and give the GPU back at once
"""


def guide(terminal: Terminal, verb: str) -> None:
    """Show the ``--guided`` explanation of ``verb`` (nothing without ``--guided``)."""
    for line in GUIDE.get(verb, []):
        terminal.guide(line)
