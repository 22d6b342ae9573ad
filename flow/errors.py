"""One exception tree for everything pilotflow reports to users.

Every error carries a one-line message; :func:`where` prefixes it with the
file and line so the CLI can print ``Error: netlist.sp:14: unknown device``.
The CLI maps :class:`InputError` and :class:`PDKError` to exit code 2 and
anything else to 3.
"""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike


class PilotflowError(Exception):
    """Base of all errors pilotflow raises on purpose."""

    exit_code = 3


class InputError(PilotflowError):
    """Bad user input: a malformed netlist, design.toml, GDS, or option."""

    exit_code = 2


class PDKError(InputError):
    """A process design kit (or standalone rule file) is invalid.

    ``problems`` holds every problem found, each already prefixed with its file
    and key path, so a maintainer sees them all at once.
    """

    def __init__(self, problems: Iterable[str]):
        self.problems = list(problems)
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            message = f"{len(self.problems)} problems: " + "; ".join(self.problems)
        super().__init__(message)


class StageError(PilotflowError):
    """A flow stage could not produce its result (e.g. an unroutable net)."""

    exit_code = 3


class ResumeError(InputError):
    """A run directory cannot be resumed (missing state, other PDK version)."""


def where(path: str | PathLike[str] | None, line: int | None = None) -> str:
    """Format a location prefix: ``'file:line: '``, ``'file: '`` or ``''``."""
    if path is None:
        return ""
    if line is None:
        return f"{path}: "
    return f"{path}:{line}: "
