"""The customer import's columns: stable field keys, their headers in both languages and the
spellings people type, and matching an uploaded header row to fields (the mapping the user may
correct before the dry run). Custom fields are matched by their key or label."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from crm_customers.fields.service import FieldDef

CUSTOM_PREFIX: Final = "cf."
# Field key -> (English header, Chinese header: the platform guide's table 1 terms).
HEADERS: Final[dict[str, tuple[str, str]]] = {
    "code": ("Customer code", "客户编号"),
    "name": ("Customer name", "客户名称"),
    "type": ("Customer type", "客户类型"),
    "industry": ("Industry", "所属行业"),
    "region": ("Region", "所在地区"),
    "contact_person": ("Contact", "联系人"),
    "mobile": ("Mobile", "手机号码"),
    "phone": ("Phone", "电话"),
    "email": ("Email", "邮箱"),
    "first_contact_date": ("First contact", "首次接触时间"),
    "source": ("Source", "来源渠道"),
    "status": ("Status", "客户状态"),
    "owner": ("Owner", "负责人"),
    "employees": ("Employees", "员工人数"),
    "annual_revenue": ("Annual revenue", "年营收"),
    "annual_revenue_currency": ("Currency", "币种"),
    "needs": ("Needs", "客户需求描述"),
    "notes": ("Notes", "备注信息"),
    "credit_code": ("Credit code", "统一社会信用代码"),
    "resident_id": ("Resident ID", "身份证号"),
    "bank_card": ("Bank card", "银行卡号"),
}
FIELDS: Final = tuple(HEADERS)
REQUIRED: Final = ("name",)
# More spellings, already folded (see `fold`).
ALIASES: Final[dict[str, str]] = {
    "编号": "code", "客户代码": "code", "customerno": "code", "customernumber": "code",
    "名称": "name", "客户姓名": "name", "企业名称": "name", "公司名称": "name", "客户": "name", "company": "name",
    "companyname": "name", "customer": "name",
    "类型": "type", "个人/企业": "type",
    "行业": "industry",
    "地区": "region", "区域": "region", "省市": "region",
    "联系人姓名": "contact_person", "contactperson": "contact_person", "contactname": "contact_person",
    "手机": "mobile", "手机号": "mobile", "移动电话": "mobile", "mobilephone": "mobile", "cell": "mobile",
    "cellphone": "mobile", "联系方式": "mobile",
    "座机": "phone", "固定电话": "phone", "电话号码": "phone", "telephone": "phone", "tel": "phone",
    "电子邮箱": "email", "电子邮件": "email", "邮件": "email", "e-mail": "email", "emailaddress": "email",
    "首次接触日期": "first_contact_date", "首次接触": "first_contact_date", "firstcontactdate": "first_contact_date",
    "firstcontacted": "first_contact_date",
    "来源": "source", "渠道": "source", "channel": "source",
    "状态": "status",
    "负责人(销售)": "owner", "销售": "owner", "销售负责人": "owner", "所有人": "owner", "salesrep": "owner",
    "企业规模": "employees", "员工数": "employees", "staff": "employees", "headcount": "employees",
    "年营业额": "annual_revenue", "营收": "annual_revenue", "revenue": "annual_revenue",
    "货币": "annual_revenue_currency", "annualrevenuecurrency": "annual_revenue_currency",
    "需求": "needs", "客户需求": "needs", "需求描述": "needs",
    "备注": "notes", "note": "notes", "remarks": "notes",
    "信用代码": "credit_code", "统一信用代码": "credit_code", "unifiedsocialcreditcode": "credit_code",
    "身份证": "resident_id", "身份证号码": "resident_id", "idnumber": "resident_id", "residentidnumber": "resident_id",
    "银行卡": "bank_card", "银行卡号码": "bank_card", "bankcardnumber": "bank_card",
}
# Text written in cells for choices, folded -> stored value.
TYPE_VALUES: Final = {"个人": "individual", "企业": "enterprise", "individual": "individual",
                      "enterprise": "enterprise", "person": "individual", "company": "enterprise", "公司": "enterprise"}
STATUS_VALUES: Final = {"潜在客户": "potential", "意向客户": "intent", "成交客户": "won", "流失客户": "lost",
                        "潜在": "potential", "意向": "intent", "成交": "won", "流失": "lost",
                        "potential": "potential", "intent": "intent", "won": "won", "lost": "lost"}
# Labels of the choices in the template's drop-downs, per language.
TYPE_LABELS: Final = {"en": ("individual", "enterprise"), "zh-CN": ("个人", "企业")}
STATUS_LABELS: Final = {"en": ("potential", "intent", "won", "lost"),
                        "zh-CN": ("潜在客户", "意向客户", "成交客户", "流失客户")}
_NOISE: Final = re.compile(r"[\s*＊_:：]|（必填）|\(必填\)|\(required\)|（选填）|\(optional\)")


def fold(text: str) -> str:
    """A header as compared: NFKC (full-width letters and brackets), lower case, no spaces,
    underscores, stars or "(required)" marks."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", text).strip().lower())


def header_for(key: str, locale: str, custom: dict[str, FieldDef]) -> str:
    if key.startswith(CUSTOM_PREFIX):
        found = custom.get(key.removeprefix(CUSTOM_PREFIX))
        return found.label if found is not None else key
    english, chinese = HEADERS[key]
    return chinese if locale == "zh-CN" else english


def match_header(cell: str, custom: list[FieldDef]) -> str | None:
    """The field a header cell names, or None."""
    text = fold(cell)
    if not text:
        return None
    for key, labels in HEADERS.items():
        if text == key.replace("_", "") or text in (fold(label) for label in labels):
            return key
    if text in ALIASES:
        return ALIASES[text]
    for definition in custom:
        if text in (fold(definition.key), fold(definition.label), fold(CUSTOM_PREFIX + definition.key)):
            return CUSTOM_PREFIX + definition.key
    return None


def propose(header: list[str], custom: list[FieldDef]) -> dict[str, str]:
    """Column position (as text, JSON's keys) -> field, first column wins for a field named twice."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for position, cell in enumerate(header):
        key = match_header(cell, custom)
        if key is not None and key not in taken:
            mapping[str(position)] = key
            taken.add(key)
    return mapping


def known(key: str, custom: list[FieldDef]) -> bool:
    if key.startswith(CUSTOM_PREFIX):
        return any(d.key == key.removeprefix(CUSTOM_PREFIX) for d in custom)
    return key in HEADERS
