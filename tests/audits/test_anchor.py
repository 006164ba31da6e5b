"""The trail head kept outside the database: appended whole, checked line by line, and an anchor
file that is not one (a FIFO, a huge line, garbage) is named, never waited on or read whole."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from audits.anchor import MAX_LINE, append_head, check_anchor
from audits.errors import StoreError

H1, H2, H3 = ("sha256:" + c * 64 for c in "123")


def test_every_anchored_head_must_still_be_in_the_trail(tmp_path: Path) -> None:
    anchor = tmp_path / "assay.head"
    append_head(anchor, 1, H1)
    append_head(anchor, 2, H2)
    assert anchor.read_text(encoding="ascii") == f"1 {H1}\n2 {H2}\n"
    assert check_anchor(anchor, {1: H1, 2: H2, 3: H3}) == []  # the chain grew past it
    assert check_anchor(anchor, {1: H1, 2: H3}) == [
        f"trail record 2 is not the one anchored at {anchor}, line 2: the chain was rewritten"
    ]
    assert check_anchor(anchor, {1: H1}) == [
        f"the trail ends at record 1, but {anchor} anchors record 2: records were deleted from the trail"
    ]


def test_a_missing_anchor_matters_only_once_there_is_a_trail(tmp_path: Path) -> None:
    anchor = tmp_path / "assay.head"
    assert check_anchor(anchor, {}) == []
    assert check_anchor(anchor, {1: H1}) == [
        f"the anchor {anchor} is missing: the trail's end cannot be checked (was it removed?)"
    ]


def test_garbage_and_an_endless_line_are_named_by_line(tmp_path: Path) -> None:
    anchor = tmp_path / "assay.head"
    with anchor.open("wb") as out:
        out.write(f"1 {H1}\n".encode())
        out.write(b"x" * (10 * MAX_LINE * 1000) + b"\n")  # 2 MB on one line
        out.write(b"2 sha256:nothex\n")
        out.write(f"2 {H2}\n".encode())
    assert check_anchor(anchor, {1: H1, 2: H2}) == [
        f"{anchor}, line 2: not '<seq> sha256:<hex>'",
        f"{anchor}, line 3: not '<seq> sha256:<hex>'",
    ]


def test_a_fifo_in_the_anchors_place_is_refused_at_once(tmp_path: Path) -> None:
    anchor = tmp_path / "assay.head"
    os.mkfifo(anchor)
    assert check_anchor(anchor, {1: H1}) == [f"the anchor {anchor} is not a regular file"]
    with pytest.raises(StoreError, match=r"could not be anchored in .*assay\.head"):
        append_head(anchor, 1, H1)
