"""The permission catalogue: every scope a tenant's roles and API clients can hold, described in
English and Chinese. Served by GET /v1/permissions and listed in docs/access.md."""

from __future__ import annotations

from typing import Final

from crm_platform.auth import TENANT_SCOPES, Scope

# scope -> (en, zh-CN)
PERMISSIONS: Final[dict[str, tuple[str, str]]] = {
    Scope.CUSTOMERS_READ: ("Read customers in the caller's data scope", "查看数据范围内的客户"),
    Scope.CUSTOMERS_WRITE: ("Create and change customers", "创建和修改客户"),
    Scope.CUSTOMERS_ADMIN: (
        "Customer settings, dictionaries, custom fields and deleted customers",
        "客户设置、字典、自定义字段和已删除客户",
    ),
    Scope.CUSTOMERS_REVEAL: (
        "Reveal customers' sensitive fields (resident ID, bank card); every reveal is audited",
        "查看客户敏感字段明文（身份证号、银行卡号），每次查看均记录审计",
    ),
    Scope.CUSTOMERS_EXPORT: (
        "Export customers in the caller's data scope (CSV, XLSX; field policies apply); every export is audited",
        "导出数据范围内的客户（CSV、XLSX，字段策略同样适用），每次导出均记录审计",
    ),
    Scope.CUSTOMERS_DELETE: (
        "Permanently erase customers in every service (right to be forgotten); cannot be undone",
        "永久删除客户（在所有服务中抹除，被遗忘权），不可恢复",
    ),
    Scope.TAGS_READ: ("Read tags, tag rules and customers' tags", "查看标签、标签规则和客户标签"),
    Scope.TAGS_MANAGE: ("Create and change tags and tag rules", "创建和修改标签及标签规则"),
    Scope.FOLLOWUPS_READ: ("Read follow-up tasks and cadence rules", "查看跟进任务和跟进节奏规则"),
    Scope.FOLLOWUPS_WRITE: ("Create and complete follow-up tasks of customers in the caller's data scope",
                            "创建和完成数据范围内客户的跟进任务"),
    Scope.FOLLOWUPS_MANAGE: ("Create cadence rules: tags that schedule follow-up tasks for everyone",
                             "创建跟进节奏规则（打上标签后自动安排跟进任务）"),
    Scope.REPORTS_READ: ("Read reports and dashboards", "查看报表和仪表盘"),
    Scope.REPORTS_MANAGE: ("Publish the tenant's default dashboard and set customer value rules",
                           "发布租户默认仪表盘并设置客户价值分析规则"),
    Scope.WEBHOOKS_MANAGE: ("Manage webhook endpoints and read deliveries", "管理 Webhook 端点并查看投递记录"),
    Scope.USERS_MANAGE: ("Manage users, their roles and teams", "管理用户及其角色和团队"),
    Scope.CLIENTS_MANAGE: ("Manage the tenant's API clients", "管理租户的 API 客户端"),
    Scope.ROLES_MANAGE: (
        "Manage custom roles, data scopes and field policies", "管理自定义角色、数据范围和字段策略"
    ),
    Scope.AUDIT_READ: ("Search and export the audit log", "查询和导出审计日志"),
    Scope.ORDERS_READ: (
        "Read orders and contracts of customers in the caller's data scope", "查看数据范围内客户的订单和合同"
    ),
    Scope.ORDERS_WRITE: (
        "Record orders and contracts from outside systems", "录入外部系统的订单和合同"
    ),
}


def catalogue() -> list[tuple[str, str, str]]:
    """(scope, en, zh-CN) for every tenant scope, in Scope order. A scope added without an entry
    here still appears (described by its name); tests/identity/roles keeps the table complete."""
    return [(s.value, *PERMISSIONS.get(s.value, (s.value, s.value))) for s in TENANT_SCOPES]
