"""``assay serve``: the HTTP API (:mod:`api`) on uvicorn, over the same store as the other commands."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from assay.cert_cli import PASSWORD_ENV, PATH, _certificates, data_option
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
) -> None:
    """Serve the HTTP API (FastAPI on uvicorn); the OpenAPI document is at /openapi.json."""
    import uvicorn

    from api.app import create_app
    from api.settings import Settings
    from certificates.keys import load_signing_key, read_password
    from engine.sources import FixedClock

    key = None
    if key_path is not None:
        env = password_env or (None if password_file else PASSWORD_ENV)
        key = load_signing_key(key_path, read_password(env, password_file))
    settings = Settings(
        data=data,
        attachments=attachments,
        rules_dir=rules_dir,
        clock=FixedClock.at_date(day.date()) if day is not None else None,
        key=key,
        body=body,
        certificates=certificates,
        trust=_certificates(trust) if trust is not None else (),
        public_rate=public_rate,
    )
    app = create_app(settings)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, server_header=False)
