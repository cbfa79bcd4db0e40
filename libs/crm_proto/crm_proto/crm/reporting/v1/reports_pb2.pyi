from crm_proto.crm.customers.v1 import segments_pb2 as _segments_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListReportCellCustomersRequest(_message.Message):
    __slots__ = ("report", "report_cell")
    REPORT_FIELD_NUMBER: _ClassVar[int]
    REPORT_CELL_FIELD_NUMBER: _ClassVar[int]
    report: str
    report_cell: str
    def __init__(self, report: _Optional[str] = ..., report_cell: _Optional[str] = ...) -> None: ...

class ListReportCellCustomersResponse(_message.Message):
    __slots__ = ("customer_ids",)
    CUSTOMER_IDS_FIELD_NUMBER: _ClassVar[int]
    customer_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, customer_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class Report(_message.Message):
    __slots__ = ("id", "name", "description", "definition_json", "visibility", "team_id", "owner_id", "created_at", "updated_at", "version", "template", "editable")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_JSON_FIELD_NUMBER: _ClassVar[int]
    VISIBILITY_FIELD_NUMBER: _ClassVar[int]
    TEAM_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    EDITABLE_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    definition_json: str
    visibility: str
    team_id: str
    owner_id: str
    created_at: str
    updated_at: str
    version: int
    template: str
    editable: bool
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., definition_json: _Optional[str] = ..., visibility: _Optional[str] = ..., team_id: _Optional[str] = ..., owner_id: _Optional[str] = ..., created_at: _Optional[str] = ..., updated_at: _Optional[str] = ..., version: _Optional[int] = ..., template: _Optional[str] = ..., editable: _Optional[bool] = ...) -> None: ...

class ListReportsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListReportsResponse(_message.Message):
    __slots__ = ("reports",)
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    reports: _containers.RepeatedCompositeFieldContainer[Report]
    def __init__(self, reports: _Optional[_Iterable[_Union[Report, _Mapping]]] = ...) -> None: ...

class GetReportRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class CreateReportRequest(_message.Message):
    __slots__ = ("name", "description", "definition_json", "visibility", "team_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_JSON_FIELD_NUMBER: _ClassVar[int]
    VISIBILITY_FIELD_NUMBER: _ClassVar[int]
    TEAM_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    definition_json: str
    visibility: str
    team_id: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., definition_json: _Optional[str] = ..., visibility: _Optional[str] = ..., team_id: _Optional[str] = ...) -> None: ...

class UpdateReportRequest(_message.Message):
    __slots__ = ("id", "update_mask", "name", "description", "definition_json", "visibility", "team_id", "expected_version")
    ID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_JSON_FIELD_NUMBER: _ClassVar[int]
    VISIBILITY_FIELD_NUMBER: _ClassVar[int]
    TEAM_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    update_mask: _containers.RepeatedScalarFieldContainer[str]
    name: str
    description: str
    definition_json: str
    visibility: str
    team_id: str
    expected_version: int
    def __init__(self, id: _Optional[str] = ..., update_mask: _Optional[_Iterable[str]] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., definition_json: _Optional[str] = ..., visibility: _Optional[str] = ..., team_id: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class DeleteReportRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteReportResponse(_message.Message):
    __slots__ = ("report",)
    REPORT_FIELD_NUMBER: _ClassVar[int]
    report: Report
    def __init__(self, report: _Optional[_Union[Report, _Mapping]] = ...) -> None: ...

class RunReportRequest(_message.Message):
    __slots__ = ("id", "definition_json", "locale", "time_zone", "view_filters", "segment_definition")
    class ViewFiltersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_JSON_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    VIEW_FILTERS_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    id: str
    definition_json: str
    locale: str
    time_zone: str
    view_filters: _containers.ScalarMap[str, str]
    segment_definition: _segments_pb2.SegmentDefinition
    def __init__(self, id: _Optional[str] = ..., definition_json: _Optional[str] = ..., locale: _Optional[str] = ..., time_zone: _Optional[str] = ..., view_filters: _Optional[_Mapping[str, str]] = ..., segment_definition: _Optional[_Union[_segments_pb2.SegmentDefinition, _Mapping]] = ...) -> None: ...

class RunReportResponse(_message.Message):
    __slots__ = ("result_json", "definition_json")
    RESULT_JSON_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_JSON_FIELD_NUMBER: _ClassVar[int]
    result_json: str
    definition_json: str
    def __init__(self, result_json: _Optional[str] = ..., definition_json: _Optional[str] = ...) -> None: ...

class ListReportTemplatesRequest(_message.Message):
    __slots__ = ("locale",)
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    locale: str
    def __init__(self, locale: _Optional[str] = ...) -> None: ...

class ReportTemplate(_message.Message):
    __slots__ = ("key", "name", "description", "definition_json")
    KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_JSON_FIELD_NUMBER: _ClassVar[int]
    key: str
    name: str
    description: str
    definition_json: str
    def __init__(self, key: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., definition_json: _Optional[str] = ...) -> None: ...

class ListReportTemplatesResponse(_message.Message):
    __slots__ = ("templates",)
    TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    templates: _containers.RepeatedCompositeFieldContainer[ReportTemplate]
    def __init__(self, templates: _Optional[_Iterable[_Union[ReportTemplate, _Mapping]]] = ...) -> None: ...

class CloneReportRequest(_message.Message):
    __slots__ = ("source_id", "template", "name", "locale")
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    source_id: str
    template: str
    name: str
    locale: str
    def __init__(self, source_id: _Optional[str] = ..., template: _Optional[str] = ..., name: _Optional[str] = ..., locale: _Optional[str] = ...) -> None: ...
