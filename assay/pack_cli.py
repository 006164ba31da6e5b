"""``assay pack``: create, extend, check and convert evidence packs; the self-assessment workbook.

Commands that change a pack (``add``, ``import-claims``) read and check the whole pack first,
build the new pack in memory, check it again, and only then write, atomically; any problem
leaves the pack exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import shutil
import sys
from pathlib import Path

import click

import rules as bundled_rules
from assay.groups import Group
from engine.errors import EvidencePackError, OutputError, Problem
from engine.rulepack import load_rule_pack
from evidence_schemas.common import Attachment
from evidence_schemas.pack import EvidencePack
from evidence_schemas.reader import MANIFESTS, Format, LoadedPack, hash_stream, read_pack
from evidence_schemas.starter import starter_pack
from evidence_schemas.workbook import read_claims, write_template
from evidence_schemas.writer import atomic_write, manifest_bytes, write_manifest

ATTACHMENTS = "attachments"


@click.group("pack", cls=Group, help="Create, extend, check and convert evidence packs.")
def pack_group() -> None:
    """``assay pack``."""


def _folder(location: Path) -> Path:
    """A pack folder (a manifest path names its folder); zips are read-only."""
    folder = location.parent if location.name in MANIFESTS else location
    if not folder.is_dir():
        raise EvidencePackError([Problem(str(location), None, "", "changes need a pack folder, not a zip")])
    return folder


def _format(loaded: LoadedPack) -> Format:
    return MANIFESTS[loaded.manifest]


def _checked(pack: EvidencePack) -> EvidencePack:
    """A changed pack, validated again as a whole (``model_copy`` does not validate)."""
    return EvidencePack.model_validate(pack.model_dump())


@pack_group.command("init")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--community", default="Example Town", show_default=True, help="Community name.")
@click.option("--format", "fmt", type=click.Choice(["json", "xml"]), default="json", show_default=True)
@click.option(
    "--date",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Date the examples use (default: today).",
)
def init(folder: Path, community: str, fmt: Format, day: dt.datetime | None) -> None:
    """Start a pack: a manifest with one example item of each evidence kind."""
    if folder.exists() and any(folder.iterdir()):
        raise OutputError(f"{folder} is not empty")
    folder.mkdir(parents=True, exist_ok=True)
    today = day.date() if day else dt.date.today()
    path = write_manifest(folder, starter_pack(community, today), fmt)
    read_pack(folder)  # the starter must always be a valid pack
    sys.stdout.write(f"wrote {path}: 7 example items (one per evidence kind) and one claim; edit them\n")


@pack_group.command("add")
@click.argument("folder", type=click.Path(path_type=Path))
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--kind", required=True, help="Kind of the item the file backs (checked).")
@click.option("--id", "item_id", required=True, help="Id of the item the file backs.")
@click.option("--media-type", default=None, help="Media type (default: guessed from the file name).")
def add(folder: Path, file: Path, kind: str, item_id: str, media_type: str | None) -> None:
    """Attach a file to an item: copy it into the pack, hash it, update the manifest."""
    folder = _folder(folder)
    loaded = read_pack(folder)
    index = next((i for i, item in enumerate(loaded.pack.items) if item.id == item_id), None)
    if index is None:
        message = f"no item {item_id!r} in the pack; add the item to the manifest first"
        raise EvidencePackError([Problem(str(folder), None, "items", message)])
    item = loaded.pack.items[index]
    if item.kind != kind:
        raise EvidencePackError(
            [Problem(str(folder), None, f"items[{index}].kind", f"{item_id} is a {item.kind}, not a {kind}")]
        )
    relative = f"{ATTACHMENTS}/{file.name}"
    with file.open("rb") as handle:
        sha256, size = hash_stream(handle, 1 << 40)
    attachment = Attachment(
        path=relative,
        media_type=media_type or mimetypes.guess_type(file.name)[0] or "application/octet-stream",
        size=size,
        sha256=sha256,
    )
    target = folder / relative
    if target.exists():
        with target.open("rb") as handle:
            if hash_stream(handle, 1 << 40)[0] != sha256:
                raise OutputError(f"{target} exists with other content; rename the file")
    items = list(loaded.pack.items)
    items[index] = item.model_copy(update={"attachments": [*item.attachments, attachment]})
    updated = _checked(loaded.pack.model_copy(update={"items": items}))
    manifest = folder / loaded.manifest
    original = manifest.read_bytes()
    copied = not target.exists()
    if copied:
        target.parent.mkdir(exist_ok=True)
        temporary = target.with_name(f".{target.name}.partial")
        shutil.copyfile(file, temporary)
        temporary.replace(target)
    try:
        write_manifest(folder, updated, _format(loaded))
        read_pack(folder)
    except BaseException:  # put back exactly what was there
        atomic_write(manifest, original)
        if copied:
            target.unlink(missing_ok=True)
        raise
    sys.stdout.write(f"attached {relative} ({size} bytes, sha256 {sha256}) to {item_id}\n")


@pack_group.command("validate")
@click.argument("pack", type=click.Path(path_type=Path))
def validate(pack: Path) -> None:
    """Check a pack (folder, zip or manifest): schema, attachments, hashes, safety."""
    loaded = read_pack(pack)
    p = loaded.pack
    sys.stdout.write(
        f"valid: {len(p.items)} items, {len(p.verifications)} verifications, {len(p.judgements)} judgements, "
        f"{len(p.claims)} claims; "
        f"{loaded.manifest}; digest {loaded.digest}\n"
    )


@pack_group.command("export")
@click.argument("pack", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["json", "xml"]), required=True)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="File to write (default: print).")
def export(pack: Path, fmt: Format, out: Path | None) -> None:
    """Write a pack's manifest in JSON or XML (the same pack either way)."""
    data = manifest_bytes(read_pack(pack).pack, fmt)
    if out is None:
        sys.stdout.buffer.write(data)
    else:
        out.write_bytes(data)


@pack_group.command("template")
@click.option("--xlsx", "path", type=click.Path(path_type=Path), required=True, help="Workbook to write.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path), default=None, help="Rule pack folder.")
def template(path: Path, lang: str, rules_dir: Path | None) -> None:
    """Write the self-assessment workbook (the Annex A table with level-now and in-two-years columns)."""
    pack = load_rule_pack(rules_dir or bundled_rules.bundled())
    write_template(path, pack.model, pack, "zh" if lang == "zh" else "en")
    sys.stdout.write(f"wrote {path}: {len(pack.model.characteristics())} characteristics to assess\n")


@pack_group.command("import-claims")
@click.argument("workbook", type=click.Path(path_type=Path))
@click.argument("pack", type=click.Path(path_type=Path))
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path), default=None, help="Rule pack folder.")
def import_claims(workbook: Path, pack: Path, rules_dir: Path | None) -> None:
    """Read a filled workbook into the pack's claims (replacing them)."""
    folder = _folder(pack)
    loaded = read_pack(folder)
    model = load_rule_pack(rules_dir or bundled_rules.bundled()).model
    claims = read_claims(workbook, model)
    write_manifest(folder, _checked(loaded.pack.model_copy(update={"claims": claims})), _format(loaded))
    sys.stdout.write(f"imported {len(claims)} claims into {folder}\n")
