"""`short_search_grams` (migrations c0012, c0211, c0251) computed in Python, for the customer
import: PostgreSQL's function costs ~38 us of backend CPU per customer row, this ~5 us in the
importing process, and the import is PostgreSQL-bound.

Only for texts where Python and PostgreSQL provably agree: printable ASCII and CJK ideographs
(lower() maps A-Z alike and nothing else; the only whitespace is the ASCII space). Any other text
gives None, and PostgreSQL's trigger computes the column as for every other writer. The result
holds the same grams as PostgreSQL's (tests/customers/test_search.py compares them on generated
names); their order may differ (array_agg(DISTINCT) sorts by the database's collation), which
neither the GIN index nor `@>` sees."""

from __future__ import annotations

import re
from typing import Final

_PLAIN: Final = re.compile(r"[\x20-\x7e\u3400-\u4dbf\u4e00-\u9fff]*")


def short_search_text(name: str, contact_person: str, name_initials: str) -> str:
    """c0012's SHORT_SEARCH_TEXT before lower()."""
    return f"{name} {contact_person} {name_initials}"


def short_search_grams(text: str) -> list[str] | None:
    """short_search_grams(lower(text)): the distinct two-character pairs without whitespace and
    the single non-ASCII characters; None when the text is not plain (see above)."""
    if not _PLAIN.fullmatch(text):
        return None
    t = text.lower()
    grams = {t[i:i + 2] for i in range(len(t) - 1)}
    grams.discard("")
    found = {g for g in grams if " " not in g}
    found.update(ch for ch in t if ord(ch) > 127)
    return sorted(found)
