"""Realistic demo customers: Chinese and international companies and people, valid mobiles,
industries and regions. Deterministic for a given seed."""

from __future__ import annotations

import random
from typing import Any

INDUSTRIES = ["IT", "制造业", "金融", "零售", "医疗健康", "教育", "物流", "房地产", "能源", "餐饮"]
REGIONS = [
    "华北/北京",
    "华北/天津",
    "华东/上海",
    "华东/杭州",
    "华东/南京",
    "华南/广州",
    "华南/深圳",
    "西南/成都",
    "西南/重庆",
    "华中/武汉",
    "西北/西安",
    "东北/沈阳",
]
CITY_PREFIX = ["北京", "上海", "深圳", "广州", "杭州", "成都", "武汉", "南京", "苏州", "西安", "天津", "重庆"]
WORDS = [
    "华信",
    "星辰",
    "云帆",
    "锦程",
    "博远",
    "恒通",
    "瑞丰",
    "天成",
    "宏图",
    "创新",
    "智联",
    "中科",
    "金桥",
    "汇丰",
    "安泰",
    "鼎盛",
    "卓越",
    "腾达",
    "众合",
    "新元",
]
KINDS = ["科技", "贸易", "制造", "信息技术", "医疗器械", "教育科技", "物流", "餐饮管理", "咨询", "能源"]
SUFFIXES = ["有限公司", "股份有限公司", "有限责任公司", "集团有限公司"]
SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭"]
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "桂英",
    "建华",
    "志强",
    "晓东",
]
INTL_COMPANIES = [
    "Northwind Traders",
    "Contoso Ltd.",
    "Fabrikam Inc.",
    "Globex Corporation",
    "Initech GmbH",
    "Umbrella Health Pte. Ltd.",
    "Stark Logistics LLC",
    "Wayne Retail Co., Ltd.",
    "Tyrell Energy Inc.",
    "Acme Education Ltd.",
]
INTL_PEOPLE = [
    "Emma Schmidt",
    "Liam O'Brien",
    "Sophia Rossi",
    "Noah Tanaka",
    "Olivia Martin",
    "Lucas Silva",
    "Mia Kowalski",
    "Ethan Kim",
    "Ava Johansson",
    "Mateo García",
]
INTL_PHONES = ["+49 30 901820", "+44 20 7946 0958", "+1 415 555 0132", "+81 3-1234-5678", "+65 6123 4567"]
MOBILE_PREFIXES = ["138", "139", "137", "136", "150", "151", "158", "159", "186", "187", "188", "135", "177", "199"]
STATUSES = ["potential"] * 5 + ["intent"] * 3 + ["won"] * 2 + ["lost"]


def demo_customers(count: int, seed: int = 2024) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for index in range(count):
        industry = rng.choice(INDUSTRIES)
        region = rng.choice(REGIONS)
        international = index % 10 == 9
        individual = index % 4 == 3
        if international:
            name = rng.choice(INTL_PEOPLE if individual else INTL_COMPANIES)
            if not individual:
                name = f"{name} ({index})"
            mobile = rng.choice(INTL_PHONES)[:-2] + f"{index % 100:02d}"
            email = f"contact{index}@example.com"
        else:
            if individual:
                name = rng.choice(SURNAMES) + rng.choice(GIVEN)
            else:
                name = (
                    rng.choice(CITY_PREFIX)
                    + rng.choice(WORDS)
                    + rng.choice(WORDS)
                    + rng.choice(KINDS)
                    + rng.choice(SUFFIXES)
                )
            mobile = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
            email = f"c{index}@{rng.choice(['qq.com', '163.com', 'example.cn', 'corp.example.com'])}"
        rows.append(
            {
                "name": name,
                "type": "individual" if individual else "enterprise",
                "industry": industry,
                "region": region,
                "mobile": mobile,
                "email": email,
                "status": rng.choice(STATUSES),
            }
        )
    return rows
