"""Customer codes from the tenant's pattern (docs/customers.md, "Customer codes"): the one way to
allocate them, for a create and for the bulk import, which takes them in blocks.

Numbers come from `code_counters`, one row per rendered prefix. They are taken like a sequence's:
the counter is incremented in a transaction of its own (autocommit, on a small pool of its own)
and committed at once, so creates of one prefix never wait for each other's transactions (with
the counter's row lock held until the create committed, creates of a tenant ran one at a time:
docs/benchmarks.md). Codes stay unique (the unique index decides; a number taken meanwhile by a
hand-entered code is skipped) and increase with time; a number stays unused when the write that
took it fails afterwards (the checks of a create run before it takes one), so codes are not
promised gapless, like PostgreSQL sequences and most CRMs' auto-numbers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_customers.customer import repository
from crm_customers.customer.tables import code_counters
from crm_customers.settings import dictionaries
from crm_customers.settings import service as settings
from crm_platform.db import create_engine, tenant_engine
from crm_platform.errors import Conflict, FieldError

# Rounds of "take numbers, drop the ones taken by hand" before giving up (409 code_taken).
MAX_ROUNDS: Final = 1000
# Connections of the counters' own pool: each is held for one short statement.
POOL_SIZE: Final = 2


@dataclass(frozen=True)
class CodePrefix:
    """A pattern rendered for one customer: everything but the number (settings.SEQ_MARK), and
    the number's zero-padded width. Customers with equal prefixes share one counter."""

    text: str
    width: int

    def code(self, number: int) -> str:
        return settings.format_code(self.text, self.width, number)


async def prefix_for(
    session: AsyncSession, pattern: str, values: dict[str, Any], errors: list[FieldError],
    today: date | None = None, loaded: dict[str, dictionaries.Dictionary] | None = None,
) -> CodePrefix | None:
    """The tenant's pattern rendered for a customer with these (cleaned) values: `{region}` is the
    short code of the region's top level, `{industry}` the industry entry's code. None, with a
    `required_for_code` error per missing part, when the pattern needs a value the customer lacks.
    `loaded`: dictionaries the caller has read already."""
    found: dict[str, str] = {}
    for name in sorted(settings.pattern_needs(pattern)):
        value = values.get(name) or ""
        if not value:
            errors.append(FieldError(name, "required_for_code",
                                     f"the tenant's code pattern needs a {name} from the dictionary"))
            continue
        dictionary = (loaded or {}).get(name) or await dictionaries.load(session, name)
        entry = dictionary.resolve(value)
        if entry is None:
            errors.append(FieldError(name, "required_for_code",
                                     f"the tenant's code pattern needs a {name} from the dictionary"))
            continue
        found[name] = (dictionary.root_of(entry) if name == "region" else entry).code.upper()
    if errors:
        return None
    text, width = settings.render_prefix(pattern, region=found.get("region", ""), industry=found.get("industry", ""),
                                         today=today or datetime.now(UTC).date())
    return CodePrefix(text, width)


_counter_engines: dict[str, AsyncEngine] = {}


def _counters(session: AsyncSession) -> AsyncEngine:
    """The counters' pool for the session's database (made on first use in this process). Its own
    pool, so a create holding a connection of the main pool never waits for a second one there."""
    bind = session.get_bind()
    url = (bind.engine if isinstance(bind, sa.Connection) else bind).url.render_as_string(hide_password=False)
    engine = _counter_engines.get(url)
    if engine is None:
        engine = _counter_engines[url] = create_engine(url, POOL_SIZE, isolation_level="AUTOCOMMIT")
    return engine


async def dispose() -> None:
    """Closes the counters' pools (service shutdown)."""
    engines = list(_counter_engines.values())
    _counter_engines.clear()
    for engine in engines:
        await engine.dispose()


_COUNT: Final = sa.bindparam("count", type_=sa.BigInteger)
# Built once (a statement built per call is walked for its cache key on every create).
_TAKE: Final = (
    pg_insert(code_counters)
    .values(prefix=sa.bindparam("prefix", type_=sa.Text), last=_COUNT)
    .on_conflict_do_update(index_elements=["prefix"], set_={"last": code_counters.c.last + _COUNT})
    .returning(code_counters.c.last)
)


async def take_numbers(session: AsyncSession, tenant_id: uuid.UUID, prefix: CodePrefix, count: int) -> list[int]:
    """`count` consecutive numbers of the prefix's counter, committed at once (see the module)."""
    async with tenant_engine(_counters(session), tenant_id).connect() as connection:
        last = int((await connection.execute(_TAKE, {"prefix": prefix.text, "count": count})).scalar_one())
    return list(range(last - count + 1, last + 1))


async def allocate(
    session: AsyncSession, tenant_id: uuid.UUID, prefix: CodePrefix, count: int = 1, *, skip_taken: bool = True
) -> list[str]:
    """`count` codes of one prefix, in increasing order. With `skip_taken`, codes customers
    already have (entered by hand) are checked in one query per block and replaced; without it the
    caller inserts with ON CONFLICT on the code and asks again for the rows that conflicted (a
    single create does so: no query at all in the usual case)."""
    codes: list[str] = []
    for _ in range(MAX_ROUNDS):
        wanted = count - len(codes)
        if wanted <= 0:
            return codes
        fresh = [prefix.code(n) for n in await take_numbers(session, tenant_id, prefix, wanted)]
        if skip_taken:
            taken = await repository.existing_codes(session, fresh)
            fresh = [c for c in fresh if c not in taken]
        codes += fresh
    raise Conflict("no free customer code for this pattern", code="code_taken", extra={"field": "code"})


async def insert_with_code(
    session: AsyncSession, tenant_id: uuid.UUID, prefix: CodePrefix | None, values: dict[str, Any]
) -> sa.Row[Any]:
    """Inserts a customer (customer/repository.py `insert`). Without a code in `values`, one is
    taken for `prefix` after every check has passed, just before the INSERT; a code entered by hand
    that turns out to be taken (now or meanwhile) is 409 `code_taken` on `code`."""
    if values.get("code"):
        row = await repository.insert(session, values)
        if row is None:
            raise Conflict("a customer with this code exists", code="code_taken", extra={"field": "code"})
        return row
    assert prefix is not None, "a generated code needs the pattern's prefix"
    for _ in range(MAX_ROUNDS):
        [code] = await allocate(session, tenant_id, prefix, skip_taken=False)
        row = await repository.insert(session, {**values, "code": code})
        if row is not None:
            return row
    raise Conflict("no free customer code for this pattern", code="code_taken", extra={"field": "code"})
