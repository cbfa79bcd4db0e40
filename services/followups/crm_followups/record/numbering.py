"""Record numbers from the tenant's pattern (`followup_settings.record_number_pattern`, default
`{year}{month}{day}{seq:03}` -> 20240320001): the tokens of customer codes (docs/customers.md,
"Customer codes") without the dictionary ones. The sequence is per rendered prefix, so the default
restarts every day; the date is the UTC date of the creation. The counter row is taken in the
record's transaction: records of one tenant and day are numbered one commit at a time, without
gaps (a rolled-back record gives its number back)."""

from __future__ import annotations

import re
from datetime import date
from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.record.tables import followup_settings, record_counters

PATTERN_KEY: Final = "record_number_pattern"
DEFAULT_PATTERN: Final = "{year}{month}{day}{seq:03}"
# Stands for the number in a rendered prefix (what the counter row is keyed by).
SEQ_MARK: Final = "{seq}"
TOKEN_RE: Final = re.compile(r"\{(year|yy|month|day|seq)(:0\d)?\}")


def render(pattern: str, today: date) -> tuple[str, int]:
    """The prefix (the pattern without its sequence) and the sequence's zero-padded width."""
    width = 1
    values = {"year": f"{today:%Y}", "yy": f"{today:%y}", "month": f"{today:%m}", "day": f"{today:%d}"}
    parts: list[str] = []
    position = 0
    for match in TOKEN_RE.finditer(pattern):
        parts.append(pattern[position:match.start()])
        name, pad = match.group(1), match.group(2)
        if name == "seq":
            width = int(pad[2:]) if pad else 1
            parts.append(SEQ_MARK)
        else:
            parts.append(values[name])
        position = match.end()
    parts.append(pattern[position:])
    text = "".join(parts)
    if SEQ_MARK not in text:
        text += SEQ_MARK
    return text, width


async def next_number(session: AsyncSession, today: date) -> str:
    pattern = (await session.execute(sa.select(followup_settings.c.value)
                                     .where(followup_settings.c.key == PATTERN_KEY))).scalar() or DEFAULT_PATTERN
    prefix, width = render(pattern, today)
    statement = pg_insert(record_counters).values(prefix=prefix, last=1)
    taken = (await session.execute(statement.on_conflict_do_update(
        index_elements=[record_counters.c.prefix], set_={"last": record_counters.c.last + 1},
    ).returning(record_counters.c.last))).scalar_one()
    return prefix.replace(SEQ_MARK, f"{taken:0{width}d}")
