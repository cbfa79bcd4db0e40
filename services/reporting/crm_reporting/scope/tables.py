"""Reporting's Postgres tenant tables (its report data itself lives in ClickHouse)."""

from __future__ import annotations

from crm_platform.db import new_metadata
from crm_platform.user_teams import user_teams_table

metadata = new_metadata()

# Owner -> team, from identity's user events (migration r0002, scope/service.py), for data scope `team`.
user_teams = user_teams_table(metadata)
