"""Loading a rule pack from its folder and checking it completely.

A pack folder holds ``model.yaml`` (the catalogue) and ``characteristics/<id>.yaml``, one file
per characteristic. Loading collects every problem of every file (schema errors, unknown
kinds, attributes, operators or characteristics, duplicate ids, broken ``as_at`` inheritance)
and raises them together; a pack with any problem is never used, in whole or in part.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pydantic import ValidationError

from engine.canonical import digest
from engine.catalogue import MaturityModel, load_catalogue
from engine.errors import Problem, RulePackError
from engine.packcache import CheckedPacks
from engine.sourcemap import SourceDoc, load_yaml, parse_plain_yaml, read_bounded
from engine.spec import CharacteristicRules

MODEL_FILE = "model.yaml"
RULES_DIR = "characteristics"


@dataclass(frozen=True)
class RulePack:
    """A loaded, fully checked rule pack."""

    id: str
    """Pack id (the model id, e.g. ``iso37107-2019``)."""
    model: MaturityModel
    characteristics: dict[str, CharacteristicRules]
    """Encoded characteristics, in the catalogue's reading order."""
    digest: str
    """``sha256:`` over the pack's files: sha256sum-style lines ``<hex>  <path>``, sorted."""
    files: tuple[str, ...]
    """Files the digest covers, relative to the pack folder."""
    limits_checked: bool = False
    """Every characteristic was checked against the engine's limits on loading, so compiling
    need not check again (a pack built in code is checked when it compiles)."""

    def only(self, *cids: str) -> RulePack:
        """The pack restricted to some characteristics (cases test one at a time).

        It keeps the digest: it names where the rules came from, and each
        characteristic's rules are the same in the whole pack and the part. An id the pack does
        not encode (an engagement's scope after the rules changed) is left out, so the result
        reports that characteristic as not encoded instead of failing.
        """
        kept = {cid: self.characteristics[cid] for cid in cids if cid in self.characteristics}
        return replace(self, characteristics=kept)


def load_rule_pack(folder: Path, *, checked: CheckedPacks | None = None) -> RulePack:
    """Load and check the pack in ``folder``; raises :class:`RulePackError` on any problem.

    With ``checked``, a pack whose exact files already passed every check under this code is
    built without checking again (see :mod:`engine.packcache`), and a pack that passes is
    recorded there.
    """
    if checked is not None:
        files = _listing(folder)
        if files is not None:
            digest = pack_digest(folder, files)
            if checked.passed(digest):
                pack = _load_passed(folder, files, digest)
                if pack is not None:
                    return pack
    pack = _load_and_check(folder)
    if checked is not None:
        checked.remember(pack.digest)
    return pack


def _listing(folder: Path) -> list[str] | None:
    """The files a pack's digest covers, or None when it is no pack (loading says why)."""
    rules_dir = folder / RULES_DIR
    if not (folder / MODEL_FILE).is_file() or not rules_dir.is_dir():
        return None
    entries = sorted(rules_dir.glob("*"))
    if not all(p.is_file() for p in entries):  # a folder, FIFO or device: loading says which
        return None
    return [MODEL_FILE, *(f"{RULES_DIR}/{p.name}" for p in entries)]


def _load_passed(folder: Path, files: list[str], digest: str) -> RulePack | None:
    """Build a pack that passed every check before: the catalogue as always, each rule file
    parsed without its line map and validated by its model. None sends it through the checks."""
    try:
        model = load_catalogue(folder / MODEL_FILE)
        loaded = {}
        for name in files[1:]:
            rules = CharacteristicRules.model_validate(parse_plain_yaml(read_bounded(folder / name)))
            loaded[rules.characteristic] = rules
    except (RulePackError, ValidationError, OSError, ValueError):
        return None
    ordered = {c.id: loaded[c.id] for c in model.characteristics() if c.id in loaded}
    if len(ordered) != len(loaded):
        return None
    return RulePack(model.id, model, ordered, digest, tuple(files), limits_checked=True)


def _load_and_check(folder: Path) -> RulePack:
    # The checks need the evidence schemas (the attribute paths rules may name) and the
    # engine's pattern compiler; a pack that passed before is built without importing them.
    from engine.rulecheck import CELL_FORMAT, check_characteristic

    model_path = folder / MODEL_FILE
    if not model_path.is_file():
        raise RulePackError([Problem(str(folder), None, "", f"no {MODEL_FILE} in the rule pack")])
    problems: list[Problem] = []
    model: MaturityModel | None = None
    try:
        model = load_catalogue(model_path)
    except RulePackError as exc:
        problems += exc.problems  # keep going: the rule files' own problems belong in the report
    known = {c.id for c in model.characteristics()} if model is not None else None
    loaded: dict[str, CharacteristicRules] = {}
    rule_files = sorted((folder / RULES_DIR).glob("*")) if (folder / RULES_DIR).is_dir() else []
    for path in rule_files:
        doc = load_yaml(path)
        if path.suffix != ".yaml":
            problems.append(Problem(str(path), None, "", "not a .yaml rule file"))
            continue
        if doc.problems:
            problems += doc.problems
            continue
        # Structure (pydantic) and meaning (rulecheck) are checked side by side, so one run
        # reports every problem of the file, not the structural ones first.
        cell_format = model.cell_format if model is not None else CELL_FORMAT
        file_problems = check_characteristic(doc.data, path.stem, known, doc, cell_format)
        try:
            rules = CharacteristicRules.model_validate(doc.data)
        except ValidationError as exc:
            file_problems += doc.validation_problems(exc)
        else:
            file_problems += _engine_limits(rules, doc)
        problems += file_problems
        if not file_problems:
            loaded[rules.characteristic] = rules
    if not rule_files:
        problems.append(Problem(str(folder / RULES_DIR), None, "", "no characteristic rule files"))
    if problems or model is None:
        raise RulePackError(problems)
    files = [MODEL_FILE, *(f"{RULES_DIR}/{p.name}" for p in rule_files)]
    ordered = {c.id: loaded[c.id] for c in model.characteristics() if c.id in loaded}
    return RulePack(model.id, model, ordered, pack_digest(folder, files), tuple(files), limits_checked=True)


def _engine_limits(rules: CharacteristicRules, doc: SourceDoc) -> list[Problem]:
    """A characteristic must fit one durable_rules ruleset (see :mod:`engine.patterns`)."""
    from engine.patterns import ALPHA_BUDGET, MAX_RULES, alpha_load, ruleset_size

    problems = []
    size = ruleset_size(rules)
    if size > MAX_RULES:
        message = f"compiles to {size} durable_rules rules; the engine allows {MAX_RULES} per characteristic"
        problems.append(doc.problem(["levels"], message))
    for kind, tests in alpha_load(rules).items():
        if tests > ALPHA_BUDGET:
            problems.append(
                doc.problem(
                    ["levels"],
                    f"the conditions on {kind} evidence need {tests} distinct tests; the engine "
                    f"allows {ALPHA_BUDGET} per kind and characteristic (share conditions "
                    "between requirements, or use fewer one_of/contains_any alternatives)",
                )
            )
    return problems


def pack_digest(folder: Path, files: Sequence[str]) -> str:
    """Digest of a list of files, reproducible with ``sha256sum <files> | sort -k2``."""
    lines = sorted(f"{_file_sha256(folder / name)}  {name}\n" for name in files)
    return digest("".join(lines).encode("utf-8"))


def _file_sha256(path: Path) -> str:
    with path.open("rb") as handle:  # streamed: a large file costs time, never memory
        return hashlib.file_digest(handle, "sha256").hexdigest()
