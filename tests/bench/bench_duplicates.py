"""Duplicate-scan benchmark (issues 4 and 9): generate N customers with planted duplicates and
realistic look-alikes that are NOT duplicates, load them with COPY into a tenant schema of a fresh
embedded PostgreSQL, run the real scan (crm_customers.duplicates.scan) and an exact-keys-only
baseline, and print precision, recall, scan time, rows/s and peak memory.

    .venv/bin/python tests/bench/bench_duplicates.py --rows 1000000

Look-alikes (distinct customers, docs/benchmarks.md): brand families (星辰科技 as 北京星辰科技有限公司,
上海星辰科技有限公司, 星辰科技有限公司 in several regions, 北京星辰科技有限公司上海分公司, sharing
the group's email domain and switchboard), English namesakes ("Sunrise Trading Ltd" in many
countries), the most common Chinese personal names (张伟, 王芳, 李娜, ...) with their own IDs and
phones, families sharing a home phone, offices sharing a phone, agencies whose number is on dozens
of companies, placeholder emails and phones. A planted duplicate copies an original and changes it
the way re-entered data differs: legal-suffix variants, a bracketed place, the place left out,
full-width characters, swapped case, a one-character typo (a homophone in a person's name), phones in
another format, an email in capitals, fields left out, another contact number or contact person.
`generate`, `load` and `evaluate` are used by tests/customers/test_duplicate_scan.py at 5,000 rows.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import multiprocessing
import random
import resource
import shutil
import signal
import string
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from crm_customers.customer.checksums import credit_code_check_char
from crm_customers.customer.cleaning import clean_text, normalise_mobile, normalise_phone
from crm_customers.duplicates import scoring
from crm_customers.duplicates.keys import keys_of
from crm_platform.ids import tenant_schema

CITIES = ["北京", "上海", "天津", "重庆", "广州", "深圳", "杭州", "南京", "苏州", "成都", "武汉", "西安", "厦门",
          "青岛", "大连", "宁波", "长沙", "郑州", "济南", "合肥", "福州", "沈阳", "昆明", "南宁", "无锡", "佛山",
          "东莞", "珠海", "温州", "常州"]
BRAND_CHARS = ("星辰华信达通恒瑞泰丰盛安康宏远博创新源鑫隆金银海天云山江河东西南北中明德正元嘉和美佳"
               "永兴利广荣昌伟业成富贵祥福豪龙凤鹏飞腾翔宇宙光辉晨曦阳春秋冬夏青蓝紫红绿黄白黑松柏"
               "竹梅兰菊桂林森木水火土石玉珠宝晶彩虹霞露雪雨风雷电声音乐思维智慧聪睿哲理道法规典章")
INDUSTRIES = ["科技", "贸易", "电子", "信息技术", "网络科技", "餐饮管理", "建筑工程", "物流", "医药", "生物科技",
              "环保科技", "文化传媒", "教育咨询", "机械设备", "新材料", "汽车服务", "食品", "服装", "家居", "能源"]
CN_SUFFIXES = ["有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司", "集团有限公司", ""]
EN_WORDS_1 = ["Blue", "Red", "Golden", "Silver", "Green", "Bright", "North", "South", "East", "West", "Prime",
              "Global", "United", "Pacific", "Atlantic", "Summit", "Pioneer", "Crystal", "Silk", "Jade", "Dragon",
              "Phoenix", "Eagle", "Falcon", "Lotus", "Harbor", "River", "Ocean", "Mountain", "Forest", "Stone",
              "Iron", "Copper", "Diamond", "Star", "Sun", "Moon", "Sky", "Cloud", "Rain", "Snow", "Wind", "Fire",
              "Delta", "Alpha", "Omega", "Nova", "Vertex", "Apex", "Zenith", "Orbit", "Quantum", "Vector", "Matrix"]
EN_WORDS_2 = ["Bridge", "Gate", "Tower", "Field", "Point", "Way", "Line", "Path", "Wave", "Peak", "Light", "Works",
              "Labs", "Systems", "Dynamics", "Solutions", "Networks", "Partners", "Ventures", "Trading", "Logistics",
              "Foods", "Textiles", "Motors", "Energy", "Health", "Media", "Design", "Robotics", "Analytics",
              "Software", "Devices", "Materials", "Capital", "Holdings", "Industries", "Electronics", "Supply"]
EN_INDUSTRY = ["Technology", "Trading", "Electronics", "Consulting", "Manufacturing", "Logistics", "Pharma",
               "Biotech", "Media", "Foods", "Apparel", "Furniture", "Energy", "Materials", "Machinery", "Services",
               "Engineering", "Chemicals", "Instruments", "Components"]
EN_SUFFIXES = ["Co., Ltd.", "Ltd.", "Inc.", "LLC", "Corp.", "Limited", "Company", "GmbH", ""]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞斌波辉宇浩凯健俊帆帅旭宁欣悦琳晨雪梅颖婷"
# The most common full names in China (王伟, 张伟, 王芳, ...), drawn far more often than the rest.
COMMON_NAMES = ["张伟", "王伟", "王芳", "李伟", "李娜", "张敏", "李静", "王静", "刘伟", "王秀英", "张丽", "李秀英",
                "王丽", "张静", "张秀英", "李强", "王敏", "李敏", "王磊", "刘洋", "王艳", "王勇", "李军", "张勇",
                "李杰", "张杰", "张磊", "王强", "李娟", "王军", "张艳", "张涛", "王涛", "李明", "李艳", "王超"]
# Characters typed instead of another with the same sound (the input method's usual typo).
HOMOPHONES = {"伟": "玮炜", "芳": "方", "娜": "纳", "敏": "民", "静": "婧靖", "丽": "莉俪", "磊": "垒", "军": "君",
              "洋": "阳扬", "勇": "永", "艳": "燕", "杰": "洁婕", "娟": "鹃", "涛": "韬", "明": "鸣铭", "平": "萍",
              "刚": "钢", "英": "瑛", "华": "桦", "玉": "钰", "兰": "岚", "红": "虹鸿", "鹏": "朋", "飞": "菲",
              "斌": "彬", "辉": "晖", "宇": "雨羽", "浩": "昊", "凯": "恺", "健": "建", "俊": "骏", "帆": "凡",
              "旭": "煦", "欣": "馨", "悦": "月", "琳": "林", "晨": "辰", "梅": "玫", "颖": "影", "婷": "亭",
              "张": "章", "王": "汪", "李": "黎", "刘": "柳", "陈": "晨", "杨": "阳", "黄": "皇", "吴": "武"}
COUNTRIES = ["United Kingdom", "United States", "Singapore", "Germany", "France", "Japan", "Australia", "Canada",
             "Netherlands", "Ireland", "Malaysia", "Thailand", "Vietnam", "India", "United Arab Emirates", "Italy",
             "Spain", "Switzerland", "Sweden", "Korea", "New Zealand", "Belgium", "Austria", "Denmark", "Norway",
             "Finland", "Poland", "Brazil", "Mexico", "Chile", "South Africa", "Israel", "Turkey", "Indonesia",
             "Philippines", "Hong Kong", "Luxembourg", "Portugal", "Greece", "Czechia"]
MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "158",
                   "159", "180", "181", "186", "187", "188", "189", "177", "199"]
AREAS = ["10", "21", "22", "23", "20", "755", "571", "25", "28", "27", "29", "532", "411", "574", "731"]
FREE_MAIL = ["qq.com", "163.com", "126.com", "gmail.com", "outlook.com", "sina.com"]
LOCALS = ["info", "sales", "contact", "admin", "service", "hr", "office", "market"]
CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
FULL_WIDTH = {c: chr(ord(c) + 0xFEE0) for c in string.ascii_letters + string.digits}
FULL_WIDTH.update({" ": "\u3000", "(": "（", ")": "）"})
# Placeholders typed where the form wanted something (each ends up on many records: a hub).
PLACEHOLDER_EMAIL = "test@test.com"
PLACEHOLDER_MOBILE = "+8613800000000"


@dataclass
class Dataset:
    rows: list[dict[str, Any]] = field(default_factory=list)
    # Index of the original each row copies (itself for originals).
    cluster: list[int] = field(default_factory=list)
    # How many originals were made by each kind of look-alike (for the printout).
    makers: dict[str, int] = field(default_factory=dict)

    @property
    def duplicates(self) -> int:
        return sum(1 for i, c in enumerate(self.cluster) if c != i)


Made = tuple[dict[str, Any], dict[str, Any]]


class Generator:
    def __init__(self, seed: int):
        self.rnd = random.Random(seed)
        self.names: set[str] = set()
        self.mobiles: set[str] = set()
        self.phones: set[str] = set()
        self.domains: set[str] = set()
        self.serial = 0

    def _next(self) -> int:
        self.serial += 1
        return self.serial

    def person(self) -> str:
        r = self.rnd
        if r.random() < 0.3:
            return r.choice(COMMON_NAMES)
        return r.choice(SURNAMES) + "".join(r.choice(GIVEN) for _ in range(r.choice((1, 2, 2))))

    def mobile(self) -> str:
        while True:
            number = self.rnd.choice(MOBILE_PREFIXES) + f"{self.rnd.randrange(10**8):08d}"
            if number not in self.mobiles:
                self.mobiles.add(number)
                return number

    def landline(self) -> str:
        while True:
            area = self.rnd.choice(AREAS)
            number = area + str(self.rnd.randint(2, 8)) + f"{self.rnd.randrange(10**7):07d}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def domain(self) -> str:
        while True:
            text = "".join(self.rnd.choice(string.ascii_lowercase) for _ in range(self.rnd.randint(6, 10)))
            domain = f"{text}.{self.rnd.choice(('com', 'cn', 'com.cn', 'net'))}"
            if domain not in self.domains:
                self.domains.add(domain)
                return domain

    def credit_code(self) -> str:
        first = "91" + "".join(self.rnd.choice(CREDIT_CHARS) for _ in range(15))
        return first + credit_code_check_char(first)

    def _company_row(self, name: str, region: str, domain: str) -> dict[str, Any]:
        """Contact data of one distinct company: its own numbers, an address at its domain, and a
        credit code half of the time."""
        r = self.rnd
        row = {"name": name, "type": "enterprise", "region": region, "contact_person": self.person(),
               "mobile": "", "phone": "", "email": "", "credit_code": "", "resident_id_bidx": "", "bank_card_bidx": ""}
        if r.random() < 0.75:
            row["mobile"] = "+86" + self.mobile()
        if r.random() < 0.4:
            row["phone"] = "+86" + self.landline()
        if r.random() < 0.7 or not (row["mobile"] or row["phone"]):
            row["email"] = f"{r.choice(LOCALS)}@{domain}"
        if r.random() < 0.5:
            row["credit_code"] = self.credit_code()
        return row

    def _cn_core(self) -> tuple[str, str, str]:
        r = self.rnd
        while True:
            city, industry = r.choice(CITIES), r.choice(INDUSTRIES)
            brand = r.choice(BRAND_CHARS) + r.choice(BRAND_CHARS)
            if city + brand + industry not in self.names and brand + industry not in self.names:
                return city, brand, industry

    def company(self) -> Made:
        """A stored row and the parts its name was made of (for variants). English names have 41,040
        combinations: when they run out (about 1M rows), the name is Chinese."""
        r = self.rnd
        english = None
        if r.random() >= 0.8:
            for _ in range(20):
                words = [r.choice(EN_WORDS_1), r.choice(EN_WORDS_2), r.choice(EN_INDUSTRY)]
                if " ".join(words).lower() not in self.names:
                    english = words
                    break
        if english is None:
            city, brand, industry = self._cn_core()
            self.names.add(city + brand + industry)
            suffix = r.choice(CN_SUFFIXES)
            parts = {"lang": "cn", "place": city, "brand": brand, "industry": industry, "suffix": suffix, "tail": ""}
            name, region = city + brand + industry + suffix, city
        else:
            core = " ".join(english)
            self.names.add(core.lower())
            suffix = r.choice(EN_SUFFIXES)
            parts = {"lang": "en", "words": english, "suffix": suffix}
            name, region = f"{core} {suffix}".strip(), r.choice(COUNTRIES) if r.random() < 0.5 else ""
        parts["domain"] = self.domain()
        row = self._company_row(name, region, parts["domain"])
        if r.random() < 0.003:
            row["email"] = PLACEHOLDER_EMAIL
        elif r.random() < 0.002:
            row["mobile"] = PLACEHOLDER_MOBILE
        return row, parts

    def individual(self, *, surname: str = "") -> Made:
        r = self.rnd
        name = self.person()
        if surname:
            name = surname + name[1:]
        row = {"name": name, "type": "individual", "region": r.choice(CITIES), "contact_person": "",
               "mobile": "+86" + self.mobile(), "phone": "", "email": "", "credit_code": "",
               "resident_id_bidx": "", "bank_card_bidx": ""}
        if r.random() < 0.5:
            local = "".join(r.choice(string.ascii_lowercase + string.digits) for _ in range(r.randint(6, 12)))
            row["email"] = f"{local}@{r.choice(FREE_MAIL)}"
        if r.random() < 0.4:
            row["resident_id_bidx"] = f"rid{self._next():012d}"
        if r.random() < 0.2:
            row["bank_card_bidx"] = f"card{self._next():012d}"
        return row, {"lang": "person"}

    # -- look-alikes: distinct customers that share names, brands, phones ------------------------

    def brand_family(self, size: int) -> list[Made]:
        """One brand in many places: 北京星辰科技有限公司 and 上海星辰科技有限公司 (each city once),
        星辰科技有限公司 entered without its city in several regions (each region once), and
        branches 北京星辰科技有限公司上海分公司; most share the group's email domain, and the
        companies with the city in their name often list the group's switchboard."""
        r = self.rnd
        _city, brand, industry = self._cn_core()
        self.names.add(brand + industry)
        group_domain, switchboard = self.domain(), "+86" + self.landline()
        # A region never holds both 北京星辰科技有限公司 and 星辰科技有限公司 (one company by any reading).
        cities = r.sample(CITIES, len(CITIES))
        prefixed, bare = cities[: len(cities) // 2], cities[len(cities) // 2:]
        head_city = prefixed[0]
        head = head_city + brand + industry + "有限公司"
        made: list[Made] = []
        for _ in range(size):
            pick = r.random()
            if pick < 0.5 and prefixed:
                city = prefixed.pop()
                if city + brand + industry in self.names:
                    continue  # another company has this name already
                self.names.add(city + brand + industry)
                suffix = r.choice(CN_SUFFIXES[:-1])
                parts = {"lang": "cn", "place": city, "brand": brand, "industry": industry, "suffix": suffix,
                         "tail": ""}
                name, region, shares_switchboard = city + brand + industry + suffix, city, r.random() < 0.4
            elif pick < 0.8 and bare:
                city = bare.pop()
                parts = {"lang": "cn", "place": "", "brand": brand, "industry": industry, "suffix": "有限公司",
                         "tail": ""}
                name, region, shares_switchboard = brand + industry + "有限公司", city, False
            else:
                city = r.choice(CITIES)
                tail = f"{city}分公司"
                if head + tail in self.names:
                    continue
                self.names.add(head + tail)
                parts = {"lang": "cn", "place": head_city, "brand": brand, "industry": industry, "suffix": "有限公司",
                         "tail": tail}
                name, region, shares_switchboard = head + tail, city, r.random() < 0.4
            parts["domain"] = group_domain if r.random() < 0.6 else self.domain()
            row = self._company_row(name, region, parts["domain"])
            if shares_switchboard:
                row["phone"] = switchboard
            made.append((row, parts))
        return made

    def namesakes(self, size: int) -> list[Made]:
        """One English name in many countries ("Sunrise Trading Ltd" in the UK, Singapore, ...); none
        when every two-word name has its family already."""
        r = self.rnd
        for _ in range(20):
            words = [r.choice(EN_WORDS_1), r.choice(EN_WORDS_2)]
            core = " ".join(words)
            if core.lower() not in self.names:
                self.names.add(core.lower())
                break
        else:
            return []  # the 2,052 two-word names are all taken
        made: list[Made] = []
        for country in r.sample(COUNTRIES, min(size, len(COUNTRIES))):
            suffix = r.choice(EN_SUFFIXES[:-1])
            parts = {"lang": "en", "words": words, "suffix": suffix, "domain": self.domain()}
            row = self._company_row(f"{core} {suffix}", country, parts["domain"])
            row["credit_code"] = ""  # registered abroad
            made.append((row, parts))
        return made

    def sharing_phone(self, size: int) -> list[Made]:
        """Distinct companies with one phone: an office's front desk (a few) or an agency that
        registered dozens of clients with its own number (a hub)."""
        phone = "+86" + self.landline()
        made = [self.company() for _ in range(size)]
        for row, _parts in made:
            row["phone"] = phone
        return made

    def family(self, size: int) -> list[Made]:
        """People sharing a home phone, often with one surname (王伟 and 王芳), never one name twice."""
        phone = "+86" + self.landline()
        surname = self.rnd.choice(SURNAMES) if self.rnd.random() < 0.5 else ""
        made: list[Made] = []
        while len(made) < size:
            person = self.individual(surname=surname)
            if person[0]["name"] not in {m[0]["name"] for m in made}:
                made.append(person)
        region = made[0][0]["region"]
        for row, _parts in made:
            row["phone"], row["region"] = phone, region
        return made

    # -- planted duplicates ----------------------------------------------------------------------

    def typo(self, text: str, alphabet: str) -> str:
        r = self.rnd
        if len(text) < 2:
            return text + r.choice(alphabet)
        i = r.randrange(len(text))
        kind = r.random()
        if kind < 0.5:
            replacement = r.choice(alphabet)
            while replacement == text[i]:
                replacement = r.choice(alphabet)
            return text[:i] + replacement + text[i + 1:]
        if kind < 0.75:
            return text[:i] + text[i + 1:]
        i = min(i, len(text) - 2)
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]

    def homophone(self, name: str) -> str:
        """A person's name typed with another character of the same sound (王芳 -> 王方)."""
        places = [i for i, c in enumerate(name) if c in HOMOPHONES]
        if not places:
            return name
        i = self.rnd.choice(places)
        return name[:i] + self.rnd.choice(HOMOPHONES[name[i]]) + name[i + 1:]

    def name_variant(self, row: dict[str, Any], parts: dict[str, Any]) -> str:
        r = self.rnd
        if parts["lang"] == "person":
            return row["name"] if r.random() < 0.8 else self.homophone(row["name"])
        pick = r.random()
        if parts["lang"] == "cn":
            place, brand, industry, suffix, tail = (parts[k] for k in ("place", "brand", "industry", "suffix", "tail"))
            if pick < 0.3:
                return place + brand + industry + r.choice([s for s in CN_SUFFIXES if s != suffix]) + tail
            if pick < 0.4 and place and not tail:
                rest = brand + industry
                return r.choice([f"（{place}）{rest}股份有限公司", f"{rest}（{place}）有限公司",
                                 f"({place}){rest}有限公司"])
            if pick < 0.48:  # full-width spaces, as pasted from a document
                return "\u3000".join(p for p in (place, brand + industry, suffix + tail) if p)
            if pick < 0.56 and place and not tail:  # the place left out: 星辰科技有限公司
                return brand + industry + suffix
            if pick < 0.84:
                return place + self.typo(brand, BRAND_CHARS) + industry + suffix + tail
            return str(row["name"])
        words = list(parts["words"])
        if pick < 0.3:
            return f"{' '.join(words)} {r.choice([s for s in EN_SUFFIXES if s != parts['suffix']])}".strip()
        if pick < 0.45:
            return str(row["name"]).upper() if r.random() < 0.5 else str(row["name"]).swapcase()
        if pick < 0.55:
            return "".join(FULL_WIDTH.get(c, c) for c in row["name"])
        if pick < 0.85:
            k = r.randrange(len(words))
            words[k] = self.typo(words[k], string.ascii_lowercase)
            return f"{' '.join(words)} {parts['suffix']}".strip()
        return str(row["name"])

    def phone_format(self, e164: str) -> str:
        national = e164[3:]
        r = self.rnd
        if len(national) == 11 and national.startswith("1"):
            return r.choice([f"{national[:3]} {national[3:7]} {national[7:]}",
                             f"{national[:3]}-{national[3:7]}-{national[7:]}",
                             f"+86 {national}", f"(+86){national}", f"0086{national}", national])
        area = 2 if national[:2] in ("10", "20", "21", "22", "23", "24", "25", "27", "28", "29") else 3
        return r.choice([f"0{national[:area]}-{national[area:]}", f"(0{national[:area]}) {national[area:]}",
                         f"+86 {national[:area]} {national[area:]}"])

    def duplicate(self, row: dict[str, Any], parts: dict[str, Any]) -> dict[str, Any]:
        """Raw input as a person would type it again; `clean` makes it what the service stores."""
        r = self.rnd
        dup = dict(row)
        dup["name"] = self.name_variant(row, parts)
        dup["mobile"] = self.phone_format(row["mobile"]) if row["mobile"] and r.random() < 0.65 else ""
        dup["phone"] = self.phone_format(row["phone"]) if row["phone"] and r.random() < 0.5 else ""
        if row["email"] and r.random() < 0.55:
            dup["email"] = row["email"].upper() if r.random() < 0.5 else row["email"]
        else:
            dup["email"] = ""
        dup["credit_code"] = row["credit_code"] if r.random() < 0.4 else ""
        for column in ("resident_id_bidx", "bank_card_bidx"):
            dup[column] = row[column] if r.random() < 0.5 else ""
        if r.random() >= 0.85:
            dup["region"] = ""
        if r.random() >= 0.75:
            dup["contact_person"] = self.person() if parts["lang"] != "person" else ""
        if not (dup["mobile"] or dup["phone"] or dup["email"]):
            dup["mobile"] = self.mobile()  # another number of theirs
        return dup


