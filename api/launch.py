"""How ``assay serve`` starts its processes: the options as plain data, turned into
:class:`~api.settings.Settings` in each process (a signing key cannot cross a fork as an object,
so every worker loads it from the same file and password)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

from api.settings import Settings

ENVIRONMENT = "ASSAY_SERVE_LAUNCH"
"""The variable a multi-process server passes its launch options to its workers in."""


class Launch(BaseModel):
    """``assay serve``'s options (no secret: the key's password stays in its variable or file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: str
    attachments: str | None = None
    rules_dir: str | None = None
    day: str | None = None
    key: str | None = None
    password_env: str | None = None
    password_file: str | None = None
    body: str = ""
    trust: str | None = None
    certificates: str | None = None
    public_rate: int = 120

    def settings(self) -> Settings:
        """The settings, with the key and trust anchor loaded (an input error names a bad one)."""
        from certificates.keys import load_signing_key, load_trust, read_password
        from engine.sources import FixedClock

        key = None
        if self.key is not None:
            password_file = Path(self.password_file) if self.password_file else None
            key = load_signing_key(Path(self.key), read_password(self.password_env, password_file))
        return Settings(
            data=self.data,
            attachments=Path(self.attachments) if self.attachments else None,
            rules_dir=Path(self.rules_dir) if self.rules_dir else None,
            clock=FixedClock.at_date(dt.date.fromisoformat(self.day)) if self.day else None,
            key=key,
            body=self.body,
            certificates=Path(self.certificates) if self.certificates else None,
            trust=load_trust(Path(self.trust)) if self.trust else (),
            public_rate=self.public_rate,
        )


def app_from_environment() -> FastAPI:
    """The app of one worker process of a multi-process ``assay serve``. A worker is a fresh
    interpreter: it hides library warnings from the server's log as the command line does."""
    import sys
    import warnings

    from api.app import create_app

    if not sys.warnoptions:
        warnings.simplefilter("ignore")
    return create_app(Launch.model_validate_json(os.environ[ENVIRONMENT]).settings())
