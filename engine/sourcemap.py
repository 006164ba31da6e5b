"""Loading YAML and JSON files with a line number for every field.

Rule packs and evidence packs come from outside; an error must say file, line and field path.
PyYAML's composer keeps the position of every node, so documents are built by walking the node
graph, which also lets duplicate keys be reported instead of silently keeping the last one.

Hostile documents end in one problem, never an exception or an exhausted machine: YAML aliases
may be reused (the bundled rules share a question so) but a document expands to at most
:data:`MAX_VALUES` values and nests at most :data:`MAX_DEPTH` deep, an alias cannot contain its
own anchor, and only the plain YAML types are built (a tag such as ``!!python/name:os.system``
is refused, never looked up). JSON keys may not repeat, and JSON nested beyond Python's reader
or holding a number of more digits than Python converts is refused with the line.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from engine.errors import Problem

PathKey = tuple[str | int, ...]

MAX_DEPTH = 64
"""Deepest nesting a YAML document may have (a rule file needs about 12)."""
MAX_VALUES = 200_000
"""Most values a YAML document may expand to, aliases counted each time (a rule file has ~3,000)."""
_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")
)


class _RefusedError(Exception):
    """A document that is not built: too deep, too large, self-referring or with a foreign tag."""

    def __init__(self, line: int, path: PathKey, message: str) -> None:
        super().__init__(message)
        self.line, self.path, self.message = line, path, message


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


MAX_FILE = 4 << 20
"""Largest YAML or JSON source file read here (a rule file is about 40 KB, a people file less)."""


def read_bounded(path: Path, cap: int = MAX_FILE) -> bytes:
    """A regular file's bytes, at most ``cap`` of them. A FIFO, a device (a link to /dev/zero)
    or a larger file raises :class:`OSError` naming why; a FIFO is opened without blocking."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path.name} is not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(cap + 1)
    finally:
        os.close(fd)
    if len(data) > cap:
        raise OSError(f"{path.name} is larger than the limit of {cap:,} bytes")
    return data


def _read(path: Path, name: str) -> str | SourceDoc:
    """The file's text, or a document carrying the problem of reading it."""
    try:
        return read_bounded(path).decode("utf-8")
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
    try:
        doc.data = _build(node, (), doc, _Builder(yaml.SafeLoader("")))
    except _RefusedError as refused:
        doc.data = None
        doc.problems = [Problem(name, refused.line, dotted(refused.path), refused.message)]
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
    repeated: list[str] = []
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys(repeated))
    except json.JSONDecodeError as exc:
        return SourceDoc(name, None, problems=[Problem(name, exc.lineno, "", f"not valid JSON: {exc.msg}")])
    except RecursionError:
        line, depth = _deepest(text)
        message = f"not valid JSON: nested {depth} levels deep, deeper than Assay reads"
        return SourceDoc(name, None, problems=[Problem(name, line, "", message)])
    except ValueError as exc:  # Python refuses to convert integers of more than 4,300 digits
        found = re.search(r"[0-9]{4000,}", text)
        at = text.count("\n", 0, found.start()) + 1 if found else None
        message = "not valid JSON: a number of more than 4,300 digits" if found else f"not valid JSON: {exc}"
        return SourceDoc(name, None, problems=[Problem(name, at, "", message)])
    if repeated:
        doc = SourceDoc(name, None)
        doc.problems = [_repeated_key(text, name, key) for key in sorted(set(repeated))]
        return doc
    return SourceDoc(name, data, locate=lambda: json_lines(text))


def _unique_keys(repeated: list[str]) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    """JSON objects whose repeated keys are noted in ``repeated`` (JSON readers keep the last
    silently, so two tools could read one file two ways)."""

    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        built = dict(pairs)
        if len(built) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    repeated.append(key)
                seen.add(key)
        return built

    return build


def _repeated_key(text: str, name: str, key: str) -> Problem:
    quoted = re.escape(json.dumps(key)) + r"\s*:"
    places = [m.start() for m in re.finditer(quoted, text)]
    line = text.count("\n", 0, places[1]) + 1 if len(places) > 1 else None
    return Problem(name, line, key, "duplicate key: each key may appear once in an object")


def _deepest(text: str) -> tuple[int, int]:
    """``(line, depth)`` where a JSON text first nests deeper than 500 levels, else its deepest
    point: only run on text already refused, so its cost never falls on good packs."""
    depth, line = 0, 1
    deepest: tuple[int, int] = (1, 0)
    for match in re.finditer(_STRING + r"|[\[\]{}\n]", text):
        token = match.group()
        if token == "\n":
            line += 1
        elif token in "[{":
            depth += 1
            if depth > deepest[1]:
                deepest = (line, depth)
            if depth > 500:
                return line, depth
        elif token in "]}":
            depth -= 1
    return deepest


# Strings are matched as runs between escapes ("unrolled"): the plainer (?:[^"\\]|\\.)* takes
# the regex engine one backtracking frame per character, 7.8 GB for a 60 MiB title.
_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_JSON_TOKEN = re.compile(_STRING + r'|[{}\[\],:]|[^\s{}\[\],:"]+')


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


class _Builder:
    """What walking one document's node graph needs: the scalar constructor, the values built so
    far (aliases counted each time they are used) and the nodes on the current path."""

    def __init__(self, loader: yaml.SafeLoader) -> None:
        self.loader = loader
        self.built = 0
        self.open: set[int] = set()

    def enter(self, node: yaml.Node, path: PathKey) -> None:
        line = node.start_mark.line + 1
        self.built += 1
        if self.built > MAX_VALUES:
            message = f"the document expands to more than {MAX_VALUES:,} values (through aliases?)"
            raise _RefusedError(line, path, message)
        if len(path) > MAX_DEPTH:
            raise _RefusedError(line, path, f"nested more than {MAX_DEPTH} levels deep")
        if id(node) in self.open:
            raise _RefusedError(line, path, "an alias refers to a node that contains it")
        if node.tag == "tag:yaml.org,2002:merge":
            raise _RefusedError(line, path, "merge keys (<<) are not allowed: write the fields out")
        if node.tag not in _PLAIN_TAGS:
            raise _RefusedError(line, path, f"the tag {node.tag!r} is not allowed (plain YAML types only)")

    def scalar(self, node: yaml.Node, path: PathKey) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            raise _RefusedError(node.start_mark.line + 1, path, f"cannot read the value: {exc}") from None


def _build(node: yaml.Node, path: PathKey, doc: SourceDoc, builder: _Builder) -> Any:
    builder.enter(node, path)
    doc.lines.setdefault(path, node.start_mark.line + 1)  # a field's line is its key's line
    builder.open.add(id(node))
    try:
        return _build_node(node, path, doc, builder)
    finally:
        builder.open.discard(id(node))


def _build_node(node: yaml.Node, path: PathKey, doc: SourceDoc, builder: _Builder) -> Any:
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _RefusedError(
                    key_node.start_mark.line + 1, path, "a key must be plain text or a number"
                )
            builder.enter(key_node, path)
            key = builder.scalar(key_node, path)
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
            result[key] = _build(value_node, child, doc, builder)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), doc, builder) for i, item in enumerate(node.value)]
    return builder.scalar(node, path)


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
