"""The complete customer record: standard fields, custom fields (JSONB + GIN), soft delete,
status history, per-tenant settings, dictionaries (seeded with Chinese defaults), custom field
definitions and per-prefix code counters.

Revision ID: c0002
Revises: c0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_platform.migrations import current_schema
from sqlalchemy.dialects import postgresql as pg

revision: str = "c0002"
down_revision: str | None = "c0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"

DEFAULT_TRANSITIONS = {
    "potential": ["intent", "won", "lost"],
    "intent": ["potential", "won", "lost"],
    "won": ["lost"],
    "lost": ["potential", "intent"],
}

INDUSTRIES = [
    ("IT", "IT"), ("FIN", "金融"), ("MFG", "制造业"), ("RTL", "零售"), ("EDU", "教育"), ("MED", "医疗健康"),
    ("RE", "房地产"), ("LOG", "物流"), ("ENE", "能源"), ("AGR", "农业"), ("GOV", "政府机构"), ("OTH", "其他"),
]
REGIONS = [
    ("HB", "华北", ""), ("BJ", "北京", "HB"), ("TJ", "天津", "HB"), ("HE", "河北", "HB"), ("SX", "山西", "HB"),
    ("NM", "内蒙古", "HB"),
    ("DB", "东北", ""), ("LN", "辽宁", "DB"), ("JL", "吉林", "DB"), ("HL", "黑龙江", "DB"),
    ("HD", "华东", ""), ("SH", "上海", "HD"), ("JS", "江苏", "HD"), ("ZJ", "浙江", "HD"), ("AH", "安徽", "HD"),
    ("FJ", "福建", "HD"), ("JX", "江西", "HD"), ("SD", "山东", "HD"),
    ("HZ", "华中", ""), ("HA", "河南", "HZ"), ("HU", "湖北", "HZ"), ("HN", "湖南", "HZ"),
    ("HS", "华南", ""), ("GD", "广东", "HS"), ("GX", "广西", "HS"), ("HI", "海南", "HS"),
    ("XN", "西南", ""), ("CQ", "重庆", "XN"), ("SC", "四川", "XN"), ("GZ", "贵州", "XN"), ("YN", "云南", "XN"),
    ("XZ", "西藏", "XN"),
    ("XB", "西北", ""), ("SN", "陕西", "XB"), ("GS", "甘肃", "XB"), ("QH", "青海", "XB"), ("NX", "宁夏", "XB"),
    ("XJ", "新疆", "XB"),
    ("GAT", "港澳台", ""), ("HK", "香港", "GAT"), ("MO", "澳门", "GAT"), ("TW", "台湾", "GAT"),
    ("OS", "海外", ""),
]
SOURCES = [
    ("trade_show", "展会"), ("referral", "转介绍"), ("online", "线上"), ("cold_call", "电话开发"),
    ("advertising", "广告"), ("partner", "合作伙伴"), ("walk_in", "上门"), ("other", "其他"),
]


def upgrade() -> None:
    for name, column in [
        ("contact_person", sa.Column("contact_person", sa.Text, nullable=False, server_default="")),
        ("phone", sa.Column("phone", sa.Text, nullable=False, server_default="")),
        ("first_contact_date", sa.Column("first_contact_date", sa.Date)),
        ("source", sa.Column("source", sa.Text, nullable=False, server_default="")),
        ("employees", sa.Column("employees", sa.BigInteger)),
        ("annual_revenue", sa.Column("annual_revenue", sa.Numeric(20, 2))),
        ("annual_revenue_currency", sa.Column("annual_revenue_currency", sa.Text, nullable=False,
                                              server_default="")),
        ("needs", sa.Column("needs", sa.Text, nullable=False, server_default="")),
        ("notes", sa.Column("notes", sa.Text, nullable=False, server_default="")),
        ("credit_code", sa.Column("credit_code", sa.Text, nullable=False, server_default="")),
        ("custom_fields", sa.Column("custom_fields", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb"))),
        ("deleted_at", sa.Column("deleted_at", sa.DateTime(timezone=True))),
        ("deleted_by", sa.Column("deleted_by", sa.Text, nullable=False, server_default="")),
    ]:
        del name
        op.add_column("customers", column, schema=current_schema())
    op.create_index("ix_customers_custom_fields", "customers", ["custom_fields"], schema=T,
                    postgresql_using="gin", postgresql_ops={"custom_fields": "jsonb_path_ops"})
    op.create_index("ix_customers_status", "customers", ["status", sa.text("created_at DESC")], schema=T)
    op.create_index("ix_customers_owner", "customers", ["owner_id", sa.text("created_at DESC")], schema=T)
    op.create_index("ix_customers_region", "customers", [sa.text("region text_pattern_ops")], schema=T)
    op.create_index("ix_customers_updated", "customers", [sa.text("updated_at DESC"), sa.text("id DESC")], schema=T)
    op.create_index("ix_customers_name", "customers", ["name", "id"], schema=T)
    op.create_index("ix_customers_credit_code", "customers", ["credit_code"], schema=T,
                    postgresql_where=sa.text("credit_code <> ''"))

    op.create_table(
        "status_history",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("from_status", sa.Text, nullable=False),
        sa.Column("to_status", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("changed_by", sa.Text, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=T,
    )
    op.create_index("ix_status_history_customer", "status_history", ["customer_id", sa.text("changed_at DESC")],
                    schema=T)

    settings = op.create_table(
        "customer_settings",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("code_pattern", sa.Text, nullable=False),
        sa.Column("status_transitions", pg.JSONB, nullable=False),
        sa.Column("enforce_dictionaries", sa.Boolean, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("id = 1", name="one_row"),
        schema=T,
    )
    op.bulk_insert(settings, [{
        "id": 1, "code_pattern": "CUS-{year}-{seq:06}", "status_transitions": DEFAULT_TRANSITIONS,
        "enforce_dictionaries": False, "version": 1,
    }])

    entries = op.create_table(
        "dictionary_entries",
        sa.Column("dictionary", sa.Text, primary_key=True),
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("parent", sa.Text, nullable=False, server_default=""),
        sa.Column("position", sa.Integer, nullable=False),
        schema=T,
    )
    rows = [{"dictionary": "industry", "code": c, "label": lb, "parent": "", "position": i}
            for i, (c, lb) in enumerate(INDUSTRIES)]
    rows += [{"dictionary": "region", "code": c, "label": lb, "parent": p, "position": i}
             for i, (c, lb, p) in enumerate(REGIONS)]
    rows += [{"dictionary": "source", "code": c, "label": lb, "parent": "", "position": i}
             for i, (c, lb) in enumerate(SOURCES)]
    op.bulk_insert(entries, rows)

    op.create_table(
        "custom_field_definitions",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("required", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("options", pg.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("pattern", sa.Text, nullable=False, server_default=""),
        sa.Column("min", sa.Text, nullable=False, server_default=""),
        sa.Column("max", sa.Text, nullable=False, server_default=""),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=T,
    )

    op.create_table(
        "code_counters",
        sa.Column("prefix", sa.Text, primary_key=True),
        sa.Column("last", sa.BigInteger, nullable=False),
        schema=T,
    )


def downgrade() -> None:
    op.drop_table("code_counters", schema=T)
    op.drop_table("custom_field_definitions", schema=T)
    op.drop_table("dictionary_entries", schema=T)
    op.drop_table("customer_settings", schema=T)
    op.drop_table("status_history", schema=T)
    for index in ("ix_customers_custom_fields", "ix_customers_status", "ix_customers_owner", "ix_customers_region",
                  "ix_customers_updated", "ix_customers_name", "ix_customers_credit_code"):
        op.drop_index(index, "customers", schema=T)
    for column in ("contact_person", "phone", "first_contact_date", "source", "employees", "annual_revenue",
                   "annual_revenue_currency", "needs", "notes", "credit_code", "custom_fields", "deleted_at",
                   "deleted_by"):
        op.drop_column("customers", column, schema=current_schema())
