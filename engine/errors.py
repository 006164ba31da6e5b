"""Errors of the engine, all rooted in :class:`AssayError`.

Broken input and broken state raise; a requirement that is not met is an outcome, never an
exception. Input errors carry every problem found, so one run reports all of them at once.
The CLI maps these classes to exit codes in exactly one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER = re.compile(r"(\d{1,18})")  # bounded: int() refuses very long digit strings


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

    def order(self) -> tuple[tuple[str | int, ...], int, tuple[str | int, ...], str, str, str]:
        """Sort key: file, line (unknown first), path, message; numbers inside the file name and
        the path compare as numbers, so ``items[2]`` comes before ``items[10]``. The raw file and
        path break the last ties (``items[07]``, ``items[7]``), so the order is total."""
        return (_natural(self.file), self.line or 0, _natural(self.path), self.message, self.file, self.path)

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


def _natural(text: str) -> tuple[str | int, ...]:
    # re.split with a group alternates text and digits, always starting with text, so two keys
    # compare str with str and int with int position by position.
    return tuple(int(part) if i % 2 else part for i, part in enumerate(_NUMBER.split(text)))


class AssayError(Exception):
    """Base of every error the project raises on purpose."""


class InputError(AssayError):
    """An input file (rule pack, evidence pack) is malformed or inconsistent.

    Carries every problem found, once each, in :meth:`Problem.order`.
    """

    what = "input"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(set(problems), key=Problem.order)
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
