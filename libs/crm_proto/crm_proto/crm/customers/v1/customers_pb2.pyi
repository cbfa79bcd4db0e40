import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from crm_proto.crm.text.v1 import text_pb2 as _text_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Customer(_message.Message):
    __slots__ = ("id", "code", "name", "type", "industry", "region", "mobile", "email", "owner_id", "status", "version", "created_at", "updated_at", "created_by", "updated_by", "contact_person", "phone", "first_contact_date", "source", "employees", "annual_revenue", "annual_revenue_currency", "needs", "notes", "credit_code", "custom_fields", "deleted_at", "deleted_by", "resident_id", "bank_card", "annual_spend", "lifetime_value", "possible_duplicates", "owner_name", "created_by_name", "updated_by_name", "tag_ids")
    ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    INDUSTRY_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    MOBILE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    CONTACT_PERSON_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    FIRST_CONTACT_DATE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEES_FIELD_NUMBER: _ClassVar[int]
    ANNUAL_REVENUE_FIELD_NUMBER: _ClassVar[int]
    ANNUAL_REVENUE_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    NEEDS_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    CREDIT_CODE_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_FIELDS_FIELD_NUMBER: _ClassVar[int]
    DELETED_AT_FIELD_NUMBER: _ClassVar[int]
    DELETED_BY_FIELD_NUMBER: _ClassVar[int]
    RESIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    BANK_CARD_FIELD_NUMBER: _ClassVar[int]
    ANNUAL_SPEND_FIELD_NUMBER: _ClassVar[int]
    LIFETIME_VALUE_FIELD_NUMBER: _ClassVar[int]
    POSSIBLE_DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    OWNER_NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_NAME_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_NAME_FIELD_NUMBER: _ClassVar[int]
    TAG_IDS_FIELD_NUMBER: _ClassVar[int]
    id: str
    code: str
    name: str
    type: str
    industry: str
    region: str
    mobile: str
    email: str
    owner_id: str
    status: str
    version: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    created_by: str
    updated_by: str
    contact_person: str
    phone: str
    first_contact_date: str
    source: str
    employees: int
    annual_revenue: str
    annual_revenue_currency: str
    needs: str
    notes: str
    credit_code: str
    custom_fields: _struct_pb2.Struct
    deleted_at: _timestamp_pb2.Timestamp
    deleted_by: str
    resident_id: str
    bank_card: str
    annual_spend: Spend
    lifetime_value: Spend
    possible_duplicates: _containers.RepeatedCompositeFieldContainer[PossibleDuplicate]
    owner_name: str
    created_by_name: str
    updated_by_name: str
    tag_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., code: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[str] = ..., industry: _Optional[str] = ..., region: _Optional[str] = ..., mobile: _Optional[str] = ..., email: _Optional[str] = ..., owner_id: _Optional[str] = ..., status: _Optional[str] = ..., version: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_by: _Optional[str] = ..., updated_by: _Optional[str] = ..., contact_person: _Optional[str] = ..., phone: _Optional[str] = ..., first_contact_date: _Optional[str] = ..., source: _Optional[str] = ..., employees: _Optional[int] = ..., annual_revenue: _Optional[str] = ..., annual_revenue_currency: _Optional[str] = ..., needs: _Optional[str] = ..., notes: _Optional[str] = ..., credit_code: _Optional[str] = ..., custom_fields: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., deleted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deleted_by: _Optional[str] = ..., resident_id: _Optional[str] = ..., bank_card: _Optional[str] = ..., annual_spend: _Optional[_Union[Spend, _Mapping]] = ..., lifetime_value: _Optional[_Union[Spend, _Mapping]] = ..., possible_duplicates: _Optional[_Iterable[_Union[PossibleDuplicate, _Mapping]]] = ..., owner_name: _Optional[str] = ..., created_by_name: _Optional[str] = ..., updated_by_name: _Optional[str] = ..., tag_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class PossibleDuplicate(_message.Message):
    __slots__ = ("id", "code", "name", "matched_on", "confidence", "outside_scope", "conflicts", "likely")
    ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    MATCHED_ON_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    OUTSIDE_SCOPE_FIELD_NUMBER: _ClassVar[int]
    CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    LIKELY_FIELD_NUMBER: _ClassVar[int]
    id: str
    code: str
    name: str
    matched_on: _containers.RepeatedScalarFieldContainer[str]
    confidence: float
    outside_scope: bool
    conflicts: _containers.RepeatedScalarFieldContainer[str]
    likely: bool
    def __init__(self, id: _Optional[str] = ..., code: _Optional[str] = ..., name: _Optional[str] = ..., matched_on: _Optional[_Iterable[str]] = ..., confidence: _Optional[float] = ..., outside_scope: _Optional[bool] = ..., conflicts: _Optional[_Iterable[str]] = ..., likely: _Optional[bool] = ...) -> None: ...

