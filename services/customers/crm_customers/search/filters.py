"""The customer list's filters as a map of its query parameters ({"status": "won", "cf.level": "A"}),
shared by saved views (crm_customers/views) and exports (crm_customers/exports): which keys exist,
how they become `CustomerService.list` arguments, and their validation, which is the list's own
(one set of rules: a view or export is refused exactly when the same list request would be)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer.list_query import ADDED_FILTERS, ListQuery
from crm_customers.fields import service as fields
from crm_platform.auth import Principal
from crm_platform.errors import FieldError, InvalidInput

if TYPE_CHECKING:
    from crm_customers.customer.service import CustomerService

# The list's repeatable `tag_id`, held in a filter map as one value: the ids joined by commas
# ("id1,id2"; ids never contain a comma). The customer must carry every one.
TAG_KEY: Final = "tag_id"
TAG_SEPARATOR: Final = ","
# Selected rows (the list's bulk actions export them): customer ids joined by commas, at most 500.
IDS_KEY: Final = "ids"
MAX_IDS_VALUE: Final = 500 * 37

# List query parameters a saved filter may use (not page_token/page_size, not show_deleted, and
# never the plaintext of a sensitive field).
FILTER_KEYS: Final = (
    "q", "status", "owner_id", "industry", "region", "source", "type", "created_after", "created_before",
    "first_contact_after", "first_contact_before", TAG_KEY, IDS_KEY, *ADDED_FILTERS, "segment_id",
)
CUSTOM_PREFIX: Final = "cf."
# Columns a view can show / an export can contain, in their default order (plus `cf.<key>`).
COLUMNS: Final = (
    "code", "name", "type", "status", "industry", "region", "source", "owner_id", "contact_person", "mobile",
    "phone", "email", "first_contact_date", "employees", "annual_revenue", "annual_revenue_currency",
    "credit_code", "resident_id", "bank_card", "needs", "notes", "created_at", "updated_at",
)
MAX_FILTER_VALUE: Final = 500


def list_arguments(filters: Mapping[str, str], prefix: str = "filters") -> tuple[ListQuery, list[FieldError]]:
    """The list's filters for a filter map, and errors for unknown keys."""
    arguments: dict[str, Any] = {}
    custom: dict[str, str] = {}
    errors: list[FieldError] = []
    for key, value in sorted(filters.items()):
        if len(value) > (MAX_IDS_VALUE if key == IDS_KEY else MAX_FILTER_VALUE):
            errors.append(FieldError(f"{prefix}.{key}", "too_long", f"at most {MAX_FILTER_VALUE} characters"))
        elif key == IDS_KEY:
            arguments["ids"] = tuple(i.strip() for i in value.split(TAG_SEPARATOR) if i.strip())
        elif key == TAG_KEY:
            arguments["tag_ids"] = tuple(t.strip() for t in value.split(TAG_SEPARATOR) if t.strip())
        elif key in FILTER_KEYS:
            arguments[key] = value
        elif key.startswith(CUSTOM_PREFIX) and len(key) > len(CUSTOM_PREFIX):
            custom[key[len(CUSTOM_PREFIX):]] = value
        else:
            errors.append(FieldError(f"{prefix}.{key}", "unknown_filter", "not a filter of the customer list"))
    return ListQuery(**arguments, custom=custom), errors


async def validate(
    session: AsyncSession, customers: CustomerService, caller: Principal, filters: Mapping[str, str],
    order_by: str, prefix: str = "filters",
) -> ListQuery:
    """The list's filters, or InvalidInput naming `<prefix>.<key>` (or `order_by`) at fault. Runs
    the list's own checks (choices, dates, custom field types, tags, fields hidden from the caller)."""
    query, errors = list_arguments(filters, prefix)
    if errors:
        raise InvalidInput(errors)
    try:
        await customers.list(session, size=1, token="", order_by=order_by, caller=caller, query=query)
    except InvalidInput as exc:
        raise InvalidInput([
            FieldError(e.field if e.field == "order_by" else f"{prefix}.{e.field}", e.code, e.message)
            for e in exc.errors
        ]) from None
    return query


async def check_columns(session: AsyncSession, columns: list[str], field: str = "columns") -> list[FieldError]:
    """Errors for columns that are neither standard ones nor defined custom fields."""
    custom = {d.key for d in await fields.list_all(session)} if any(c.startswith(CUSTOM_PREFIX) for c in columns) \
        else set()
    errors = []
    for index, column in enumerate(columns):
        known = column in COLUMNS or (column.startswith(CUSTOM_PREFIX) and column[len(CUSTOM_PREFIX):] in custom)
        if not known:
            errors.append(FieldError(f"{field}[{index}]", "unknown_column", f"no column {column!r}"))
    if len(set(columns)) != len(columns):
        errors.append(FieldError(field, "duplicate_column", "a column appears twice"))
    return errors
