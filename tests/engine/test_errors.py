"""Problems are listed once each, by file, line and path, with numbers in numeric order."""

from __future__ import annotations

import random

from engine.errors import EvidencePackError, InputError, Problem


def test_problems_are_ordered_by_file_line_then_path_with_numeric_indexes() -> None:
    expected = [
        Problem("a/pack.json", None, "claims[2].characteristic", "unknown"),
        Problem("a/pack.json", None, "items[2].offered_for[0]", "unknown"),
        Problem("a/pack.json", None, "items[2].offered_for[10]", "unknown"),
        Problem("a/pack.json", None, "items[10].offered_for[1]", "unknown"),
        Problem("a/pack.json", None, "items[100]", "unknown"),
        Problem("a/pack.json", None, "model", "pack is for 'x'"),
        Problem("a/pack.json", 9, "items[1].kind", "bad kind"),
        Problem("a/pack.json", 10, "items[1].title", "too long"),
        Problem("a/pack.json", 10, "items[1].title", "with a control character"),
        Problem("attachments/scan2.pdf", None, "", "not referenced by the manifest"),
        Problem("attachments/scan10.pdf", None, "", "not referenced by the manifest"),
    ]
    shuffled = [*expected, expected[3]]  # a repeat is listed once
    random.Random(7).shuffle(shuffled)
    error = InputError(shuffled)
    assert error.problems == expected
    lines = str(error).splitlines()
    assert lines[0] == "invalid input: 11 problems"
    assert lines[2:5] == [
        "  - a/pack.json: items[2].offered_for[0]: unknown",
        "  - a/pack.json: items[2].offered_for[10]: unknown",
        "  - a/pack.json: items[10].offered_for[1]: unknown",
    ]
    assert lines[7] == "  - a/pack.json:9: items[1].kind: bad kind"


def test_the_order_is_total_even_where_numbers_read_alike() -> None:
    padded, plain = Problem("p.json", None, "items[07]", "m"), Problem("p.json", None, "items[7]", "m")
    assert EvidencePackError([plain, padded]).problems == EvidencePackError([padded, plain]).problems
    huge = Problem("p.json", None, "x" + "9" * 5000, "a field name of digits")  # int() caps digits at 4300
    assert EvidencePackError([huge, plain]).problems == [plain, huge]
