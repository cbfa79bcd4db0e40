"""Tenants: sign-up, and provisioning the tenant's schema in every service before it is usable."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import available_timezones

import grpc
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_identity.audit import log as audit
from crm_identity.keys.service import KeyRing
from crm_identity.tables import refresh_families, refresh_tokens, tenant_directory
from crm_identity.users import service as users
from crm_identity.users.roles import Role
from crm_platform import outbox, telemetry
from crm_platform.auth import Principal, Scope
from crm_platform.db import control_session, tenant_session
from crm_platform.errors import Conflict, FieldError, InvalidInput, NotFound, PreconditionFailed, Unavailable
from crm_platform.grpc_client import call_metadata, channel
from crm_platform.ids import new_id
from crm_proto.crm.tenancy.v1 import tenancy_pb2, tenancy_pb2_grpc

log = logging.getLogger(__name__)

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,38})[a-z0-9]$")
LOCALES = ("zh-CN", "en")
SETTINGS = ("name", "default_locale", "time_zone")


def default_time_zone(locale: str) -> str:
    return "Asia/Shanghai" if locale == "zh-CN" else "UTC"


def settings_errors(values: dict[str, str]) -> list[FieldError]:
    errors = [FieldError(k, "unknown_field", "not a tenant setting") for k in values if k not in SETTINGS]
    if "name" in values and not values["name"].strip():
        errors.append(FieldError("name", "required", "the company name is required"))
    elif len(values.get("name", "")) > 200:
        errors.append(FieldError("name", "too_long", "at most 200 characters"))
    if "default_locale" in values and values["default_locale"] not in LOCALES:
        errors.append(FieldError("default_locale", "unsupported_locale", "locale must be zh-CN or en"))
    if "time_zone" in values and values["time_zone"] not in available_timezones():
        errors.append(FieldError("time_zone", "invalid_time_zone", "an IANA time zone such as Asia/Shanghai"))
    return errors
PROVISION_DEADLINE = 60.0

STATUS_PROVISIONING = "provisioning"
STATUS_ACTIVE = "active"
STATUS_SUSPENDED = "suspended"
STATUS_OFFBOARDED = "offboarded"
EVENT_SOURCE = "crm.identity"


class TenantService:
    def __init__(
        self,
        engine: AsyncEngine,
        keys: KeyRing,
        tenant_services: list[str],
        provision_locally: Callable[[uuid.UUID], Awaitable[str]],
    ):
        self.engine = engine
        self.keys = keys
        self.stubs = [tenancy_pb2_grpc.TenancyServiceStub(channel(addr)) for addr in tenant_services]
        self.provision_locally = provision_locally

    async def create(
        self,
        *,
        name: str,
        slug: str,
        admin_email: str,
        admin_password: str,
        admin_display_name: str,
        default_locale: str,
    ) -> tuple[sa.Row[Any], sa.Row[Any]]:
        slug = slug.strip().lower()
        locale = default_locale or "zh-CN"
        errors = users.validate_new_user(admin_email, admin_password, admin_display_name, [])
        if not name.strip():
            errors.append(FieldError("company_name", "required", "company name is required"))
        if not SLUG_RE.match(slug):
            errors.append(
                FieldError(
                    "slug", "invalid_slug", "3-40 lowercase letters, digits or hyphens, not starting or ending with -"
                )
            )
        if locale not in LOCALES:
            errors.append(FieldError("locale", "unsupported_locale", "locale must be zh-CN or en"))
        if errors:
            raise InvalidInput(errors)

        tenant_id = new_id()
        try:
            async with control_session(self.engine) as session:
                await session.execute(
                    sa.insert(tenant_directory).values(
                        id=tenant_id,
                        slug=slug,
                        name=name.strip(),
                        status=STATUS_PROVISIONING,
                        default_locale=locale,
                        time_zone=default_time_zone(locale),
                    )
                )
        except IntegrityError:
            raise Conflict("this company identifier is taken", code="slug_taken", extra={"field": "slug"}) from None

        await self._provision_everywhere(tenant_id)
        async with tenant_session(self.engine, tenant_id) as session:
            admin = await users.create_user(
                session, admin_email, admin_password, admin_display_name, [Role.TENANT_ADMIN.value],
                tenant_id=tenant_id,
            )
        async with control_session(self.engine) as session:
            tenant = (
                await session.execute(
                    sa.update(tenant_directory)
                    .where(tenant_directory.c.id == tenant_id)
                    .values(status=STATUS_ACTIVE)
                    .returning(tenant_directory)
                )
            ).one()
        log.info("tenant created", extra=telemetry.log_fields(tenant=str(tenant_id)))
        return tenant, admin

    async def register_restored(self, *, slug: str, name: str, default_locale: str, time_zone: str) -> uuid.UUID:
        """`crm tenant restore`: a new tenant for a backup's data, provisioned everywhere and left
        `provisioning` (nobody can sign in) until the restore marks it active."""
        slug = slug.strip().lower()
        if not SLUG_RE.match(slug):
            raise InvalidInput([FieldError("slug", "invalid_slug", "3-40 lowercase letters, digits or hyphens")])
        locale = default_locale if default_locale in LOCALES else "zh-CN"
        tenant_id = new_id()
        try:
            async with control_session(self.engine) as session:
                await session.execute(sa.insert(tenant_directory).values(
                    id=tenant_id, slug=slug, name=name.strip() or slug, status=STATUS_PROVISIONING,
                    default_locale=locale, time_zone=time_zone or default_time_zone(locale)))
        except IntegrityError:
            raise Conflict("this company identifier is taken", code="slug_taken", extra={"field": "slug"}) from None
        await self._provision_everywhere(tenant_id)
        return tenant_id

    async def _provision_everywhere(self, tenant_id: uuid.UUID) -> None:
        """Identity's own schema and every other service's, in parallel. Each call is idempotent,
        so a failed sign-up can be provisioned again; until then the tenant stays 'provisioning'."""
        token = self.keys.issue(
            subject="service:identity",
            tenant_id=tenant_id,
            client_id="crm-identity",
            scopes=[Scope.SYSTEM_PROVISION.value],
            ttl=300,
        )
        request = tenancy_pb2.ProvisionTenantRequest(tenant_id=str(tenant_id))
        try:
            await asyncio.gather(
                self.provision_locally(tenant_id),
                *(
                    stub.ProvisionTenant(request, metadata=call_metadata(token), timeout=PROVISION_DEADLINE)
                    for stub in self.stubs
                ),
            )
        except grpc.aio.AioRpcError as exc:
            log.error(
                "tenant provisioning failed",
                extra=telemetry.log_fields(tenant=str(tenant_id), status=str(exc.code()), detail=exc.details()),
            )
            raise Unavailable("the tenant could not be provisioned in every service; try again") from exc

    async def get(self, tenant_id: uuid.UUID) -> sa.Row[Any]:
        async with control_session(self.engine) as session:
            row = (await session.execute(sa.select(tenant_directory).where(tenant_directory.c.id == tenant_id))).first()
        if row is None:
            raise NotFound("tenant not found")
        return row

    async def update_settings(self, actor: Principal, values: dict[str, str]) -> sa.Row[Any]:
        """Tenant settings (`values`: any of name, default_locale, time_zone), checked, written and
        audited (`tenant.updated` with old -> new) together."""
        errors = settings_errors(values)
        if errors:
            raise InvalidInput(errors)
        cleaned = {k: v.strip() for k, v in values.items()}
        async with tenant_session(self.engine, actor.tenant_id) as session:
            row = (await session.execute(
                sa.select(tenant_directory).where(tenant_directory.c.id == actor.tenant_id).with_for_update()
            )).first()
            if row is None:
                raise NotFound("tenant not found")
            changes = {k: {"old": getattr(row, k), "new": v} for k, v in cleaned.items() if getattr(row, k) != v}
            if not changes:
                return row
            row = (await session.execute(
                sa.update(tenant_directory).where(tenant_directory.c.id == actor.tenant_id)
                .values(**cleaned).returning(tenant_directory)
            )).one()
            await audit.record_by(session, actor, audit.TENANT_UPDATED, target_type="tenant",
                                  target_id=str(actor.tenant_id), details={"changes": changes})
        return row

    async def set_status(
        self, tenant_id: uuid.UUID, status: str, reason: str = "", actor: Principal | None = None,
    ) -> sa.Row[Any]:
        """Suspends or resumes a tenant (operator action). The directory row, the event that makes
        every service refuse (or accept again) the tenant's tokens and the tenant's audit entry
        (`tenant.suspended` / `tenant.resumed`, by `actor`) commit together: a tenant session reaches
        the control tables too."""
        verbs = {STATUS_SUSPENDED: "suspended", STATUS_ACTIVE: "resumed"}
        if status not in verbs:
            raise InvalidInput([FieldError("status", "invalid_status", "status must be suspended or active")])
        async with tenant_session(self.engine, tenant_id) as session:
            row = (
                await session.execute(
                    sa.select(tenant_directory).where(tenant_directory.c.id == tenant_id).with_for_update()
                )
            ).first()
            if row is None:
                raise NotFound("tenant not found")
            if row.status not in (STATUS_ACTIVE, STATUS_SUSPENDED):
                raise Conflict(f"a tenant that is {row.status} cannot be {verbs[status]}", code="tenant_not_active")
            if row.status == status:
                return row  # idempotent: no second event
            row = (
                await session.execute(
                    sa.update(tenant_directory)
                    .where(tenant_directory.c.id == tenant_id)
                    .values(status=status)
                    .returning(tenant_directory)
                )
            ).one()
            data: dict[str, Any] = {"tenant_id": str(tenant_id)}
            if status == STATUS_SUSPENDED:
                data["reason"] = reason
            await outbox.add_event(
                session, source=EVENT_SOURCE, tenant_id=tenant_id, aggregate="tenant", verb=verbs[status], data=data
            )
            action = audit.TENANT_SUSPENDED if status == STATUS_SUSPENDED else audit.TENANT_RESUMED
            details = {"reason": reason} if reason else {}
            if actor is not None:
                await audit.record_by(session, actor, action, target_type="tenant", target_id=str(tenant_id),
                                      details=details)
            else:
                await audit.record(session, action, actor_kind="system", target_type="tenant",
                                   target_id=str(tenant_id), details=details)
        log.info(
            "audit: tenant %s", verbs[status],
            extra=telemetry.log_fields(tenant=str(tenant_id), audit=True, reason=reason),
        )
        return row

    async def mark_offboarded(self, tenant_id: uuid.UUID) -> dict[str, int]:
        """Identity's part of erasing a tenant (before its schema, with its users, is dropped): the
        directory row stays, marked offboarded, so the id and slug are never used again."""
        async with control_session(self.engine) as session:
            row = (
                await session.execute(
                    sa.select(tenant_directory).where(tenant_directory.c.id == tenant_id).with_for_update()
                )
            ).first()
            if row is None:
                raise NotFound("tenant not found")
            if row.status not in (STATUS_SUSPENDED, STATUS_OFFBOARDED):
                raise PreconditionFailed("suspend the tenant before erasing it", code="tenant_not_suspended")
            await session.execute(
                sa.update(tenant_directory).where(tenant_directory.c.id == tenant_id).values(status=STATUS_OFFBOARDED)
            )
            # Refresh tokens carry no tenant_id (their family does), so the generic erase of control
            # rows by tenant_id cannot reach them: they go first, then their families go with the rest.
            families = sa.select(refresh_families.c.id).where(refresh_families.c.tenant_id == tenant_id)
            tokens = await session.execute(sa.delete(refresh_tokens).where(refresh_tokens.c.family_id.in_(families)))
        return {
            "control.tenant_directory.marked_offboarded": 1 if row.status != STATUS_OFFBOARDED else 0,
            "control.refresh_tokens": int(tokens.rowcount or 0),  # type: ignore[attr-defined]
        }

    async def find_active_by_slug(self, slug: str) -> sa.Row[Any] | None:
        async with control_session(self.engine) as session:
            return (
                await session.execute(
                    sa.select(tenant_directory).where(
                        tenant_directory.c.slug == slug.strip().lower(), tenant_directory.c.status == STATUS_ACTIVE
                    )
                )
            ).first()