def clean(row: dict[str, Any]) -> dict[str, Any]:
    """What the service would store (customer/cleaning.py): NFKC text, E.164 phones, the email's
    domain in lower case, upper-case credit codes."""
    out = dict(row)
    out["name"] = clean_text(row["name"])
    out["contact_person"] = clean_text(row["contact_person"])
    for column, parse in (("mobile", normalise_mobile), ("phone", normalise_phone)):
        value = row[column]
        if value and not (value.startswith("+86") and value[1:].isdigit()):
            try:
                out[column] = parse(value)
            except ValueError:
                out[column] = ""
    if row["email"]:
        local, _, domain = row["email"].partition("@")
        out["email"] = f"{local}@{domain.lower()}"
    out["credit_code"] = row["credit_code"].upper()
    return out


def _family_size(rnd: random.Random, smallest: int, largest: int, alpha: float) -> int:
    """Heavy-tailed: most families are small, a few are large."""
    return min(largest, smallest + int(rnd.paretovariate(alpha)) - 1)


def originals(gen: Generator, count: int, collisions: bool) -> tuple[list[Made], dict[str, int]]:
    """`count` distinct customers; with `collisions`, about a quarter are look-alikes of others."""
    made: list[Made] = []
    makers: dict[str, int] = {}
    r = gen.rnd
    while len(made) < count:
        pick = r.random() if collisions else 1.0
        if pick < 0.04:
            kind, batch = "brand families", gen.brand_family(_family_size(r, 2, 40, 1.2))
        elif pick < 0.055:
            kind, batch = "English namesakes", gen.namesakes(_family_size(r, 2, len(COUNTRIES), 1.0))
        elif pick < 0.075:
            kind, batch = "offices sharing a phone", gen.sharing_phone(r.randint(2, 5))
        elif pick < 0.0765:
            kind, batch = "agency numbers (hubs)", gen.sharing_phone(r.randint(scoring.HUB_LIMIT + 1, 80))
        elif pick < 0.0935:
            kind, batch = "families sharing a phone", gen.family(r.randint(2, 4))
        elif r.random() < 0.85:
            kind, batch = "companies", [gen.company()]
        else:
            kind, batch = "people", [gen.individual()]
        batch = batch[: count - len(made)]
        makers[kind] = makers.get(kind, 0) + len(batch)
        made += batch
    return made, makers


