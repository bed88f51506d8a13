"""The words of the onboarding wizards: what containers, images and GPU slots are, and what
each setup step does. Kept apart from the flow so the flow stays short and the texts can be
read (and corrected) in one place. Every sentence describes what ds01 actually does."""

from __future__ import annotations

WELCOME = "Welcome to ds01: let's get you from an empty home directory to your own GPU container."

# The short lesson `user setup` gives before it does anything (one paragraph per idea).
LESSON: tuple[tuple[str, str], ...] = (
    (
        "Images",
        "An image is a recipe's result: a framework (PyTorch, TensorFlow, …) plus the Python packages "
        "you choose, frozen into one package. ds01 writes the recipe (a Dockerfile) into your project "
        "and builds the image <project>-image from it; you rebuild it when you need other packages.",
    ),
    (
        "Containers",
        "A container is your own small Linux machine on this server, started from an image. You work "
        "inside it as yourself; your project folder is mounted at /workspace, so your files live on "
        "the server's disk and survive the container. Anything written elsewhere inside it is lost "
        "when the container is removed.",
    ),
    (
        "GPUs",
        "The GPUs are shared. Each container gets a GPU slot: a whole GPU or a MIG slice (a fixed "
        "part of a large GPU with its own memory). ds01 gives you a free slot when the container is "
        "created, up to your limit (`ds01 limits show` tells you yours).",
    ),
    (
        "Stopping",
        "When you leave the last shell, the container stops. Its GPU slot stays held for you for a "
        "while (gpu_hold_after_stop), so you get straight back in; after that the GPU goes back to "
        "the others and the container is removed, while its definition and your files are kept. "
        "`ds01 container run <project>` makes it again.",
    ),
    (
        "Limits",
        "Each user has limits on GPU slots, CPUs, memory and the number of containers "
        "(`ds01 status` shows yours and what you use). They keep the server fair; ds01 tells you "
        "when a request would go over one, and nothing is left half-made.",
    ),
)

# What each step does, said once before it runs (user setup is guided by default).
STEP_GUIDE: dict[str, str] = {
    "ssh-setup": "SSH keys replace passwords. This makes a key pair on the server (for GitHub/GitLab) "
    "and the entry your laptop's ~/.ssh/config needs to reach this server.",
    "dir-create": "A project is one folder in ~/workspace with data/, notebooks/, src/, models/ and "
    "outputs/; each folder gets a README saying what belongs there.",
    "git-init": "git keeps every version of your code. Data, models and outputs stay out of git "
    "(they are large); a .gitignore made for data science says so.",
    "readme-create": "The project's README.md is a short manual: how to build the image, enter the "
    "container, where data goes and how to give the GPU back.",
    "image-create": "The image holds the framework and your packages. The first build of a framework "
    "takes longest; later builds reuse what did not change.",
    "container-create": "ds01 checks your limits and folders first, then reserves a GPU slot and creates "
    "the container with your project mounted at /workspace.",
    "container-run": "Starting the container makes it ready for work; `ds01 container run <project>` "
    "opens a shell in it.",
    "vscode-setup": "VS Code on your laptop connects to this server over SSH and then attaches to your "
    "running container, so your code runs on the GPU.",
}

# How a step's outcome is shown, by status.
STATUS_MARK: dict[str, str] = {"done": "✓", "already done": "=", "skipped": "-", "failed": "✗"}

DONE_SUMMARY = "Your project {project} is ready."
NEXT_STEPS_TITLE = "What to do next:"
