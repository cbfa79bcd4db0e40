"""Customer list benchmark (issue 4, "Find anything fast"): filtered, sorted first pages at
1,000,000 customers in one tenant, through the code path the gRPC servicer uses
(`CustomerService.list` with the caller's principal: data scope and field policies included).

    .venv/bin/python tests/bench/bench_customer_list.py --rows 1000000

Starts its own embedded Postgres (libs/crm_dev), migrates one tenant schema with the real
migrations, loads `--baseline-rows` realistic customers by COPY (pinyin columns computed by
crm_customers.search.pinyin), runs every query shape, loads the rest, runs them again, and
prints p50/p99 per shape for both sizes, the load rate and peak memory. Not collected by pytest;
tests/customers/test_bench_smoke.py runs the same query code at 2,000 rows and checks the pages.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import psycopg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.customer.list_query import ListQuery
from crm_customers.customer.service import CustomerService
from crm_customers.fields import service as fields
from crm_customers.main import DEFINITION
from crm_customers.search.pinyin import pinyin_query, search_keys
from crm_customers.sensitive.keys import LocalKeyWrapper
from crm_customers.sensitive.service import SensitiveFields
from crm_customers.settings import dictionaries
from crm_platform import migrations
from crm_platform.auth import Principal
from crm_platform.db import create_engine, tenant_session
from crm_platform.pagination import PageTokens

PAGE: Final = 50
MASTER_KEY: Final = "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="  # base64 of 32 bytes; unused by lists
CITIES: Final = ["北京", "上海", "广州", "深圳", "杭州", "南京", "成都", "重庆", "武汉", "西安", "苏州", "天津",
                 "长沙", "郑州", "青岛", "厦门", "宁波", "合肥", "济南", "沈阳", "大连", "福州", "昆明", "南昌",
                 "哈尔滨", "长春", "石家庄", "太原", "贵阳", "南宁", "兰州", "海口", "无锡", "佛山", "东莞", "温州"]
WORDS: Final = ["华信", "中科", "天成", "恒达", "金源", "宏图", "瑞丰", "鼎盛", "新锐", "博远", "安泰", "永泰",
                "嘉禾", "众诚", "创新", "联创", "汇通", "盛世", "锦程", "明德", "润泽", "海纳", "凯旋", "正大",
                "东方", "长城", "远景", "星辰", "卓越", "信达", "和美", "佳源", "银河", "万通", "九州", "同心",
                "广厦", "启明", "云帆", "智达", "百川", "欣荣", "腾飞", "聚力", "华夏", "诚信", "兴业", "宏发"]
TRADES: Final = ["科技", "贸易", "电子", "医药", "物流", "建设", "食品", "机械", "软件", "咨询", "传媒", "能源",
                 "材料", "环保", "教育", "餐饮", "服饰", "汽车", "家居", "农业"]
SUFFIXES: Final = ["有限公司", "股份有限公司", "有限责任公司", "集团有限公司"]
SURNAMES: Final = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN: Final = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉婷雪琳晨浩宇欣怡子涵"
LATIN: Final = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent", "Cyberdyne"]
STATUSES: Final = [("potential", 40), ("intent", 30), ("won", 20), ("lost", 10)]
SOURCES: Final = ["trade_show", "referral", "online", "cold_call", "partner"]
LEVELS: Final = ["A", "B", "C", "D"]
EPOCH: Final = datetime(2023, 1, 1, tzinfo=UTC)
SPAN_SECONDS: Final = 3 * 365 * 86400
OWNERS: Final = 200
TEAM_SIZE: Final = 10

# Tags in customers' projection (crm_customers/tags): on 30%, 10% and 0.1% of the customers.
TAG_COMMON: Final = uuid.uuid5(uuid.NAMESPACE_URL, "bench-tag-common")
TAG_MID: Final = uuid.uuid5(uuid.NAMESPACE_URL, "bench-tag-mid")
TAG_RARE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "bench-tag-rare")


def tags_of(customer_id: uuid.UUID) -> list[uuid.UUID]:
    """The bench tags a customer carries, from independent bits of its (random) id."""
    bits = customer_id.int
    return [tag for tag, share in ((TAG_COMMON, bits % 1000 < 300), (TAG_MID, (bits >> 20) % 1000 < 100),
                                   (TAG_RARE, (bits >> 40) % 1000 < 1)) if share]


COLUMNS: Final = (
    "id", "code", "name", "type", "industry", "region", "mobile", "email", "owner_id", "status", "version",
    "created_at", "updated_at", "created_by", "updated_by", "contact_person", "phone", "first_contact_date",
    "source", "employees", "annual_revenue", "annual_revenue_currency", "needs", "notes", "credit_code",
    "custom_fields", "deleted_at", "name_pinyin", "name_initials",
)


@dataclass(frozen=True)
class World:
    """The tenant's users, teams and dictionary values the generated customers refer to."""

    owners: list[uuid.UUID]
    teams: dict[uuid.UUID, list[uuid.UUID]]
    industries: list[str]
    regions: list[str]

    def team_of(self, owner: uuid.UUID) -> uuid.UUID:
        return next(team for team, members in self.teams.items() if owner in members)