class Spend(_message.Message):
    __slots__ = ("amounts",)
    class AmountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    AMOUNTS_FIELD_NUMBER: _ClassVar[int]
    amounts: _containers.ScalarMap[str, str]
    def __init__(self, amounts: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CustomerInput(_message.Message):
    __slots__ = ("code", "name", "type", "industry", "region", "mobile", "email", "owner_id", "status", "contact_person", "phone", "first_contact_date", "source", "employees", "annual_revenue", "annual_revenue_currency", "needs", "notes", "credit_code", "custom_fields", "resident_id", "bank_card")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    INDUSTRY_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    MOBILE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CONTACT_PERSON_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    FIRST_CONTACT_DATE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEES_FIELD_NUMBER: _ClassVar[int]
    ANNUAL_REVENUE_FIELD_NUMBER: _ClassVar[int]
    ANNUAL_REVENUE_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    NEEDS_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    CREDIT_CODE_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_FIELDS_FIELD_NUMBER: _ClassVar[int]
    RESIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    BANK_CARD_FIELD_NUMBER: _ClassVar[int]
    code: str
    name: str
    type: str
    industry: str
    region: str
    mobile: str
    email: str
    owner_id: str
    status: str
    contact_person: str
    phone: str
    first_contact_date: str
    source: str
    employees: str
    annual_revenue: str
    annual_revenue_currency: str
    needs: str
    notes: str
    credit_code: str
    custom_fields: _struct_pb2.Struct
    resident_id: str
    bank_card: str
    def __init__(self, code: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[str] = ..., industry: _Optional[str] = ..., region: _Optional[str] = ..., mobile: _Optional[str] = ..., email: _Optional[str] = ..., owner_id: _Optional[str] = ..., status: _Optional[str] = ..., contact_person: _Optional[str] = ..., phone: _Optional[str] = ..., first_contact_date: _Optional[str] = ..., source: _Optional[str] = ..., employees: _Optional[str] = ..., annual_revenue: _Optional[str] = ..., annual_revenue_currency: _Optional[str] = ..., needs: _Optional[str] = ..., notes: _Optional[str] = ..., credit_code: _Optional[str] = ..., custom_fields: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., resident_id: _Optional[str] = ..., bank_card: _Optional[str] = ...) -> None: ...

class CreateCustomerRequest(_message.Message):
    __slots__ = ("customer", "allow_duplicates")
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    ALLOW_DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    customer: CustomerInput
    allow_duplicates: bool
    def __init__(self, customer: _Optional[_Union[CustomerInput, _Mapping]] = ..., allow_duplicates: _Optional[bool] = ...) -> None: ...

class GetCustomerRequest(_message.Message):
    __slots__ = ("id", "show_deleted")
    ID_FIELD_NUMBER: _ClassVar[int]
    SHOW_DELETED_FIELD_NUMBER: _ClassVar[int]
    id: str
    show_deleted: bool
    def __init__(self, id: _Optional[str] = ..., show_deleted: _Optional[bool] = ...) -> None: ...

class ListCustomersRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "order_by", "industry", "status", "q", "owner_id", "region", "source", "type", "created_after", "created_before", "first_contact_after", "first_contact_before", "show_deleted", "custom_fields", "resident_id", "bank_card", "tag_ids", "code", "contact_person", "mobile", "phone", "email", "credit_code", "updated_after", "updated_before", "employees_min", "employees_max", "annual_revenue_min", "annual_revenue_max", "annual_revenue_currency", "acquired_after", "acquired_before", "include_total", "ids", "segment_id", "report_cell_ids", "report_cell_set")
    class CustomFieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    INDUSTRY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    Q_FIELD_NUMBER: _ClassVar[int]
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AFTER_FIELD_NUMBER: _ClassVar[int]
    CREATED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    FIRST_CONTACT_AFTER_FIELD_NUMBER: _ClassVar[int]
    FIRST_CONTACT_BEFORE_FIELD_NUMBER: _ClassVar[int]
    SHOW_DELETED_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_FIELDS_FIELD_NUMBER: _ClassVar[int]
    RESIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    BANK_CARD_FIELD_NUMBER: _ClassVar[int]
    TAG_IDS_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    CONTACT_PERSON_FIELD_NUMBER: _ClassVar[int]
    MOBILE_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    CREDIT_CODE_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AFTER_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEES_MIN_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEES_MAX_FIELD_NUMBER: _ClassVar[int]
    ANNUAL_REVENUE_MIN_FIELD_NUMBER: _ClassVar[int]
    ANNUAL_REVENUE_MAX_FIELD_NUMBER: _ClassVar[int]
    ANNUAL_REVENUE_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    ACQUIRED_AFTER_FIELD_NUMBER: _ClassVar[int]
    ACQUIRED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_TOTAL_FIELD_NUMBER: _ClassVar[int]
    IDS_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REPORT_CELL_IDS_FIELD_NUMBER: _ClassVar[int]
    REPORT_CELL_SET_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    order_by: str
    industry: str
    status: str
    q: str
    owner_id: str
    region: str
    source: str
    type: str
    created_after: str
    created_before: str
    first_contact_after: str
    first_contact_before: str
    show_deleted: bool
    custom_fields: _containers.ScalarMap[str, str]
    resident_id: str
    bank_card: str
    tag_ids: _containers.RepeatedScalarFieldContainer[str]
    code: str
    contact_person: str
    mobile: str
    phone: str
    email: str
    credit_code: str
    updated_after: str
    updated_before: str
    employees_min: str
    employees_max: str
    annual_revenue_min: str
    annual_revenue_max: str
    annual_revenue_currency: str
    acquired_after: str
    acquired_before: str
    include_total: bool
    ids: _containers.RepeatedScalarFieldContainer[str]
    segment_id: str
    report_cell_ids: _containers.RepeatedScalarFieldContainer[str]
    report_cell_set: bool
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., order_by: _Optional[str] = ..., industry: _Optional[str] = ..., status: _Optional[str] = ..., q: _Optional[str] = ..., owner_id: _Optional[str] = ..., region: _Optional[str] = ..., source: _Optional[str] = ..., type: _Optional[str] = ..., created_after: _Optional[str] = ..., created_before: _Optional[str] = ..., first_contact_after: _Optional[str] = ..., first_contact_before: _Optional[str] = ..., show_deleted: _Optional[bool] = ..., custom_fields: _Optional[_Mapping[str, str]] = ..., resident_id: _Optional[str] = ..., bank_card: _Optional[str] = ..., tag_ids: _Optional[_Iterable[str]] = ..., code: _Optional[str] = ..., contact_person: _Optional[str] = ..., mobile: _Optional[str] = ..., phone: _Optional[str] = ..., email: _Optional[str] = ..., credit_code: _Optional[str] = ..., updated_after: _Optional[str] = ..., updated_before: _Optional[str] = ..., employees_min: _Optional[str] = ..., employees_max: _Optional[str] = ..., annual_revenue_min: _Optional[str] = ..., annual_revenue_max: _Optional[str] = ..., annual_revenue_currency: _Optional[str] = ..., acquired_after: _Optional[str] = ..., acquired_before: _Optional[str] = ..., include_total: _Optional[bool] = ..., ids: _Optional[_Iterable[str]] = ..., segment_id: _Optional[str] = ..., report_cell_ids: _Optional[_Iterable[str]] = ..., report_cell_set: _Optional[bool] = ...) -> None: ...

