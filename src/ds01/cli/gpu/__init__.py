"""`ds01 gpu …`: GPU slot status, allocation, release and reconciliation.

Each verb lives in its own module here; ``VERBS`` maps verb -> (import path, one-line help)
so that help listings never import the verbs themselves.
"""

from __future__ import annotations

from ds01.cli.tree import group_on_first_use

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ds01.cli.lazy import LazySpec

VERBS: LazySpec = {
    "status": ("ds01.cli.gpu.status:command", "Every GPU slot: free, allocated, held or reserved, and by whom."),
    "allocate": ("ds01.cli.gpu.allocate:command", "Allocate GPU slots to a container (exit 3 refused, 4 full)."),
    "release": ("ds01.cli.gpu.release:command", "Release the GPU slots a container holds, now."),
    "mark-stopped": ("ds01.cli.gpu.mark_stopped:command", "Record that a container stopped (starts its hold)."),
    "user-status": ("ds01.cli.gpu.user_status:command", "What one user holds, against their quota."),
    "release-stale": ("ds01.cli.gpu.release_stale:command", "Release holds past gpu_hold_after_stop (cron-safe)."),
    "reconcile": ("ds01.cli.gpu.reconcile:command", "Make the allocation ledger agree with Docker; report fixes."),
}

# ``group``, the click group, is built on first use: the helpers beside the commands
# (``_common``) are imported by click-free paths too.
__getattr__ = group_on_first_use("gpu", VERBS)
