"""The one normalisation of match keys. A customer's keys (kind, value) are stored in
`customer_match_keys` (migration c0005) and compared exactly; names also get their
one-edit deletion neighbourhood (`name_del`), so a typo finds its original by index lookup.

- `phone`: mobile and phone, already E.164 after cleaning (a mobile can match a phone).
- `email`: lower-cased whole address.
- `credit_code`: unified social credit code, upper case.
- `resident_id`, `bank_card`: the blind indexes the sensitive fields already store.
- `name`: company-name key (`name_key`): NFKC, lower case, a bracketed place moved to the
  front, legal suffixes removed, punctuation and whitespace removed.
- `contact`: the contact person (`contact_key`), never a link by itself: its count tells how
  common the name is (张伟 is the contact of thousands), so that only an uncommon one corroborates.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, Final

# Legal-form suffixes, longest first, removed repeatedly from the end of a Chinese name.
CN_SUFFIXES: Final = (
    "集团股份有限公司", "集团有限责任公司", "集团有限公司", "股份有限公司", "有限责任公司", "有限公司",
    "总公司", "公司", "集团",
)
# Legal-form words removed repeatedly from the end of a Latin-script name (tokens, lower case).
EN_SUFFIXES: Final = frozenset({
    "co", "company", "ltd", "limited", "inc", "incorporated", "llc", "corp", "corporation", "gmbh", "ag",
    "plc", "sa", "pte", "pty", "llp", "lp", "group", "kg", "bv", "nv", "srl", "oy", "ab",
})
# Bracketed notes that carry no identity: dropped wherever they are.
NOISE_NOTES: Final = frozenset({"中国", "集团", "china", "中国区"})
# Places that, in brackets, mean the same as a leading place: （北京）星辰科技 = 北京星辰科技.
PLACES: Final = frozenset({
    "北京", "上海", "天津", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建",
    "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海",
    "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门", "深圳", "广州", "杭州", "南京", "苏州",
    "成都", "武汉", "西安", "厦门", "青岛", "大连", "宁波", "长沙", "郑州", "济南", "合肥", "福州", "沈阳",
    "哈尔滨", "长春", "昆明", "南宁", "无锡", "佛山", "东莞", "珠海", "石家庄", "太原", "南昌", "贵阳", "兰州",
    "海口", "三亚", "温州", "常州", "烟台", "徐州", "中山", "惠州", "泉州", "嘉兴", "绍兴", "金华", "台州",
})
_BRACKETS: Final = re.compile(r"[(\[{【〔]([^()\[\]{}【】〔〕]*)[)\]}】〕]")
_WORD: Final = re.compile(r"[^\W_]+")
_NON_KEY: Final = re.compile(r"[\W_]+")
# Name keys shorter than this are too common to find by similarity alone (张伟, 王芳).
MIN_FUZZY_LEN: Final = 4
# Deletion neighbourhoods are computed on at most this many characters of a key.
MAX_FUZZY_LEN: Final = 24

KINDS: Final = ("phone", "email", "credit_code", "resident_id", "bank_card", "name", "contact")


def _place(note: str) -> str | None:
    text = note.removesuffix("市").removesuffix("省")
    return text if text in PLACES else None


def _strip_cn(text: str) -> str:
    if text in CN_SUFFIXES:  # a name that is nothing but a legal form keeps it
        return text
    changed = True
    while changed:
        changed = False
        for suffix in CN_SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)]
                changed = True
    return text


def name_key(name: str) -> str:
    """The company-name key: 北京星辰科技有限公司, 北京星辰科技 and （北京）星辰科技股份有限公司 all
    give 北京星辰科技; "Star Tech Co., Ltd." and "STAR TECH LTD" give startech. A name that is
    nothing but a legal form keeps its letters (公司 -> 公司)."""
    text = unicodedata.normalize("NFKC", name).casefold().strip()
    if not text:
        return ""
    places: list[str] = []

    def bracket(match: re.Match[str]) -> str:
        note = match.group(1).strip()
        place = _place(note)
        if place is not None:
            places.append(place)
            return " "
        if note in NOISE_NOTES or not note:
            return " "
        return f" {note} "

    body = _BRACKETS.sub(bracket, text)
    words = _WORD.findall(body)
    while len(words) > 1 and words[-1] in EN_SUFFIXES:
        words.pop()
    core = _strip_cn("".join(words))
    if places and core.startswith(places[0]):
        places = []
    key = "".join(places) + core
    return key or _NON_KEY.sub("", text)


def email_key(email: str) -> str:
    return email.strip().lower()


def contact_key(contact_person: str) -> str:
    return " ".join(contact_person.split()).casefold()


def keys_of(row: Mapping[str, Any]) -> set[tuple[str, str]]:
    """Every (kind, value) of one customer, from its stored columns."""
    found = exact_keys(row)
    key = next((value for kind, value in found if kind == "name"), "")
    if len(key) >= MIN_FUZZY_LEN:
        found.update(("name_del", v) for v in deletions(key))
    return found


def exact_keys(row: Mapping[str, Any]) -> set[tuple[str, str]]:
    """The keys of one customer without the `name_del` neighbourhood (which the import derives from
    the `name` key in SQL: importing/repository.py `merge_staged`)."""
    found: set[tuple[str, str]] = set()
    for column in ("mobile", "phone"):
        if row.get(column):
            found.add(("phone", str(row[column])))
    if row.get("email"):
        found.add(("email", email_key(str(row["email"]))))
    if row.get("credit_code"):
        found.add(("credit_code", str(row["credit_code"]).upper()))
    for kind in ("resident_id", "bank_card"):
        if row.get(f"{kind}_bidx"):
            found.add((kind, str(row[f"{kind}_bidx"])))
    contact = contact_key(str(row.get("contact_person") or ""))
    if contact:
        found.add(("contact", contact))
    key = name_key(str(row.get("name") or ""))
    if key:
        found.add(("name", key))
    return found


def deletions(key: str) -> set[str]:
    """The key with one character deleted, every way: two keys one edit apart (substitution,
    insertion, deletion or adjacent swap) share at least one of these (or one is the other's)."""
    text = key[:MAX_FUZZY_LEN]
    return {text[:i] + text[i + 1:] for i in range(len(text))}


def fuzzy_probes(key: str) -> set[str]:
    """Values to look up among stored `name_del` keys and `name` keys to find names one edit away."""
    if len(key) < MIN_FUZZY_LEN:
        return set()
    return deletions(key) | {key[:MAX_FUZZY_LEN]}


def split_place(key: str) -> tuple[str, str]:
    """A name key's leading place and the rest: 北京星辰科技 -> (北京, 星辰科技), 北京市星辰科技 -> (北京,
    星辰科技), 星辰科技 -> ("", 星辰科技)."""
    for length in (3, 2):  # places are two or three characters (黑龙江, 哈尔滨)
        place = key[:length]
        if place in PLACES and len(key) > length:
            rest = key[length:]
            if rest[0] in "市省" and len(rest) > 1:
                rest = rest[1:]
            return place, rest
    return "", key


_PLACE_IN_KEY: Final = re.compile("|".join(sorted(PLACES, key=len, reverse=True)))


def places_in(key: str) -> set[str]:
    """Every place named in a key: 北京星辰科技有限公司上海分 -> {北京, 上海}."""
    return set(_PLACE_IN_KEY.findall(key))


_LEGAL_FORMS: Final = re.compile("|".join(CN_SUFFIXES))


def loose_key(key: str) -> str:
    """A key without the legal forms inside it too: 北京星辰科技股份有限公司上海分 and
    北京星辰科技有限公司上海分 (two ways of writing one branch) meet."""
    return _LEGAL_FORMS.sub("", key)


def place_probes(key: str) -> set[str]:
    """Name keys that are this one with or without a leading place (the core, or every place
    before it), to find 北京星辰科技 from 星辰科技 and back by index lookup."""
    place, core = split_place(key)
    if len(core) < MIN_FUZZY_LEN:
        return set()
    if place:
        return {core}
    return {p + key for p in PLACES} | {p + "市" + key for p in PLACES}


def email_domain(email: str) -> str:
    """The domain of a company address; free-mail domains say nothing about identity."""
    domain = email_key(email).rpartition("@")[2]
    return "" if domain in FREE_MAIL else domain


FREE_MAIL: Final = frozenset({
    "qq.com", "163.com", "126.com", "sina.com", "sina.cn", "sohu.com", "139.com", "yeah.net", "foxmail.com",
    "aliyun.com", "gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "live.com", "msn.com",
})


def flatten(keys: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"kind": k, "value": v} for k, v in sorted(keys)]
