"""``assay serve``: the HTTP API (:mod:`api`) on uvicorn, over the same store as the other commands."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import click

from assay.cert_cli import PASSWORD_ENV, PATH, data_option
from assay.services import DATE, attachments_option, rules_option


@click.command("serve")
@data_option
@attachments_option
@rules_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port.")
@click.option("--key", "key_path", type=PATH, default=None, help="PKCS#12 signing key (issuing needs one).")
@click.option(
    "--password-env", default=None, help=f"Variable with the key's password (default {PASSWORD_ENV})."
)
@click.option("--password-file", type=PATH, default=None, help="File holding the key's password.")
@click.option("--body", default="", help="The certification body, as it signs.")
@click.option("--trust", type=PATH, default=None, help="Trust anchor (root CA PEM) for verifying uploads.")
@click.option(
    "--certificates", type=PATH, default=None, help="Folder for issued PDFs (default DATA/certificates)."
)
@click.option(
    "--public-rate",
    type=click.IntRange(0),
    default=120,
    show_default=True,
    help="Requests a minute one address may make to the public endpoints (0: no limit).",
)
@click.option(
    "--date", "day", type=DATE, default=None, help="Fix the day operations take effect (demos, replays)."
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Server processes on this port (each stateless; one per core).",
)
def serve_command(
    data: str,
    attachments: Path | None,
    rules_dir: Path | None,
    host: str,
    port: int,
    key_path: Path | None,
    password_env: str | None,
    password_file: Path | None,
    body: str,
    trust: Path | None,
    certificates: Path | None,
    public_rate: int,
    day: dt.datetime | None,
    workers: int,
) -> None:
    """Serve the HTTP API (FastAPI on uvicorn); the OpenAPI document is at /openapi.json."""
    import uvicorn

    from api.app import create_app
    from api.launch import ENVIRONMENT, Launch

    launch = Launch(
        data=data,
        attachments=None if attachments is None else str(attachments),
        rules_dir=None if rules_dir is None else str(rules_dir),
        day=None if day is None else day.date().isoformat(),
        key=None if key_path is None else str(key_path),
        password_env=password_env or (None if password_file else PASSWORD_ENV),
        password_file=None if password_file is None else str(password_file),
        body=body,
        trust=None if trust is None else str(trust),
        certificates=None if certificates is None else str(certificates),
        public_rate=public_rate,
    )
    settings = launch.settings()  # loads the key and the trust anchor: a bad one stops here
    options = {
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,
        "server_header": False,
    }
    if workers == 1:
        uvicorn.run(create_app(settings), **options)  # type: ignore[arg-type]
        return
    # Each worker process builds its own app from the same launch settings (uvicorn forks the
    # workers from an import string); they share nothing but the store.
    os.environ[ENVIRONMENT] = launch.model_dump_json()
    uvicorn.run("api.launch:app_from_environment", factory=True, workers=workers, **options)  # type: ignore[arg-type]