class ListCustomersResponse(_message.Message):
    __slots__ = ("items", "next_page_token", "total_size", "total_size_capped")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_CAPPED_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Customer]
    next_page_token: str
    total_size: int
    total_size_capped: bool
    def __init__(self, items: _Optional[_Iterable[_Union[Customer, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ..., total_size_capped: _Optional[bool] = ...) -> None: ...

class UpdateCustomerRequest(_message.Message):
    __slots__ = ("id", "customer", "expected_version", "allow_duplicates")
    ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    ALLOW_DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    id: str
    customer: CustomerInput
    expected_version: int
    allow_duplicates: bool
    def __init__(self, id: _Optional[str] = ..., customer: _Optional[_Union[CustomerInput, _Mapping]] = ..., expected_version: _Optional[int] = ..., allow_duplicates: _Optional[bool] = ...) -> None: ...

class DeleteCustomerRequest(_message.Message):
    __slots__ = ("id", "expected_version")
    ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    expected_version: int
    def __init__(self, id: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class RestoreCustomerRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ChangeCustomerStatusRequest(_message.Message):
    __slots__ = ("id", "status", "reason", "expected_version")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    status: str
    reason: str
    expected_version: int
    def __init__(self, id: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class StatusChange(_message.Message):
    __slots__ = ("id", "customer_id", "from_status", "to_status", "reason", "changed_by", "changed_at", "changed_by_name")
    ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_STATUS_FIELD_NUMBER: _ClassVar[int]
    TO_STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CHANGED_BY_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    CHANGED_BY_NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    customer_id: str
    from_status: str
    to_status: str
    reason: str
    changed_by: str
    changed_at: _timestamp_pb2.Timestamp
    changed_by_name: str
    def __init__(self, id: _Optional[str] = ..., customer_id: _Optional[str] = ..., from_status: _Optional[str] = ..., to_status: _Optional[str] = ..., reason: _Optional[str] = ..., changed_by: _Optional[str] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., changed_by_name: _Optional[str] = ...) -> None: ...

class ListStatusHistoryRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListStatusHistoryResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[StatusChange]
    def __init__(self, items: _Optional[_Iterable[_Union[StatusChange, _Mapping]]] = ...) -> None: ...

class StatusTransitions(_message.Message):
    __slots__ = ("to",)
    TO_FIELD_NUMBER: _ClassVar[int]
    to: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, to: _Optional[_Iterable[str]] = ...) -> None: ...

class CustomerSettings(_message.Message):
    __slots__ = ("code_pattern", "status_transitions", "enforce_dictionaries", "version", "updated_at", "duplicate_policy")
    class StatusTransitionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: StatusTransitions
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[StatusTransitions, _Mapping]] = ...) -> None: ...
    CODE_PATTERN_FIELD_NUMBER: _ClassVar[int]
    STATUS_TRANSITIONS_FIELD_NUMBER: _ClassVar[int]
    ENFORCE_DICTIONARIES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_POLICY_FIELD_NUMBER: _ClassVar[int]
    code_pattern: str
    status_transitions: _containers.MessageMap[str, StatusTransitions]
    enforce_dictionaries: bool
    version: int
    updated_at: _timestamp_pb2.Timestamp
    duplicate_policy: str
    def __init__(self, code_pattern: _Optional[str] = ..., status_transitions: _Optional[_Mapping[str, StatusTransitions]] = ..., enforce_dictionaries: _Optional[bool] = ..., version: _Optional[int] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., duplicate_policy: _Optional[str] = ...) -> None: ...

class GetCustomerSettingsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UpdateCustomerSettingsRequest(_message.Message):
    __slots__ = ("code_pattern", "status_transitions", "replace_status_transitions", "enforce_dictionaries", "expected_version", "duplicate_policy")
    class StatusTransitionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: StatusTransitions
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[StatusTransitions, _Mapping]] = ...) -> None: ...
    CODE_PATTERN_FIELD_NUMBER: _ClassVar[int]
    STATUS_TRANSITIONS_FIELD_NUMBER: _ClassVar[int]
    REPLACE_STATUS_TRANSITIONS_FIELD_NUMBER: _ClassVar[int]
    ENFORCE_DICTIONARIES_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_POLICY_FIELD_NUMBER: _ClassVar[int]
    code_pattern: str
    status_transitions: _containers.MessageMap[str, StatusTransitions]
    replace_status_transitions: bool
    enforce_dictionaries: bool
    expected_version: int
    duplicate_policy: str
    def __init__(self, code_pattern: _Optional[str] = ..., status_transitions: _Optional[_Mapping[str, StatusTransitions]] = ..., replace_status_transitions: _Optional[bool] = ..., enforce_dictionaries: _Optional[bool] = ..., expected_version: _Optional[int] = ..., duplicate_policy: _Optional[str] = ...) -> None: ...