def generate(rows: int, duplicate_rate: float = 0.03, seed: int = 20261123, collisions: bool = True) -> Dataset:
    gen = Generator(seed)
    planted = round(rows * duplicate_rate)
    made, makers = originals(gen, rows - planted, collisions)
    data = Dataset(makers=makers)
    for i, (row, _parts) in enumerate(made):
        data.rows.append(row)
        data.cluster.append(i)
    for _ in range(planted):
        source = gen.rnd.randrange(len(made))
        data.rows.append(clean(gen.duplicate(*made[source])))
        data.cluster.append(source)
    order = list(range(rows))
    gen.rnd.shuffle(order)  # duplicates are not all at the end
    data.rows = [data.rows[i] for i in order]
    where = {old: new for new, old in enumerate(order)}
    data.cluster = [where[data.cluster[old]] for old in order]
    return data


# -- loading -------------------------------------------------------------------------------------

COLUMNS = ("id", "code", "name", "type", "industry", "region", "mobile", "phone", "email", "status", "version",
           "created_by", "updated_by", "contact_person", "credit_code", "resident_id_bidx", "bank_card_bidx")


def _copy_text(rows: Iterable[Iterable[Any]]) -> bytes:
    out = io.StringIO()
    for row in rows:
        out.write("\t".join("\\N" if v is None else str(v).replace("\\", "\\\\").replace("\t", " ")
                            .replace("\n", " ") for v in row))
        out.write("\n")
    return out.getvalue().encode()


