"""Writing an output folder all at once, or not at all.

Files go to a temporary sibling folder that is renamed into place when complete, so a failure
half way never leaves a partial folder behind and a reader never sees one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from engine.errors import OutputError


def write_folder(target: Path, files: Mapping[str, bytes], *, replace: bool) -> None:
    """Write ``files`` (name -> content) as the folder ``target``.

    ``replace``: swap out an existing folder; otherwise refuse a non-empty existing one.
    """
    target = target.resolve()
    if target.exists() and not target.is_dir():
        raise OutputError(f"{target} exists and is not a folder")
    if target.exists() and any(target.iterdir()) and not replace:
        raise OutputError(f"{target} is not empty; choose a new folder or pass --force")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for name, content in files.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)  # names may hold a folder
            (staging / name).write_bytes(content)
            _sync(staging / name)
        if target.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
            os.replace(target, retired / "old")
            os.replace(staging, target)
            shutil.rmtree(retired)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _sync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())
