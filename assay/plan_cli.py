"""``assay plan``: an improvement plan from an evaluation's result.

Reads what ``assay evaluate --out`` writes (the folder, or the ``result.json`` in it); the engine
builds the plan as data (:mod:`engine.plan`) and this module writes it as Markdown, and as a PDF
with ``--pdf`` (reportlab is imported only then).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from assay.plan_report import WORDS, plan_markdown
from assay.results import read_result, result_file, rules_for, rules_option, write_file
from engine.errors import InputError
from engine.plan import build_plan, target_problems


@click.command("plan")
@click.argument("result_path", metavar="RESULT", type=click.Path(path_type=Path))
@click.option("--target", type=int, required=True, help="Target level, 1-5.")
@rules_option
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write the Markdown here.")
@click.option("--pdf", type=click.Path(path_type=Path), default=None, help="Also write the plan as a PDF.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True, help="Language.")
def plan_command(
    result_path: Path, target: int, rules_dir: Path | None, out: Path | None, pdf: Path | None, lang: str
) -> None:
    """Improvement plan from a result (the folder 'assay evaluate --out' wrote, or its result.json):
    per characteristic below the target (or the community's own higher claim), the next level's
    unmet requirements, the standards that help, and the two-year projection. Markdown on
    standard output unless --out is given."""
    try:
        source = result_file(result_path)
        result = read_result(source)
    except InputError as exc:
        # Report a bad target along with a bad file: one error lists every problem.
        raise InputError(exc.problems + target_problems(target)) from None
    rules = rules_for(rules_dir, result.rule_pack.id)
    plan = build_plan(result, rules, target, "zh" if lang == "zh" else "en", source=str(source))
    text = plan_markdown(plan)
    if pdf is not None:
        from assay.plan_pdf import render_plan_pdf  # reportlab: only when a PDF is asked for

        write_file(pdf, render_plan_pdf(plan, WORDS[plan.lang]))
        # Standard output may carry the Markdown: confirmations go to standard error.
        click.echo(f"Wrote {pdf}", err=True)
    if out is None:
        sys.stdout.write(text)
    else:
        write_file(out, text.encode("utf-8"))
        click.echo(f"Wrote {out}", err=True)
