"""The caller's tenant, as the API shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from crm_gateway.api.common import Resource, timestamp
from crm_proto.crm.identity.v1 import identity_pb2 as pb

TENANT_STATUS: Final[dict[int, str]] = {
    pb.TENANT_STATUS_PROVISIONING: "provisioning",
    pb.TENANT_STATUS_ACTIVE: "active",
    pb.TENANT_STATUS_SUSPENDED: "suspended",
}


class Tenant(Resource):
    id: str
    slug: str
    name: str
    status: str
    default_locale: str
    created_at: datetime | None


def tenant_out(message: Any) -> Tenant:
    return Tenant(
        id=message.id, slug=message.slug, name=message.name, status=TENANT_STATUS.get(message.status, "unknown"),
        default_locale=message.default_locale, created_at=timestamp(message.created_at),
    )
