"""One import row checked and turned into stored values, with the create path's own rules
(customer/cleaning.py, the tenant's dictionaries, custom fields, sensitive fields, the code
pattern, owners in the importer's data scope), made fast for a million rows by caching what
repeats: a mobile number's validity depends on its first digits only, an email's domain is
checked once, a dictionary value, a code prefix and an owner are resolved once per import.

Problems are (field, code); field is a customer field key or `cf.<key>`."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import re
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from email_validator import EmailNotValidError, validate_email

from crm_customers.customer import access, codes
from crm_customers.customer.cleaning import check_reachable, clean_fields, clean_text
from crm_customers.customer.cleaning import error as field_error
from crm_customers.duplicates import keys as match
from crm_customers.fields import service as fields
from crm_customers.importing import columns
from crm_customers.sensitive import crypto
from crm_customers.sensitive import values as sensitive_values
from crm_customers.sensitive.keys import TenantKeys
from crm_customers.settings import write_config
from crm_platform.auth import Principal, principal_json
from crm_platform.errors import FieldError

DICTIONARY_FIELDS: Final = ("industry", "region", "source")
_CN_MOBILE: Final = re.compile(r"1\d{10}")
_SIMPLE_LOCAL: Final = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DATE: Final = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?")
# Duplicate keys looked up, in the order that picks the customer an update goes to.
KEY_ORDER: Final = ("code", "credit_code", "resident_id", "bank_card", "phone", "email", "name")


@dataclass
class Checked:
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)
    # (kind, value) duplicate keys, in KEY_ORDER.
    keys: list[tuple[str, str]] = field(default_factory=list)
    # The fields the row gives a value for (an update writes only these).
    given: set[str] = field(default_factory=set)
    prefix: codes.CodePrefix | None = None


_TRUE: Final = frozenset({"true", "yes", "y", "1", "是", "对", "✓", "√"})
_FALSE: Final = frozenset({"false", "no", "n", "0", "否", "不", "×"})
_LIST_SEPARATORS: Final = re.compile(r"\s*[,，、;；|]\s*")


def custom_value(definition: fields.FieldDef | None, text: str) -> Any:
    """A cell as the JSON value a custom field takes (custom fields' own checks judge it):
    numbers, true/false (是/否), lists separated by , 、 ; and dates as YYYY-MM-DD."""
    if definition is None:
        return text
    if definition.type == "number":
        try:
            number = float(text.replace(",", ""))
        except ValueError:
            return text  # invalid_type
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if definition.type == "boolean":
        folded = text.strip().lower()
        return True if folded in _TRUE else False if folded in _FALSE else text
    if definition.type == "multi_select":
        return [part for part in _LIST_SEPARATORS.split(text) if part]
    if definition.type == "date":
        return iso_date(text)
    return text


def iso_date(text: str) -> str:
    """2024/1/5, 2024.01.05, 2024年1月5日 and "2024-01-05 00:00:00" -> 2024-01-05; else unchanged."""
    found = _DATE.fullmatch(text)
    if found is None:
        return text
    year, month, day = found.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}"


class RowChecker:
    """Built once per import run: the tenant's configuration and the importer."""

    def __init__(self, caller: Principal, config: write_config.WriteConfig, keys: TenantKeys | None,
                 mapping: dict[str, str], owners: dict[str, list[uuid.UUID]]):
        self.caller = caller
        self.config = config
        self.keys = keys
        self.mapping = {int(position): key for position, key in mapping.items()}
        self.definitions = {d.key: d for d in config.fields}
        self.owners = owners
        self.owner_checks: dict[uuid.UUID, str | None] = {}
        self._mobiles: dict[str, tuple[str | None, str | None]] = {}
        self._domains: dict[str, str | None] = {}
        self._dictionary: dict[tuple[str, str], Any] = {}
        self._prefixes: dict[tuple[str, str], tuple[codes.CodePrefix | None, list[FieldError]]] = {}
        self.today = datetime.now(UTC).date()

    # -- fast paths --------------------------------------------------------------------------

    def _mobile(self, text: str) -> tuple[str | None, str | None]:
        """(E.164, None) or (None, code): a Chinese 11-digit mobile is judged by its first 7
        digits (the numbering plan's blocks), cached; anything else by the full cleaning."""
        if _CN_MOBILE.fullmatch(text):
            block = text[:7]
            cached = self._mobiles.get(block)
            if cached is None:
                cleaned = clean_fields({"mobile": text}, creating=False)
                cached = ((None, cleaned.errors[0].code) if cleaned.errors else ("+86", None))
                self._mobiles[block] = cached
            prefix, problem = cached
            return (None, problem) if problem else (f"{prefix}{text}", None)
        cleaned = clean_fields({"mobile": text}, creating=False)
        return (None, cleaned.errors[0].code) if cleaned.errors else (cleaned.values["mobile"], None)

    def _email(self, text: str) -> tuple[str | None, str | None]:
        local, at, domain = text.rpartition("@")
        if at and len(text) <= 254 and len(local) <= 64 and _SIMPLE_LOCAL.fullmatch(local):
            if domain not in self._domains:
                try:
                    self._domains[domain] = validate_email(f"a@{domain}", check_deliverability=False).domain
                except EmailNotValidError:
                    self._domains[domain] = None
            normal = self._domains[domain]
            return (f"{local}@{normal}", None) if normal is not None else (None, "invalid_email")
        cleaned = clean_fields({"email": text}, creating=False)
        return (None, cleaned.errors[0].code) if cleaned.errors else (cleaned.values["email"], None)

    def _resolve(self, name: str, value: str) -> Any:
        key = (name, value)
        if key not in self._dictionary:
            dictionary = self.config.dictionaries.get(name)
            self._dictionary[key] = dictionary.resolve(value) if dictionary is not None else None
        return self._dictionary[key]

    async def _prefix(self, session: Any, values: dict[str, Any]) -> tuple[codes.CodePrefix | None, list[FieldError]]:
        key = (str(values.get("region") or ""), str(values.get("industry") or ""))
        if key not in self._prefixes:
            errors: list[FieldError] = []
            prefix = await codes.prefix_for(session, self.config.settings.code_pattern, values, errors,
                                            today=self.today, loaded=self.config.dictionaries)
            self._prefixes[key] = (prefix, errors)
        return self._prefixes[key]

    async def check_owners(self, session: Any) -> None:
        """Each named owner once: in the importer's data scope and enabled (access.check_owner)."""
        for ids in self.owners.values():
            for owner in ids:
                errors: list[FieldError] = []
                await access.check_owner(session, self.caller, owner, errors)
                self.owner_checks[owner] = errors[0].code if errors else None
        if self.caller.user_id is not None and self.caller.user_id not in self.owner_checks:
            errors = []
            await access.check_owner(session, self.caller, self.caller.user_id, errors)
            self.owner_checks[self.caller.user_id] = errors[0].code if errors else None

    # -- one row -----------------------------------------------------------------------------

    async def check(self, session: Any, cells: list[str]) -> Checked:
        out = Checked()
        raw: dict[str, str] = {}
        custom: dict[str, Any] = {}
        for position, key in self.mapping.items():
            text = clean_text(cells[position]) if position < len(cells) else ""
            if key.startswith(columns.CUSTOM_PREFIX):
                if text:
                    custom_key = key.removeprefix(columns.CUSTOM_PREFIX)
                    custom[custom_key] = custom_value(self.definitions.get(custom_key), text)
                continue
            if text:
                raw[key] = text
        out.given = set(raw) | {columns.CUSTOM_PREFIX + k for k in custom}
        problems = out.problems
        fast: dict[str, Any] = {}
        if "mobile" in raw:
            fast["mobile"], problem = self._mobile(raw.pop("mobile"))
            if problem:
                problems.append(("mobile", problem))
        if "email" in raw:
            fast["email"], problem = self._email(raw.pop("email"))
            if problem:
                problems.append(("email", problem))
        if "type" in raw:
            raw["type"] = columns.TYPE_VALUES.get(columns.fold(raw["type"]), raw["type"])
        if "status" in raw:
            raw["status"] = columns.STATUS_VALUES.get(columns.fold(raw["status"]), raw["status"])
        if "first_contact_date" in raw:
            raw["first_contact_date"] = iso_date(raw["first_contact_date"])
        owner_name = raw.pop("owner", "")
        secret = {k: raw.pop(k) for k in sensitive_values.FIELDS if k in raw}
        cleaned = clean_fields(raw, creating=True)
        problems += [(e.field, e.code) for e in cleaned.errors]
        values: dict[str, Any] = cleaned.values
        values |= {k: v for k, v in fast.items() if v is not None}
        if not any(f in ("mobile", "email", "phone") for f, _ in problems):
            problems += [(e.field, e.code) for e in check_reachable(values, [])]
        # Owner: a user's display name; empty = the importer.
        if owner_name:
            candidates = self.owners.get(owner_name, [])
            if not candidates:
                problems.append(("owner", "unknown_owner"))
            elif len(candidates) > 1:
                problems.append(("owner", "ambiguous_owner"))
            else:
                values["owner_id"] = candidates[0]
        else:
            values["owner_id"] = self.caller.user_id
        owner_problem = self.owner_checks.get(values["owner_id"]) if values.get("owner_id") else None
        if owner_problem:
            problems.append(("owner", owner_problem))
        # Sensitive fields: validated here, sealed under the tenant's data key.
        for secret_field, text in secret.items():
            normalised = sensitive_values.normalise(secret_field, text)
            problem = sensitive_values.error(secret_field, normalised)
            if problem is not None:
                problems.append((secret_field, problem))
            elif self.keys is not None:
                values[f"{secret_field}_enc"] = crypto.encrypt(self.keys, secret_field, normalised)
                values[f"{secret_field}_bidx"] = crypto.blind_index(self.keys, secret_field, normalised)
                values[f"{secret_field}_masked"] = sensitive_values.mask(secret_field, normalised)
        # Dictionaries (create's rules: region stored as its path, source as its code).
        for name in DICTIONARY_FIELDS:
            value = values.get(name)
            if not value:
                continue
            entry = self._resolve(name, value)
            if entry is None:
                if name == "source" or self.config.settings.enforce_dictionaries:
                    problems.append((name, "not_in_dictionary"))
            elif name == "region":
                values[name] = entry.path
            elif name == "source":
                values[name] = entry.code
        values["custom_fields"], custom_errors = fields.merge_values(self.config.fields, {}, custom)
        problems += [(columns.CUSTOM_PREFIX + e.field.removeprefix("custom_fields."), e.code) for e in custom_errors]
        if values.get("annual_revenue") is not None and not values.get("annual_revenue_currency"):
            values["annual_revenue_currency"] = "CNY"
        if not problems and not values.get("code"):
            out.prefix, prefix_errors = await self._prefix(session, values)
            problems += [(e.field, e.code) for e in prefix_errors]
        out.values = values
        if not problems:
            out.keys = duplicate_keys(values)
        return out


# The classes a stored batch may name (`load_batch`): the values' own types, nothing else.
_STORED_CLASSES: Final = frozenset({("uuid", "UUID"), ("uuid", "SafeUUID"), ("datetime", "date"),
                                    ("datetime", "datetime"), ("datetime", "timezone"), ("datetime", "timedelta"),
                                    ("decimal", "Decimal")})


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles only plain data and the classes above: a stored batch can build nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _STORED_CLASSES:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a stored batch")
        return super().find_class(module, name)


def dump_batch(rows: list[tuple[int, Checked]]) -> bytes:
    """A batch of checked rows for `customer_import_checked` (the dry run keeps them so that the
    import need not read and check the file again): plain tuples, pickled, compressed."""
    plain = [(number, c.values, c.problems, c.keys, c.given,
              (c.prefix.text, c.prefix.width) if c.prefix is not None else None) for number, c in rows]
    return zlib.compress(pickle.dumps(plain, protocol=5), 1)


def load_batch(data: bytes) -> list[tuple[int, Checked]]:
    plain = _BatchUnpickler(io.BytesIO(zlib.decompress(data))).load()
    return [(number, Checked(values, problems, keys, given,
                             codes.CodePrefix(*prefix) if prefix is not None else None))
            for number, values, problems, keys, given, prefix in plain]


def fingerprint(checker: RowChecker, mapping: dict[str, str]) -> str:
    """What a row's checked values depend on besides its cells: the write configuration (settings,
    dictionaries, custom fields), the owners and their checks, the importer, the sealing key and
    today's date (code patterns may hold it). A stored batch is used only while this is equal."""
    key = hashlib.sha256(checker.keys.data_key).hexdigest() if checker.keys is not None else ""
    parts = (repr(checker.config), sorted(mapping.items()),
             sorted((name, [str(i) for i in ids]) for name, ids in checker.owners.items()),
             sorted((str(owner), problem) for owner, problem in checker.owner_checks.items()),
             json.dumps(principal_json(checker.caller), sort_keys=True, default=str), key,
             checker.today.isoformat())
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def duplicate_keys(values: dict[str, Any]) -> list[tuple[str, str]]:
    """The exact keys a duplicate is found by (duplicates/keys.py's kinds; `code` too)."""
    found: list[tuple[str, str]] = []
    if values.get("code"):
        found.append(("code", str(values["code"])))
    if values.get("credit_code"):
        found.append(("credit_code", str(values["credit_code"]).upper()))
    for kind in ("resident_id", "bank_card"):
        if values.get(f"{kind}_bidx"):
            found.append((kind, str(values[f"{kind}_bidx"])))
    for column in ("mobile", "phone"):
        if values.get(column):
            found.append(("phone", str(values[column])))
    if values.get("email"):
        found.append(("email", match.email_key(str(values["email"]))))
    if values.get("type", "enterprise") == "enterprise" and values.get("name"):
        name = match.name_key(str(values["name"]))
        if name:
            found.append(("name", name))
    return found


def write_problems(caller: Principal, mapping: dict[str, str]) -> list[tuple[str, str]]:
    """File-level: mapped fields the importer's field policies do not let them write."""
    sent = {key: "" for key in mapping.values() if not key.startswith(columns.CUSTOM_PREFIX) and key != "owner"}
    if "owner" in mapping.values():
        sent["owner_id"] = ""
    custom = {key.removeprefix(columns.CUSTOM_PREFIX): "" for key in mapping.values()
              if key.startswith(columns.CUSTOM_PREFIX)}
    return [("owner" if e.field == "owner_id" else e.field, e.code)
            for e in access.write_errors(caller, sent, custom)]


__all__ = [
    "Checked", "RowChecker", "dump_batch", "duplicate_keys", "field_error", "fingerprint", "iso_date", "load_batch",
    "write_problems",
]
