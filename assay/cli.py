"""The ``assay`` command line: a thin shell over the engine, the store and the certificates.

Each command lives in the module named below and is imported only when it runs, so
``assay --help`` answers at once and ``assay evaluate`` never loads signing or the store.

Errors are mapped to exit codes here and nowhere else:
0 success; 2 bad input (rule pack, evidence pack, scheme, signing key, usage); 3 audit trail
does not verify; 4 inference failed; 5 output could not be written; 6 a certificate does not
verify; 7 the register or signer refused (a forbidden transition, no such register, signing);
8 an engagement operation was refused (role, separation of duties, or not at that step).
"""

from __future__ import annotations

import logging
import sys
import warnings

import click

from assay.groups import LazyGroup
from engine.errors import AssayError, EngineError, InputError, OutputError, TrailError

# name -> (where the command is, its one-line summary as `assay --help` shows it); a test checks
# each summary against the command's own help.
COMMANDS: dict[str, tuple[str, str]] = {
    "benchmark": (
        "assay.benchmark_cli:benchmark_command",
        "Compare communities' results per characteristic and dimension.",
    ),
    "ca": ("assay.cert_cli:ca_group", "Test certificate authorities for demos and tests."),
    "cert": ("assay.cert_cli:cert_group", "Issue certificates and keep the register."),
    "demo": (
        "assay.demo:demo_command",
        "Run the whole certification process on the sample community, to a signed TEST certificate.",
    ),
    "engagement": (
        "assay.engagement_cli:engagement_group",
        "Audit engagements from application to certificate.",
    ),
    "evaluate": (
        "assay.evaluate_cli:evaluate_command",
        "Evaluate an evidence pack (folder or manifest) on an assessment date.",
    ),
    "matrix": (
        "assay.matrix_cli:matrix_command",
        "ITU-T Y.4904 performance matrix: each KPI's level from the targets the city set.",
    ),
    "pack": ("assay.pack_cli:pack_group", "Create, extend, check and convert evidence packs."),
    "people": ("assay.engagement_cli:people_group", "Who may act, and in which body roles."),
    "plan": (
        "assay.plan_cli:plan_command",
        "An improvement plan towards a target level, from an evaluation's result.",
    ),
    "rules": ("assay.rules_cli:rules_group", "Inspect and check rule packs."),
    "serve": (
        "assay.serve_cli:serve_command",
        "Serve the HTTP API (FastAPI on uvicorn); the OpenAPI document is at /openapi.json.",
    ),
    "trail": ("assay.trail_cli:trail_group", "Check audit trails."),
    "verify": (
        "assay.cert_cli:verify_command",
        "Verify a certificate offline: signature, embedded result, expiry and register status.",
    ),
    "worker": (
        "assay.worker_cli:worker_command",
        "Run queued jobs, such as the re-rating of certificates a rule pack install queues.",
    ),
}


@click.group(cls=LazyGroup, lazy=COMMANDS, help="Evidence-based maturity audits and certification.")
def app() -> None:
    """The ``assay`` command group."""


def _exit_code(exc: AssayError) -> int:
    # Imported here: the store and certificate packages load only for the commands using them,
    # and an error of theirs can only come from such a command.
    from audits.errors import RefusedError, StoreError
    from certificates.errors import RegisterError, SigningError, VerificationError

    codes: list[tuple[type[AssayError], int]] = [
        (InputError, 2),
        (TrailError, 3),
        (EngineError, 4),
        (OutputError, 5),
        (VerificationError, 6),
        (RegisterError, 7),
        (StoreError, 7),
        (SigningError, 7),
        (RefusedError, 8),
    ]
    return next((code for cls, code in codes if isinstance(exc, cls)), 1)


def _unreachable_store(exc: Exception) -> str | None:
    """The reason, when ``exc`` says the database is unreachable or locked past its timeout."""
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_exc is None or not isinstance(exc, sqlalchemy_exc.OperationalError):
        return None
    orig = exc.orig
    # The driver's message names host and port, never the password.
    return str(orig).splitlines()[0] if orig is not None else str(exc)


def run(argv: list[str]) -> int:
    """Run the CLI with ``argv``; returns the exit code (errors mapped here, once)."""
    try:
        app.main(args=argv, prog_name="assay", standalone_mode=False)
    except AssayError as exc:
        sys.stderr.write(f"assay: {exc}\n")
        return _exit_code(exc)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return 2
    except click.exceptions.Abort:
        return 130
    except Exception as exc:
        reason = _unreachable_store(exc)
        if reason is None:
            raise
        sys.stderr.write(f"assay: the store cannot be used: {reason}\n")
        return 7
    return 0


def main() -> None:
    """Console entry point."""
    # A library's deprecation notice is for its developers, not for someone running a command:
    # Python's recommended default for applications. `-W` or PYTHONWARNINGS still shows them,
    # and the test suite turns every warning into an error (pyproject.toml).
    if not sys.warnoptions:
        warnings.simplefilter("ignore")
    # pyHanko logs every failed path validation with a traceback; the verdict and its reasons
    # are what a user of the command needs, so its records are dropped here, not in the library.
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).addHandler(logging.NullHandler())
    sys.exit(run(sys.argv[1:]))
