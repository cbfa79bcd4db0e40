"""Row and file error messages of the user import, in the caller's language (zh-CN or en). The
codes are stable (docs/identity.md#user-import); the messages say which value is at fault."""

from __future__ import annotations

from typing import Any, Final

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "required": {"en": "Required.", "zh-CN": "必填。"},
    "too_long": {"en": "At most {limit} characters.", "zh-CN": "最多 {limit} 个字符。"},
    "invalid_email": {"en": "Not a valid email address.", "zh-CN": "邮箱地址无效。"},
    "duplicate_email_in_file": {
        "en": "This email is already in row {row} of the file.", "zh-CN": "该邮箱与文件第 {row} 行重复。",
    },
    "email_exists": {"en": "A user with this email exists.", "zh-CN": "已存在使用该邮箱的用户。"},
    "unknown_role": {"en": "No role is named \"{role}\".", "zh-CN": "没有名为“{role}”的角色。"},
    "grant_exceeds_own": {
        "en": "These roles grant permissions you do not hold.", "zh-CN": "这些角色包含您自己没有的权限，不能授予。",
    },
    "unknown_team": {"en": "No team \"{team}\".", "zh-CN": "团队“{team}”不存在。"},
    "ambiguous_team": {
        "en": "Several teams are named \"{team}\"; give the path, e.g. Sales/North.",
        "zh-CN": "有多个名为“{team}”的团队，请填写完整路径，例如 销售部/华北组。",
    },
    "unsupported_file": {
        "en": "The file is not a spreadsheet: upload the XLSX or CSV template.",
        "zh-CN": "文件不是表格，请上传 XLSX 或 CSV 模板。",
    },
    "file_too_large": {"en": "The file is larger than {limit} bytes.", "zh-CN": "文件超过 {limit} 字节。"},
    "too_many_rows": {
        "en": "The file has {count} rows; at most {limit} can be imported at once.",
        "zh-CN": "文件有 {count} 行，一次最多导入 {limit} 行。",
    },
    "no_rows": {"en": "The file has no user rows under the header.", "zh-CN": "文件在表头下没有用户数据。"},
    "invalid_characters": {
        "en": "Contains characters that are not allowed (control characters; in names, also direction overrides).",
        "zh-CN": "包含不允许的字符（控制字符；名称中还不允许文字方向控制符）。",
    },
    "empty_after_cleaning": {"en": "Has no visible characters.", "zh-CN": "没有可见的字符。"},
    "missing_column": {"en": "The header has no \"{column}\" column.", "zh-CN": "表头缺少“{column}”列。"},
}


def message(code: str, locale: str, **params: Any) -> str:
    entry = MESSAGES.get(code)
    if entry is None:
        return code
    template = entry.get(locale) or entry["en"]
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template