def load(conninfo: str, tenant_id: uuid.UUID, data: Dataset) -> list[uuid.UUID]:
    """COPY the customers and their match keys (as every write stores them) into the tenant's
    schema; returns the customer ids in dataset order."""
    schema = tenant_schema(tenant_id)
    ids = [uuid.uuid4() for _ in data.rows]
    batch = 50_000
    with psycopg.connect(conninfo) as conn:
        # Bulk load: the rows are consistent by construction, so the per-row foreign-key triggers
        # of customer_match_keys are skipped for this session (the usual pg_restore technique).
        conn.execute("SET session_replication_role = replica")
        # Secondary indexes are built once after the data, as pg_restore does: the schema ends up
        # identical, the load is much faster than maintaining them row by row.
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s "
            "AND tablename IN ('customers', 'customer_match_keys', 'customer_name_deletions') AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE connamespace = %s::regnamespace)",
            (schema, f'"{schema}"'),
        ).fetchall()
        for name, _definition in indexes:
            conn.execute(f'DROP INDEX "{schema}"."{name}"')
        with conn.cursor() as cur:
            for start in range(0, len(ids), batch):
                part = range(start, min(start + batch, len(ids)))
                customers = (
                    (ids[i], f"B{i:08d}", r["name"], r["type"], "", r["region"], r["mobile"], r["phone"], r["email"],
                     "potential", 1, "bench", "bench", r["contact_person"], r["credit_code"],
                     r["resident_id_bidx"] or None, r["bank_card_bidx"] or None)
                    for i, r in ((i, data.rows[i]) for i in part)
                )
                with cur.copy(f'COPY "{schema}".customers ({", ".join(COLUMNS)}) FROM STDIN') as copy:
                    copy.write(_copy_text(customers))
                found = [(ids[i], keys_of(data.rows[i])) for i in part]
                keys = ((customer_id, kind, value) for customer_id, pairs in found for kind, value in pairs
                        if kind != "name_del")
                with cur.copy(f'COPY "{schema}".customer_match_keys (customer_id, kind, value) FROM STDIN') as copy:
                    copy.write(_copy_text(keys))
                # The name_del keys: one array per customer (migration c0252).
                with cur.copy(f'COPY "{schema}".customer_name_deletions (customer_id, deletions) FROM STDIN') as copy:
                    for customer_id, pairs in found:
                        deleted = sorted(value for kind, value in pairs if kind == "name_del")
                        if deleted:
                            copy.write_row((customer_id, deleted))
        conn.execute("SET maintenance_work_mem = '512MB'")
        for _name, definition in indexes:
            conn.execute(definition)
        conn.commit()
        conn.execute(f'ANALYZE "{schema}".customers')
        conn.execute(f'ANALYZE "{schema}".customer_match_keys')
        conn.execute(f'ANALYZE "{schema}".customer_name_deletions')
    return ids


