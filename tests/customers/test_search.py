"""Name search (docs/customers.md, "Search"): substrings of every searched field, and for Chinese
names full pinyin and pinyin initials, through the real gRPC list over a real tenant schema."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.search.pinyin import pinyin_query, search_keys
from crm_proto.crm.customers.v1 import customers_pb2 as pb
from crm_proto.crm.customers.v1 import customers_pb2_grpc
from tests.customers.conftest import Metadata

KEYS = [
    # name -> (full pinyin, initials)
    ("北京科技有限公司", ("beijingkejiyouxiangongsi", "bjkjyxgs")),
    ("重庆银行", ("chongqingyinhang", "cqyh")),  # heteronyms: the phrase's common reading
    ("长沙市", ("changshashi", "css")),
    ("ABC科技", ("abckeji", "abckj")),  # Latin runs are kept whole
    ("上海xyz贸易123", ("shanghaixyzmaoyi123", "shxyzmy123")),
    ("Acme Ltd", ("", "")),  # no Chinese: the name itself is searched
]


@pytest.mark.parametrize(("name", "keys"), KEYS)
def test_search_keys(name: str, keys: tuple[str, str]) -> None:
    assert search_keys(name) == keys


def _reference_syllables(run: str) -> list[str]:
    """What search keys were built from before the cached fast path: pypinyin's own lazy_pinyin."""
    from pypinyin import Style, lazy_pinyin

    return lazy_pinyin(run, style=Style.NORMAL)


def test_fast_pinyin_equals_lazy_pinyin_on_a_sample() -> None:
    """The cached word-by-word path (search/pinyin.py) gives exactly lazy_pinyin's syllables, phrase
    readings of heteronyms included, on names like the import benchmark's and harder ones."""
    import random

    from crm_customers.search.pinyin import run_syllables

    rnd = random.Random(13)
    chars = "北京上海重庆长沙银行音乐行长会计都市调度差额传媒地产和平朝阳单于曾参解放藏族大夫还款只要" \
            "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑科技贸易电子信息网络餐饮管理建筑工程物流医药文化有限公司"
    sample = ["重庆银行", "长沙市", "行长", "会计师事务所", "成都市调度中心", "音乐传媒", "朝阳区单县解放路",
              "藏族服饰", "还款计划", "曾参", "北京王伟科技有限公司", "中国银行股份有限公司", "重庆长安汽车"]
    sample += ["".join(rnd.choice(chars) for _ in range(rnd.randint(2, 16))) for _ in range(3000)]
    different = [run for run in sample if run_syllables(run) != _reference_syllables(run)]
    assert different == []
    assert run_syllables("重庆银行") == ["chong", "qing", "yin", "hang"]


@pytest.mark.parametrize(("q", "spelled"), [
    ("bjkj", "bjkj"), ("Bei Jing", "beijing"), ("xi'an", "xian"), ("北京", ""), ("138", ""), ("a.b", ""),
])
def test_pinyin_query(q: str, spelled: str) -> None:
    assert pinyin_query(q) == spelled


NAMES = {
    "bj": ("北京科技有限公司", "13800138001"),
    "sh": ("上海贸易有限公司", "13800138002"),
    "cq": ("重庆银行", "13800138003"),
    "acme": ("Acme Ltd", "13800138004"),
}

# q -> the customers it finds
CASES = [
    ("bjkj", {"bj"}),            # initials
    ("beijing", {"bj"}),          # full pinyin
    ("BeiJing", {"bj"}),          # case does not matter
    ("bei jing", {"bj"}),         # spaces between syllables
    ("kejiyou", {"bj"}),          # pinyin substring
    ("北京", {"bj"}),              # Chinese substring (2 characters: no trigram, still found)
    ("科技有限", {"bj"}),          # Chinese substring in the middle
    ("有限公司", {"bj", "sh"}),
    ("cqyh", {"cq"}),
    ("chongqing", {"cq"}),        # 重 read as chong in 重庆
    ("acm", {"acme"}),            # Latin substring
    ("ltd", {"acme"}),
    ("138001380", {"bj", "sh", "cq", "acme"}),  # mobile substring
    ("13800138003", {"cq"}),
    ("gongsi", {"bj", "sh"}),
    ("zzzz", set()),
    ("%", set()),                 # LIKE wildcards are literal
    # Shorter than a trigram (c0012): names, contact persons and pinyin initials only.
    ("bj", {"bj"}),               # two initials
    ("银", {"cq"}),                # one Chinese character
    ("庆银", {"cq"}),
    ("ac", {"acme"}),
    ("a", {"acme"}),              # one Latin letter: names that contain it
    ("13", set()),                # two digits of a phone tell nothing: not searched
    ("%_", set()),
]


