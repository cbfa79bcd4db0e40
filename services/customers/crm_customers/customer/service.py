"""Customer rules: clean input, dictionaries, custom fields, code generation, status lifecycle,
soft delete, optimistic concurrency, events."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.activity import kinds as activity_kinds
from crm_customers.activity import recording as activity
from crm_customers.customer import access, codes, repository
from crm_customers.customer.cleaning import STATUSES, TYPES, check_reachable, clean_fields, clean_text, parse_date
from crm_customers.customer.list_query import ListQuery
from crm_customers.customer.repository import ListFilter
from crm_customers.customer.schemas import to_proto
from crm_customers.duplicates import check as duplicates
from crm_customers.duplicates.check import PossibleDuplicate
from crm_customers.erasure.service import check_not_erased
from crm_customers.fields import service as fields
from crm_customers.segments import definition as segment_definition
from crm_customers.segments import repository as segment_repository
from crm_customers.sensitive.service import ClientInfo, SensitiveFields
from crm_customers.sensitive.values import FIELDS as SENSITIVE_FIELDS
from crm_customers.settings import dictionaries, write_config
from crm_customers.settings import service as settings
from crm_customers.tags import repository as tag_projection
from crm_platform import outbox
from crm_platform.access import field_policy
from crm_platform.auth import Principal, Scope
from crm_platform.db import execute_together
from crm_platform.errors import Conflict, FieldError, InvalidInput, NotFound, PermissionDenied, PreconditionFailed
from crm_platform.events import proto_data
from crm_platform.ids import new_id, parse_uuid
from crm_platform.pagination import PageTokens, page_size

SOURCE = "crm/customers"
MAX_REASON: Final = 500
NO_FILTERS: Final = ListQuery()
# The list's total is exact up to this many matches, then "10,000+" (docs/customers.md "Total count").
TOTAL_CAP: Final = 10_000
# Fields whose values come from the tenant's dictionaries.
DICTIONARY_FIELDS: Final = ("industry", "region", "source")


def _stale(version: int) -> PreconditionFailed:
    return PreconditionFailed(
        "the customer was changed by someone else", code="stale_version", extra={"current_version": version}
    )


def _parse_instant(field: str, raw: str, errors: list[FieldError]) -> datetime | None:
    if not raw:
        return None
    try:
        if len(raw) == 10:
            return datetime.combine(parse_date(raw), datetime.min.time(), tzinfo=UTC)
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        if value.tzinfo is None:
            raise ValueError(raw)
        return value
    except ValueError:
        errors.append(FieldError(field, "invalid_date", "an RFC 3339 timestamp with an offset, or YYYY-MM-DD"))
        return None


def _parse_day(field: str, raw: str, errors: list[FieldError]) -> date | None:
    if not raw:
        return None
    try:
        return parse_date(raw)
    except ValueError:
        errors.append(FieldError(field, "invalid_date", "must be a date as YYYY-MM-DD"))
        return None


# List filters cleaned exactly as the field is when written (cleaning.py): a value that cannot be
# stored is refused with the cleaning's own code on the parameter.
CLEANED_EXACT: Final = ("code", "contact_person", "mobile", "phone", "email", "credit_code", "annual_revenue_currency")
# Range parameter -> the field whose cleaning parses its bounds.
RANGE_BOUNDS: Final = {
    "employees_min": "employees", "employees_max": "employees",
    "annual_revenue_min": "annual_revenue", "annual_revenue_max": "annual_revenue",
}
RANGE_SUFFIXES: Final = ("_min", "_max")
# Field policies govern these fields; a filter on one the caller cannot see is refused.
ADDED_FILTER_FIELDS: Final = {
    **{name: name for name in CLEANED_EXACT}, **RANGE_BOUNDS,
    **{name: "first_contact_date" for name in ("first_contact_after", "first_contact_before",
                                               "acquired_after", "acquired_before")},
}


def _clean_exact(query: ListQuery, errors: list[FieldError]) -> dict[str, str]:
    """The exact filters as stored values; whitespace alone is no filter."""
    sent = {name: value for name in CLEANED_EXACT if clean_text(value := getattr(query, name))}
    cleaned = clean_fields(sent, creating=False)
    errors += cleaned.errors
    return {name: str(value) for name, value in cleaned.values.items()}


def _clean_ranges(query: ListQuery, errors: list[FieldError]) -> dict[str, tuple[Any, Any]]:
    """employees / annual_revenue bounds (inclusive), parsed by the field's own cleaning."""
    bounds: dict[str, list[Any]] = {}
    for parameter, name in RANGE_BOUNDS.items():
        raw = clean_text(getattr(query, parameter))
        if not raw:
            continue
        cleaned = clean_fields({name: raw}, creating=False)
        errors += [FieldError(parameter, e.code, e.message) for e in cleaned.errors]
        if name in cleaned.values:
            bounds.setdefault(name, [None, None])[parameter.endswith("_max")] = cleaned.values[name]
    if "annual_revenue" in bounds and not clean_text(query.annual_revenue_currency):
        errors.append(FieldError("annual_revenue_currency", "required",
                                 "a revenue range needs the currency of its amounts"))
    return {name: (lowest, highest) for name, (lowest, highest) in bounds.items()}