# -- evaluation ----------------------------------------------------------------------------------

@dataclass
class Quality:
    precision: float
    recall: float
    predicted_pairs: int
    true_pairs: int
    groups: int
    # Groups flagged too large to review (not counted as predictions) and their size in all.
    flagged: int = 0
    flagged_customers: int = 0
    largest: int = 0


def _pairs(clusters: Iterable[list[Any]]) -> set[tuple[Any, Any]]:
    found = set()
    for members in clusters:
        ordered = sorted(members)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1:]:
                found.add((a, b))
    return found


def evaluate(conninfo: str, tenant_id: uuid.UUID, data: Dataset, ids: list[uuid.UUID]) -> Quality:
    schema = tenant_schema(tenant_id)
    with psycopg.connect(conninfo) as conn:
        # A group flagged too large to review claims nothing about its members: not a prediction.
        rows = conn.execute(
            f'SELECT m.group_id, m.customer_id FROM "{schema}".duplicate_group_members m '
            f'JOIN "{schema}".duplicate_groups g ON g.id = m.group_id WHERE g.status = %s AND NOT g.too_large',
            ("open",),
        ).fetchall()
        flagged, flagged_customers = conn.execute(
            f'SELECT count(*), coalesce(sum(size), 0) FROM "{schema}".duplicate_groups '
            "WHERE status = 'open' AND too_large"
        ).fetchone() or (0, 0)
    groups: dict[Any, list[Any]] = {}
    for group_id, customer_id in rows:
        groups.setdefault(group_id, []).append(customer_id)
    truth: dict[int, list[Any]] = {}
    for index, root in enumerate(data.cluster):
        truth.setdefault(root, []).append(ids[index])
    predicted = _pairs(groups.values())
    expected = _pairs(m for m in truth.values() if len(m) > 1)
    hit = len(predicted & expected)
    return Quality(hit / len(predicted) if predicted else 1.0, hit / len(expected) if expected else 1.0,
                   len(predicted), len(expected), len(groups), int(flagged), int(flagged_customers),
                   max((len(m) for m in groups.values()), default=0))