async def test_q_matches_pinyin_initials_and_substrings(
    customers: customers_pb2_grpc.CustomerServiceStub, as_user: Metadata
) -> None:
    ids = {}
    for key, (name, mobile) in NAMES.items():
        created = await customers.CreateCustomer(
            pb.CreateCustomerRequest(customer=pb.CustomerInput(name=name, mobile=mobile)), metadata=as_user()
        )
        ids[created.id] = key
    for q, expected in CASES:
        reply = await customers.ListCustomers(pb.ListCustomersRequest(q=q, page_size=50), metadata=as_user())
        assert {ids[c.id] for c in reply.items} == expected, q


async def test_renamed_customer_is_found_by_its_new_pinyin(
    customers: customers_pb2_grpc.CustomerServiceStub, as_user: Metadata
) -> None:
    created = await customers.CreateCustomer(
        pb.CreateCustomerRequest(customer=pb.CustomerInput(name="北京科技", mobile="13800138009")), metadata=as_user()
    )
    await customers.UpdateCustomer(
        pb.UpdateCustomerRequest(id=created.id, expected_version=created.version,
                                 customer=pb.CustomerInput(name="深圳电子")),
        metadata=as_user(),
    )
    found = await customers.ListCustomers(pb.ListCustomersRequest(q="szdz"), metadata=as_user())
    assert [c.id for c in found.items] == [created.id]
    gone = await customers.ListCustomers(pb.ListCustomersRequest(q="bjkj"), metadata=as_user())
    assert list(gone.items) == []
    # The short-query grams are a generated column: they follow the rename too.
    short = await customers.ListCustomers(pb.ListCustomersRequest(q="深圳"), metadata=as_user())
    assert [c.id for c in short.items] == [created.id]
    assert list((await customers.ListCustomers(pb.ListCustomersRequest(q="北京"), metadata=as_user())).items) == []


async def test_short_query_matches_the_contact_person(
    customers: customers_pb2_grpc.CustomerServiceStub, as_user: Metadata
) -> None:
    created = await customers.CreateCustomer(
        pb.CreateCustomerRequest(customer=pb.CustomerInput(name="Acme Ltd", contact_person="闫小明",
                                                           mobile="13800138010")),
        metadata=as_user(),
    )
    for q in ("闫", "小明"):
        found = await customers.ListCustomers(pb.ListCustomersRequest(q=q), metadata=as_user())
        assert [c.id for c in found.items] == [created.id], q


async def test_short_search_grams_plpgsql_equals_c0012s_sql_body(engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    """c0211's PL/pgSQL `short_search_grams` gives exactly the arrays of c0012's SQL body (kept in
    c0211 as SQL_BODY), for names with spaces, tabs, newlines, ideographic and no-break spaces,
    single characters, Latin text and the empty string."""
    import importlib
    import random

    import sqlalchemy as sa

    from crm_platform.ids import tenant_schema

    c0211 = importlib.import_module("crm_customers.migrations.tenant.versions.0211_short_search_grams_plpgsql")
    rnd = random.Random(12)
    pieces = ["北京", "星辰", "科技", "有限公司", "张伟", "bjxckj", "abc", "1", " ", "\t", "\n", "\u3000", "\u00a0",
              "Ａ", "é", "闫", "-", "  "]
    texts = ["", " ", "a", "闫", "ab", "a b", "北京 星辰", "北\u3000京", "x\ty", "张\u00a0伟"]
    texts += ["".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 12))) for _ in range(500)]
    schema = tenant_schema(tenant_id)
    async with engine.begin() as connection:
        await connection.execute(sa.text(
            "CREATE FUNCTION pg_temp.c0012_grams(t text) RETURNS text[] LANGUAGE sql IMMUTABLE STRICT AS "
            f"$${c0211.SQL_BODY}$$"))
        body = (await connection.execute(sa.text(
            "SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang "
            "WHERE p.proname = 'short_search_grams' AND p.pronamespace = CAST(:schema AS regnamespace)"),
            {"schema": f'"{schema}"'})).scalar_one()
        different = (await connection.execute(sa.text(
            f'SELECT array_agg(t) FROM unnest(CAST(:texts AS text[])) AS t '
            f'WHERE "{schema}".short_search_grams(t) IS DISTINCT FROM pg_temp.c0012_grams(t)'),
            {"texts": texts})).scalar_one()
        sample = (await connection.execute(sa.text(f'SELECT "{schema}".short_search_grams(:t)'),
                                           {"t": "北京 星辰\tbj"})).scalar_one()
    assert body == "plpgsql"
    assert different is None
    assert sorted(sample) == sorted(["bj", "北", "北京", "京", "星", "星辰", "辰"])


