"""Match keys and scoring of duplicate detection: validation tables (no database)."""

from __future__ import annotations

import pytest

from crm_customers.duplicates import keys, scoring


@pytest.mark.parametrize(("name", "key"), [
    # Chinese legal suffixes, brackets, full-width characters
    ("北京星辰科技有限公司", "北京星辰科技"),
    ("北京星辰科技", "北京星辰科技"),
    ("（北京）星辰科技股份有限公司", "北京星辰科技"),
    ("星辰科技（北京）有限公司", "北京星辰科技"),
    ("北京星辰科技有限责任公司", "北京星辰科技"),
    ("北京星辰科技集团有限公司", "北京星辰科技"),
    ("北京星辰科技集团", "北京星辰科技"),
    ("北京星辰科技有限公司（中国）", "北京星辰科技"),
    ("北京 星辰·科技 有限公司", "北京星辰科技"),
    ("北京星辰科技（北京市）有限公司", "北京星辰科技"),
    ("ＡＢＣ科技有限公司", "abc科技"),
    ("星辰科技（研发中心）有限公司", "星辰科技研发中心"),
    # English legal forms, case, punctuation
    ("Star Tech Co., Ltd.", "startech"),
    ("STAR TECH LTD", "startech"),
    ("Star Tech, Inc.", "startech"),
    ("Star Tech LLC", "startech"),
    ("Star-Tech Corp", "startech"),
    ("Star Tech Company Limited", "startech"),
    ("Star Tech GmbH", "startech"),
    ("Ｓｔａｒ Ｔｅｃｈ Ｉｎｃ", "startech"),
    ("Star Tech Group", "startech"),
    # nothing but a legal form keeps its letters; people keep their names
    ("有限公司", "有限公司"),
    ("Company", "company"),
    ("张三", "张三"),
    ("  ", ""),
])
def test_name_key(name: str, key: str) -> None:
    assert keys.name_key(name) == key


def test_different_companies_keep_different_keys() -> None:
    assert keys.name_key("北京星辰科技有限公司") != keys.name_key("上海星辰科技有限公司")
    assert keys.name_key("Star Tech Ltd") != keys.name_key("Star Technologies Ltd")


def test_keys_of_a_customer() -> None:
    row = {"name": "北京星辰科技有限公司", "mobile": "+8613800138000", "phone": "+861062345678",
           "email": "Info@XingChen.com", "credit_code": "91110108mA01abcd2x", "resident_id_bidx": "r1",
           "bank_card_bidx": None}
    found = keys.keys_of(row)
    exact = {k for k in found if k[0] != "name_del"}
    assert exact == {("phone", "+8613800138000"), ("phone", "+861062345678"), ("email", "info@xingchen.com"),
                     ("credit_code", "91110108MA01ABCD2X"), ("resident_id", "r1"), ("name", "北京星辰科技")}
    assert ("contact", "li lei") in keys.keys_of({"name": "x", "contact_person": "  Li   LEI "})
    assert ("name_del", "北京星科技") in found and len([k for k in found if k[0] == "name_del"]) == 6


def test_short_names_get_no_fuzzy_keys() -> None:
    assert {k for k, _ in keys.keys_of({"name": "张三"})} == {"name"}


def test_places_and_loose_keys() -> None:
    assert keys.split_place("北京星辰科技") == ("北京", "星辰科技")
    assert keys.split_place("北京市星辰科技") == ("北京", "星辰科技")
    assert keys.split_place("黑龙江星辰科技") == ("黑龙江", "星辰科技")
    assert keys.split_place("星辰科技") == ("", "星辰科技")
    assert keys.places_in("北京星辰科技有限公司上海分") == {"北京", "上海"}
    assert keys.loose_key("北京星辰科技股份有限公司上海分") == keys.loose_key("北京星辰科技有限公司上海分")
    assert "星辰科技" in keys.place_probes("北京星辰科技")
    assert {"北京星辰科技", "上海市星辰科技"} <= keys.place_probes("星辰科技")
    assert keys.place_probes("星辰") == set()  # too short to stand for a company


@pytest.mark.parametrize(("a", "b", "close"), [
    ("北京星辰科技", "北京星晨科技", True),    # substitution
    ("北京星辰科技", "北京星辰技", True),      # deletion
    ("北京星辰科技", "北京星辰科技术", True),  # insertion
    ("北京星辰科技", "北京辰星科技", True),    # adjacent swap
    ("startech", "sartech", True),
    ("北京星辰科技", "北京星晨科枝", False),   # two edits
    ("北京星辰科技", "北京星辰科技", False),   # equal is not "similar", it is `name`
])
def test_one_edit_apart(a: str, b: str, close: bool) -> None:
    assert scoring.one_edit_apart(a, b) is close
    if close:  # the deletion neighbourhoods meet, so the index lookup finds it
        assert keys.fuzzy_probes(a) & (keys.deletions(b) | {b})


@pytest.mark.parametrize(("reasons", "short", "reported"), [
    ({"credit_code"}, False, True),
    ({"resident_id"}, False, True),
    ({"bank_card"}, False, True),
    ({"email"}, False, True),
    ({"phone"}, False, True),
    ({"name"}, False, False),                       # a company name alone is only possible
    ({"name", "region"}, False, True),
    ({"name"}, True, False),                        # 张伟 = 张伟 says little
    ({"name", "phone"}, True, True),
    ({"name_similar"}, False, False),               # 星辰 vs 星晨: may be two companies
    ({"name_similar", "contact_person"}, False, True),
    ({"name_similar", "email_domain"}, False, True),
    ({"contact_person", "email_domain"}, False, False),  # corroboration without a name match counts nothing
])
def test_confidence_of_shared_keys(reasons: set[str], short: bool, reported: bool) -> None:
    """`confidence` (positive evidence only, for callers that know only the keys a pair shares)."""
    value = scoring.confidence(reasons, short_name=short)
    assert 0 <= value <= 1
    assert (value >= scoring.MIN_CONFIDENCE) is reported


def test_more_evidence_is_more_confident() -> None:
    assert scoring.confidence({"phone", "name"}) > scoring.confidence({"phone"}) > scoring.confidence({"name_similar"})
    assert scoring.ordered({"contact_person", "phone"}) == ["phone"]
    assert scoring.ordered({"name_similar", "contact_person", "email"}) == ["email", "name_similar", "contact_person"]


def test_free_mail_domains_are_no_evidence() -> None:
    assert keys.email_domain("a@qq.com") == ""
    assert keys.email_domain("Sales@XingChen.com") == "xingchen.com"
