"""Names a register may print: Unicode TR39's checks for community and person names and ids.

A certificate names its community, and the register is searched by name, so a name that only
looks like another ("Norbridge" spelt with a Greek capital Nu) is an impersonation waiting to
happen.
Two checks from Unicode Technical Standard #39, on the Unicode data that
``confusable_homoglyphs`` ships:
- **Restriction level "highly restrictive"** (TR39 §5.2): the scripts of a name's letters, less
  Common and Inherited (digits, spaces, punctuation, combining marks), are one script, or Latin
  with Han and Japanese kana, or Latin with Han and Bopomofo, or Latin with Han and Hangul.
  "Harbourton 港城" passes; Norbridge with a Greek Nu (Greek and Latin) does not.
- **Confusable with a known name** (TR39 §4, skeletons): a new community whose name or id has
  the same skeleton as an existing community's, but is not the same text, is refused.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import cache, lru_cache

from confusable_homoglyphs import categories, confusables  # type: ignore[import-untyped]

_IGNORED = frozenset({"COMMON", "INHERITED"})
_ALLOWED_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)


def scripts(text: str) -> frozenset[str]:
    """The scripts of ``text``'s characters, less Common and Inherited."""
    return frozenset(categories.alias(c) for c in text) - _IGNORED


def name_problem(text: str) -> str | None:
    """Why ``text`` may not name a community or person, or None when it may."""
    found = scripts(text)
    if len(found) <= 1 or any(found <= allowed for allowed in _ALLOWED_MIXES):
        return None
    named = ", ".join(sorted(s.title() for s in found))
    return f"{text!r} mixes the scripts {named}, so it can pass for another name (Unicode TR39)"


@cache
def _skeleton_of(char: str) -> str:
    found = confusables.is_confusable(char, greedy=True, preferred_aliases=["latin"])
    if found:
        for glyph in found[0]["homoglyphs"]:
            if scripts(glyph["c"]) <= {"LATIN"}:
                return str(glyph["c"])
    return char


@lru_cache(maxsize=1 << 16)  # every application compares with every other community's names
def skeleton(text: str) -> str:
    """TR39's skeleton of ``text`` towards Latin (what it looks like), then case and width folded
    so that a register search treats "HARBOURTON" and "Harbourton" alike."""
    mapped = "".join(_skeleton_of(c) for c in unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFKC", mapped).casefold()


def confusable_with(text: str, known: Iterable[str]) -> str | None:
    """A known name ``text`` looks like without being it, if any."""
    mine = skeleton(text)
    return next((other for other in sorted(set(known)) if other != text and skeleton(other) == mine), None)
