"""The customer import's columns: stable field keys, their headers in both languages and the
spellings people type, and matching an uploaded header row to fields (the mapping the user may
correct before the dry run). Custom fields are matched by their key or label."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from crm_customers.fields.service import FieldDef
from crm_platform.i18n import NC_, Msg, both, locale_or_default, messages

CUSTOM_PREFIX: Final = "cf."
# Field key -> its header (the services' catalogue; zh-CN: the platform guide's table 1 terms).
HEADERS: Final[dict[str, Msg]] = {
    "code": NC_("customer import column", "Customer code"),
    "name": NC_("customer import column", "Customer name"),
    "type": NC_("customer import column", "Customer type"),
    "industry": NC_("customer import column", "Industry"),
    "region": NC_("customer import column", "Region"),
    "contact_person": NC_("customer import column", "Contact"),
    "mobile": NC_("customer import column", "Mobile"),
    "phone": NC_("customer import column", "Phone"),
    "email": NC_("customer import column", "Email"),
    "first_contact_date": NC_("customer import column", "First contact"),
    "source": NC_("customer import column", "Source"),
    "status": NC_("customer import column", "Status"),
    "owner": NC_("customer import column", "Owner"),
    "employees": NC_("customer import column", "Employees"),
    "annual_revenue": NC_("customer import column", "Annual revenue"),
    "annual_revenue_currency": NC_("customer import column", "Currency"),
    "needs": NC_("customer import column", "Needs"),
    "notes": NC_("customer import column", "Notes"),
    "credit_code": NC_("customer import column", "Credit code"),
    "resident_id": NC_("customer import column", "Resident ID"),
    "bank_card": NC_("customer import column", "Bank card"),
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
# The choices of the template's drop-downs as written in cells (en: the stored codes).
TYPE_LABELS: Final[tuple[Msg, ...]] = (NC_("customer type in a cell", "individual"),
                                       NC_("customer type in a cell", "enterprise"))
STATUS_LABELS: Final[tuple[Msg, ...]] = (
    NC_("customer status in a cell", "potential"), NC_("customer status in a cell", "intent"),
    NC_("customer status in a cell", "won"), NC_("customer status in a cell", "lost"))
_NOISE: Final = re.compile(r"[\s*＊_:：]|（必填）|\(必填\)|\(required\)|（选填）|\(optional\)")


def fold(text: str) -> str:
    """A header as compared: NFKC (full-width letters and brackets), lower case, no spaces,
    underscores, stars or "(required)" marks."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", text).strip().lower())


def header_for(key: str, locale: str, custom: dict[str, FieldDef]) -> str:
    if key.startswith(CUSTOM_PREFIX):
        found = custom.get(key.removeprefix(CUSTOM_PREFIX))
        return found.label if found is not None else key
    return messages(locale_or_default(locale)).text(HEADERS[key])


def match_header(cell: str, custom: list[FieldDef]) -> str | None:
    """The field a header cell names, or None."""
    text = fold(cell)
    if not text:
        return None
    for key, label in HEADERS.items():
        if text == key.replace("_", "") or text in (fold(spelling) for spelling in both(label)):
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
