"""Exit codes (SPEC §2) and the exceptions that carry them.

Library code raises a ``Ds01Error`` subclass with one plain sentence saying what happened
and what to do; the CLI prints it to stderr and exits with the class's code. Nothing else
decides an exit status.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # the operation failed
    USAGE = 2  # usage or invalid input: bad name, bad config, unknown user
    POLICY = 3  # refused by policy: quota, limit, not the owner, reserved
    CAPACITY = 4  # no capacity: no free GPU slot
    DOCKER = 5  # Docker engine unreachable
    GPU_LIBRARY = 6  # GPU library or driver problem


class Ds01Error(Exception):
    """Base class: ``message`` is shown to the user as is; ``details`` are extra lines."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, *, details: list[str] | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = list(details or [])
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class OperationFailed(Ds01Error):
    exit_code = ExitCode.FAILED


class UsageError(Ds01Error):
    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """The configuration file is missing, unreadable or invalid."""


class NotFound(UsageError):
    """A named object (container, image, user) does not exist for the caller."""


class PolicyRefused(Ds01Error):
    exit_code = ExitCode.POLICY


class NoCapacity(Ds01Error):
    exit_code = ExitCode.CAPACITY


class DockerUnavailable(Ds01Error):
    exit_code = ExitCode.DOCKER


class GpuLibraryError(Ds01Error):
    exit_code = ExitCode.GPU_LIBRARY
