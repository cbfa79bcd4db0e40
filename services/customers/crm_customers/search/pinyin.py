"""Search keys for customer names: full pinyin and pinyin initials of Chinese names, so that
`beijing` and `bjkj` find 北京科技有限公司 (docs/customers.md, "Search").

Computed in Python (pypinyin) on every write of `name` (customer/repository.py) and by the
backfill in migration c0008. Heteronyms (多音字) get one reading: pypinyin's phrase dictionary
picks the common one for its context (重庆 -> chongqing, 银行 -> yinhang); other readings are not
indexed. Characters that are not Chinese are kept as they are (lower-cased letters and digits), so
`abc科技` -> `abckeji` / `abckj`."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from pypinyin import Style, lazy_pinyin

# What a pinyin query may contain: letters, with spaces or apostrophes between syllables.
_PINYIN_QUERY: Final = re.compile(r"^[a-z][a-z' ]*$")
_KEEP: Final = re.compile(r"[0-9a-z]+")


def _ascii_part(text: str) -> str:
    return "".join(_KEEP.findall(text.lower()))


_HAN: Final = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")


@lru_cache(maxsize=65536)
def search_keys(name: str) -> tuple[str, str]:
    """(full pinyin, initials) of a name, lower-case without separators; ("", "") when the name
    has no Chinese characters (its own text is searched already)."""
    if not _HAN.search(name):
        return "", ""
    full: list[str] = []
    initials: list[str] = []
    position = 0
    for run in _HAN.finditer(name):
        other = _ascii_part(name[position:run.start()])
        full.append(other)
        initials.append(other)
        # One call per run of Chinese characters, so phrases pick their common reading.
        syllables = [s for s in lazy_pinyin(run.group(), style=Style.NORMAL) if s.isascii() and s.isalpha()]
        full.extend(syllables)
        initials.extend(s[0] for s in syllables)
        position = run.end()
    tail = _ascii_part(name[position:])
    full.append(tail)
    initials.append(tail)
    return "".join(full), "".join(initials)


def pinyin_query(q: str) -> str:
    """The form of a query that can match pinyin keys ("Bei Jing" -> "beijing"); "" when the query
    is not plain Latin letters."""
    lowered = q.strip().lower()
    if not _PINYIN_QUERY.match(lowered):
        return ""
    return lowered.replace(" ", "").replace("'", "")


def name_columns(name: str) -> dict[str, str]:
    """The search columns to store with a name."""
    full, initials = search_keys(name)
    return {"name_pinyin": full, "name_initials": initials}
