"""Command groups: help that is never cut short, and a root that imports a command only to run it.

Click shortens each command's summary in a group's help to fit a fixed budget and ends it with
"..."; a summary is one sentence here, so it is shown whole and wrapped instead. The root group
knows its commands by name and summary, so ``assay --help`` imports none of them: signing,
the store and the rule engine load only for the command that needs them.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

import click


def summary(command: click.Command) -> str:
    """The command's one-line summary, whole (its ``short_help`` or its help's first sentence)."""
    return command.get_short_help_str(limit=10_000)


class Group(click.Group):
    """A group whose help lists every subcommand's summary whole, wrapped to the terminal."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, summary(command)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    # Subgroups made with ``@group.group(...)`` are of this class too.
    group_class = type


class LazyGroup(Group):
    """The root: ``name -> ("module:attribute", summary)``, imported when the command is used."""

    def __init__(self, *args: object, lazy: Mapping[str, tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.lazy)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.lazy.get(cmd_name)
        if target is None:
            return None
        module, attribute = target[0].split(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command), target[0]
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, self.lazy[name][1]) for name in self.list_commands(ctx)])
