"""Sensitive fields in the customer's life: cleaning input into columns (ciphertext, blind index,
masked form), exact lookups, and the audited reveal. The tenant's data key is created on first use
(`data_keys`, one row) wrapped by the KeyWrapper, and kept unwrapped in memory per process."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer.tables import data_keys, reveal_audit
from crm_customers.sensitive import crypto, values
from crm_customers.sensitive.keys import KeyWrapper, TenantKeys
from crm_platform import outbox
from crm_platform.auth import Principal
from crm_platform.errors import FieldError, InvalidInput
from crm_platform.ids import new_id

SOURCE: Final = "crm/customers"
MAX_HEADER: Final = 500

MESSAGES: Final = {
    "invalid_resident_id": "a resident ID is 17 digits and a check character (digit or X)",
    "invalid_birth_date": "the birth date in the resident ID does not exist or is in the future",
    "resident_id_checksum": "the resident ID's check character is wrong",
    "invalid_bank_card": "a bank card number is 12 to 19 digits",
    "bank_card_checksum": "the bank card number's check digit is wrong (Luhn)",
}


@dataclass(frozen=True)
class ClientInfo:
    """Where a reveal came from, as the gateway passed it (gRPC metadata)."""

    ip: str = ""
    user_agent: str = ""


class SensitiveFields:
    def __init__(self, wrapper: KeyWrapper):
        self.wrapper = wrapper
        self._keys: dict[uuid.UUID, TenantKeys] = {}

    # -- keys ------------------------------------------------------------------------------

    async def keys(self, session: AsyncSession, tenant_id: uuid.UUID) -> TenantKeys:
        cached = self._keys.get(tenant_id)
        if cached is not None:
            return cached
        row = (await session.execute(sa.select(data_keys).where(data_keys.c.id == 1))).first()
        committed = row is not None
        if row is None:
            fresh = TenantKeys.generate(tenant_id)
            await session.execute(
                pg_insert(data_keys)
                .values(id=1, wrapped_key=self.wrapper.wrap(fresh.data_key, str(tenant_id)), wrapper=self.wrapper.name)
                .on_conflict_do_nothing(index_elements=["id"])
            )
            # Whoever won a concurrent first use, every process reads the one stored key.
            row = (await session.execute(sa.select(data_keys).where(data_keys.c.id == 1))).one()
        keys = TenantKeys(tenant_id, self.wrapper.unwrap(row.wrapped_key, str(tenant_id)))
        if committed:  # a key inserted by this transaction is cached only once it is read back committed
            self._keys[tenant_id] = keys
        return keys

    # -- writes ------------------------------------------------------------------------------

    async def columns(
        self, session: AsyncSession, tenant_id: uuid.UUID, sent: dict[str, str], errors: list[FieldError]
    ) -> dict[str, Any]:
        """Column values for the sensitive fields that were sent (an empty value clears one);
        violations are appended to `errors`."""
        out: dict[str, Any] = {}
        for field in values.FIELDS:
            if field not in sent:
                continue
            normalised = values.normalise(field, sent[field])
            if not normalised:
                out |= {f"{field}_enc": None, f"{field}_bidx": None, f"{field}_masked": ""}
                continue
            problem = values.error(field, normalised)
            if problem is not None:
                errors.append(FieldError(field, problem, MESSAGES[problem]))
                continue
            keys = await self.keys(session, tenant_id)
            out |= {
                f"{field}_enc": crypto.encrypt(keys, field, normalised),
                f"{field}_bidx": crypto.blind_index(keys, field, normalised),
                f"{field}_masked": values.mask(field, normalised),
            }
        return out

    @staticmethod
    def changed(current: Any, columns: dict[str, Any]) -> list[str]:
        """Sensitive fields whose value differs (compared by blind index: ciphertexts always differ)."""
        return [
            f for f in values.FIELDS
            if f"{f}_bidx" in columns and columns[f"{f}_bidx"] != getattr(current, f"{f}_bidx")
        ]

    # -- lookups -----------------------------------------------------------------------------

    async def lookup_index(self, session: AsyncSession, tenant_id: uuid.UUID, field: str, raw: str) -> str | None:
        """The blind index to filter on, or None when the value cannot be valid (then nothing matches)."""
        normalised = values.normalise(field, raw)
        if not normalised or values.error(field, normalised) is not None:
            return None
        return crypto.blind_index(await self.keys(session, tenant_id), field, normalised)

    # -- reveal ------------------------------------------------------------------------------

    async def reveal(
        self, session: AsyncSession, caller: Principal, row: Any, fields: list[str], client: ClientInfo
    ) -> dict[str, str]:
        """Plaintext of the asked fields; writes the audit row and the crm.customer.revealed event
        in the caller's transaction, so there is no reveal without its record."""
        asked = list(dict.fromkeys(fields))
        if not asked:
            raise InvalidInput([FieldError("fields", "required", "name at least one field to reveal")])
        unknown = [f for f in asked if f not in values.FIELDS]
        if unknown:
            raise InvalidInput([FieldError(
                "fields", "invalid_choice", f"fields must be among {', '.join(values.FIELDS)}"
            )])
        keys = await self.keys(session, caller.tenant_id)
        plain: dict[str, str] = {}
        for field in asked:
            sealed = getattr(row, f"{field}_enc")
            plain[field] = crypto.decrypt(keys, field, sealed) if sealed is not None else ""
        await session.execute(sa.insert(reveal_audit).values(
            id=new_id(), customer_id=row.id, fields=asked, actor=caller.actor, client_id=caller.client_id,
            ip=client.ip[:MAX_HEADER], user_agent=client.user_agent[:MAX_HEADER],
        ))
        await outbox.add_event(
            session, source=SOURCE, tenant_id=caller.tenant_id, aggregate="customer", verb="revealed",
            data={"customer_id": str(row.id), "fields": asked, "actor": caller.actor, "client_id": caller.client_id,
                  "ip": client.ip[:MAX_HEADER], "user_agent": client.user_agent[:MAX_HEADER]},
            subject_id=str(row.id),
        )
        return plain
