"""Locales and the message catalogue for API problems, keyed by stable `code`.

Only zh-CN and en exist; everything else falls back to en. A catalogue entry is a mapping
locale -> template; templates use `str.format` fields (`{count}`), filled from keyword arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

Locale = Literal["en", "zh-CN"]
DEFAULT_LOCALE: Final[Locale] = "en"
SUPPORTED: Final[tuple[Locale, ...]] = ("en", "zh-CN")


def parse_locale(tag: str | None) -> Locale | None:
    """Maps one language tag (`zh`, `zh-Hans-CN`, `en-GB`, ...) to a supported locale."""
    if not tag:
        return None
    primary = tag.strip().lower().split("-", 1)[0].split("_", 1)[0]
    if primary == "zh":
        return "zh-CN"
    if primary == "en":
        return "en"
    return None


def negotiate(accept_language: str | None) -> Locale:
    """Picks the best supported locale from an Accept-Language header (RFC 9110 §12.5.4)."""
    if not accept_language:
        return DEFAULT_LOCALE
    ranked: list[tuple[float, int, Locale]] = []
    for position, item in enumerate(accept_language.split(",")):
        tag, _, params = item.partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        locale = parse_locale(tag)
        if locale is not None and quality > 0:
            # Ties keep header order: earlier wins.
            ranked.append((-quality, position, locale))
    return min(ranked)[2] if ranked else DEFAULT_LOCALE


class Catalogue:
    """Messages by key and locale; an unknown key yields None so callers choose a fallback."""

    def __init__(self, entries: Mapping[str, Mapping[Locale, str]]):
        self._entries = entries

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def get(self, key: str, locale: Locale, **params: object) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        template = entry.get(locale) or entry[DEFAULT_LOCALE]
        try:
            return template.format(**params)
        except (KeyError, IndexError, ValueError):
            return template

    def text(self, key: str, locale: Locale, **params: object) -> str:
        """Like `get`, but an unknown key shows itself (visible, never a crash)."""
        return self.get(key, locale, **params) or key


# Titles of problem codes (the `title` member: short, stable per code).
PROBLEM_TITLES = Catalogue({
    "invalid_input": {"en": "Invalid input", "zh-CN": "输入无效"},
    "malformed_json": {"en": "Malformed JSON", "zh-CN": "JSON 格式错误"},
    "unsupported_media_type": {"en": "Unsupported media type", "zh-CN": "不支持的内容类型"},
    "body_too_large": {"en": "Request body too large", "zh-CN": "请求体过大"},
    "unauthenticated": {"en": "Authentication required", "zh-CN": "需要身份验证"},
    "invalid_token": {"en": "Invalid access token", "zh-CN": "访问令牌无效"},
    "permission_denied": {"en": "Permission denied", "zh-CN": "权限不足"},
    "not_found": {"en": "Not found", "zh-CN": "未找到"},
    "method_not_allowed": {"en": "Method not allowed", "zh-CN": "不支持该请求方法"},
    "conflict": {"en": "Conflict", "zh-CN": "冲突"},
    "slug_taken": {"en": "Company identifier taken", "zh-CN": "公司标识已被占用"},
    "email_taken": {"en": "Email taken", "zh-CN": "邮箱已被使用"},
    "code_taken": {"en": "Customer code taken", "zh-CN": "客户编号已被占用"},
    "stale_version": {"en": "Changed by someone else", "zh-CN": "已被他人修改"},
    "transition_not_allowed": {"en": "Status change not allowed", "zh-CN": "不允许的状态变更"},
    "not_deleted": {"en": "Not deleted", "zh-CN": "未被删除"},
    # customer merges (docs/customers.md, Merge and undo)
    "customer_merged": {"en": "Customer merged", "zh-CN": "客户已被合并"},
    "merge_undo_expired": {"en": "Undo period over", "zh-CN": "撤销期限已过"},
    "merge_already_undone": {"en": "Merge already undone", "zh-CN": "合并已撤销"},
    "survivor_changed_since_merge": {"en": "Changed since the merge", "zh-CN": "合并后已被修改"},
    "survivor_deleted": {"en": "Surviving customer deleted", "zh-CN": "保留的客户已被删除"},
    "customer_erased": {"en": "Customer erased", "zh-CN": "客户已被永久删除"},
    "field_key_taken": {"en": "Custom field key taken", "zh-CN": "自定义字段标识已被占用"},
    # saved views and exports (docs/customers.md "Saved views", "Export")
    "view_name_taken": {"en": "View name taken", "zh-CN": "视图名称已被使用"},
    "too_many_views": {"en": "Too many views", "zh-CN": "视图数量已达上限"},
    "export_not_ready": {"en": "Export not ready", "zh-CN": "导出尚未完成"},
    "export_expired": {"en": "Export expired", "zh-CN": "导出已过期"},
    "duplicate_customer": {"en": "Likely duplicate customer", "zh-CN": "疑似重复客户"},
    "group_not_open": {"en": "Group already handled", "zh-CN": "分组已处理"},
    "client_revoked": {"en": "API client revoked", "zh-CN": "API 客户端已撤销"},
    # roles and teams (docs/access.md)
    "builtin_role_readonly": {"en": "Built-in role is read-only", "zh-CN": "内置角色不可修改"},
    "role_name_taken": {"en": "Role name taken", "zh-CN": "角色名称已被使用"},
    "role_in_use": {"en": "Role in use", "zh-CN": "角色正在使用中"},
    "grant_exceeds_own": {"en": "Cannot grant permissions you lack", "zh-CN": "不能授予自己没有的权限"},
    "team_not_empty": {"en": "Team not empty", "zh-CN": "团队不为空"},
    "client_has_no_secret": {"en": "Client has no secret", "zh-CN": "客户端没有密钥"},
    "precondition_failed": {"en": "Precondition failed", "zh-CN": "前置条件不满足"},
    "precondition_required": {"en": "Precondition required", "zh-CN": "缺少前置条件"},
    "rate_limited": {"en": "Too many requests", "zh-CN": "请求过于频繁"},
    "invalid_idempotency_key": {"en": "Invalid Idempotency-Key", "zh-CN": "Idempotency-Key 无效"},
    "idempotency_key_mismatch": {"en": "Idempotency-Key reused", "zh-CN": "Idempotency-Key 已用于其他请求"},
    "idempotency_key_in_use": {"en": "Request in progress", "zh-CN": "请求正在处理中"},
    "idempotency_response_too_large": {"en": "Response not kept", "zh-CN": "未保留响应"},
    "unavailable": {"en": "Service unavailable", "zh-CN": "服务暂不可用"},
    "deadline_exceeded": {"en": "Service timed out", "zh-CN": "服务响应超时"},
    "bad_request": {"en": "Bad request", "zh-CN": "错误的请求"},
    "internal": {"en": "Internal error", "zh-CN": "内部错误"},
    # user security
    "login_locked": {"en": "Too many attempts", "zh-CN": "尝试次数过多"},
    "login_expired": {"en": "Sign-in expired", "zh-CN": "登录已失效"},
    "login_step_mismatch": {"en": "Wrong sign-in step", "zh-CN": "登录步骤不符"},
    "user_token_required": {"en": "User token required", "zh-CN": "需要用户令牌"},
    "mfa_already_enabled": {"en": "Two-step verification already on", "zh-CN": "两步验证已开启"},
    "mfa_not_enabled": {"en": "Two-step verification is off", "zh-CN": "两步验证未开启"},
    "mfa_required_by_policy": {"en": "Two-step verification required", "zh-CN": "必须开启两步验证"},
    "last_tenant_admin": {"en": "Last tenant admin", "zh-CN": "最后一位租户管理员"},
    # orders and reports (docs/customers.md "Orders", docs/reporting.md)
    "field_hidden": {"en": "Field hidden by your role", "zh-CN": "您的角色不能查看该字段"},
    # tenant lifecycle (docs/tenancy.md)
    "tenant_suspended": {"en": "Tenant suspended", "zh-CN": "租户已停用"},
    "tenant_not_active": {"en": "Tenant not active", "zh-CN": "租户未处于正常状态"},
    "tenant_offboarded": {"en": "Tenant offboarded", "zh-CN": "租户已注销"},
    # invitations and user import (docs/identity.md)
    "invitation_accepted": {"en": "Invitation already accepted", "zh-CN": "邀请已被接受"},
    "invitation_not_pending": {"en": "Invitation not usable", "zh-CN": "邀请不可用"},
    # webhooks: replays (docs/webhooks.md, "Replay")
    "endpoint_disabled": {"en": "Endpoint disabled", "zh-CN": "Webhook 端点已停用"},
    "delivery_in_progress": {"en": "Delivery in progress", "zh-CN": "正在投递中"},
    "delivery_purged": {"en": "Delivery payload erased", "zh-CN": "投递内容已被清除"},
})

# Details: one sentence per code, used when the service's own message is not in the caller's
# language (services write English messages; field-level messages are localised by the services).
PROBLEM_DETAILS = Catalogue({
    "invalid_input": {"en": "{count} field(s) are invalid.", "zh-CN": "{count} 个字段无效。"},
    "malformed_json": {
        "en": "The request body is not valid JSON: {error} (at character {position}).",
        "zh-CN": "请求体不是有效的 JSON：{error}（第 {position} 个字符处）。",
    },
    "unsupported_media_type": {
        "en": "Send the body as application/json.", "zh-CN": "请以 application/json 格式发送请求体。",
    },
    "body_too_large": {
        "en": "The request body exceeds {limit} bytes.", "zh-CN": "请求体超过 {limit} 字节的上限。",
    },
    "unauthenticated": {
        "en": "A valid access token is required.", "zh-CN": "需要有效的访问令牌。",
    },
    "tenant_suspended": {
        "en": "This company's account is suspended; its access tokens are not accepted.",
        "zh-CN": "该公司账户已被停用，其访问令牌不再有效。",
    },
    "tenant_not_active": {
        "en": "The company's account is not active.", "zh-CN": "该公司账户未处于正常状态。",
    },
    "tenant_offboarded": {
        "en": "This company's account was closed and its data erased.", "zh-CN": "该公司账户已注销，数据已删除。",
    },
    "invalid_token": {
        "en": "The access token is invalid, expired or not issued for this API.",
        "zh-CN": "访问令牌无效、已过期或不属于此 API。",
    },
    "permission_denied": {
        "en": "The access token does not allow this operation.", "zh-CN": "访问令牌不允许执行此操作。",
    },
    "not_found": {"en": "The resource does not exist.", "zh-CN": "资源不存在。"},
    "method_not_allowed": {
        "en": "This resource does not support {method}.", "zh-CN": "此资源不支持 {method} 请求。",
    },
    "conflict": {
        "en": "The request conflicts with the current state.", "zh-CN": "请求与当前状态冲突。",
    },
    "slug_taken": {
        "en": "Another company already uses this identifier.", "zh-CN": "该公司标识已被其他公司使用。",
    },
    "builtin_role_readonly": {
        "en": "Built-in roles cannot be changed or deleted; create a custom role instead.",
        "zh-CN": "内置角色不能修改或删除，请创建自定义角色。",
    },
    "role_name_taken": {"en": "Another role already has this name.", "zh-CN": "已有同名角色。"},
    "role_in_use": {
        "en": "The role is assigned to users (`users` says how many); take it from them first.",
        "zh-CN": "该角色已分配给用户（`users` 为人数），请先取消分配。",
    },
    "grant_exceeds_own": {
        "en": "You cannot grant permissions you do not hold (listed in `missing_scopes`).",
        "zh-CN": "不能授予自己没有的权限（见 `missing_scopes`）。",
    },
    "team_not_empty": {
        "en": "The team still has sub-teams or members (`sub_teams`, `members`); move them first.",
        "zh-CN": "该团队仍有子团队或成员（见 `sub_teams`、`members`），请先移走。",
    },
    "client_revoked": {
        "en": "The API client is revoked; it cannot be changed or get tokens.",
        "zh-CN": "该 API 客户端已撤销，无法修改或获取令牌。",
    },
    "client_has_no_secret": {
        "en": "A public client has no secret to rotate.", "zh-CN": "公开客户端没有可轮换的密钥。",
    },
    "email_taken": {"en": "A user with this email already exists.", "zh-CN": "已存在使用该邮箱的用户。"},
    "code_taken": {"en": "Another customer already has this code.", "zh-CN": "已有其他客户使用该编号。"},
    "stale_version": {
        "en": "Someone else changed this since you read it; reload and apply your change again.",
        "zh-CN": "读取之后已被他人修改，请刷新后重新修改。",
    },
    "transition_not_allowed": {
        "en": "The tenant's status rules do not allow this change.", "zh-CN": "租户的状态规则不允许此变更。",
    },
    "not_deleted": {"en": "The customer is not deleted.", "zh-CN": "该客户未被删除。"},
    "customer_merged": {
        "en": "This customer was merged into another (`merged_into`); undo the merge to bring it back.",
        "zh-CN": "该客户已合并到其他客户（见 `merged_into`），如需恢复请撤销合并。",
    },
    "merge_undo_expired": {
        "en": "A merge can be undone within 30 days; this one's deadline (`expires_at`) has passed.",
        "zh-CN": "合并只能在 30 天内撤销，本次合并的期限（`expires_at`）已过。",
    },
    "merge_already_undone": {"en": "This merge was already undone.", "zh-CN": "该合并已被撤销。"},
    "survivor_changed_since_merge": {
        "en": "The surviving customer was edited after the merge; undo with force to discard those edits.",
        "zh-CN": "保留的客户在合并后又被修改过；如确认放弃这些修改，请强制撤销。",
    },
    "survivor_deleted": {
        "en": "The surviving customer was deleted after the merge; restore it first.",
        "zh-CN": "保留的客户在合并后被删除，请先恢复该客户。",
    },
    "customer_erased": {
        "en": "This customer was permanently erased; nothing about it is kept.",
        "zh-CN": "该客户已被永久删除，相关数据均已抹除。",
    },
    "field_key_taken": {"en": "A custom field with this key exists.", "zh-CN": "已存在使用该标识的自定义字段。"},
    "view_name_taken": {"en": "You already have a view with this name.", "zh-CN": "您已有同名的视图。"},
    "too_many_views": {"en": "A user can keep at most 100 views; delete one first.",
                       "zh-CN": "每位用户最多保存 100 个视图，请先删除一些。"},
    "export_not_ready": {"en": "The export is still running (see `status`); download it when it succeeded.",
                         "zh-CN": "导出仍在进行中（见 `status`），完成后再下载。"},
    "export_expired": {"en": "The export's file was deleted after 24 hours; start a new export.",
                       "zh-CN": "导出文件已在 24 小时后删除，请重新导出。"},
    "duplicate_customer": {
        "en": "Likely duplicates of this customer exist (`duplicates`) and the company blocks duplicates; nothing "
              "was saved. An admin may save it anyway with `allow_duplicates`.",
        "zh-CN": "已存在疑似重复的客户（见 `duplicates`），且公司设置为禁止重复，未保存。"
                 "管理员可通过 `allow_duplicates` 仍然保存。",
    },
    "group_not_open": {
        "en": "This duplicate group was already dismissed or merged.", "zh-CN": "该重复分组已被忽略或已合并。",
    },
    "precondition_failed": {
        "en": "The resource has changed since you read it; fetch it again and retry.",
        "zh-CN": "资源在读取后已被修改，请重新获取后再试。",
    },
    "precondition_required": {
        "en": "Send the resource's ETag in an If-Match header.",
        "zh-CN": "请在 If-Match 请求头中提供资源的 ETag。",
    },
    "rate_limited": {
        "en": "Too many requests for this client or tenant; retry after the number of seconds in Retry-After.",
        "zh-CN": "该客户端或租户的请求过于频繁，请在 Retry-After 指定的秒数后重试。",
    },
    "invalid_idempotency_key": {
        "en": "The Idempotency-Key header must be 1 to 255 printable ASCII characters.",
        "zh-CN": "Idempotency-Key 请求头应为 1 到 255 个可打印 ASCII 字符。",
    },
    "idempotency_key_mismatch": {
        "en": "This Idempotency-Key was already used for a different request; use a new key for a new request.",
        "zh-CN": "此 Idempotency-Key 已用于另一个不同的请求；新的请求请使用新的键。",
    },
    "idempotency_key_in_use": {
        "en": "The first request with this Idempotency-Key is still being processed; retry shortly.",
        "zh-CN": "使用此 Idempotency-Key 的首个请求仍在处理中，请稍后重试。",
    },
    "idempotency_response_too_large": {
        "en": "The request with this Idempotency-Key already ran, but its response was too large to keep; "
              "read the result with a GET.",
        "zh-CN": "使用此 Idempotency-Key 的请求已执行，但其响应过大未被保留；请用 GET 读取结果。",
    },
    "unavailable": {
        "en": "A backing service is unavailable; retry shortly.", "zh-CN": "后端服务暂不可用，请稍后重试。",
    },
    "deadline_exceeded": {
        "en": "A backing service did not answer in time; retry shortly.",
        "zh-CN": "后端服务未能及时响应，请稍后重试。",
    },
    "bad_request": {"en": "The request is not valid.", "zh-CN": "请求无效。"},
    "internal": {
        "en": "Something went wrong on our side; it has been logged.", "zh-CN": "服务器内部错误，已记录。",
    },
    # user security
    "login_locked": {
        "en": "Too many failed attempts; try again after the time in Retry-After.",
        "zh-CN": "失败次数过多，请在 Retry-After 所示时间后再试。",
    },
    "login_expired": {"en": "This sign-in expired; start again.", "zh-CN": "本次登录已失效，请重新开始。"},
    "login_step_mismatch": {
        "en": "This is not the sign-in's pending step.", "zh-CN": "这不是当前待完成的登录步骤。",
    },
    "user_token_required": {
        "en": "Only a signed-in user's token can do this, not an API client's.",
        "zh-CN": "只有已登录用户的令牌可以执行此操作，API 客户端令牌不行。",
    },
    "mfa_already_enabled": {"en": "Two-step verification is already on.", "zh-CN": "两步验证已开启。"},
    # invitations and user import
    "invitation_accepted": {
        "en": "The invitation was already accepted; the user is active.", "zh-CN": "该邀请已被接受，用户已激活。",
    },
    "invitation_not_pending": {
        "en": "The invitation link is used, revoked, expired or replaced (`state` says which).",
        "zh-CN": "该邀请链接已使用、已撤销、已过期或已被替换（见 `state`）。",
    },
    "mfa_not_enabled": {"en": "Two-step verification is not on.", "zh-CN": "两步验证尚未开启。"},
    "mfa_required_by_policy": {
        "en": "Your company requires two-step verification for your role; it cannot be turned off.",
        "zh-CN": "贵公司要求您的角色开启两步验证，不能关闭。",
    },
    "last_tenant_admin": {
        "en": "This is the company's last active administrator: make someone else a tenant admin first.",
        "zh-CN": "这是公司最后一位有效的管理员：请先将其他人设为租户管理员。",
    },
    "field_hidden": {
        "en": "Your role's field policies hide a field this operation needs (listed in `fields`).",
        "zh-CN": "您的角色的字段策略隐藏了此操作所需的字段（见 `fields`）。",
    },
    # webhooks: replays (docs/webhooks.md, "Replay")
    "endpoint_disabled": {
        "en": "The webhook endpoint is disabled; enable it (PATCH enabled=true) before replaying.",
        "zh-CN": "该 Webhook 端点已停用，请先启用（PATCH enabled=true）再重放。",
    },
    "delivery_in_progress": {
        "en": "An attempt of this delivery is in flight; try again when it has finished.",
        "zh-CN": "该投递正在发送中，请在完成后再试。",
    },
    "delivery_purged": {
        "en": "This delivery's payload was erased with its customer; it cannot be sent again.",
        "zh-CN": "该投递的内容已随客户一同永久删除，无法再次发送。",
    },
})

# Field-level messages for errors the gateway itself finds (request shape, not business rules).
FIELD_MESSAGES = Catalogue({
    "required": {"en": "This field is required.", "zh-CN": "此字段为必填项。"},
    "unknown_field": {"en": "Unknown field.", "zh-CN": "未知字段。"},
    "invalid_type": {"en": "Must be {expected}.", "zh-CN": "类型应为{expected}。"},
    "invalid_format": {"en": "Invalid format: {reason}.", "zh-CN": "格式无效：{reason}。"},
    "out_of_range": {"en": "Must be {bound}.", "zh-CN": "取值应{bound}。"},
    "too_long": {"en": "At most {limit} characters.", "zh-CN": "最多 {limit} 个字符。"},
    "too_short": {"en": "At least {limit} characters.", "zh-CN": "至少 {limit} 个字符。"},
    "invalid_choice": {"en": "Must be one of: {expected}.", "zh-CN": "应为以下之一：{expected}。"},
    "timezone_required": {
        "en": "Must be an RFC 3339 timestamp with a time zone offset.",
        "zh-CN": "应为带时区偏移的 RFC 3339 时间。",
    },
    "invalid_etag": {
        "en": 'Must be an ETag such as W/"3".', "zh-CN": '应为 ETag，例如 W/"3"。',
    },
    "invalid": {"en": "Invalid value.", "zh-CN": "值无效。"},
    # the Idempotency-Key header (crm_gateway/idempotency.py)
    "invalid_idempotency_key": {
        "en": "Must be 1 to 255 printable ASCII characters.", "zh-CN": "应为 1 到 255 个可打印 ASCII 字符。",
    },
    "idempotency_key_mismatch": {
        "en": "Already used for a different request.", "zh-CN": "已用于另一个不同的请求。",
    },
    # the customer list's tag filter (api/tags.py check_tag_filter)
    "invalid_id": {"en": "Not a valid id.", "zh-CN": "ID 无效。"},
    "unknown_tag": {"en": "No tag with this id.", "zh-CN": "标签不存在。"},
    "too_many": {"en": "Too many values.", "zh-CN": "取值过多。"},
})

# Names of JSON types, for "Must be {expected}".
TYPE_NAMES = Catalogue({
    "string": {"en": "a string", "zh-CN": "字符串"},
    "integer": {"en": "an integer", "zh-CN": "整数"},
    "number": {"en": "a number", "zh-CN": "数字"},
    "boolean": {"en": "true or false", "zh-CN": "布尔值"},
    "array": {"en": "a list", "zh-CN": "列表"},
    "object": {"en": "an object", "zh-CN": "对象"},
    "timestamp": {"en": "an RFC 3339 timestamp", "zh-CN": "RFC 3339 时间"},
})

BOUNDS = Catalogue({
    "ge": {"en": "at least {limit}", "zh-CN": "不小于 {limit}"},
    "gt": {"en": "greater than {limit}", "zh-CN": "大于 {limit}"},
    "le": {"en": "at most {limit}", "zh-CN": "不大于 {limit}"},
    "lt": {"en": "less than {limit}", "zh-CN": "小于 {limit}"},
})

# Chinese wording for field-error codes the services return (their messages are English).
# For `en` the service's own message is kept: it is usually more specific.
SERVICE_FIELD_MESSAGES_ZH: Final[dict[str, str]] = {
    "required": "此字段为必填项。",
    "too_long": "内容过长。",
    "invalid_phone": "手机号码无效。",
    "invalid_email": "邮箱地址无效。",
    "invalid_choice": "取值不在允许范围内。",
    "contact_required": "手机号码和邮箱至少填写一项。",
    "invalid_id": "ID 无效。",
    "invalid_page_token": "分页令牌无效。",
    "invalid_order_by": "排序方式无效。",
    "invalid_url": "URL 无效。",
    "invalid_redirect_uri": "回调地址无效。",
    "invalid_scope": "权限范围无效。",
    "invalid_kind": "客户端类型无效。",
    "unsupported_grant_type": "不支持的授权类型。",
    "duplicate": "该值已存在。",
    "taken": "该值已被占用。",
    "weak_password": "密码强度不足。",
    "password_too_short": "密码太短。",
    "slug_taken": "该公司标识已被占用。",
    "email_taken": "该邮箱已被使用。",
    "invalid_slug": "应为 3-40 位小写字母、数字或连字符，且不以连字符开头或结尾。",
    "unsupported_locale": "语言应为 zh-CN 或 en。",
    "invalid_time_zone": "应为 IANA 时区名称，例如 Asia/Shanghai。",
    "unknown_role": "角色不存在。",
    # roles and teams
    "invalid_data_scope": "数据范围应为 own、team 或 all。",
    "invalid_field": "不是有效的客户字段名。",
    "invalid_policy": "字段策略应为 hidden、masked、read_only 或 read_write。",
    "invalid_name": "名称过长或与内置角色重名。",
    "team_cycle": "团队不能成为自己的下级。",
    "public_client_credentials": "公开客户端不能使用 client_credentials。",
    # user security
    "password_too_long": "密码太长（最多 256 个字符）。",
    "common_password": "这是最常见的密码之一，请换一个。",
    "password_contains_email": "密码不能包含邮箱用户名。",
    "password_reused": "新密码不能与当前密码相同。",
    "wrong_password": "当前密码不正确。",
    "invalid_otp": "验证码错误、已过期或已被使用。",
    "mfa_not_started": "请先开始设置两步验证。",
    "unknown_field": "未知字段。",
    "unknown_tag": "标签不存在。",
    # customers (issue 4: the record, clean on the way in)
    "not_mobile": "这是固定电话号码，请填写到“电话”中。",
    "invalid_date": "日期格式应为 YYYY-MM-DD。",
    "date_in_future": "日期不能晚于今天。",
    "invalid_number": "应为整数。",
    "invalid_decimal": "应为最多两位小数的数字，例如 1250000.00。",
    "out_of_range": "超出允许范围。",
    "invalid_currency": "应为 ISO 4217 币种代码，例如 CNY。",
    "invalid_credit_code": "统一社会信用代码应为18位（数字及除 I、O、Z、S、V 外的大写字母）。",
    "credit_code_checksum": "统一社会信用代码校验位不正确。",
    "invalid_resident_id": "身份证号码应为17位数字加1位校验码（数字或X）。",
    "invalid_birth_date": "身份证号码中的出生日期无效。",
    "resident_id_checksum": "身份证号码校验位不正确。",
    # customers: data scope and field policies (docs/access.md, Enforcement)
    "field_read_only": "您的角色不能修改此字段。",
    "field_hidden": "您的角色不能查看或按此字段筛选。",
    # customers: saved views and exports (docs/customers.md)
    "unknown_filter": "客户列表没有这个筛选条件。",
    "unknown_column": "没有这一列。",
    "duplicate_column": "同一列出现了两次。",
    "owner_out_of_scope": "只能将客户分配给您数据范围内的用户。",
    "owner_disabled": "该用户已停用，不能再分配新客户。",
    # customers: mass changes (docs/customers.md, Mass changes)
    "one_change": "只能设置负责人，或设置状态并填写原因，二选一。",
    # customers: erasure (docs/customers.md, Erasure)
    "confirm_mismatch": "请输入该客户的编号或名称以确认永久删除。",
    "customer_erased": "该客户已被永久删除。",
    # orders and contracts (docs/customers.md, Orders)
    "unknown_customer": "找不到该客户（或不在您的数据范围内）。",
    "one_of": "只能填写其中一项。",
    "invalid_external_id": "外部单号最多200个字符，只能包含字母、数字及 . _ : / # -。",
    "date_out_of_range": "日期超出允许范围（1900-01-01 至 2199-12-31）。",
    "too_many_decimals": "小数位数超过该币种允许的位数。",
    "negative": "不能为负数。",
    "not_positive": "必须大于 0。",
    "amount_mismatch": "金额应等于各明细数量 × 单价之和。",
    "duplicate_in_batch": "该外部单号在本批次中重复出现。",
    # customers: sensitive fields
    "invalid_bank_card": "银行卡号应为12到19位数字。",
    "bank_card_checksum": "银行卡号校验位不正确（Luhn）。",
    "invalid_code": "编号只能包含字母、数字及 - _ . /。",
    "not_in_dictionary": "不在字典中，请从列表中选择。",
    "required_for_code": "租户的编号规则需要此字段（取自字典）。",
    "use_change_status": "请通过“变更状态”修改状态，并填写原因。",
    "transition_not_allowed": "租户的状态规则不允许此变更。",
    "code_taken": "该客户编号已被占用。",
    "unknown_custom_field": "没有此标识的自定义字段。",
    "range_not_supported": "只有数字和日期类型的自定义字段可以按范围筛选。",
    "invalid_type": "类型不正确。",
    "pattern_mismatch": "格式不符合该字段的规则。",
    "invalid_code_pattern": (
        "编号规则无效：需包含一个 {seq}，占位符仅限 {region} {industry} {year} {yy} {month} {day}。"
    ),
    "invalid_key": "标识应以小写字母开头，只含小写字母、数字和下划线。",
    "invalid_options": "选项不能为空且不能重复。",
    "not_applicable": "此类型的字段不支持该设置。",
    "invalid_pattern": "不是有效的正则表达式。",
    "invalid_bound": "范围无效。",
    "immutable": "创建后不可修改。",
    "field_key_taken": "已存在使用该标识的自定义字段。",
    "too_many": "数量超出上限。",
    "invalid_label": "名称最多100个字符，且不能包含“/”。",
    "unknown_parent": "上级编码不存在。",
    "not_a_tree": "该字典不是树形结构，不能设置上级。",
    "cycle": "上级关系形成了循环。",
    # customer merges
    "survivor_in_merged": "保留的客户不能同时被合并。",
    "not_involved": "应为参与合并的某个客户的 ID。",
    # webhooks: delivery log and replays (docs/webhooks.md)
    "invalid_status": "状态取值无效。",
    "invalid_range": "结束时间应晚于开始时间。",
}