def make_world(industries: list[str], regions: list[str], seed: int = 7) -> World:
    rng = random.Random(seed)
    owners = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(OWNERS)]
    teams = {uuid.UUID(int=rng.getrandbits(128), version=4): owners[i:i + TEAM_SIZE]
             for i in range(0, OWNERS, TEAM_SIZE)}
    return World(owners, teams, industries, regions)


def _keys(parts: Iterable[str]) -> tuple[str, str]:
    """Pinyin keys of a name made of parts: each part through the real function (cached), then
    joined; `check_keys` measures how often that equals the whole name's keys."""
    full, initials = zip(*(search_keys(p) for p in parts), strict=True)
    return "".join(full), "".join(initials)


def generate(start: int, count: int, world: World, seed: int = 11) -> Iterator[dict[str, Any]]:
    """`count` customers numbered from `start`: companies (70%), people (20%), Latin names (10%)."""
    rng = random.Random(seed * 1_000_003 + start)
    weights = [w for _, w in STATUSES]
    statuses = [s for s, _ in STATUSES]
    for n in range(start, start + count):
        kind = rng.random()
        if kind < 0.7:
            parts = [rng.choice(CITIES), rng.choice(WORDS), rng.choice(TRADES), rng.choice(SUFFIXES)]
            customer_type = "enterprise"
        elif kind < 0.9:
            parts = [rng.choice(SURNAMES), "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))]
            customer_type = "individual"
        else:
            parts = [f"{rng.choice(LATIN)} {rng.choice(['Trading', 'Labs', 'Holdings', 'Systems'])} {n % 997}"]
            customer_type = "enterprise"
        name = "".join(parts)
        full, initials = _keys(parts)
        created = EPOCH + timedelta(seconds=rng.randrange(SPAN_SECONDS))
        updated = created + timedelta(seconds=rng.randrange(86400 * 90))
        owner = rng.choice(world.owners)
        custom: dict[str, Any] = {}
        if rng.random() < 0.7:
            custom = {"level": rng.choice(LEVELS), "score": rng.randrange(100)}
        yield {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "code": f"C{n:08d}",
            "name": name,
            "type": customer_type,
            "industry": rng.choice(world.industries),
            "region": rng.choice(world.regions),
            "mobile": f"+861{rng.choice('3456789')}{rng.randrange(10**9):09d}",
            "email": f"{initials or 'c'}{n}@example.com" if rng.random() < 0.6 else "",
            "owner_id": owner,
            "status": rng.choices(statuses, weights)[0],
            "version": 1,
            "created_at": created,
            "updated_at": updated,
            "created_by": str(owner),
            "updated_by": str(owner),
            "contact_person": rng.choice(SURNAMES) + rng.choice(GIVEN) if customer_type == "enterprise" else "",
            "phone": "",
            "first_contact_date": (created - timedelta(days=rng.randrange(60))).date(),
            "source": rng.choice(SOURCES),
            "employees": rng.randrange(1, 5000),
            "annual_revenue": f"{rng.randrange(10**4, 10**9)}.00",
            "annual_revenue_currency": "CNY",
            "needs": "",
            "notes": "",
            "credit_code": "",
            "custom_fields": custom,
            "deleted_at": updated if rng.random() < 0.02 else None,
            "name_pinyin": full,
            "name_initials": initials,
        }


def check_keys(rows: list[dict[str, Any]]) -> float:
    """Share of generated names whose joined per-part keys equal the whole name's keys."""
    same = sum(search_keys(r["name"]) == (r["name_pinyin"], r["name_initials"]) for r in rows)
    return same / len(rows) if rows else 1.0


def copy_rows(sync_url: str, schema: str, rows: Iterable[dict[str, Any]]) -> int:
    """COPY into the migrated table (its indexes in place, as in production), with each customer's
    tags as the tag projection keeps them (crm_customers/tags: `customer_tags` rows and the
    `tag_ids` column the list filters on)."""
    count = 0
    with psycopg.connect(sync_url) as conn, conn.cursor() as cur:
        columns = ", ".join((*COLUMNS, "tag_ids"))
        tagged: list[tuple[uuid.UUID, uuid.UUID]] = []
        with cur.copy(f'COPY "{schema}".customers ({columns}) FROM STDIN') as copy:
            for row in rows:
                tags = sorted(tags_of(row["id"]))
                copy.write_row([json.dumps(row[c], ensure_ascii=False) if c == "custom_fields" else row[c]
                                for c in COLUMNS] + [tags])
                tagged.extend((row["id"], tag) for tag in tags)
                count += 1
        with cur.copy(f'COPY "{schema}".customer_tags (customer_id, tag_id, change_seq, removed) FROM STDIN') as copy:
            for customer_id, tag_id in tagged:
                copy.write_row([customer_id, tag_id, 1, False])
        conn.commit()
        conn.autocommit = True
        conn.execute(f'ANALYZE "{schema}".customers')
        conn.execute(f'ANALYZE "{schema}".customer_tags')
    return count


def prepare_tenant(sync_url: str, schema: str, world: World) -> None:
    """Owner -> team rows (for data scope `team`), as the customers-users consumer keeps them."""
    with psycopg.connect(sync_url) as conn:
        with conn.cursor() as cur:
            cur.executemany(
                f'INSERT INTO "{schema}".user_teams (user_id, team_id, version) VALUES (%s, %s, 1)',
                [(owner, team) for team, members in world.teams.items() for owner in members],
            )
        conn.commit()


async def define_fields(engine: AsyncEngine, tenant: uuid.UUID) -> None:
    async with tenant_session(engine, tenant) as session:
        await fields.create(session, fields.FieldChanges(key="level", label="客户等级", type="single_select",
                                                         options=LEVELS))
        await fields.create(session, fields.FieldChanges(key="score", label="评分", type="number"))


async def load_dictionaries(engine: AsyncEngine, tenant: uuid.UUID) -> tuple[list[str], list[str]]:
    async with tenant_session(engine, tenant) as session:
        industry = await dictionaries.load(session, "industry")
        region = await dictionaries.load(session, "region")
    leaves = {e.parent for e in region.entries}
    return [e.label for e in industry.entries], [e.path for e in region.entries if e.code not in leaves]


@dataclass(frozen=True)
class BenchTenant:
    """One tenant schema ready for generated customers (`new_tenant`)."""

    tenant: uuid.UUID
    schema: str
    world: World


async def new_tenant(url: str) -> BenchTenant:
    """The set-up every customers benchmark starts from: the control and one tenant schema migrated
    to head, the custom fields `level` and `score`, the world drawn from the tenant's industry and
    region dictionaries, and the owners' team rows."""
    migrations.upgrade_control(url, DEFINITION.control_tree)
    tenant = uuid.uuid4()
    schema = migrations.upgrade_tenant(url, DEFINITION.tenant_tree, tenant)
    engine = create_engine(url, pool_size=2)
    try:
        await define_fields(engine, tenant)
        industries, regions = await load_dictionaries(engine, tenant)
    finally:
        await engine.dispose()
    world = make_world(industries, regions)
    prepare_tenant(url.replace("postgresql+psycopg", "postgresql"), schema, world)
    return BenchTenant(tenant, schema, world)


# -- query shapes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """One kind of list request: who asks (`all`, `own` rep, `team` manager), the service's list
    arguments for run `i`, and (for the smoke test) what a correct page is."""

    name: str
    who: str
    args: Callable[[World, int], dict[str, Any]]
    order_by: str = "created_at desc"


def _owner(world: World, i: int) -> uuid.UUID:
    return world.owners[(i * 37) % len(world.owners)]


SHAPES: Final[list[Shape]] = [
    Shape("all, newest first", "all", lambda w, i: {}),
    Shape("all, status+owner, updated desc", "all",
          lambda w, i: {"status": STATUSES[i % 4][0], "owner_id": str(_owner(w, i))}, "updated_at desc"),
    Shape("rep (own), status, updated desc", "own", lambda w, i: {"status": STATUSES[i % 4][0]}, "updated_at desc"),
    Shape("manager (team), updated desc", "team", lambda w, i: {}, "updated_at desc"),
    Shape("all, industry+region", "all",
          lambda w, i: {"industry": w.industries[i % len(w.industries)],
                        "region": w.regions[(i * 7) % len(w.regions)]}),
    Shape("all, created range", "all",
          lambda w, i: {"created_after": (EPOCH + timedelta(days=30 * (i % 30))).date().isoformat(),
                        "created_before": (EPOCH + timedelta(days=30 * (i % 30) + 7)).date().isoformat()}),
    Shape("all, first contact range, name asc", "all",
          lambda w, i: {"first_contact_after": (EPOCH + timedelta(days=20 * (i % 40))).date().isoformat(),
                        "first_contact_before": (EPOCH + timedelta(days=20 * (i % 40) + 3)).date().isoformat()},
          "name asc"),
    Shape("all, custom field cf.level", "all", lambda w, i: {"custom": {"level": LEVELS[i % 4]}}),
    Shape("all, q Chinese 4 chars", "all", lambda w, i: {"q": CITIES[i % len(CITIES)] + WORDS[(i * 5) % len(WORDS)]}),
    Shape("all, q Chinese 2 chars", "all", lambda w, i: {"q": TRADES[i % len(TRADES)]}),
    Shape("all, q pinyin initials", "all",
          lambda w, i: {"q": _keys([CITIES[i % len(CITIES)], WORDS[(i * 3) % len(WORDS)]])[1]}),
    Shape("all, q full pinyin", "all",
          lambda w, i: {"q": _keys([WORDS[i % len(WORDS)], TRADES[(i * 3) % len(TRADES)]])[0]}),
    Shape("all, q mobile digits", "all", lambda w, i: {"q": f"{1380000 + i * 7919 % 10000:07d}"}),
    Shape("all, q rare (no match)", "all", lambda w, i: {"q": f"不存在{i}"}),
    Shape("all, q 2 chars rare (worst case)", "all", lambda w, i: {"q": "稀有"}),
    Shape("all, tag (30%)", "all", lambda w, i: {"tag_ids": (str(TAG_COMMON),)}),
    Shape("all, rare tag (0.1%)", "all", lambda w, i: {"tag_ids": (str(TAG_RARE),)}),
    Shape("all, two tags (30% and 10%)", "all", lambda w, i: {"tag_ids": (str(TAG_COMMON), str(TAG_MID))}),
    Shape("manager (team), tag+status", "team",
          lambda w, i: {"tag_ids": (str(TAG_MID),), "status": STATUSES[i % 4][0]}, "updated_at desc"),
    Shape("rep (own), q pinyin", "own", lambda w, i: {"q": _keys([SUFFIXES[i % len(SUFFIXES)]])[0]}),
    Shape("manager (team), status+q", "team",
          lambda w, i: {"status": STATUSES[i % 4][0], "q": TRADES[i % len(TRADES)]}),
    # The web list's sortable columns (sort keys with (column, id) indexes, c0060).
    Shape("all, sorted by status", "all", lambda w, i: {}, "status asc"),
    Shape("all, sorted by region desc", "all", lambda w, i: {}, "region desc"),
    Shape("rep (own), sorted by industry", "own", lambda w, i: {}, "industry asc"),
    Shape("all, tag (30%), sorted by status", "all", lambda w, i: {"tag_ids": (str(TAG_COMMON),)}, "status asc"),
]


# `--shapes` narrows a re-timing to the shapes whose names contain one of these words.
SHAPE_FILTER: list[str] = []


def chosen_shapes() -> list[Shape]:
    return [s for s in SHAPES if not SHAPE_FILTER or any(word in s.name for word in SHAPE_FILTER)]


def principal(tenant: uuid.UUID, who: str, world: World, i: int) -> Principal:
    scopes = frozenset({"customers:read"})
    if who == "all":
        return Principal(tenant_id=tenant, subject="user:admin", client_id="bench", scopes=scopes,
                         user_id=uuid.uuid4(), data_scope="all")
    owner = _owner(world, i)
    if who == "own":
        return Principal(tenant_id=tenant, subject=f"user:{owner}", client_id="bench", scopes=scopes,
                         user_id=owner, data_scope="own")
    return Principal(tenant_id=tenant, subject=f"user:{owner}", client_id="bench", scopes=scopes, user_id=owner,
                     data_scope="team", team_ids=(str(world.team_of(owner)),))


def new_service() -> CustomerService:
    return CustomerService(PageTokens("bench"), SensitiveFields(LocalKeyWrapper(MASTER_KEY)))


async def first_page(service: CustomerService, engine: AsyncEngine, tenant: uuid.UUID, shape: Shape, world: World,
                     i: int) -> list[sa.Row[Any]]:
    """One request as the servicer makes it: a tenant session and CustomerService.list."""
    args = shape.args(world, i)
    async with tenant_session(engine, tenant) as session:
        rows, _ = await service.list(session, size=PAGE, token="", order_by=shape.order_by,
                                     caller=principal(tenant, shape.who, world, i), query=ListQuery(**args))
    return rows


@dataclass
class Timing:
    samples: list[float] = field(default_factory=list)

    def p(self, q: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def time_shapes(engine: AsyncEngine, tenant: uuid.UUID, world: World, runs: int,
                      progress: bool = True) -> dict[str, Timing]:
    service = new_service()
    timings: dict[str, Timing] = {}
    for shape in chosen_shapes():
        await first_page(service, engine, tenant, shape, world, 0)  # warm the plan and the cache
        timing = timings.setdefault(shape.name, Timing())
        for i in range(runs):
            started = time.perf_counter()
            await first_page(service, engine, tenant, shape, world, i)
            timing.samples.append((time.perf_counter() - started) * 1000)
        if progress:
            print(f"  {shape.name}: p50 {statistics.median(timing.samples):.1f} ms, p99 {timing.p(0.99):.1f} ms",
                  flush=True)
    return timings


# -- what a correct first page is (smoke test) ------------------------------------------------


def expected_page(rows: list[dict[str, Any]], shape: Shape, world: World, i: int) -> list[uuid.UUID]:
    """The first page computed in Python from the generated rows, for the smoke test."""
    args = shape.args(world, i)
    who = principal(uuid.uuid4(), shape.who, world, i)
    allowed: set[uuid.UUID] | None = None
    if who.data_scope == "own":
        allowed = {who.user_id} if who.user_id else set()
    elif who.data_scope == "team":
        allowed = {who.user_id, *world.teams[uuid.UUID(who.team_ids[0])]} if who.user_id else set()

    def day(text: str) -> datetime:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)

    def keep(r: dict[str, Any]) -> bool:
        if r["deleted_at"] is not None or (allowed is not None and r["owner_id"] not in allowed):
            return False
        for name in ("status", "industry"):
            if name in args and r[name] != args[name]:
                return False
        if "owner_id" in args and str(r["owner_id"]) != args["owner_id"]:
            return False
        if "region" in args and not (r["region"] == args["region"] or r["region"].startswith(args["region"] + "/")):
            return False
        if "created_after" in args and r["created_at"] < day(args["created_after"]):
            return False
        if "created_before" in args and r["created_at"] >= day(args["created_before"]):
            return False
        if "first_contact_after" in args and r["first_contact_date"] < date.fromisoformat(args["first_contact_after"]):
            return False
        if "first_contact_before" in args and r["first_contact_date"] > date.fromisoformat(
                args["first_contact_before"]):
            return False
        for key, value in args.get("custom", {}).items():
            if r["custom_fields"].get(key) != value:
                return False
        if not set(args.get("tag_ids", ())) <= {str(t) for t in tags_of(r["id"])}:
            return False
        if "q" in args:
            q = args["q"]
            spelled = pinyin_query(q)
            if len(q) < 3:  # short queries search names and contact persons only (c0012)
                hit = any(q.lower() in t.lower() for t in (r["name"], r["contact_person"]))
                hit = hit or bool(spelled and spelled in r["name_initials"])
            else:
                texts = [r["name"], r["code"], r["email"], r["contact_person"]]
                hit = any(q.lower() in t.lower() for t in texts) or q in r["mobile"] or q in r["phone"]
                hit = hit or bool(spelled and (spelled in r["name_pinyin"] or spelled in r["name_initials"]))
            if not hit:
                return False
        return True

    column, direction = shape.order_by.split()
    matching = [r for r in rows if keep(r)]
    matching.sort(key=lambda r: (r[column], r["id"]), reverse=direction == "desc")
    return [r["id"] for r in matching[:PAGE]]


# -- the run ---------------------------------------------------------------------------------


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(title: str, rows: int, timings: dict[str, Timing]) -> None:
    print(f"\n{title}: {rows:,} customers")
    print(f"{'query shape':44} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, timing in timings.items():
        print(f"{name:44} {statistics.median(timing.samples):8.1f} {timing.p(0.99):8.1f} "
              f"{max(timing.samples):8.1f}")


async def run(total: int, baseline: int, runs: int, explain: bool) -> None:
    from crm_dev.infra import EmbeddedPostgres, free_port

    base = Path(tempfile.mkdtemp(prefix="bench-customers-"))
    print(f"data in {base} (time the shapes again on it: --reuse {base}; delete it when done)")
    postgres = EmbeddedPostgres(base / "pg", free_port(), base / "postgres.log")
    postgres.start()
    try:
        postgres.create_database("crm_customers")
        url = postgres.url("crm_customers")
        sync_url = url.replace("postgresql+psycopg", "postgresql")
        made = await new_tenant(url)
        tenant, schema, world = made.tenant, made.schema, made.world
        engine = create_engine(url, pool_size=2)
        try:
            sample = list(generate(0, 2000, world))
            print(f"pinyin keys joined per part equal the whole name's keys for {check_keys(sample):.1%} "
                  "of a 2,000-name sample")

            started = time.perf_counter()
            loaded = copy_rows(sync_url, schema, generate(0, baseline, world))
            print(f"loaded {loaded:,} rows in {time.perf_counter() - started:.1f} s")
            report("baseline", loaded, await time_shapes(engine, tenant, world, runs))

            started = time.perf_counter()
            more = copy_rows(sync_url, schema, generate(baseline, total - baseline, world))
            seconds = time.perf_counter() - started
            print(f"\nloaded {more:,} more rows by COPY (indexes in place, then ANALYZE) in {seconds:.1f} s: "
                  f"{more / seconds:,.0f} rows/s")
            timings = await time_shapes(engine, tenant, world, runs)
            report("target", loaded + more, timings)
            worst = max(t.p(0.99) for t in timings.values())
            print(f"\nworst p99 {worst:.1f} ms (target < 100 ms); peak RSS of this process {peak_mib():.0f} MiB")
            with psycopg.connect(sync_url) as conn:
                size = conn.execute(f"SELECT pg_total_relation_size('\"{schema}\".customers')").fetchone()
                print(f"customers table + indexes: {(size[0] if size else 0) / 2**20:,.0f} MiB")
            if explain:
                await explain_shapes(engine, tenant, world)
        finally:
            await engine.dispose()
    finally:
        postgres.stop()


async def explain_shapes(engine: AsyncEngine, tenant: uuid.UUID, world: World) -> None:
    """EXPLAIN ANALYZE of each shape's SQL as the repository builds it (run 1's arguments)."""
    from sqlalchemy import event

    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "FROM" in statement and "customers" in statement and "ORDER BY" in statement:
            statements.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    service = new_service()
    try:
        for shape in chosen_shapes():
            statements.clear()
            await first_page(service, engine, tenant, shape, world, 1)
            statement, parameters = statements[-1]
            async with engine.connect() as conn:
                plan = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS OFF) " + statement, parameters)
                print(f"\n-- {shape.name}")
                for (line,) in plan:
                    print(line)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)


async def rerun(url: str, runs: int, explain: bool) -> None:
    """Times the shapes again on a database an earlier run loaded (its one tenant schema)."""
    sync_url = url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(sync_url) as conn:
        row = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%'").fetchone()
        assert row is not None, "no tenant schema in this database"
        count = conn.execute(f'SELECT count(*) FROM "{row[0]}".customers').fetchone()
    tenant = uuid.UUID(hex=row[0][2:])
    engine = create_engine(url, pool_size=2)
    try:
        industries, regions = await load_dictionaries(engine, tenant)
        world = make_world(industries, regions)
        timings = await time_shapes(engine, tenant, world, runs)
        report("target (re-timed)", count[0] if count else 0, timings)
        worst = max(t.p(0.99) for t in timings.values())
        print(f"\nworst p99 {worst:.1f} ms (target < 100 ms); peak RSS of this process {peak_mib():.0f} MiB")
        if explain:
            await explain_shapes(engine, tenant, world)
    finally:
        await engine.dispose()


async def rerun_stored(base: Path, runs: int, explain: bool) -> None:
    """`rerun` on the data directory an earlier run left (its own PostgreSQL started again)."""
    from crm_dev.infra import EmbeddedPostgres, free_port

    postgres = EmbeddedPostgres(base / "pg", free_port(), base / "postgres.log")
    postgres.start()
    try:
        await rerun(postgres.url("crm_customers"), runs, explain)
    finally:
        postgres.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=100, help="timed requests per query shape")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each shape at the end")
    parser.add_argument("--database-url", help="only time the shapes, on a database an earlier run loaded")
    parser.add_argument("--reuse", type=Path, help="only time the shapes, on the data directory an earlier run left")
    parser.add_argument("--shapes", nargs="*", default=[], help="only the shapes whose names contain one of these")
    args = parser.parse_args()
    SHAPE_FILTER.extend(args.shapes)
    if args.reuse:
        asyncio.run(rerun_stored(args.reuse, args.runs, args.explain))
    elif args.database_url:
        asyncio.run(rerun(args.database_url, args.runs, args.explain))
    else:
        asyncio.run(run(args.rows, min(args.baseline_rows, args.rows), args.runs, args.explain))


if __name__ == "__main__":
    main()