def _custom_filters(
    definitions: list[fields.FieldDef], custom: dict[str, str], filters: ListFilter, errors: list[FieldError]
) -> dict[str, str]:
    """`cf.<key>` (exact) and, for number and date fields, `cf.<key>_min` / `cf.<key>_max`
    (inclusive) into `filters`; returns parameter -> the `cf.<key>` whose field policy governs it.
    A defined key always means itself, so a field named `budget_min` keeps its exact filter."""
    by_key = {d.key: d for d in definitions}
    governed: dict[str, str] = {}
    bounds: dict[str, list[Any]] = {}
    for cf_key, raw in sorted(custom.items()):
        parameter = f"cf.{cf_key}"
        base = cf_key[:-len(RANGE_SUFFIXES[0])]
        if cf_key in by_key:
            value, problem = fields.filter_value(by_key[cf_key], raw)
            if problem:
                errors.append(FieldError(parameter, problem, "not a value of this field's type"))
            else:
                filters.custom.append({cf_key: value})
            governed[parameter] = parameter
        elif cf_key.endswith(RANGE_SUFFIXES) and base in by_key:
            governed[parameter] = f"cf.{base}"
            if by_key[base].type not in ("number", "date"):
                errors.append(FieldError(parameter, "range_not_supported",
                                         "only number and date custom fields filter by range"))
                continue
            value, problem = fields.filter_value(by_key[base], raw)
            if problem:
                errors.append(FieldError(parameter, problem, "not a value of this field's type"))
            else:
                bounds.setdefault(base, [None, None])[cf_key.endswith("_max")] = value
        else:
            governed[parameter] = parameter
            errors.append(FieldError(parameter, "unknown_custom_field", "no custom field has this key"))
    filters.custom_ranges = {key: (lowest, highest) for key, (lowest, highest) in bounds.items()}
    return governed


def _parse_tag_ids(raw: tuple[str, ...], errors: list[FieldError]) -> list[uuid.UUID]:
    """The list's `tag_id` values (each must be an id; whether the tag exists is tagging's to say)."""
    parsed: list[uuid.UUID] = []
    for value in raw:
        try:
            parsed.append(uuid.UUID(value.strip()))
        except ValueError:
            errors.append(FieldError("tag_id", "invalid_id", "tag_id is not a valid id"))
            return []
    return sorted(set(parsed))


MAX_IDS: Final = 500
MAX_CELL_IDS: Final = 10_000
NO_CUSTOMER: Final = uuid.UUID(int=0)


def _cell_ids(query: ListQuery, ids: list[uuid.UUID], errors: list[FieldError]) -> list[uuid.UUID]:
    """`ids` narrowed to a report cell's customers (docs/reporting.md, "Click-throughs"); an empty
    intersection matches nothing (the impossible id)."""
    if query.report_cell_ids is None:
        return ids
    if len(query.report_cell_ids) > MAX_CELL_IDS:
        errors.append(FieldError("report_cell", "too_many_customers", f"at most {MAX_CELL_IDS} customers"))
        return ids
    try:
        cell = {uuid.UUID(value) for value in query.report_cell_ids}
    except ValueError:
        errors.append(FieldError("report_cell", "invalid_id", "a cell's customers are ids"))
        return ids
    chosen = sorted(cell & set(ids)) if ids else sorted(cell)
    return chosen or [NO_CUSTOMER]


