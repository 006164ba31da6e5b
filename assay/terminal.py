"""The console every command prints through: the terminal's own width, never a fixed one.

rich reads ``COLUMNS`` and the terminal size itself; when output is not a terminal (a pipe, a
test) it falls back to ``COLUMNS`` or 80. Forcing a width made tables wrap into garbage on an
80-column terminal, so nothing here sets one.
"""

from __future__ import annotations

from rich.console import Console


def console(*, stderr: bool = False) -> Console:
    """A console sized to the terminal (or ``COLUMNS``); long cells wrap, words are not split."""
    return Console(stderr=stderr, soft_wrap=False, highlight=False)
