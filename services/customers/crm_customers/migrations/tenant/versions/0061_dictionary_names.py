"""Dictionary entries get a display name in each language (`label_en`, `label_zh`; empty = the
entry's `label`), so English users do not read 制造业 and 华东. The default entries (c0002) get
their English and Chinese names; an entry a tenant renamed keeps its own label until an admin
names it (docs/customers.md "Dictionaries").

Revision ID: c0061
Revises: c0060
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_platform.migrations import current_schema

revision: str = "c0061"
down_revision: str | None = "c0060"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (dictionary, code, the default Chinese label of c0002, its English name)
DEFAULTS = [
    ("industry", "IT", "IT", "IT"), ("industry", "FIN", "金融", "Finance"),
    ("industry", "MFG", "制造业", "Manufacturing"), ("industry", "RTL", "零售", "Retail"),
    ("industry", "EDU", "教育", "Education"), ("industry", "MED", "医疗健康", "Healthcare"),
    ("industry", "RE", "房地产", "Real estate"), ("industry", "LOG", "物流", "Logistics"),
    ("industry", "ENE", "能源", "Energy"), ("industry", "AGR", "农业", "Agriculture"),
    ("industry", "GOV", "政府机构", "Government"), ("industry", "OTH", "其他", "Other"),
    ("region", "HB", "华北", "North China"), ("region", "BJ", "北京", "Beijing"), ("region", "TJ", "天津", "Tianjin"),
    ("region", "HE", "河北", "Hebei"), ("region", "SX", "山西", "Shanxi"), ("region", "NM", "内蒙古", "Inner Mongolia"),
    ("region", "DB", "东北", "Northeast China"), ("region", "LN", "辽宁", "Liaoning"), ("region", "JL", "吉林", "Jilin"),
    ("region", "HL", "黑龙江", "Heilongjiang"), ("region", "HD", "华东", "East China"),
    ("region", "SH", "上海", "Shanghai"), ("region", "JS", "江苏", "Jiangsu"), ("region", "ZJ", "浙江", "Zhejiang"),
    ("region", "AH", "安徽", "Anhui"), ("region", "FJ", "福建", "Fujian"), ("region", "JX", "江西", "Jiangxi"),
    ("region", "SD", "山东", "Shandong"), ("region", "HZ", "华中", "Central China"), ("region", "HA", "河南", "Henan"),
    ("region", "HU", "湖北", "Hubei"), ("region", "HN", "湖南", "Hunan"), ("region", "HS", "华南", "South China"),
    ("region", "GD", "广东", "Guangdong"), ("region", "GX", "广西", "Guangxi"), ("region", "HI", "海南", "Hainan"),
    ("region", "XN", "西南", "Southwest China"), ("region", "CQ", "重庆", "Chongqing"),
    ("region", "SC", "四川", "Sichuan"), ("region", "GZ", "贵州", "Guizhou"), ("region", "YN", "云南", "Yunnan"),
    ("region", "XZ", "西藏", "Tibet"), ("region", "XB", "西北", "Northwest China"), ("region", "SN", "陕西", "Shaanxi"),
    ("region", "GS", "甘肃", "Gansu"), ("region", "QH", "青海", "Qinghai"), ("region", "NX", "宁夏", "Ningxia"),
    ("region", "XJ", "新疆", "Xinjiang"), ("region", "GAT", "港澳台", "Hong Kong, Macao and Taiwan"),
    ("region", "HK", "香港", "Hong Kong"), ("region", "MO", "澳门", "Macao"), ("region", "TW", "台湾", "Taiwan"),
    ("region", "OS", "海外", "Overseas"),
    ("source", "trade_show", "展会", "Trade show"), ("source", "referral", "转介绍", "Referral"),
    ("source", "online", "线上", "Online"), ("source", "cold_call", "电话开发", "Cold call"),
    ("source", "advertising", "广告", "Advertising"), ("source", "partner", "合作伙伴", "Partner"),
    ("source", "walk_in", "上门", "Walk-in"), ("source", "other", "其他", "Other"),
]


def upgrade() -> None:
    schema = current_schema()
    op.add_column("dictionary_entries", sa.Column("label_en", sa.Text, nullable=False, server_default=""),
                  schema=schema)
    op.add_column("dictionary_entries", sa.Column("label_zh", sa.Text, nullable=False, server_default=""),
                  schema=schema)
    entries = sa.table("dictionary_entries", sa.column("dictionary"), sa.column("code"), sa.column("label"),
                       sa.column("label_en"), sa.column("label_zh"), schema=schema)
    bind = op.get_bind()
    for dictionary, code, chinese, english in DEFAULTS:
        # Only an entry still as seeded: a tenant's own label is theirs to translate.
        bind.execute(sa.update(entries).where(entries.c.dictionary == dictionary, entries.c.code == code,
                                              entries.c.label == chinese)
                     .values(label_en=english, label_zh=chinese))


def downgrade() -> None:
    schema = current_schema()
    op.drop_column("dictionary_entries", "label_zh", schema=schema)
    op.drop_column("dictionary_entries", "label_en", schema=schema)
