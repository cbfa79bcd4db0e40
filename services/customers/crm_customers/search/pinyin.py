"""Search keys for customer names: full pinyin and pinyin initials of Chinese names, so that
`beijing` and `bjkj` find 北京科技有限公司 (docs/customers.md, "Search").

Computed in Python (pypinyin) on every write of `name` (customer/repository.py, the import) and
by the backfill in migration c0008. Heteronyms (多音字) get one reading: pypinyin's phrase dictionary
picks the common one for its context (重庆 -> chongqing, 银行 -> yinhang); other readings are not
indexed. Characters that are not Chinese are kept as they are (lower-cased letters and digits), so
`abc科技` -> `abckeji` / `abckj`.

Fast, and exactly `lazy_pinyin`: a run of Chinese characters is cut into words by pypinyin's own
segmenter (forward maximum matching on its phrase dictionary), and each word's syllables come from a
cache filled by pypinyin's own converter (words repeat: 有限公司, 科技, 北京), so the per-call
pipeline (a converter per call, deep copies, style conversion of every syllable) runs once per
distinct word instead of once per name: ~15 us instead of ~80 us a name
(tests/customers/test_search.py compares both on a sample)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from pypinyin import Style
from pypinyin.converter import UltimateConverter
from pypinyin.seg.simpleseg import seg

# What a pinyin query may contain: letters, with spaces or apostrophes between syllables.
_PINYIN_QUERY: Final = re.compile(r"^[a-z][a-z' ]*$")
_KEEP: Final = re.compile(r"[0-9a-z]+")


def _ascii_part(text: str) -> str:
    return "".join(_KEEP.findall(text.lower()))


_HAN: Final = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")


# What `lazy_pinyin(text, style=Style.NORMAL)` builds per call (v_to_u, neutral tone and sandhi off).
_CONVERTER: Final = UltimateConverter()


@lru_cache(maxsize=200_000)
def _word_syllables(word: str) -> tuple[str, ...]:
    """One segmented word's syllables, as `lazy_pinyin` gives them for it."""
    return tuple(s for item in _CONVERTER.convert(word, Style.NORMAL, False, "default", True) for s in item)


def run_syllables(run: str) -> list[str]:
    """`lazy_pinyin(run, style=Style.NORMAL)` of a run of Chinese characters: the same segmentation
    (pypinyin's `seg`), each word's syllables from the cache."""
    return [s for word in seg(run) for s in _word_syllables(word)]


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
        syllables = [s for s in run_syllables(run.group()) if s.isascii() and s.isalpha()]
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