class DictionaryEntry(_message.Message):
    __slots__ = ("code", "label", "parent", "path", "label_en", "label_zh")
    CODE_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    LABEL_EN_FIELD_NUMBER: _ClassVar[int]
    LABEL_ZH_FIELD_NUMBER: _ClassVar[int]
    code: str
    label: str
    parent: str
    path: str
    label_en: str
    label_zh: str
    def __init__(self, code: _Optional[str] = ..., label: _Optional[str] = ..., parent: _Optional[str] = ..., path: _Optional[str] = ..., label_en: _Optional[str] = ..., label_zh: _Optional[str] = ...) -> None: ...

class Dictionary(_message.Message):
    __slots__ = ("name", "entries")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    name: str
    entries: _containers.RepeatedCompositeFieldContainer[DictionaryEntry]
    def __init__(self, name: _Optional[str] = ..., entries: _Optional[_Iterable[_Union[DictionaryEntry, _Mapping]]] = ...) -> None: ...

class GetDictionaryRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ReplaceDictionaryRequest(_message.Message):
    __slots__ = ("name", "entries")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    name: str
    entries: _containers.RepeatedCompositeFieldContainer[DictionaryEntry]
    def __init__(self, name: _Optional[str] = ..., entries: _Optional[_Iterable[_Union[DictionaryEntry, _Mapping]]] = ...) -> None: ...

