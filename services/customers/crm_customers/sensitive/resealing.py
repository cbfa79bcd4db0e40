"""What customers re-seals in the platform's one envelope (crm_platform/resealing.py; migration
c0035 queues the job per tenant): the tenant's wrapped data key (under the master key) and the
resident ID / bank card ciphertexts (under the data key). Merge snapshots keep their ciphertext as
it was and are read in either format (crypto.decrypt) until they expire with the undo window."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer.tables import customers, data_keys
from crm_customers.sensitive import crypto, values
from crm_customers.sensitive.keys import LocalKeyWrapper, TenantKeys, data_key_context
from crm_customers.sensitive.service import SensitiveFields
from crm_platform.resealing import Context, ResealTarget
from crm_platform.sealing import Legacy, Sealer

DATA_KEYS = "customers.data_keys"
SENSITIVE_FIELDS = "customers.sensitive_fields"


def reseal_targets(sensitive: SensitiveFields) -> list[ResealTarget]:
    targets = []
    wrapper = sensitive.wrapper
    if isinstance(wrapper, LocalKeyWrapper):  # a KMS wrapper re-wraps on its own terms

        async def master(session: AsyncSession, tenant_id: uuid.UUID | None) -> Sealer:
            return wrapper.sealer

        def tenant_context(row: sa.Row[Any], tenant_id: uuid.UUID | None) -> str:
            return data_key_context(str(tenant_id))

        targets.append(ResealTarget(DATA_KEYS, data_keys, {"wrapped_key": tenant_context}, Legacy.NONCE_FIRST,
                                    master))

    async def data_key(session: AsyncSession, tenant_id: uuid.UUID | None) -> Sealer:
        assert tenant_id is not None
        return (await sensitive.keys(session, tenant_id)).sealer

    def field_context(field: str) -> Context:
        def context(row: sa.Row[Any], tenant_id: uuid.UUID | None) -> str:
            assert tenant_id is not None
            return crypto.context(TenantKeys(tenant_id, b""), field)

        return context

    targets.append(ResealTarget(SENSITIVE_FIELDS, customers,
                                {f"{field}_enc": field_context(field) for field in values.FIELDS}, Legacy.VERSION_1,
                                data_key))
    return targets
