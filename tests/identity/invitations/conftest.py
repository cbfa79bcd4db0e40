"""The invitation tests use the user-security harness: a real PostgreSQL migrated by identity's
Alembic trees and a fresh active tenant per test (plus the real local SMTP server from tests/support.py)."""

from tests.identity.users.conftest import tenant_id, users_database_url, users_engine

__all__ = ["tenant_id", "users_database_url", "users_engine"]
