"""The key tests share the OAuth tests' database fixtures (real PostgreSQL, identity's migrations)."""

from tests.identity.oauth.conftest import database_url, engine, master_key  # noqa: F401
