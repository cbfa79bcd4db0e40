"""Settings and wiring of the reporting process."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError

from crm_platform.runtime import ServiceRuntime
from crm_reporting.analytics.schema import ensure_schema
from crm_reporting.customers.service import customer_service
from crm_reporting.main import (
    ANALYTICS_TABLES,
    DEFINITION,
    Settings,
    analytics_of,
    open_store,
    subscriptions,
)

REQUIRED = {
    "CRM_REPORTING_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/reporting",
    "CRM_REPORTING_IDENTITY_ADDR": "127.0.0.1:9",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_settings_read_the_reporting_prefix(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("CRM_REPORTING_CHDB_PATH", str(tmp_path))

    settings = Settings()  # type: ignore[call-arg]

    assert settings.service_name == "reporting"
    assert settings.chdb_path == tmp_path
    assert settings.clickhouse_url is None


def test_an_analytics_store_is_required_and_the_error_names_the_variables(env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError) as missing:
        Settings()  # type: ignore[call-arg]
    assert "CRM_REPORTING_CHDB_PATH" in str(missing.value)
    assert "CRM_REPORTING_CLICKHOUSE_URL" in str(missing.value)


def test_the_clickhouse_url_is_kept_out_of_reprs(env: pytest.MonkeyPatch) -> None:
    env.setenv("CRM_REPORTING_CLICKHOUSE_URL", "http://reporting:s3cret@clickhouse:8123/crm")

    settings = Settings()  # type: ignore[call-arg]

    assert "s3cret" not in repr(settings)
    assert settings.clickhouse_url is not None
    assert settings.clickhouse_url.get_secret_value().endswith("/crm")


def test_the_service_has_a_tenant_migration_tree() -> None:
    assert (DEFINITION.tenant_tree / "env.py").exists()
    assert list((DEFINITION.tenant_tree / "versions").glob("0001_*.py"))
    assert list((DEFINITION.tenant_tree / "versions").glob("0002_user_teams.py"))


async def test_start_up_opens_the_store_creates_the_schema_and_subscribes_to_everything(
    env: pytest.MonkeyPatch, chdb_path: Path
) -> None:
    # The session's chDB path: chDB allows one data path per process.
    env.setenv("CRM_REPORTING_CHDB_PATH", str(chdb_path))
    runtime = ServiceRuntime(DEFINITION, Settings())  # type: ignore[call-arg]
    try:
        await open_store(runtime)
        await ensure_schema(analytics_of(runtime), ANALYTICS_TABLES)  # creating it again is harmless

        subscription, users = subscriptions(runtime)
        assert subscription.durable == "reporting"
        assert subscription.filter_subjects == ["crm.>"]
        # The owner -> team map for data scope `team` on reports.
        assert users.durable == "reporting-users"
        assert users.filter_subjects == ["crm.*.user.created", "crm.*.user.updated"]
        report = await customer_service.customers_by_industry(analytics_of(runtime), uuid.uuid4())
        assert report.total == 0
    finally:
        await analytics_of(runtime).close()
        await runtime.engine.dispose()
