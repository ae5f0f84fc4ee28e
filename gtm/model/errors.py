"""The exception tree: everything gtm raises on purpose is a `GtmError`; the errors of one
package (wire, ECS, explain, geo database) derive from it where they are raised. The docstring
of each is its default message."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class GtmError(Exception):
    """gtm failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


@dataclass(frozen=True, slots=True, order=True)
class Reason:
    """One problem in a zone file: where it is and what is wrong."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}: {where}{self.message}"


class ConfigError(GtmError):
    """A zone file is invalid."""

    def __init__(self, reasons: Iterable[Reason]) -> None:
        self.reasons: tuple[Reason, ...] = tuple(reasons)
        super().__init__("\n".join(str(r) for r in self.reasons) or None)


class ServeError(GtmError):
    """The server could not start."""


class UsageError(GtmError, ValueError):
    """A command-line value gtm cannot use (exit status 2)."""
