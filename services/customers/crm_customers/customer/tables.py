from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_platform.db import TENANT, new_metadata

metadata = new_metadata()

customer_code_seq = sa.Sequence("customer_code_seq", schema=TENANT)

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("code", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("industry", sa.Text, nullable=False),
    sa.Column("region", sa.Text, nullable=False),
    sa.Column("mobile", sa.Text, nullable=False),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("owner_id", pg.UUID(as_uuid=True)),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("updated_by", sa.Text, nullable=False),
    sa.Column("contact_person", sa.Text, nullable=False, server_default=""),
    sa.Column("phone", sa.Text, nullable=False, server_default=""),
    sa.Column("first_contact_date", sa.Date),
    sa.Column("source", sa.Text, nullable=False, server_default=""),
    sa.Column("employees", sa.BigInteger),
    sa.Column("annual_revenue", sa.Numeric(20, 2)),
    sa.Column("annual_revenue_currency", sa.Text, nullable=False, server_default=""),
    sa.Column("needs", sa.Text, nullable=False, server_default=""),
    sa.Column("notes", sa.Text, nullable=False, server_default=""),
    sa.Column("credit_code", sa.Text, nullable=False, server_default=""),
    sa.Column("custom_fields", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("deleted_at", sa.DateTime(timezone=True)),
    sa.Column("deleted_by", sa.Text, nullable=False, server_default=""),
    # Sensitive fields (migration c0003, crm_customers/sensitive): ciphertext, blind index, masked form.
    sa.Column("resident_id_enc", sa.LargeBinary),
    sa.Column("resident_id_bidx", sa.Text),
    sa.Column("resident_id_masked", sa.Text, nullable=False, server_default=""),
    sa.Column("bank_card_enc", sa.LargeBinary),
    sa.Column("bank_card_bidx", sa.Text),
    sa.Column("bank_card_masked", sa.Text, nullable=False, server_default=""),
    # Set while soft-deleted by a merge: the survivor (migration c0006, crm_customers/merge).
    sa.Column("merged_into", pg.UUID(as_uuid=True)),
    # Search keys of `name` (migration c0008, crm_customers/search/pinyin.py), set by repository.py on
    # every write. The generated `search_text` column is deliberately not declared (never written).
    sa.Column("name_pinyin", sa.Text, nullable=False, server_default=""),
    sa.Column("name_initials", sa.Text, nullable=False, server_default=""),
    schema=TENANT,
)

status_history = sa.Table(
    "status_history",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("from_status", sa.Text, nullable=False),
    sa.Column("to_status", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("changed_by", sa.Text, nullable=False),
    sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=TENANT,
)

code_counters = sa.Table(
    "code_counters",
    metadata,
    sa.Column("prefix", sa.Text, primary_key=True),
    sa.Column("last", sa.BigInteger, nullable=False),
    schema=TENANT,
)

customer_settings = sa.Table(
    "customer_settings",
    metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True),
    sa.Column("code_pattern", sa.Text, nullable=False),
    sa.Column("status_transitions", pg.JSONB, nullable=False),
    sa.Column("enforce_dictionaries", sa.Boolean, nullable=False),
    # "warn" | "block" (migration c0005, crm_customers/duplicates).
    sa.Column("duplicate_policy", sa.Text, nullable=False, server_default="warn"),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=TENANT,
)

dictionary_entries = sa.Table(
    "dictionary_entries",
    metadata,
    sa.Column("dictionary", sa.Text, primary_key=True),
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("parent", sa.Text, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    # Display names per language (c0061); empty = `label`.
    sa.Column("label_en", sa.Text, nullable=False, server_default=""),
    sa.Column("label_zh", sa.Text, nullable=False, server_default=""),
    schema=TENANT,
)

custom_field_definitions = sa.Table(
    "custom_field_definitions",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("required", sa.Boolean, nullable=False),
    sa.Column("options", pg.JSONB, nullable=False),
    sa.Column("pattern", sa.Text, nullable=False),
    sa.Column("min", sa.Text, nullable=False),
    sa.Column("max", sa.Text, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=TENANT,
)

data_keys = sa.Table(
    "data_keys",
    metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
    sa.Column("wrapper", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=TENANT,
)

reveal_audit = sa.Table(
    "reveal_audit",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("fields", pg.ARRAY(sa.Text), nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("client_id", sa.Text, nullable=False),
    sa.Column("ip", sa.Text, nullable=False),
    sa.Column("user_agent", sa.Text, nullable=False),
    sa.Column("revealed_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=TENANT,
)

# Owner -> team, name and disabled flag, from identity's user events (migrations c0004, c0013;
# customer/users.py).
user_teams = sa.Table(
    "user_teams",
    metadata,
    sa.Column("user_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("team_id", pg.UUID(as_uuid=True)),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("display_name", sa.Text, nullable=False, server_default=""),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    # Pinyin of a Chinese name, else the name in lower case (owners/repository.py orders by it).
    sa.Column("sort_key", sa.Text, nullable=False, server_default=""),
    schema=TENANT,
)