def _parse_ids(raw: tuple[str, ...], errors: list[FieldError]) -> list[uuid.UUID]:
    """The list's `ids` (customer ids; an id the caller may not see simply matches nothing)."""
    if len(raw) > MAX_IDS:
        errors.append(FieldError("ids", "too_many", f"at most {MAX_IDS} ids"))
        return []
    parsed: list[uuid.UUID] = []
    for value in raw:
        try:
            parsed.append(uuid.UUID(value.strip()))
        except ValueError:
            errors.append(FieldError("ids", "invalid_id", "ids holds a value that is not an id"))
            return []
    return sorted(set(parsed))


class CustomerService:
    def __init__(self, page_tokens: PageTokens, sensitive: SensitiveFields):
        self.page_tokens = page_tokens
        self.sensitive = sensitive

    # -- shared write rules ----------------------------------------------------------------

    async def _apply_dictionaries(
        self, session: AsyncSession, values: dict[str, Any], errors: list[FieldError], enforce: bool,
        loaded: dict[str, dictionaries.Dictionary] | None = None,
    ) -> dict[str, dictionaries.Entry | None]:
        """Resolves industry, region and source against the tenant's dictionaries: the region is
        stored as its path, the source as its code; unknown values are errors for source always,
        for industry and region when the tenant enforces its dictionaries. `loaded`: dictionaries
        the caller has read already (settings/write_config.py)."""
        resolved: dict[str, dictionaries.Entry | None] = {}
        for name in DICTIONARY_FIELDS:
            value = values.get(name)
            if not value:
                continue
            dictionary = (loaded or {}).get(name) or await dictionaries.load(session, name)
            entry = dictionary.resolve(value)
            resolved[name] = entry
            if entry is None:
                if name == "source" or enforce:
                    errors.append(FieldError(name, "not_in_dictionary", f"not an entry of the {name} dictionary"))
                continue
            if name == "region":
                values[name] = entry.path
                resolved["region_root"] = dictionary.root_of(entry)
            elif name == "source":
                values[name] = entry.code
        return resolved

    @staticmethod
    def _event_fields(caller: Principal, verb: str, row: Any, **extra: Any) -> dict[str, Any]:
        return {"source": SOURCE, "tenant_id": caller.tenant_id, "aggregate": "customer", "verb": verb,
                "data": {"customer": proto_data(to_proto(row)), **extra}, "subject_id": str(row.id)}

    async def _event(self, session: AsyncSession, caller: Principal, verb: str, row: Any, **extra: Any) -> None:
        await outbox.add_event(session, **self._event_fields(caller, verb, row, **extra))

    # -- create / read / update ------------------------------------------------------------

    async def create(
        self, session: AsyncSession, caller: Principal, raw: dict[str, str], custom: dict[str, Any] | None = None,
        *, allow_duplicates: bool = False, duplicates_found: list[PossibleDuplicate] | None = None,
    ) -> sa.Row[Any]:
        """`duplicates_found` receives the likely duplicates (duplicates/check.py)."""
        policy_errors = access.write_errors(caller, raw, custom)
        secret: dict[str, str] = {k: raw.pop(k) for k in SENSITIVE_FIELDS if k in raw}
        cleaned = clean_fields(raw, creating=True)
        errors = policy_errors + cleaned.errors + check_reachable(cleaned.values, cleaned.errors)
        values: dict[str, Any] = dict(cleaned.values)
        if values.get("owner_id") is not None:
            await access.check_owner(session, caller, values["owner_id"], errors)
        values |= await self.sensitive.columns(session, caller.tenant_id, secret, errors)
        config = await write_config.load(session, (n for n in DICTIONARY_FIELDS if values.get(n)))
        tenant_settings = config.settings
        await self._apply_dictionaries(session, values, errors, tenant_settings.enforce_dictionaries,
                                       config.dictionaries)
        values["custom_fields"], custom_errors = fields.merge_values(config.fields, {}, custom)
        errors += custom_errors
        if values.get("annual_revenue") is not None and not values.get("annual_revenue_currency"):
            values["annual_revenue_currency"] = "CNY"
        if errors:
            raise InvalidInput(errors)
        prefix = None
        if not values.get("code"):
            prefix = await codes.prefix_for(session, tenant_settings.code_pattern, values, errors,
                                            loaded=config.dictionaries)
            if errors:
                raise InvalidInput(errors)
        if "owner_id" not in values:
            values["owner_id"] = caller.user_id
        found = await duplicates.check_write(session, caller, values, exclude=None, allow_duplicates=allow_duplicates,
                                             policy=tenant_settings.duplicate_policy)
        (duplicates_found if duplicates_found is not None else []).extend(found)
        # The code is taken last, once nothing can refuse the create any more (customer/codes.py).
        row = await codes.insert_with_code(
            session, caller.tenant_id, prefix,
            {**values, "id": new_id(), "version": 1, "created_by": caller.actor, "updated_by": caller.actor},
        )
        # The initial status, the timeline entry and the event: one statement.
        _, event = outbox.event_insert(session, **self._event_fields(caller, "created", row))
        await execute_together(session, [
            repository.status_change_insert(row.id, "", row.status, "", caller.actor),
            activity.created_entry(caller, row), event,
        ])
        return row

    async def get(
        self, session: AsyncSession, customer_id: str, *, caller: Principal | None = None, show_deleted: bool = False,
        reply: bool = False,
    ) -> sa.Row[Any]:
        """`reply`: read with the reply columns (customer/repository.py), for a reply."""
        if show_deleted and caller is not None:
            caller.require(Scope.CUSTOMERS_ADMIN)
        return await self._get(session, customer_id, caller, show_deleted=show_deleted, reply=reply)

    async def _get(
        self, session: AsyncSession, customer_id: str, caller: Principal | None, *, show_deleted: bool = False,
        reply: bool = False,
    ) -> sa.Row[Any]:
        """The customer if it exists and is in the caller's data scope (else 404, the same answer
        as for a missing one, so nobody learns that it exists)."""
        parsed = parse_uuid(customer_id, "customer")
        if reply:  # the hot read (GetCustomer): one prepared statement on the driver
            row = await repository.read_for_reply(session, parsed, caller)
        else:
            row = await repository.get(session, parsed, access.scope_clause(caller) if caller is not None else None)
        if row is None:
            await check_not_erased(session, parsed)  # an erased id: 404 `customer_erased`
        if row is not None and row.merged_into is not None and not show_deleted:
            # Merged into another customer (crm_customers/merge): say where it went.
            raise NotFound("the customer was merged into another", code="customer_merged",
                           extra={"merged_into": str(row.merged_into)})
        if row is None or (row.deleted_at is not None and not show_deleted):
            raise NotFound("customer not found")
        return row

    async def update(
        self,
        session: AsyncSession,
        caller: Principal,
        customer_id: str,
        raw: dict[str, str],
        expected_version: int,
        custom: dict[str, Any] | None = None,
        *,
        allow_duplicates: bool = False,
        duplicates_found: list[PossibleDuplicate] | None = None,
    ) -> sa.Row[Any]:
        """Checked for duplicates (against others, never itself) when a key field changes."""
        current = await self._get(session, customer_id, caller)
        policy_errors = access.write_errors(caller, raw, custom)
        secret: dict[str, str] = {k: raw.pop(k) for k in SENSITIVE_FIELDS if k in raw}
        cleaned = clean_fields(raw, creating=False)
        errors = policy_errors + list(cleaned.errors)
        values: dict[str, Any] = dict(cleaned.values)
        if "owner_id" in values and values["owner_id"] != current.owner_id:
            await access.check_owner(session, caller, values["owner_id"], errors)
        sensitive_columns = await self.sensitive.columns(session, caller.tenant_id, secret, errors)
        if "status" in values and values["status"] != current.status:
            errors.append(FieldError("status", "use_change_status",
                                     "change the status with :change-status, which records a reason"))
        merged = {**current._mapping, **values}
        errors += check_reachable(merged, cleaned.errors)
        config = await write_config.load(session, (n for n in DICTIONARY_FIELDS if values.get(n)))
        tenant_settings = config.settings
        await self._apply_dictionaries(session, values, errors, tenant_settings.enforce_dictionaries,
                                       config.dictionaries)
        if custom is not None:
            values["custom_fields"], custom_errors = fields.merge_values(config.fields, current.custom_fields,
                                                                         custom)
            errors += custom_errors
        merged = {**current._mapping, **values}
        if merged.get("annual_revenue") is not None and not merged.get("annual_revenue_currency"):
            values["annual_revenue_currency"] = "CNY"
        if "code" in values and not values["code"]:
            errors.append(FieldError("code", "required", "a customer's code cannot be removed"))
        if errors:
            raise InvalidInput(errors)
        if expected_version != current.version:
            raise _stale(current.version)
        changed = sorted(k for k, v in values.items() if getattr(current, k) != v)
        changed_secret = self.sensitive.changed(current, sensitive_columns)
        if not changed and not changed_secret:
            return current
        columns = {k: values[k] for k in changed}
        for name in changed_secret:
            columns |= {k: v for k, v in sensitive_columns.items() if k.startswith(f"{name}_")}
        changed = sorted([*changed, *changed_secret])
        if duplicates.CHECKED_COLUMNS & columns.keys():
            found = await duplicates.check_write(session, caller, {**current._mapping, **columns}, exclude=current.id,
                                                 allow_duplicates=allow_duplicates,
                                                 policy=tenant_settings.duplicate_policy)
            (duplicates_found if duplicates_found is not None else []).extend(found)
        row = await repository.update_if_version(
            session, current.id, expected_version, {**columns, "updated_by": caller.actor}, reply=True
        )
        if row is None:  # changed between our read and our write
            raise _stale((await self.get(session, customer_id)).version)
        # The timeline entries and the event: one statement.
        _, event = outbox.event_insert(session, **self._event_fields(caller, "updated", row, changed_fields=changed))
        await execute_together(session, [*activity.updated_entries(caller, current, row, changed), event])
        return row

    # -- soft delete and restore -------------------------------------------------------------

    async def delete(
        self, session: AsyncSession, caller: Principal, customer_id: str, expected_version: int
    ) -> sa.Row[Any]:
        current = await self._get(session, customer_id, caller)
        if expected_version != current.version:
            raise _stale(current.version)
        row = await repository.update_if_version(
            session, current.id, expected_version,
            {"deleted_at": sa.func.now(), "deleted_by": caller.actor, "updated_by": caller.actor},
        )
        if row is None:
            raise _stale((await self.get(session, customer_id, show_deleted=True)).version)
        await activity.record(session, caller, row.id, activity_kinds.DELETED)
        await self._event(session, caller, "deleted", row)
        return row

    async def restore(self, session: AsyncSession, caller: Principal, customer_id: str) -> sa.Row[Any]:
        current = await self._get(session, customer_id, caller, show_deleted=True)
        if current.deleted_at is None:
            raise Conflict("the customer is not deleted", code="not_deleted")
        if current.merged_into is not None:
            raise Conflict("the customer was merged; undo the merge to bring it back", code="customer_merged",
                           extra={"merged_into": str(current.merged_into)})
        row = await repository.update_if_version(
            session, current.id, current.version, {"deleted_at": None, "deleted_by": "", "updated_by": caller.actor}
        )
        if row is None:
            raise _stale((await self.get(session, customer_id, show_deleted=True)).version)
        await activity.record(session, caller, row.id, activity_kinds.RESTORED)
        await self._event(session, caller, "restored", row)
        return row

    # -- status lifecycle ------------------------------------------------------------------

    async def change_status(
        self, session: AsyncSession, caller: Principal, customer_id: str, status: str, reason: str,
        expected_version: int = 0,
    ) -> sa.Row[Any]:
        current = await self._get(session, customer_id, caller)
        status, reason = clean_text(status), clean_text(reason)
        errors: list[FieldError] = []
        if status not in STATUSES:
            errors.append(FieldError("status", "invalid_choice", f"status must be one of {', '.join(STATUSES)}"))
        if not reason:
            errors.append(FieldError("reason", "required", "a status change needs a reason"))
        elif len(reason) > MAX_REASON:
            errors.append(FieldError("reason", "too_long", f"at most {MAX_REASON} characters"))
        if errors:
            raise InvalidInput(errors)
        if expected_version and expected_version != current.version:
            raise _stale(current.version)
        allowed = (await settings.get(session)).status_transitions.get(current.status, [])
        if status not in allowed:
            raise Conflict(
                f"a {current.status} customer cannot become {status}", code="transition_not_allowed",
                extra={"field": "status", "allowed": allowed},
            )
        row = await repository.update_if_version(
            session, current.id, current.version, {"status": status, "updated_by": caller.actor}
        )
        if row is None:
            raise _stale((await self.get(session, customer_id)).version)
        await repository.add_status_change(session, row.id, current.status, status, reason, caller.actor)
        await activity.record_status(session, caller, row.id, current.status, status, reason)
        await self._event(session, caller, "updated", row, changed_fields=["status"])
        return row

    async def reveal(
        self, session: AsyncSession, caller: Principal, customer_id: str, names: list[str], client: ClientInfo
    ) -> dict[str, str]:
        row = await self._get(session, customer_id, caller)
        withheld = [n for n in names if field_policy(caller, n) in ("hidden", "masked")]
        if withheld:
            raise PermissionDenied(f"your role may not see {', '.join(sorted(set(withheld)))} in plaintext")
        values = await self.sensitive.reveal(session, caller, row, names, client)
        await activity.record(session, caller, row.id, activity_kinds.REVEALED, {"fields": sorted(set(names))})
        return values

    async def status_history(
        self, session: AsyncSession, customer_id: str, caller: Principal | None = None
    ) -> list[sa.Row[Any]]:
        row = await self._get(session, customer_id, caller)
        return await repository.status_changes(session, row.id)

    # -- list ------------------------------------------------------------------------------

    async def list_filter(
        self, session: AsyncSession, *, order_by: str, caller: Principal | None = None,
        query: ListQuery = NO_FILTERS, scoped: bool = True,
    ) -> tuple[ListFilter, str, str]:
        """The checked filter of a list request, its normalised order and its fingerprint (what a
        page token is bound to). InvalidInput names every bad argument. `scoped=False`: without
        the caller's data scope (a segment's inner filter: the list it is part of carries it), so
        its visible owners are not read twice."""
        errors: list[FieldError] = []
        order = " ".join((order_by or "created_at desc").lower().split())
        if order in repository.SORT_COLUMNS:
            order += " asc"
        if order not in repository.ORDERINGS:
            errors.append(FieldError(
                "order_by", "invalid_order_by", f"order_by must be one of: {', '.join(repository.ORDERINGS)}"
            ))
        if query.show_deleted and caller is not None:
            caller.require(Scope.CUSTOMERS_ADMIN)
        if query.status and query.status not in STATUSES:
            errors.append(FieldError("status", "invalid_choice", f"status must be one of {', '.join(STATUSES)}"))
        if query.type and query.type not in TYPES:
            errors.append(FieldError("type", "invalid_choice", f"type must be one of {', '.join(TYPES)}"))
        owner: uuid.UUID | None = None
        if query.owner_id:
            try:
                owner = uuid.UUID(query.owner_id)
            except ValueError:
                errors.append(FieldError("owner_id", "invalid_id", "owner_id is not a valid id"))
        filters = ListFilter(
            industry=clean_text(query.industry), status=query.status, q=clean_text(query.q), owner_id=owner,
            region=clean_text(query.region).replace(" ", ""), source=clean_text(query.source), type=query.type,
            created_after=_parse_instant("created_after", query.created_after, errors),
            created_before=_parse_instant("created_before", query.created_before, errors),
            first_contact_after=_parse_day("first_contact_after", query.first_contact_after, errors),
            first_contact_before=_parse_day("first_contact_before", query.first_contact_before, errors),
            show_deleted=query.show_deleted, tag_ids=_parse_tag_ids(query.tag_ids, errors),
            updated_after=_parse_instant("updated_after", query.updated_after, errors),
            updated_before=_parse_instant("updated_before", query.updated_before, errors),
            acquired_after=_parse_day("acquired_after", query.acquired_after, errors),
            acquired_before=_parse_day("acquired_before", query.acquired_before, errors),
            ranges=_clean_ranges(query, errors), ids=_cell_ids(query, _parse_ids(query.ids, errors), errors),
        )
        filters.equals = _clean_exact(query, errors)
        filters.email = filters.equals.pop("email", "")
        governed_custom = (
            _custom_filters(await fields.list_all(session), query.custom, filters, errors) if query.custom else {}
        )
        if caller is not None:
            filters.common_tag_ids = await tag_projection.common_tags(session, caller.tenant_id, filters.tag_ids)
            if scoped:
                filters.scope_owners = await access.list_scope_owners(session, caller)
                filters.scope = access.owners_clause(filters.scope_owners)
                filters.own_only = caller.data_scope not in ("all", "team")
            filters.hidden = frozenset(n for n in access.GOVERNED if not access.readable(caller, n))
            # parameter -> (the field whose policy governs it, the value sent)
            explicit = {name: (name, getattr(query, name)) for name in (
                "industry", "status", "region", "source", "type", "resident_id", "bank_card")}
            explicit |= {name: (field, getattr(query, name)) for name, field in ADDED_FILTER_FIELDS.items()}
            explicit |= {name: (field, query.custom[name[3:]]) for name, field in governed_custom.items()}
            hidden = {name for name, (field, value) in explicit.items()
                      if value and not access.readable(caller, field)}
            # Sorting by a field the caller may not see would reveal its values' order.
            sort_field = order.split()[0]
            if sort_field in access.GOVERNED and not access.readable(caller, sort_field):
                hidden.add("order_by")
            errors += [FieldError(name, "field_hidden", "your role may not see or filter by this field")
                       for name in sorted(hidden)]
        if filters.source:
            entry = (await dictionaries.load(session, "source")).resolve(filters.source)
            filters.source = entry.code if entry else filters.source
        if filters.region:
            entry = (await dictionaries.load(session, "region")).resolve(filters.region)
            filters.region = entry.path if entry else filters.region
        if query.segment_id:
            filters.segment = await self._segment_filter(session, caller, query.segment_id, errors)
            if filters.segment is not None:  # few candidate rows: value metrics per customer
                filters.segment.own_only = filters.own_only
        if errors:
            raise InvalidInput(errors)
        exact: list[str] = []
        for name, raw_value in (("resident_id", query.resident_id), ("bank_card", query.bank_card)):
            if raw_value and caller is not None:
                index = await self.sensitive.lookup_index(session, caller.tenant_id, name, raw_value)
                filters.blind_indexes[name] = index or "-"  # an impossible value matches nothing
                exact.append(filters.blind_indexes[name])
        fingerprint = hashlib.sha256(
            json.dumps([query.industry, query.status, query.q, query.owner_id, query.region, query.source, query.type,
                        query.created_after, query.created_before, query.first_contact_after,
                        query.first_contact_before, query.show_deleted, sorted(query.custom.items()), *exact,
                        # only when filtering by tag, so page tokens of other lists stay valid
                        *([[str(t) for t in filters.tag_ids]] if filters.tag_ids else []),
                        *([["ids", *(str(i) for i in filters.ids)]] if filters.ids else []),
                        # likewise the filters added later (list_query.py ADDED_FILTERS)
                        *([added] if (added := query.added_filters()) else []),
                        *([["segment", query.segment_id]] if query.segment_id else [])],
                       ensure_ascii=False).encode()
        ).hexdigest()[:24]
        return filters, order, fingerprint

    async def _segment_filter(self, session: AsyncSession, caller: Principal | None, segment_id: str,
                              errors: list[FieldError]) -> ListFilter | None:
        """A saved segment's definition as a list filter (docs/tagging.md, "Segments"): found only
        when the caller may read it (their own or a shared one), refused when it uses a metric the
        caller's field policies hide; evaluated under the outer filter's data scope."""
        try:
            found = await segment_repository.get_visible(session, uuid.UUID(segment_id.strip()),
                                                         caller.actor if caller is not None else "")
        except ValueError:
            found = None
        if found is None:
            errors.append(FieldError("segment_id", "unknown_segment", "no segment with this id that you can read"))
            return None
        definition = segment_definition.Definition.from_stored(found.definition)
        return await self.definition_filter(session, caller, definition, errors, "segment_id")

    async def definition_filter(self, session: AsyncSession, caller: Principal | None,
                                definition: segment_definition.Definition, errors: list[FieldError],
                                field: str) -> ListFilter | None:
        """The list filter of a segment definition (checked when saved), without a data scope of its
        own: the list it is part of carries the caller's (and sets `own_only` from it)."""
        if caller is not None and any(
            uses and not access.readable(caller, governing)
            for uses, governing in ((definition.uses_spend(), segment_definition.METRIC_FIELDS["spend_12m"]),)
        ):
            errors.append(FieldError(field, "field_hidden", "your role may not see or filter by spend"))
            return None
        try:
            inner, _, _ = await self.list_filter(session, order_by="", caller=caller, query=definition.list_query(),
                                                 scoped=False)
        except InvalidInput as exc:
            if field == "segment_id":
                errors.append(FieldError(field, "segment_invalid",
                                         "the segment's filters are no longer valid: "
                                         + ", ".join(f"{e.field} {e.code}" for e in exc.errors)))
            else:
                errors.extend(FieldError(f"{field}.filters.{e.field}" if e.field != "tag_id"
                                         else f"{field}.all_tags", e.code, e.message) for e in exc.errors)
            return None
        inner.scope, inner.own_only = None, False
        definition.extend(inner)
        return inner

    async def count(self, session: AsyncSession, *, caller: Principal | None = None,
                    query: ListQuery = NO_FILTERS) -> int:
        """How many customers the list would return over all its pages (export progress)."""
        filters, _, _ = await self.list_filter(session, order_by="", caller=caller, query=query)
        return await repository.count(session, filters)

    async def count_upto(self, session: AsyncSession, *, caller: Principal | None = None,
                         query: ListQuery = NO_FILTERS, cap: int = TOTAL_CAP) -> tuple[int, bool]:
        """The list's total for its header: exact up to `cap`, else (cap, True) for "cap+"."""
        filters, _, _ = await self.list_filter(session, order_by="", caller=caller, query=query)
        found = await repository.count_upto(session, filters, cap)
        return min(found, cap), found > cap

    async def list(
        self, session: AsyncSession, *, size: int, token: str, order_by: str, caller: Principal | None = None,
        query: ListQuery = NO_FILTERS, reply: bool = False,
    ) -> tuple[list[sa.Row[Any]], str]:
        """One page; `reply`: with the reply columns (customer/repository.py), for a reply."""
        limit = page_size(size)
        filters, order, fingerprint = await self.list_filter(session, order_by=order_by, caller=caller, query=query)
        column_name = order.split()[0]
        after = None
        if token:
            cursor = self.page_tokens.decode(token)
            if cursor.get("o") != order or cursor.get("f") != fingerprint:
                raise InvalidInput(
                    [FieldError("page_token", "invalid_page_token", "page_token belongs to another query")]
                )
            key: Any = cursor["k"]
            if column_name in ("created_at", "updated_at"):
                key = datetime.fromisoformat(key)
            after = (key, uuid.UUID(cursor["i"]))
        rows = await repository.list_page(session, order_by=order, limit=limit + 1, after=after, filters=filters,
                                          reply=reply)
        next_token = ""
        if len(rows) > limit:
            last = rows[limit - 1]
            value = getattr(last, column_name)
            next_token = self.page_tokens.encode({
                "o": order, "f": fingerprint, "k": value.isoformat() if isinstance(value, datetime) else value,
                "i": str(last.id),
            })
        return rows[:limit], next_token
