"""Restoring a backup into a new tenant (docs/tenancy.md#restore-into-a-new-tenant): a backup holds
sensitive customer fields as stored — sealed under the source tenant's data key and bound to the
source tenant's id — and the data key itself wrapped under the master key, also bound to the
source tenant. On restore the data key is unwrapped for the source tenant and wrapped again for the
new one (`data_keys`), and every sealed value is opened for the source tenant and sealed again for
the new one (`customers`); the blind indexes (derived from the same data key) stay valid. The
plaintext exists only in this process's memory, as for any read. A backup taken under another
master key cannot be restored here (the key does not unwrap): the restore stops with `invalid_rows`."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.customer.tables import data_keys
from crm_customers.sensitive import crypto, values
from crm_customers.sensitive.keys import KeyWrapper, TenantKeys
from crm_platform.db import tenant_session
from crm_platform.errors import FieldError, InvalidInput, PreconditionFailed
from crm_platform.offboarding import Row, TenantDataHook
from crm_platform.sealing import SealError


def _bytes(value: Any) -> bytes:
    """bytea as Postgres's JSON renders it: "\\x<hex>"."""
    text = str(value)
    return bytes.fromhex(text[2:] if text.startswith("\\x") else text)


def _bytea(data: bytes) -> str:
    return "\\x" + data.hex()


def restore_hook(engine: AsyncEngine, wrapper: KeyWrapper) -> TenantDataHook:
    async def new_tenant_key(tenant_id: uuid.UUID) -> bytes:
        async with tenant_session(engine, tenant_id) as session:
            wrapped = (await session.execute(sa.select(data_keys.c.wrapped_key).where(data_keys.c.id == 1))).scalar()
        if wrapped is None:
            # The data key is restored first; customers wait for it (the caller retries them later).
            raise PreconditionFailed("restore data_keys before customers", code="import_order")
        return wrapper.unwrap(bytes(wrapped), str(tenant_id))

    async def prepare_import(tenant_id: uuid.UUID, source_id: uuid.UUID, table: str, rows: list[Row]) -> list[Row]:
        try:
            if table == "data_keys":
                return [{**row, "wrapped_key": _bytea(wrapper.wrap(wrapper.unwrap(_bytes(row["wrapped_key"]),
                                                                                  str(source_id)), str(tenant_id))),
                         "wrapper": wrapper.name} for row in rows]
            if table != "customers" or not any(row.get(f"{f}_enc") for row in rows for f in values.FIELDS):
                return rows
            data_key = await new_tenant_key(tenant_id)
            source, target = TenantKeys(source_id, data_key), TenantKeys(tenant_id, data_key)
            out = []
            for row in rows:
                changed = dict(row)
                for field in values.FIELDS:
                    sealed = row.get(f"{field}_enc")
                    if sealed:
                        plain = crypto.decrypt(source, field, _bytes(sealed))
                        changed[f"{field}_enc"] = _bytea(crypto.encrypt(target, field, plain))
                out.append(changed)
            return out
        except (SealError, ValueError) as exc:
            raise InvalidInput([FieldError("rows", "invalid_rows",
                                           f"{table}: sealed values of another platform or tenant ({exc})")]) from None

    return TenantDataHook(prefixes=("\x00",), prepare_import=prepare_import)
