"""Reading what ``assay evaluate --out`` wrote, for the commands that build on a result
(``assay plan``, ``assay benchmark``): the folder or its ``result.json``, the rule pack it was
evaluated with, and whole-or-nothing file writes. Problems are :class:`InputError` /
:class:`OutputError`, mapped to exit codes by ``assay.cli`` alone."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

import rules as bundled_rules
from assay.options import load_rules
from engine.canonical import parse_json
from engine.errors import InputError, OutputError, Problem
from engine.result import Result
from engine.rulepack import RulePack

RESULT_FORMAT = "assay-result/1"
RESULT_FILE = "result.json"
"""What ``assay evaluate --out`` writes the result to, in the folder it names."""

rules_option = click.option(
    "--rules",
    "rules_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Rule pack folder the results were evaluated with (default: the bundled pack the result names).",
)


def result_file(path: Path) -> Path:
    """The ``result.json`` meant by ``path``: the file itself, or the one in an evaluation's
    output folder; :class:`InputError` naming ``path`` when there is none."""
    if not path.is_dir():
        if not path.exists():
            message = (
                f"no such file or folder: give the folder 'assay evaluate --out' wrote, or its {RESULT_FILE}"
            )
            raise InputError([Problem(str(path), None, "", message)])
        return path
    found = path / RESULT_FILE
    if found.exists():
        return found
    message = (
        f"no {RESULT_FILE} in this folder: give the folder 'assay evaluate --out' wrote, or its {RESULT_FILE}"
    )
    inside = sorted(p.name for p in path.iterdir() if (p / RESULT_FILE).is_file())
    if inside:
        # 'assay evaluate --model ...' writes a folder per model: point at them.
        message += f"; folders in it that have one: {', '.join(inside)}"
    raise InputError([Problem(str(path), None, "", message)])


def read_result(path: Path) -> Result:
    """A ``result.json`` (see :func:`result_file`) read back; :class:`InputError` naming the file
    and field otherwise."""
    name = str(path)
    try:
        data: Any = parse_json(path.read_bytes())
    except OSError as exc:
        raise InputError([Problem(name, None, "", f"cannot read the file: {exc.strerror}")]) from None
    except ValueError as exc:
        raise InputError([Problem(name, None, "", f"not a JSON file ({exc})")]) from None
    found = data.get("format") if isinstance(data, dict) else None
    if found != RESULT_FORMAT:
        what = "no format field" if found is None else f"format {found!r}"
        message = f"not an Assay result file: expected format {RESULT_FORMAT!r}, found {what}"
        raise InputError([Problem(name, None, "format", message)])
    try:
        return Result.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(name, None, ".".join(str(p) for p in error["loc"]), error["msg"])
            for error in exc.errors()
        ]
        raise InputError(problems) from None


def rules_for(folder: Path | None, evaluated_with: str) -> RulePack:
    """The rule pack in ``folder``; without one, the bundled pack the result was evaluated with
    (a result of 'assay evaluate --model itu-y4904' needs no --rules), else the default pack."""
    if folder is not None:
        return load_rules(folder)
    bundled = evaluated_with if evaluated_with in bundled_rules.packs() else bundled_rules.DEFAULT_PACK
    return load_rules(bundled_rules.bundled(bundled))


def write_file(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` whole or not at all (a sibling file, then renamed over it)."""
    staging = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # Opened like any new file (not mkstemp), so it gets the usual permissions under the umask.
            with staging.open("wb") as out:
                out.write(content)
            os.replace(staging, path)
        finally:
            staging.unlink(missing_ok=True)  # gone after the rename; a leftover after a failure
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
