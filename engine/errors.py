"""Errors of the engine, all rooted in :class:`AssayError`.

Broken input and broken state raise; a requirement that is not met is an outcome, never an
exception. Input errors carry every problem found, so one run reports all of them at once.
The CLI maps these classes to exit codes in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file."""

    file: str
    """The file, as given (relative paths stay relative)."""
    line: int | None
    """1-based line in that file, when known."""
    path: str
    """Field path inside the file, dotted (``levels.3.requirements[0].evidence.kind``)."""
    message: str
    """What is wrong, in words that name the problem."""

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class AssayError(Exception):
    """Base of every error the project raises on purpose."""


class InputError(AssayError):
    """An input file (rule pack, evidence pack) is malformed or inconsistent.

    Carries every problem found, sorted by file, line and path.
    """

    what = "input"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(set(problems), key=lambda p: (p.file, p.line or 0, p.path, p.message))
        count = len(self.problems)
        listing = "\n".join(f"  - {p}" for p in self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"invalid {self.what}: {count} {noun}\n{listing}")


class RulePackError(InputError):
    """A rule pack failed validation; nothing of it is used."""

    what = "rule pack"


class EvidencePackError(InputError):
    """An evidence pack failed validation; nothing of it is used."""

    what = "evidence pack"


class TrailError(AssayError):
    """An audit trail does not verify; the message names the first bad record."""

    def __init__(self, message: str, record: int | None) -> None:
        self.record = record
        super().__init__(message)


class EngineError(AssayError):
    """Inference failed (an action raised, a derived fact was lost, an engine limit was hit).

    The evaluation produced no result: a broken engine never yields a partial verdict.
    """


class OutputError(AssayError):
    """Results could not be written where asked (for example, the folder is not empty)."""
