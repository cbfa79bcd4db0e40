"""The evidence model of duplicate detection (scoring.compare) and the grouping of scored pairs
(grouping.build_groups): each veto, the person-name rule, hubs and common names, regions, and
oversized groups. No database: these are the rules both the check on write and the scan apply."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest

from crm_customers.duplicates import grouping, scoring
from crm_customers.duplicates.grouping import Pair

STAR = {"name": "北京星辰科技有限公司", "type": "enterprise", "region": "北京", "contact_person": "李雷",
        "email": "info@xingchen-tech.com"}


def _compare(a: dict[str, Any], b: dict[str, Any], shared: tuple[str, ...] = (), **kw: bool) -> scoring.Match:
    return scoring.compare(scoring.profile_of(a), scoring.profile_of(b), shared, **kw)


def _company(name: str, **fields: str) -> dict[str, str]:
    return {"name": name, "type": "enterprise", **fields}


def _person(name: str, **fields: str) -> dict[str, str]:
    return {"name": name, "type": "individual", **fields}


# -- vetoes --------------------------------------------------------------------------------------

@pytest.mark.parametrize("column", ["credit_code", "resident_id_bidx"])
def test_different_exclusive_identifiers_veto_everything_else(column: str) -> None:
    """Two legal entities (or people): same name, phone, email and contact person change nothing."""
    a = {**STAR, column: "A" * 18}
    b = {**STAR, column: "B" * 18}
    assert _compare(a, b, ("phone", "email")) == scoring.NO_MATCH
    assert _compare({**STAR, column: "A" * 18}, STAR, ("phone", "email")).likely  # absent on one: no veto


def test_a_contradiction_beside_a_shared_identifier_is_only_possible() -> None:
    a = {**STAR, "credit_code": "A" * 18, "resident_id_bidx": "r1"}
    b = {**STAR, "credit_code": "A" * 18, "resident_id_bidx": "r2"}
    found = _compare(a, b, ("phone",))
    assert not found.likely and found.reported and found.conflicts == ["resident_id"]
    assert found.reasons[0] == "credit_code"


def test_a_different_bank_card_makes_it_at_most_possible() -> None:
    a = _person("Anne Lee", bank_card_bidx="c1")
    b = _person("Anne Lee", bank_card_bidx="c2")
    found = _compare(a, b, ("phone", "email"))
    assert found.confidence == scoring.POSSIBLE_CAP and found.conflicts == ["bank_card"]
    same_id = _compare({**a, "resident_id_bidx": "r"}, {**b, "resident_id_bidx": "r"}, ("phone",))
    assert same_id.likely  # the same resident ID: one person with two cards


def test_shared_identifier_links_whatever_the_names() -> None:
    """A renamed company keeps its credit code."""
    code = "X" * 18
    found = _compare(_company("北京星辰科技有限公司", credit_code=code), _company("天津海河贸易", credit_code=code))
    assert found.likely and found.reasons == ["credit_code"]


# -- names ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("a", "b", "shared", "level", "reasons"), [
    # a person's name alone never links, however long or exact
    (_person("张伟"), _person("张伟"), (), None, None),
    (_person("Alexander Johnson"), _person("Alexander Johnson"), (), None, None),
    (_person("欧阳娜娜", region="北京"), _person("欧阳娜娜", region="北京"), (), None, None),
    # with a phone it confirms; a homophone or a transliteration is the same name
    (_person("张伟"), _person("张伟"), ("phone",), "likely", ["phone", "name"]),
    (_person("王芳"), _person("王方"), ("phone",), "likely", ["phone", "name_similar"]),
    (_person("王芳"), _person("Wang Fang"), ("email",), "likely", ["email", "name_similar"]),
    # one character apart in a short Chinese name is another person (a family's shared phone)
    (_person("王伟"), _person("王芳"), ("phone",), "possible", ["phone"]),
    # a company name alone is possible; corroborated it is likely
    (_company("北京星辰科技有限公司"), _company("北京星辰科技"), (), "possible", ["name"]),
    (_company("北京星辰科技有限公司", region="北京"), _company("北京星辰科技", region="北京"), (), "likely",
     ["name", "region"]),
    (_company("北京星辰科技", contact_person="李雷"), _company("北京星辰科技", contact_person="李雷"), (), "likely",
     ["name", "contact_person"]),
    # a similar name needs a contact person or company domain; a region is not enough
    (_company("北京星辰科技", region="北京"), _company("北京星晨科技", region="北京"), (), None, None),
    (_company("北京星辰科技", email="a@xc.com"), _company("北京星晨科技", email="b@xc.com"), (), "likely",
     ["name_similar", "email_domain"]),
    (_company("北京星辰科技", email="a@qq.com"), _company("北京星晨科技", email="b@qq.com"), (), None, None),
    # the same name with and without its place is similar; in two places it is different
    (_company("星辰科技有限公司"), _company("北京星辰科技有限公司"), ("phone",), "likely", ["phone", "name_similar"]),
    (_company("广州星辰科技"), _company("杭州星辰科技"), ("phone",), "possible", ["phone"]),
    (_company("北京星辰科技有限公司上海分公司"), _company("北京星辰科技有限公司杭州分公司"), ("phone",), "possible",
     ["phone"]),
    (_company("北京星辰科技股份有限公司上海分公司"), _company("北京星辰科技有限公司上海分公司"), ("phone",), "likely",
     ["phone", "name_similar"]),
    # a shared phone or email with names that disagree is only possible
    (_company("北京星辰科技"), _company("天津海河贸易"), ("phone", "email"), "possible", ["email", "phone"]),
])
def test_names(a: dict[str, str], b: dict[str, str], shared: tuple[str, ...], level: str | None,
               reasons: list[str] | None) -> None:
    found = _compare(a, b, shared)
    assert (None if not found.reported else "likely" if found.likely else "possible") == level, found
    if reasons is not None:
        assert found.reasons == reasons


# -- regions -------------------------------------------------------------------------------------

def test_namesakes_in_two_places_are_not_linked_by_their_names() -> None:
    uk = _company("Sunrise Trading Ltd", region="United Kingdom", contact_person="Ann Lee")
    sg = _company("Sunrise Trading Pte", region="Singapore", contact_person="Ann Lee")
    assert _compare(uk, sg) == scoring.NO_MATCH
    # a shared phone keeps them possible (a group's branches), never likely
    found = _compare(uk, sg, ("phone",))
    assert found.reported and not found.likely
    # a place in the name counts when the region is missing: 深圳正南贸易 is not 正南贸易 of 重庆
    named = _company("深圳正南贸易有限公司", email="a@zn.com")
    assert _compare(named, _company("正南贸易有限公司", region="重庆", email="b@zn.com")) == scoring.NO_MATCH
    assert _compare(named, _company("正南贸易有限公司", region="广东/深圳", email="b@zn.com")).likely


def test_a_less_specific_region_neither_agrees_nor_disagrees() -> None:
    assert scoring.region_relation("广东", "广东/深圳") == ""
    assert scoring.region_relation("广东/深圳", "广东/广州") == "different"
    assert scoring.region_relation("北京", "北京") == "same"
    found = _compare(_company("北京星辰科技", region="北京"), _company("北京星辰科技", region="北京/海淀"))
    assert found.reasons == ["name"] and not found.likely


# -- hubs ----------------------------------------------------------------------------------------

def test_common_names_and_contacts_are_no_evidence() -> None:
    a = _company("Sunrise Trading Ltd", region="United Kingdom", contact_person="张伟")
    b = _company("Sunrise Trading Limited", region="United Kingdom", contact_person="张伟")
    assert _compare(a, b).likely
    assert _compare(a, b, common_name=True) == scoring.NO_MATCH  # 40 companies carry this name
    assert _compare(a, b, common_contact=True).reasons == ["name", "region"]
    # names that agree still let a shared phone link, even when common
    assert _compare(_person("张伟"), _person("张伟"), ("phone",), common_name=True).likely


def test_hubs_are_left_out_by_the_callers() -> None:
    """`shared` holds only non-hub kinds: a switchboard phone shared by many is not passed, so a
    pair of companies on it is what their names alone say."""
    a, b = _company("北京星辰科技有限公司"), _company("北京星辰科技")
    assert _compare(a, b, ("phone",)).likely
    assert not _compare(a, b, ()).likely
    assert {"phone", "email", "name", "contact"} <= scoring.HUB_KINDS


# -- groups --------------------------------------------------------------------------------------

def _ids(n: int) -> list[uuid.UUID]:
    return sorted(uuid.uuid4() for _ in range(n))


def test_groups_never_join_two_different_credit_codes() -> None:
    """A-B and B-C are likely, A and C are two companies: B goes with the stronger link."""
    a, b, c = _ids(3)
    pairs = [Pair(a, b, 0.9, ["phone"]), Pair(b, c, 0.75, ["name", "region"])]
    groups = grouping.build_groups(pairs, {a: ("X", ""), c: ("Y", "")})
    assert [g.members for g in groups] == [sorted([a, b])]
    # without the identities, union-find would have joined all three
    assert [g.members for g in grouping.build_groups(pairs, {})] == [sorted([a, b, c])]


def test_a_group_has_its_weakest_tree_link_and_all_reasons() -> None:
    a, b, c = _ids(3)
    pairs = [Pair(a, b, 0.98, ["credit_code"]), Pair(b, c, 0.65, ["name_similar", "contact_person"]),
             Pair(a, c, 0.6, ["name_similar"])]
    [group] = grouping.build_groups(pairs, {})
    assert group.confidence == 0.65 and group.size == 3 and not group.too_large
    assert group.reasons == ["credit_code", "name_similar", "contact_person"]
    assert [p.confidence for p in group.pairs] == [0.98, 0.65, 0.6]


def test_oversized_components_split_by_their_strongest_evidence() -> None:
    """Two real clusters of 6 (credit codes, 0.98) chained by weak links into 12: split at 0.8."""
    first, second = _ids(6), _ids(6)
    pairs = [Pair(x, y, 0.98, ["credit_code"]) for cluster in (first, second) for x, y in itertools.pairwise(cluster)]
    pairs.append(Pair(first[0], second[0], 0.65, ["name_similar", "contact_person"]))
    groups = grouping.build_groups(pairs, {})
    assert sorted(g.members for g in groups) == sorted([first, second])
    assert all(not g.too_large and g.size == 6 for g in groups)


def test_what_stays_too_large_is_flagged_with_a_sample() -> None:
    """Sixty customers on one credit code (a placeholder): one flagged group, its best-connected
    members kept, the size told."""
    many = _ids(60)
    hub = many[0]
    pairs = [Pair(hub, other, 0.98, ["credit_code"]) for other in many[1:]]
    [group] = grouping.build_groups(pairs, {})
    assert group.too_large and group.size == 60 and len(group.members) == grouping.FLAGGED_SAMPLE
    assert hub in group.members and group.reasons == ["credit_code"]
    small = grouping.build_groups(pairs[:5], {})
    assert [g.too_large for g in small] == [False] and small[0].size == 6
