"""Options and loaders the commands share; light to import (the engine loads when used)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from engine.evaluation import Inference
    from engine.rulepack import RulePack

PATH = click.Path(path_type=Path)
ENGINES = ("durable", "reference")

rules_option = click.option(
    "--rules",
    "rules_dir",
    type=PATH,
    default=None,
    help="Rule pack folder (default: the bundled ISO/TS 37107:2019 pack).",
)
engine_option = click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="durable",
    show_default=True,
    help="Inference engine.",
)


def load_rules(folder: Path | None) -> RulePack:
    """The rule pack in ``folder``, or the bundled ISO/TS 37107:2019 pack."""
    import rules as bundled_rules
    from engine.packcache import CheckedPacks
    from engine.rulepack import load_rule_pack

    return load_rule_pack(folder or bundled_rules.bundled(), checked=CheckedPacks.default())


def inference(choice: str) -> Inference:
    """The inference engine named on the command line."""
    if choice == "durable":
        from engine.durable_engine import DurableInference

        return DurableInference()
    from engine.reference import ReferenceInference

    return ReferenceInference()