class CustomerField(_message.Message):
    __slots__ = ("key", "label", "type", "required", "options", "pattern", "min", "max", "version", "created_at", "updated_at")
    KEY_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    key: str
    label: str
    type: str
    required: bool
    options: _containers.RepeatedScalarFieldContainer[str]
    pattern: str
    min: str
    max: str
    version: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, key: _Optional[str] = ..., label: _Optional[str] = ..., type: _Optional[str] = ..., required: _Optional[bool] = ..., options: _Optional[_Iterable[str]] = ..., pattern: _Optional[str] = ..., min: _Optional[str] = ..., max: _Optional[str] = ..., version: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CustomerFieldInput(_message.Message):
    __slots__ = ("key", "label", "type", "required", "options", "options_set", "pattern", "min", "max")
    KEY_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_SET_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    key: str
    label: str
    type: str
    required: bool
    options: _containers.RepeatedScalarFieldContainer[str]
    options_set: bool
    pattern: str
    min: str
    max: str
    def __init__(self, key: _Optional[str] = ..., label: _Optional[str] = ..., type: _Optional[str] = ..., required: _Optional[bool] = ..., options: _Optional[_Iterable[str]] = ..., options_set: _Optional[bool] = ..., pattern: _Optional[str] = ..., min: _Optional[str] = ..., max: _Optional[str] = ...) -> None: ...

class ListCustomerFieldsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCustomerFieldsResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[CustomerField]
    def __init__(self, items: _Optional[_Iterable[_Union[CustomerField, _Mapping]]] = ...) -> None: ...

class GetCustomerFieldRequest(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class CreateCustomerFieldRequest(_message.Message):
    __slots__ = ("field",)
    FIELD_FIELD_NUMBER: _ClassVar[int]
    field: CustomerFieldInput
    def __init__(self, field: _Optional[_Union[CustomerFieldInput, _Mapping]] = ...) -> None: ...

class UpdateCustomerFieldRequest(_message.Message):
    __slots__ = ("key", "field", "expected_version")
    KEY_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    key: str
    field: CustomerFieldInput
    expected_version: int
    def __init__(self, key: _Optional[str] = ..., field: _Optional[_Union[CustomerFieldInput, _Mapping]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class DeleteCustomerFieldRequest(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class DeleteCustomerFieldResponse(_message.Message):
    __slots__ = ("field",)
    FIELD_FIELD_NUMBER: _ClassVar[int]
    field: CustomerField
    def __init__(self, field: _Optional[_Union[CustomerField, _Mapping]] = ...) -> None: ...

class RevealCustomerRequest(_message.Message):
    __slots__ = ("id", "fields")
    ID_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    id: str
    fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., fields: _Optional[_Iterable[str]] = ...) -> None: ...

class RevealCustomerResponse(_message.Message):
    __slots__ = ("customer_id", "values")
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    values: _containers.ScalarMap[str, str]
    def __init__(self, customer_id: _Optional[str] = ..., values: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ListCustomerOwnersRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "q")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    Q_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    q: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., q: _Optional[str] = ...) -> None: ...

class CustomerOwner(_message.Message):
    __slots__ = ("user_id", "display_name", "team_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    TEAM_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    display_name: str
    team_id: str
    def __init__(self, user_id: _Optional[str] = ..., display_name: _Optional[str] = ..., team_id: _Optional[str] = ...) -> None: ...

class ListCustomerOwnersResponse(_message.Message):
    __slots__ = ("items", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[CustomerOwner]
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[CustomerOwner, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
