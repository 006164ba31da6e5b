"""Loading YAML and JSON files with a line number for every field.

Rule packs and evidence packs come from outside; an error must say file, line and field path.
PyYAML's composer keeps the position of every node, so documents are built by walking the node
graph, which also lets duplicate keys be reported instead of silently keeping the last one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from engine.errors import Problem

PathKey = tuple[str | int, ...]

# libyaml's parser builds the same node graph, marks included, about 18 times faster than the
# pure-Python one (the bundled rule pack: 24 ms against 420 ms); PyYAML wheels ship it.
_COMPOSER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class SourceDoc:
    """A parsed document with the 1-based line of each field path."""

    file: str
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    locate: Callable[[], dict[PathKey, int]] | None = None
    """Builds ``lines`` when first needed: large manifests only pay for it when they have
    a problem to report."""

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """Line of the longest prefix of ``path`` that the document has."""
        if self.locate is not None:
            self.lines.update(self.locate())
            self.locate = None
        key = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), None)

    def problem(self, path: Sequence[str | int], message: str) -> Problem:
        """A problem located at ``path`` in this document."""
        return Problem(self.file, self.line_of(path), dotted(path), message)

    def validation_problems(self, error: ValidationError, prefix: Sequence[str | int] = ()) -> list[Problem]:
        """Turn every pydantic error into a located problem."""
        problems = []
        for item in error.errors():
            loc = [*prefix, *_field_path(item["loc"], _at(self.data, prefix))]
            problems.append(self.problem(loc, _message(item)))
        return problems


def dotted(path: Sequence[str | int]) -> str:
    """``('levels', 3, 'requirements', 0)`` -> ``levels.3.requirements[0]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


FileModel = TypeVar("FileModel", bound=BaseModel)


def characteristic_files(
    folder: Path, model: type[FileModel], problems: list[Problem]
) -> Iterator[tuple[SourceDoc, FileModel]]:
    """Every ``*.yaml`` in ``folder`` that parses and validates as ``model``, with its source;
    the problems of the others, and of files not named after their characteristic, go to
    ``problems`` (cases and profiles beside the rules are read this way)."""
    for path in sorted(folder.glob("*.yaml")):
        doc = load_yaml(path)
        if doc.problems:
            problems += doc.problems
            continue
        try:
            loaded = model.model_validate(doc.data)
        except ValidationError as exc:
            problems += doc.validation_problems(exc)
            continue
        named = getattr(loaded, "characteristic", None)  # the model's characteristic id
        if path.stem != named:
            message = f"file is named {path.stem!r}, must be {named!r}"
            problems.append(doc.problem(["characteristic"], message))
        yield doc, loaded


def _read(path: Path, name: str) -> str | SourceDoc:
    """The file's text, or a document carrying the problem of reading it."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return SourceDoc(name, None, problems=[Problem(name, None, "", f"cannot read: {exc}")])


def load_yaml(path: Path, display: str | None = None) -> SourceDoc:
    """Parse a YAML file; syntax errors and duplicate keys become problems, not exceptions."""
    name = display or str(path)
    text = _read(path, name)
    return text if isinstance(text, SourceDoc) else parse_yaml(text, name)


def parse_yaml(text: str, name: str) -> SourceDoc:
    """Parse YAML text (see :func:`load_yaml`)."""
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        return SourceDoc(name, None, problems=[Problem(name, line, "", f"not valid YAML: {reason}")])
    doc = SourceDoc(name, None)
    if node is None:
        doc.problems.append(Problem(name, 1, "", "the file is empty"))
        return doc
    doc.data = _build(node, (), doc, yaml.SafeLoader(""))
    return doc


def parse_plain_yaml(data: bytes) -> Any:
    """YAML already known to be well formed, without the line map (see engine.packcache)."""
    return yaml.load(data, Loader=_COMPOSER)


def load_json(path: Path, display: str | None = None) -> SourceDoc:
    """Parse a JSON file (see :func:`parse_json`)."""
    name = display or str(path)
    text = _read(path, name)
    return text if isinstance(text, SourceDoc) else parse_json(text, name)


def parse_json(text: str, name: str) -> SourceDoc:
    """Parse JSON text; line numbers are found when first needed (:func:`json_lines`)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return SourceDoc(name, None, problems=[Problem(name, exc.lineno, "", f"not valid JSON: {exc.msg}")])
    return SourceDoc(name, data, locate=lambda: json_lines(text))


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]|[^\s{}\[\],:"]+')


def json_lines(text: str) -> dict[PathKey, int]:
    """The line of every key and array entry of a JSON text (one pass over its tokens)."""
    lines: dict[PathKey, int] = {(): 1}
    stack: list[list[Any]] = []  # [path, is_object, key or index, expecting a key]
    line, position = 1, 0
    for match in _JSON_TOKEN.finditer(text):
        line += text.count("\n", position, match.start())
        position = match.start()
        token = match.group()
        top = stack[-1] if stack else None
        if token in ",:":
            if top is not None and token == ",":
                if top[1]:
                    top[3] = True
                else:
                    top[2] += 1
            continue
        if token in "}]":
            stack.pop()
            continue
        if top is not None and top[1] and top[3]:
            top[2], top[3] = json.loads(token), False
            lines.setdefault((*top[0], top[2]), line)
            continue
        path: PathKey = () if top is None else (*top[0], top[2])
        lines.setdefault(path, line)
        if token in "{[":
            stack.append([path, token == "{", 0, token == "{"])
    return lines


def _build(node: yaml.Node, path: PathKey, doc: SourceDoc, loader: yaml.SafeLoader) -> Any:
    doc.lines.setdefault(path, node.start_mark.line + 1)  # a field's line is its key's line
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, bool) or not isinstance(key, str | int):
                raw = getattr(key_node, "value", key)
                doc.problems.append(
                    Problem(
                        doc.file,
                        key_node.start_mark.line + 1,
                        dotted(path),
                        f"key {raw!r} reads as {key!r} in YAML; quote it",
                    )
                )
                continue
            if key in result:
                line = key_node.start_mark.line + 1
                doc.problems.append(
                    Problem(
                        doc.file,
                        line,
                        dotted((*path, key)),
                        "duplicate key: each key may appear once",
                    )
                )
                continue
            child = (*path, key)
            doc.lines[child] = key_node.start_mark.line + 1
            result[key] = _build(value_node, child, doc, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), doc, loader) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _child(data: Any, part: str | int) -> Any:
    if isinstance(data, dict):
        return data.get(part)
    if isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
        return data[part]
    return None


def _at(data: Any, path: Sequence[str | int]) -> Any:
    for part in path:
        data = _child(data, part)
    return data


def _field_path(loc: Sequence[str | int], data: Any) -> list[str | int]:
    """pydantic's location without the union tags it inserts ('document', 'function-after[..]'):
    a reader thinks in fields."""
    path: list[str | int] = []
    for part in loc:
        tag = isinstance(part, str) and (
            "[" in part or (isinstance(data, dict) and part not in data and data.get("kind") == part)
        )
        if not tag:
            path.append(part)
            data = _child(data, part)
    return path


def _message(item: Any) -> str:
    kind = item["type"]
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    msg = str(item["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return msg
