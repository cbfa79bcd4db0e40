"""Reporting: projects every event into ClickHouse (chDB on one machine) and serves reports."""
