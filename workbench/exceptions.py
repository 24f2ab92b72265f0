"""Errors raised by workbench.

Every error derives from :class:`WorkbenchError`; errors about bad input also derive
from :class:`ValueError` so callers that expect one catch it.
"""

from __future__ import annotations

__all__ = [
    "WorkbenchError",
    "ValidationError",
    "ResourceInUse",
    "ResourceNotFound",
    "ArtifactIntegrityError",
    "JobFailedError",
]


class WorkbenchError(Exception):
    """Base class of every workbench error."""


class ValidationError(WorkbenchError, ValueError):
    """Bad input: names the field, the value given and what is allowed."""

    def __init__(self, field: str, value: object, expected: str, hint: str = "") -> None:
        self.field = field
        self.value = value
        self.expected = expected
        shown = repr(value)
        if len(shown) > 200:
            shown = shown[:197] + "..."
        message = f"{field}: got {shown}; expected {expected}."
        if hint:
            message += f" {hint}"
        super().__init__(message)


class ResourceInUse(WorkbenchError, ValueError):
    """An object with this kind and name already exists in the workspace."""


class ResourceNotFound(WorkbenchError, LookupError):
    """No object with this kind and name exists in the workspace."""


class ArtifactIntegrityError(WorkbenchError):
    """An artifact's checksum does not match the one recorded in the catalogue."""


class JobFailedError(WorkbenchError):
    """A job ended Failed (or Stopped) while the caller waited for it."""

    def __init__(
        self, name: str, status: str, reason: str | None, kind: str = "training-job"
    ) -> None:
        self.name = name
        self.status = status
        self.reason = reason
        what = kind.replace("-", " ").capitalize()
        super().__init__(f"{what} {name!r} ended {status}: {reason or 'no reason recorded'}")
