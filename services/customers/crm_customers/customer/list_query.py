"""The customer list's filters as asked (unchecked): one object built from a list request
(customer/servicer.py `list_filters`), a mass change's stored request (bulk/) or a saved view's or
export's filter map (search/filters.py), and taken by `CustomerService.list`, `list_filter` and
`count`. `CustomerService.list_filter` checks it into the repository's `ListFilter`."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Final


@dataclass(frozen=True)
class ListQuery:
    industry: str = ""
    status: str = ""
    q: str = ""
    owner_id: str = ""
    region: str = ""
    source: str = ""
    type: str = ""
    created_after: str = ""
    created_before: str = ""
    first_contact_after: str = ""
    first_contact_before: str = ""
    show_deleted: bool = False
    # Custom field key -> value (`cf.<key>` filters).
    custom: dict[str, str] = field(default_factory=dict)
    resident_id: str = ""
    bank_card: str = ""
    # The customer carries every one of these tags.
    tag_ids: tuple[str, ...] = ()
    # Only these customers (the rows selected on the list, for bulk actions and exports).
    ids: tuple[str, ...] = ()
    # Exact, normalised as the field is stored (cleaning.py).
    code: str = ""
    contact_person: str = ""
    mobile: str = ""
    phone: str = ""
    email: str = ""
    credit_code: str = ""
    updated_after: str = ""
    updated_before: str = ""
    # Inclusive ranges; revenue bounds need the currency.
    employees_min: str = ""
    employees_max: str = ""
    annual_revenue_min: str = ""
    annual_revenue_max: str = ""
    annual_revenue_currency: str = ""
    # The day acquired (first contact, else created), inclusive.
    acquired_after: str = ""
    acquired_before: str = ""
    # A saved segment (crm_customers/segments), ANDed with the other filters.
    segment_id: str = ""
    # A report cell's customers (resolved by the gateway from reporting), ANDed; None: no cell.
    report_cell_ids: tuple[str, ...] | None = None

    @classmethod
    def from_request(cls, request: Any) -> ListQuery:
        """From a `ListCustomersRequest` (a list call, or the one a mass change stored): every filter
        has the proto field of its name, except `custom` (`custom_fields`) and `tag_ids` (repeated)."""
        plain = {f.name: getattr(request, f.name) for f in fields(cls)
                 if f.name not in ("custom", "tag_ids", "ids", "report_cell_ids")}
        cell = tuple(request.report_cell_ids) if request.report_cell_set or request.report_cell_ids else None
        return cls(**plain, custom=dict(request.custom_fields), tag_ids=tuple(request.tag_ids), ids=tuple(request.ids),
                   report_cell_ids=cell)

    def added_filters(self) -> dict[str, str]:
        """The filters added after the first page tokens were issued, those that are set: a page
        token's fingerprint names them only when used, so tokens of other lists stay valid."""
        return {name: value for name in ADDED_FILTERS if (value := getattr(self, name))}


# Plain string filters beyond the original set (proto ListCustomersRequest fields 20-34, saved
# filter map keys of the same names).
ADDED_FILTERS: Final[tuple[str, ...]] = (
    "code", "contact_person", "mobile", "phone", "email", "credit_code", "updated_after", "updated_before",
    "employees_min", "employees_max", "annual_revenue_min", "annual_revenue_max", "annual_revenue_currency",
    "acquired_after", "acquired_before",
)