# -- running the real scan -----------------------------------------------------------------------

async def run_scan(database_url: str, tenant_id: uuid.UUID, exact_only: bool = False) -> dict[str, Any]:
    from crm_customers.duplicates import repository
    from crm_customers.duplicates.scan import DuplicateScan
    from crm_platform.db import create_engine, tenant_session
    from crm_platform.ids import new_id

    engine = create_engine(database_url, pool_size=2)
    try:
        scan_id = new_id()
        async with tenant_session(engine, tenant_id) as session:
            await repository.insert_scan(session, scan_id, "bench")
        started = time.perf_counter()
        stats = await DuplicateScan(engine, tenant_id, scan_id, exact_only=exact_only).run()
        seconds = time.perf_counter() - started
    finally:
        await engine.dispose()
    return {"seconds": seconds, "phases": stats.seconds, "pairs": stats.pairs, "groups": stats.groups,
            "fuzzy_candidates": stats.fuzzy_candidates, "exact_pairs": stats.exact_pairs}


def _peak_rss_mib() -> float:
    """This process's own high-water mark (VmHWM; ru_maxrss would carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _scan_process(database_url: str, tenant_id: str, exact_only: bool, queue: Any) -> None:
    result = asyncio.run(run_scan(database_url, uuid.UUID(tenant_id), exact_only))
    result["peak_mib"] = _peak_rss_mib()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime  # the scan process only (Postgres not included)
    queue.put(result)


def scan_in_child(database_url: str, tenant_id: uuid.UUID, exact_only: bool) -> dict[str, Any]:
    """In a fresh process, so its peak memory is the scan's own (plus the interpreter)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_scan_process, args=(database_url, str(tenant_id), exact_only, queue))
    process.start()
    result: dict[str, Any] = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--duplicate-rate", type=float, default=0.03)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--no-collisions", action="store_true",
                        help="only distinct names, phones and emails (the issue 4 data set)")
    parser.add_argument("--keep", action="store_true", help="keep the Postgres data directory")
    args = parser.parse_args()

    from crm_customers.main import DEFINITION
    from crm_dev.infra import EmbeddedPostgres, free_port
    from crm_platform import migrations

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops Postgres
    base = Path(tempfile.mkdtemp(prefix="bench-dups-"))
    postgres = EmbeddedPostgres(base / "pg", free_port(), base / "postgres.log")
    postgres.start()
    try:
        postgres.create_database("crm_customers")
        url = postgres.url("crm_customers")
        conninfo = url.replace("postgresql+psycopg://", "postgresql://")
        migrations.upgrade_control(url, DEFINITION.control_tree)
        tenant_id = uuid.uuid4()
        migrations.upgrade_tenant(url, DEFINITION.tenant_tree, tenant_id)

        started = time.perf_counter()
        data = generate(args.rows, args.duplicate_rate, args.seed, collisions=not args.no_collisions)
        generated = time.perf_counter() - started
        started = time.perf_counter()
        ids = load(conninfo, tenant_id, data)
        loaded = time.perf_counter() - started
        print(f"generated {len(data.rows):,} customers ({data.duplicates:,} planted duplicates) in {generated:.1f} s; "
              f"loaded with COPY (customers + match keys) in {loaded:.1f} s", flush=True)
        print("originals by kind: " + ", ".join(f"{k} {v:,}" for k, v in sorted(data.makers.items())), flush=True)

        results = {}
        for label, exact_only in (("baseline: exact keys only", True), ("scan: evidence model", False)):
            run = scan_in_child(url, tenant_id, exact_only)
            quality = evaluate(conninfo, tenant_id, data, ids)
            results[label] = (run, quality)
            print(f"{label}: {run['seconds']:.1f} s {run['phases']}", flush=True)

        print()
        print("| run | precision | recall | scan time | scan CPU (Python) | rows/s | peak MiB | groups "
              "| largest group | flagged too large (customers) | pairs (found / planted) |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for label, (run, quality) in results.items():
            print(f"| {label} | {quality.precision:.4f} | {quality.recall:.4f} | {run['seconds']:.1f} s | "
                  f"{run['cpu_seconds']:.1f} s | {len(data.rows) / run['seconds']:,.0f} | {run['peak_mib']:.0f} | "
                  f"{quality.groups:,} | {quality.largest:,} | {quality.flagged:,} ({quality.flagged_customers:,}) | "
                  f"{quality.predicted_pairs:,} / {quality.true_pairs:,} |")
        sys.stdout.flush()
    finally:
        postgres.stop()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
