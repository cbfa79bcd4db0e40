"""Reporting's Postgres tenant tables (its report data itself lives in ClickHouse): the owner -> team
map, dashboard layouts and value-segment rules."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from crm_platform.db import TENANT, new_metadata
from crm_platform.user_teams import user_teams_table

metadata = new_metadata()

# Owner -> team, from identity's user events (migration r0002, scope/service.py), for data scope `team`;
# with the user's address, language and effective access for subscriptions (migration r0180).
user_teams = user_teams_table(
    metadata,
    sa.Column("display_name", sa.Text, nullable=False, server_default=""),
    sa.Column("email", sa.Text, nullable=False, server_default=""),
    sa.Column("locale", sa.Text, nullable=False, server_default=""),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("access_known", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("access_scopes", JSONB, nullable=False, server_default="[]"),
    sa.Column("data_scope", sa.Text, nullable=False, server_default="own"),
    sa.Column("team_ids", JSONB, nullable=False, server_default="[]"),
    sa.Column("field_policies", JSONB, nullable=False, server_default="{}"),
)

# A user's dashboard layout and the tenant default (migration r0100, dashboards/layouts.py).
dashboard_layouts = sa.Table(
    "dashboard_layouts", metadata,
    sa.Column("owner", sa.Text, primary_key=True),
    sa.Column("items", JSONB, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_by", sa.Text, nullable=False),
    schema=TENANT,
)

# The tenant's customer-value segment rules (migration r0100, value/rules.py): one row, id 1.
value_rules = sa.Table(
    "value_rules", metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True),
    sa.Column("rules", JSONB, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_by", sa.Text, nullable=False),
    schema=TENANT,
)

# Saved report definitions of the report builder (migration r0150, reports/service.py).
saved_reports = sa.Table(
    "saved_reports", metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("definition", JSONB, nullable=False),
    sa.Column("visibility", sa.Text, nullable=False),
    sa.Column("team_id", sa.Uuid),
    sa.Column("owner_id", sa.Text, nullable=False),
    sa.Column("template", sa.Text, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_by", sa.Text, nullable=False),
    schema=TENANT,
)

# Report exports and their files in parts (migration r0160, reports/exports.py).
report_exports = sa.Table(
    "report_exports", metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("access", JSONB, nullable=False),
    sa.Column("report_id", sa.Uuid, nullable=False),
    sa.Column("format", sa.Text, nullable=False),
    sa.Column("locale", sa.Text, nullable=False),
    sa.Column("time_zone", sa.Text, nullable=False),
    sa.Column("view_filters", JSONB, nullable=False),
    # The report's segment as the requester read it (migration r0220); NULL: none.
    sa.Column("segment_definition", JSONB),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("rows_done", sa.BigInteger, nullable=False),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("content_type", sa.Text, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("parts", sa.Integer, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("ip", sa.Text, nullable=False),
    sa.Column("user_agent", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    schema=TENANT,
)
report_export_parts = sa.Table(
    "report_export_parts", metadata,
    sa.Column("export_id", sa.Uuid, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
    schema=TENANT,
)
