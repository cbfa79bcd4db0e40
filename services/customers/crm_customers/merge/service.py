"""Merging customers into a survivor, and undoing a merge within 30 days (docs/customers.md,
"Merge and undo").

A merge runs in the caller's one transaction: it locks and snapshots every involved customer (the
snapshot holds sensitive fields as ciphertext, never plaintext), writes the survivor's chosen
values with the same validation as an update, soft-deletes the merged customers with
`merged_into`, moves the customers service's related records (`RELATED`), stores the merge record
and writes the events (`crm.customer.deleted` per merged customer, `crm.customer.updated` for the
survivor, `crm.customer.merged`). Other services move what they hold on `customer.merged`.

An undo restores the survivor's snapshot and the merged customers, puts the related records back
and emits `crm.customer.unmerged`. Edits made to the survivor after the merge would be lost, so an
undo refuses (409 `survivor_changed_since_merge`) unless `force` says to discard them.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.activity import recording as activity
from crm_customers.activity.merging import ACTIVITY
from crm_customers.customer import access
from crm_customers.customer import repository as customer_repository
from crm_customers.customer.cleaning import check_reachable, clean_fields
from crm_customers.customer.schemas import WRITABLE_FIELDS
from crm_customers.customer.service import CustomerService, _stale
from crm_customers.customer.tables import customers
from crm_customers.duplicates import repository as duplicates_repository
from crm_customers.fields import service as fields
from crm_customers.merge import repository
from crm_customers.merge.history import STATUS_HISTORY
from crm_customers.merge.related import RelatedRecords
from crm_customers.orders.merging import ORDERS
from crm_customers.sensitive import crypto
from crm_customers.sensitive.values import FIELDS as SENSITIVE_FIELDS
from crm_customers.settings import service as settings
from crm_platform import outbox
from crm_platform.access import can_write_field
from crm_platform.auth import Principal
from crm_platform.errors import Conflict, FieldError, InvalidInput, NotFound
from crm_platform.ids import new_id, parse_uuid
from crm_platform.pagination import PageTokens, page_size

SOURCE: Final = "crm/customers"
MAX_MERGED: Final = 9
UNDO_WINDOW: Final = timedelta(days=30)
CUSTOM_PREFIX: Final = "custom_fields."
# Fields whose value a reviewer chooses. The code is the survivor's (codes stay unique, merged
# customers keep theirs); the revenue currency travels with the revenue.
CHOOSABLE: Final = tuple(f for f in WRITABLE_FIELDS if f not in ("code", "annual_revenue_currency"))
# Survivor columns an undo puts back from the snapshot.
RESTORED_COLUMNS: Final = (
    *(f for f in WRITABLE_FIELDS if f not in ("code", *SENSITIVE_FIELDS)),
    "custom_fields",
    *(f"{name}_{part}" for name in SENSITIVE_FIELDS for part in ("enc", "bidx", "masked")),
)
MERGE_REASON: Final = "merge"
UNDO_REASON: Final = "merge undone"

# The customers service's records that follow a merged customer to the survivor (and back on
# undo): each owner provides one `RelatedRecords`; a new kind of customer record is added here.
RELATED: tuple[RelatedRecords, ...] = (STATUS_HISTORY, ORDERS, ACTIVITY)


# -- snapshot: stored column values as JSON and back -----------------------------------------------


def _to_json(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    return value


def snapshot(row: sa.Row[Any]) -> dict[str, Any]:
    """Every column of a customer as JSON. Sensitive fields are their ciphertext (base64), blind
    index and mask: the plaintext is in no column, so it is in no snapshot either."""
    return {name: _to_json(value) for name, value in row._mapping.items() if name in customers.c}


def _from_json(name: str, value: Any) -> Any:
    if value is None:
        return None
    kind = customers.c[name].type
    if isinstance(kind, sa.LargeBinary):
        return base64.b64decode(value)
    if isinstance(kind, sa.DateTime):
        return datetime.fromisoformat(value)
    if isinstance(kind, sa.Date):
        return date.fromisoformat(value)
    if isinstance(kind, sa.Numeric):
        return Decimal(value)
    if name == "owner_id" or name == "merged_into":
        return uuid.UUID(value)
    return value


def _field_of(column: str) -> str:
    """The field a column holds: `resident_id_bidx` -> `resident_id` (sensitive fields compare by
    blind index: their ciphertexts always differ)."""
    return column.removesuffix("_bidx")


def _text(row: sa.Row[Any], name: str) -> str:
    """A stored value as the text an update would accept ("" clears)."""
    value = getattr(row, name)
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _merge_event(caller: Principal, verb: str, merge: sa.Row[Any]) -> dict[str, Any]:
    return {
        "source": SOURCE, "tenant_id": caller.tenant_id, "aggregate": "customer", "verb": verb,
        "data": {"merge_id": str(merge.id), "survivor_id": str(merge.survivor_id),
                 "merged_ids": [str(i) for i in merge.merged_ids]},
        "subject_id": str(merge.survivor_id),
    }


async def _timeline(
    session: AsyncSession, caller: Principal, before: sa.Row[Any], after: sa.Row[Any], changed: list[str],
    reason: str,
) -> None:
    """The survivor's field changes on its activity timeline, like an update's (status with the reason)."""
    await activity.record_updated(session, caller, before, after, [f for f in changed if f != "status"])
    if "status" in changed:
        await activity.record_status(session, caller, after.id, before.status, after.status, reason)


def undoable(merge: sa.Row[Any], now: datetime | None = None) -> bool:
    return merge.undone_at is None and (now or datetime.now(UTC)) < merge.expires_at


class MergeService:
    def __init__(self, customers: CustomerService, page_tokens: PageTokens):
        self.customers = customers
        self.page_tokens = page_tokens

    # -- request checks ------------------------------------------------------------------------

    @staticmethod
    def _ids(survivor_id: str, merged_ids: Sequence[str]) -> tuple[uuid.UUID, list[uuid.UUID]]:
        errors: list[FieldError] = []
        survivor: uuid.UUID | None = None
        if not survivor_id.strip():
            errors.append(FieldError("survivor_id", "required", "name the customer that survives"))
        else:
            try:
                survivor = uuid.UUID(survivor_id.strip())
            except ValueError:
                errors.append(FieldError("survivor_id", "invalid_id", "survivor_id is not a valid id"))
        if not merged_ids:
            errors.append(FieldError("merged_ids", "required", "name at least one customer to merge"))
        elif len(merged_ids) > MAX_MERGED:
            errors.append(FieldError("merged_ids", "too_many", f"at most {MAX_MERGED} customers per merge"))
        parsed: list[uuid.UUID] = []
        for index, raw in enumerate(merged_ids[: MAX_MERGED + 1]):
            path = f"merged_ids[{index}]"
            try:
                value = uuid.UUID(raw.strip())
            except ValueError:
                errors.append(FieldError(path, "invalid_id", "not a valid id"))
                continue
            if value == survivor:
                errors.append(FieldError(path, "survivor_in_merged", "the survivor cannot also be merged"))
            elif value in parsed:
                errors.append(FieldError(path, "duplicate", "this customer is named twice"))
            else:
                parsed.append(value)
        if errors or survivor is None:
            raise InvalidInput(errors)
        return survivor, parsed

    @staticmethod
    def _choices(
        caller: Principal, values: dict[str, str], involved: Sequence[uuid.UUID], custom_keys: set[str]
    ) -> dict[str, uuid.UUID]:
        errors: list[FieldError] = []
        choices: dict[str, uuid.UUID] = {}
        for name, raw in sorted(values.items()):
            path = f"values.{name}"
            key = name.removeprefix(CUSTOM_PREFIX) if name.startswith(CUSTOM_PREFIX) else None
            if (key is None and name not in CHOOSABLE) or (key is not None and key not in custom_keys):
                errors.append(FieldError(path, "unknown_field", "not a field a merge can choose"))
                continue
            try:
                donor = uuid.UUID(str(raw).strip())
            except ValueError:
                donor = None
            if donor is None or donor not in involved:
                errors.append(FieldError(path, "not_involved", "must be the id of one of the merged customers"))
                continue
            if donor != involved[0] and not can_write_field(caller, f"cf.{key}" if key is not None else name):
                errors.append(FieldError(path, "field_read_only", "your role may not change this field"))
                continue
            choices[name] = donor
        if errors:
            raise InvalidInput(errors)
        return choices

    # -- merge --------------------------------------------------------------------------------

    async def merge(
        self, session: AsyncSession, caller: Principal, *, survivor_id: str, merged_ids: Sequence[str],
        values: dict[str, str], expected_version: int = 0,
    ) -> tuple[sa.Row[Any], sa.Row[Any]]:
        """Returns (merge record, survivor after the merge)."""
        survivor_key, merged_keys = self._ids(survivor_id, merged_ids)
        definitions = await fields.list_all(session)
        choices = self._choices(caller, values, [survivor_key, *merged_keys], {d.key for d in definitions})
        await repository.lock_customers(session, [survivor_key, *merged_keys])
        # Every customer must be live and in the caller's data scope: 404 otherwise, as for a read.
        survivor = await self.customers._get(session, str(survivor_key), caller)
        rows = {survivor.id: survivor}
        for key in merged_keys:
            rows[key] = await self.customers._get(session, str(key), caller)
        if expected_version and expected_version != survivor.version:
            raise _stale(survivor.version)

        columns, changed = await self._survivor_values(session, caller, survivor, rows, choices, definitions)
        merge_id = new_id()
        before = {str(k): snapshot(r) for k, r in rows.items()}
        after = await customer_repository.update_if_version(
            session, survivor.id, survivor.version, {**columns, "updated_by": caller.actor}
        )
        if after is None:  # cannot happen under the row lock; kept as the same answer as an update
            raise Conflict("the survivor changed during the merge", code="conflict")
        await _timeline(session, caller, survivor, after, changed, MERGE_REASON)
        if "status" in changed:
            await customer_repository.add_status_change(
                session, survivor.id, survivor.status, after.status, MERGE_REASON, caller.actor
            )
        for key in merged_keys:
            gone = await repository.set_merge_state(session, key, merged_into=survivor.id, actor=caller.actor)
            await self.customers._event(session, caller, "deleted", gone)
        related = {r.name: await r.move(session, merged_keys, survivor.id) for r in RELATED}
        # The review is over for any open duplicate group these customers were in.
        await duplicates_repository.mark_merged(session, [survivor.id, *merged_keys], caller.actor)
        merge = await repository.insert(session, {
            "id": merge_id, "survivor_id": survivor.id, "merged_ids": merged_keys,
            "choices": {name: str(donor) for name, donor in choices.items()}, "snapshot": before,
            "related": related, "changed_fields": changed, "survivor_version": after.version,
            "merged_by": caller.actor, "expires_at": datetime.now(UTC) + UNDO_WINDOW,
        })
        await self.customers._event(session, caller, "updated", after, changed_fields=changed)
        await outbox.add_event(session, **_merge_event(caller, "merged", merge))
        found = await repository.get(session, merge_id, None)
        assert found is not None
        return found, after

    async def _survivor_values(
        self, session: AsyncSession, caller: Principal, survivor: sa.Row[Any], rows: dict[uuid.UUID, sa.Row[Any]],
        choices: dict[str, uuid.UUID], definitions: list[fields.FieldDef],
    ) -> tuple[dict[str, Any], list[str]]:
        """The survivor's new column values, checked like an update (cleaning, dictionaries,
        owner within the caller's scope, custom field definitions, a way to reach the customer);
        field errors are named `values.<field>`."""
        raw: dict[str, str] = {}
        secret: dict[str, str] = {}
        custom: dict[str, Any] = {}
        for name, donor_id in choices.items():
            donor = rows[donor_id]
            if donor_id == survivor.id:
                continue
            if name.startswith(CUSTOM_PREFIX):
                key = name.removeprefix(CUSTOM_PREFIX)
                custom[key] = (donor.custom_fields or {}).get(key)
            elif name in SENSITIVE_FIELDS:
                # Through the sensitive-fields module: decrypted in memory, re-sealed for the survivor.
                sealed = getattr(donor, f"{name}_enc")
                keys = await self.customers.sensitive.keys(session, caller.tenant_id)
                secret[name] = crypto.decrypt(keys, name, bytes(sealed)) if sealed is not None else ""
            else:
                raw[name] = _text(donor, name)
                if name == "annual_revenue":
                    raw["annual_revenue_currency"] = donor.annual_revenue_currency
        cleaned = clean_fields(raw, creating=False)
        errors = list(cleaned.errors)
        values: dict[str, Any] = dict(cleaned.values)
        if "owner_id" in values and values["owner_id"] != survivor.owner_id:
            await access.check_owner(session, caller, values["owner_id"], errors)
        sensitive_columns = await self.customers.sensitive.columns(session, caller.tenant_id, secret, errors)
        tenant_settings = await settings.get(session)
        await self.customers._apply_dictionaries(session, values, errors, tenant_settings.enforce_dictionaries)
        values["custom_fields"], custom_errors = fields.merge_values(definitions, survivor.custom_fields, custom)
        errors += custom_errors
        errors += check_reachable({**survivor._mapping, **values}, cleaned.errors)
        if errors:
            raise InvalidInput([FieldError(f"values.{e.field}", e.code, e.message) for e in errors])
        changed = sorted(k for k, v in values.items() if getattr(survivor, k) != v)
        columns = {k: values[k] for k in changed}
        for name in self.customers.sensitive.changed(survivor, sensitive_columns):
            columns |= {k: v for k, v in sensitive_columns.items() if k.startswith(f"{name}_")}
            changed.append(name)
        return columns, sorted(changed)

    # -- undo ---------------------------------------------------------------------------------

    async def undo(
        self, session: AsyncSession, caller: Principal, merge_id: str, *, force: bool = False
    ) -> tuple[sa.Row[Any], sa.Row[Any]]:
        """Returns (merge record, survivor after the undo)."""
        key = parse_uuid(merge_id, "merge")
        merge = await repository.get(session, key, access.scope_clause(caller), for_update=True)
        if merge is None:
            raise NotFound("merge not found")
        if merge.undone_at is not None:
            raise Conflict("this merge was already undone", code="merge_already_undone",
                           extra={"undone_at": merge.undone_at.isoformat()})
        if not undoable(merge):
            raise Conflict("the 30 days to undo this merge are over", code="merge_undo_expired",
                           extra={"expires_at": merge.expires_at.isoformat()})
        await repository.lock_customers(session, [merge.survivor_id, *merge.merged_ids])
        survivor = await self.customers._get(session, str(merge.survivor_id), caller, show_deleted=True)
        if survivor.deleted_at is not None:
            raise Conflict("the survivor was deleted after the merge; restore it first", code="survivor_deleted")
        if survivor.version != merge.survivor_version and not force:
            raise Conflict(
                "the survivor was changed after the merge; undo with force to discard those changes",
                code="survivor_changed_since_merge",
                extra={"merged_version": merge.survivor_version, "current_version": survivor.version},
            )
        merged_rows = [
            await self.customers._get(session, str(m), caller, show_deleted=True) for m in merge.merged_ids
        ]
        before = merge.snapshot[str(survivor.id)]
        restore = {name: _from_json(name, before.get(name)) for name in RESTORED_COLUMNS if name in before}
        changed = sorted(_field_of(name) for name, value in restore.items()
                         if not name.endswith(("_enc", "_masked")) and getattr(survivor, name) != value)
        after = await customer_repository.update_if_version(
            session, survivor.id, survivor.version, {**restore, "updated_by": caller.actor}
        )
        assert after is not None  # under the row lock
        await _timeline(session, caller, survivor, after, changed, UNDO_REASON)
        if after.status != survivor.status:
            await customer_repository.add_status_change(
                session, survivor.id, survivor.status, after.status, UNDO_REASON, caller.actor
            )
        for related in reversed(RELATED):
            await related.undo(session, (merge.related or {}).get(related.name, {}))
        for row in merged_rows:
            back = await repository.set_merge_state(session, row.id, merged_into=None, actor=caller.actor)
            await self.customers._event(session, caller, "restored", back)
        await repository.mark_undone(session, merge.id, caller.actor)
        await self.customers._event(session, caller, "updated", after, changed_fields=changed)
        await outbox.add_event(session, **_merge_event(caller, "unmerged", merge))
        found = await repository.get(session, merge.id, None)
        assert found is not None
        return found, after

    # -- reads --------------------------------------------------------------------------------

    async def get(self, session: AsyncSession, caller: Principal, merge_id: str) -> sa.Row[Any]:
        merge = await repository.get(session, parse_uuid(merge_id, "merge"), access.scope_clause(caller))
        if merge is None:
            raise NotFound("merge not found")
        return merge

    async def list(
        self, session: AsyncSession, caller: Principal, *, size: int, token: str, survivor_id: str = ""
    ) -> tuple[list[sa.Row[Any]], str]:
        limit = page_size(size)
        survivor: uuid.UUID | None = None
        if survivor_id:
            try:
                survivor = uuid.UUID(survivor_id)
            except ValueError:
                raise InvalidInput([FieldError("survivor_id", "invalid_id", "not a valid id")]) from None
        after = None
        if token:
            cursor = self.page_tokens.decode(token)
            if cursor.get("q") != ["merges", survivor_id]:
                raise InvalidInput([FieldError("page_token", "invalid_page_token",
                                               "page_token belongs to another query")])
            after = (datetime.fromisoformat(cursor["t"]), uuid.UUID(cursor["i"]))
        rows = await repository.list_page(session, scope=access.scope_clause(caller), survivor_id=survivor,
                                          limit=limit + 1, after=after)
        next_token = ""
        if len(rows) > limit:
            last = rows[limit - 1]
            next_token = self.page_tokens.encode(
                {"q": ["merges", survivor_id], "t": last.merged_at.isoformat(), "i": str(last.id)}
            )
        return rows[:limit], next_token
