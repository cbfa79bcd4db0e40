import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from crm_proto.crm.followups.v1 import followups_pb2 as _followups_pb2
from crm_proto.crm.text.v1 import text_pb2 as _text_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetFollowupSettingsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class FollowupSettings(_message.Message):
    __slots__ = ("escalate_after_days", "updated_at", "updated_by")
    ESCALATE_AFTER_DAYS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    escalate_after_days: int
    updated_at: _timestamp_pb2.Timestamp
    updated_by: str
    def __init__(self, escalate_after_days: _Optional[int] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_by: _Optional[str] = ...) -> None: ...

class UpdateFollowupSettingsRequest(_message.Message):
    __slots__ = ("update_mask", "settings")
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    update_mask: _containers.RepeatedScalarFieldContainer[str]
    settings: FollowupSettings
    def __init__(self, update_mask: _Optional[_Iterable[str]] = ..., settings: _Optional[_Union[FollowupSettings, _Mapping]] = ...) -> None: ...

class UpdateCadenceRuleRequest(_message.Message):
    __slots__ = ("id", "update_mask", "title", "due_in_days", "rrule", "escalate_after_days", "enabled", "time_zone")
    ID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DUE_IN_DAYS_FIELD_NUMBER: _ClassVar[int]
    RRULE_FIELD_NUMBER: _ClassVar[int]
    ESCALATE_AFTER_DAYS_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    id: str
    update_mask: _containers.RepeatedScalarFieldContainer[str]
    title: str
    due_in_days: int
    rrule: str
    escalate_after_days: int
    enabled: bool
    time_zone: str
    def __init__(self, id: _Optional[str] = ..., update_mask: _Optional[_Iterable[str]] = ..., title: _Optional[str] = ..., due_in_days: _Optional[int] = ..., rrule: _Optional[str] = ..., escalate_after_days: _Optional[int] = ..., enabled: _Optional[bool] = ..., time_zone: _Optional[str] = ...) -> None: ...

class DeleteCadenceRuleRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteCadenceRuleResponse(_message.Message):
    __slots__ = ("cancelled_tasks",)
    CANCELLED_TASKS_FIELD_NUMBER: _ClassVar[int]
    cancelled_tasks: int
    def __init__(self, cancelled_tasks: _Optional[int] = ...) -> None: ...

class GetCadenceSlaRequest(_message.Message):
    __slots__ = ("since", "until")
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    def __init__(self, since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SlaLine(_message.Message):
    __slots__ = ("id", "total", "on_time", "late", "overdue_open", "on_time_share")
    ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    ON_TIME_FIELD_NUMBER: _ClassVar[int]
    LATE_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_OPEN_FIELD_NUMBER: _ClassVar[int]
    ON_TIME_SHARE_FIELD_NUMBER: _ClassVar[int]
    id: str
    total: int
    on_time: int
    late: int
    overdue_open: int
    on_time_share: float
    def __init__(self, id: _Optional[str] = ..., total: _Optional[int] = ..., on_time: _Optional[int] = ..., late: _Optional[int] = ..., overdue_open: _Optional[int] = ..., on_time_share: _Optional[float] = ...) -> None: ...

class CadenceSla(_message.Message):
    __slots__ = ("since", "until", "reps", "teams", "overall")
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    REPS_FIELD_NUMBER: _ClassVar[int]
    TEAMS_FIELD_NUMBER: _ClassVar[int]
    OVERALL_FIELD_NUMBER: _ClassVar[int]
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    reps: _containers.RepeatedCompositeFieldContainer[SlaLine]
    teams: _containers.RepeatedCompositeFieldContainer[SlaLine]
    overall: SlaLine
    def __init__(self, since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reps: _Optional[_Iterable[_Union[SlaLine, _Mapping]]] = ..., teams: _Optional[_Iterable[_Union[SlaLine, _Mapping]]] = ..., overall: _Optional[_Union[SlaLine, _Mapping]] = ...) -> None: ...

class AutomationRule(_message.Message):
    __slots__ = ("id", "name", "trigger", "trigger_value", "action", "tag_id", "status", "reason", "enabled", "fired_count", "last_fired_at", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_VALUE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    TAG_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    FIRED_COUNT_FIELD_NUMBER: _ClassVar[int]
    LAST_FIRED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    trigger: str
    trigger_value: str
    action: str
    tag_id: str
    status: str
    reason: str
    enabled: bool
    fired_count: int
    last_fired_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., trigger: _Optional[str] = ..., trigger_value: _Optional[str] = ..., action: _Optional[str] = ..., tag_id: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ..., enabled: _Optional[bool] = ..., fired_count: _Optional[int] = ..., last_fired_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AutomationRuleInput(_message.Message):
    __slots__ = ("name", "trigger", "trigger_value", "action", "tag_id", "status", "reason", "disabled")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_VALUE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    TAG_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DISABLED_FIELD_NUMBER: _ClassVar[int]
    name: str
    trigger: str
    trigger_value: str
    action: str
    tag_id: str
    status: str
    reason: str
    disabled: bool
    def __init__(self, name: _Optional[str] = ..., trigger: _Optional[str] = ..., trigger_value: _Optional[str] = ..., action: _Optional[str] = ..., tag_id: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ..., disabled: _Optional[bool] = ...) -> None: ...

class UpdateAutomationRuleRequest(_message.Message):
    __slots__ = ("id", "update_mask", "rule", "enabled")
    ID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    id: str
    update_mask: _containers.RepeatedScalarFieldContainer[str]
    rule: AutomationRuleInput
    enabled: bool
    def __init__(self, id: _Optional[str] = ..., update_mask: _Optional[_Iterable[str]] = ..., rule: _Optional[_Union[AutomationRuleInput, _Mapping]] = ..., enabled: _Optional[bool] = ...) -> None: ...

class DeleteAutomationRuleRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListAutomationRulesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListAutomationRulesResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[AutomationRule]
    def __init__(self, items: _Optional[_Iterable[_Union[AutomationRule, _Mapping]]] = ...) -> None: ...

class AutomationRuleFired(_message.Message):
    __slots__ = ("rule_id", "rule_name", "customer_id", "action", "tag_id", "status", "reason", "actor", "trigger_event_id", "trigger_event_type")
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_NAME_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    TAG_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    rule_id: str
    rule_name: str
    customer_id: str
    action: str
    tag_id: str
    status: str
    reason: str
    actor: str
    trigger_event_id: str
    trigger_event_type: str
    def __init__(self, rule_id: _Optional[str] = ..., rule_name: _Optional[str] = ..., customer_id: _Optional[str] = ..., action: _Optional[str] = ..., tag_id: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ..., actor: _Optional[str] = ..., trigger_event_id: _Optional[str] = ..., trigger_event_type: _Optional[str] = ...) -> None: ...