async def test_short_search_grams_in_python_and_by_the_trigger_equal_postgresqls(engine: AsyncEngine,
                                                                                 tenant_id: uuid.UUID) -> None:
    """search/grams.py (the import's) gives the grams of PostgreSQL's `short_search_grams(lower(t))`
    for plain texts (printable ASCII and ideographs) and None for any other text; c0251's trigger
    fills the column on an INSERT that does not give it and on an UPDATE of its sources, and an
    UPDATE cannot set it."""
    import random

    import sqlalchemy as sa

    from crm_customers.search import grams
    from crm_platform.ids import tenant_schema

    rnd = random.Random(251)
    plain = ["北京", "星辰", "科技", "有限公司", "张伟", "BJxckj", "ABC", "1", " ", "  ", "-", "闫", "(", "Z9"]
    odd = ["\t", "\n", "\u3000", "\u00a0", "Ａ", "é", "İ", "Σ", "（"]
    texts = [" ", "a", "闫", "aB", "A b", "北京 星辰"]
    texts += ["".join(rnd.choice(plain) for _ in range(rnd.randint(1, 12))) for _ in range(400)]
    others = ["".join(rnd.choice(plain) for _ in range(rnd.randint(0, 6))) + rnd.choice(odd) for _ in range(50)]
    schema = tenant_schema(tenant_id)
    async with engine.begin() as connection:
        stored = (await connection.execute(sa.text(
            f'SELECT t, "{schema}".short_search_grams(lower(t)) FROM unnest(CAST(:texts AS text[])) AS t'),
            {"texts": texts})).all()
        assert len(stored) == len(texts)
        assert all(grams.short_search_grams(t) == sorted(g) for t, g in stored)
        assert all(grams.short_search_grams(t) is None for t in others)
        # The trigger: computed on INSERT when not given, kept when given, recomputed on UPDATE.
        customer_id = uuid.uuid4()
        await connection.execute(sa.text(
            f'INSERT INTO "{schema}".customers (id, code, name, type, contact_person, name_initials, owner_id, status, '
            "version, created_by, updated_by) "
            "VALUES (:id, 'T1', '北京星辰', 'enterprise', '张 伟', 'bjxc', :id, 'lead', 1, 'u', 'u')"),
            {"id": customer_id})

        async def column() -> list[str]:
            return sorted((await connection.execute(sa.text(
                f'SELECT short_search_grams FROM "{schema}".customers WHERE id = :id'), {"id": customer_id})
            ).scalar_one())

        assert await column() == grams.short_search_grams("北京星辰 张 伟 bjxc")
        await connection.execute(sa.text(f'UPDATE "{schema}".customers SET short_search_grams = :g WHERE id = :id'),
                                 {"g": ["zz"], "id": customer_id})
        assert await column() == grams.short_search_grams("北京星辰 张 伟 bjxc")
        await connection.execute(sa.text(f'UPDATE "{schema}".customers SET contact_person = :c WHERE id = :id'),
                                 {"c": "闫\u3000明", "id": customer_id})
        expected = (await connection.execute(sa.text(f'SELECT "{schema}".short_search_grams(:t)'),
                                             {"t": "北京星辰 闫\u3000明 bjxc"})).scalar_one()
        assert await column() == sorted(expected)
