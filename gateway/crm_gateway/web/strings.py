"""The web UI's strings in zh-CN and en (the API's problem messages live in crm_gateway.i18n)."""

from __future__ import annotations

from crm_gateway.i18n import Catalogue

UI = Catalogue({
    "product": {"en": "CRM Cloud", "zh-CN": "客户数据云"},
    "language.other": {"en": "中文", "zh-CN": "English"},
    "sign_out": {"en": "Sign out", "zh-CN": "退出登录"},
    "sign_in": {"en": "Sign in", "zh-CN": "登录"},
    "sign_in_again": {"en": "Sign in again", "zh-CN": "重新登录"},
    "back_home": {"en": "Back to the app", "zh-CN": "返回应用"},
    # -- authorize (login) page ---------------------------------------------------------------
    "login.title": {"en": "Sign in", "zh-CN": "登录"},
    "login.subtitle": {"en": "to continue to {client}", "zh-CN": "以继续使用 {client}"},
    "login.company": {"en": "Company", "zh-CN": "公司"},
    "login.company_hint": {
        "en": "The short name your company signed up with", "zh-CN": "贵公司注册时使用的简称",
    },
    "login.email": {"en": "Email", "zh-CN": "邮箱"},
    "login.password": {"en": "Password", "zh-CN": "密码"},
    "login.submit": {"en": "Sign in", "zh-CN": "登录"},
    "login.requested_access": {"en": "Requested access", "zh-CN": "申请的权限"},
    "login.all_access": {"en": "Everything your role allows", "zh-CN": "您的角色允许的全部权限"},
    "login.wrong_credentials": {
        "en": "Wrong company, email or password.", "zh-CN": "公司、邮箱或密码不正确。",
    },
    "login.form_expired": {
        "en": "This form expired. Please sign in again.", "zh-CN": "表单已过期，请重新登录。",
    },
    "login.required": {"en": "Required.", "zh-CN": "必填。"},
    "login.unavailable": {
        "en": "Sign-in is temporarily unavailable. Please try again shortly.",
        "zh-CN": "登录服务暂时不可用，请稍后再试。",
    },
    # -- OAuth error page ---------------------------------------------------------------------
    "oauth.error_title": {"en": "Cannot continue sign-in", "zh-CN": "无法继续登录"},
    "oauth.unknown_client": {
        "en": "The application that sent you here is not registered.", "zh-CN": "将您引导至此的应用未注册。",
    },
    "oauth.missing_client": {"en": "The request names no application.", "zh-CN": "请求中未指明应用。"},
    "oauth.bad_redirect": {
        "en": "The application's return address is not registered for it, so we will not send you there.",
        "zh-CN": "该应用的回调地址未登记，为保护您的安全，我们不会跳转过去。",
    },
    "oauth.repeated_parameter": {
        "en": "The request repeats a parameter ({name}).", "zh-CN": "请求中的参数重复（{name}）。",
    },
    "oauth.unavailable": {
        "en": "Sign-in is temporarily unavailable. Please try again shortly.",
        "zh-CN": "登录服务暂时不可用，请稍后再试。",
    },
    # -- web client (callback) ----------------------------------------------------------------
    "callback.failed_title": {"en": "Sign-in did not complete", "zh-CN": "登录未完成"},
    "callback.expired": {
        "en": "The sign-in took too long or was started in another window.",
        "zh-CN": "登录超时，或是在另一个窗口中发起的。",
    },
    "callback.denied": {"en": "Sign-in was refused: {reason}", "zh-CN": "登录被拒绝：{reason}"},
    "callback.exchange_failed": {
        "en": "We could not complete the sign-in. Please try again.", "zh-CN": "无法完成登录，请重试。",
    },
    # -- customers page -----------------------------------------------------------------------
    "nav.customers": {"en": "Customers", "zh-CN": "客户"},
    "customers.title": {"en": "Customers", "zh-CN": "客户"},
    "customers.search": {"en": "Search name, code, mobile or email", "zh-CN": "搜索名称、编号、手机号或邮箱"},
    "customers.industry_filter": {"en": "Industry", "zh-CN": "行业"},
    "customers.any_industry": {"en": "All industries", "zh-CN": "全部行业"},
    "customers.apply": {"en": "Search", "zh-CN": "搜索"},
    "customers.reset": {"en": "Clear", "zh-CN": "清除"},
    "customers.empty": {"en": "No customers match.", "zh-CN": "没有符合条件的客户。"},
    "customers.empty_hint": {
        "en": "Create the first one with the form.", "zh-CN": "使用右侧表单创建第一个客户。",
    },
    "customers.next": {"en": "Next page", "zh-CN": "下一页"},
    "customers.first": {"en": "First page", "zh-CN": "第一页"},
    "customers.shown": {"en": "{count} shown", "zh-CN": "本页 {count} 条"},
    "col.code": {"en": "Code", "zh-CN": "编号"},
    "col.name": {"en": "Name", "zh-CN": "名称"},
    "col.industry": {"en": "Industry", "zh-CN": "行业"},
    "col.region": {"en": "Region", "zh-CN": "地区"},
    "col.mobile": {"en": "Mobile", "zh-CN": "手机"},
    "col.status": {"en": "Status", "zh-CN": "状态"},
    "col.created": {"en": "Created", "zh-CN": "创建时间"},
    "create.title": {"en": "New customer", "zh-CN": "新建客户"},
    "create.name": {"en": "Name", "zh-CN": "名称"},
    "create.type": {"en": "Type", "zh-CN": "类型"},
    "create.industry": {"en": "Industry", "zh-CN": "行业"},
    "create.region": {"en": "Region", "zh-CN": "地区"},
    "create.mobile": {"en": "Mobile", "zh-CN": "手机"},
    "create.email": {"en": "Email", "zh-CN": "邮箱"},
    "create.submit": {"en": "Create customer", "zh-CN": "创建客户"},
    "create.contact_hint": {"en": "A mobile number or an email is needed.", "zh-CN": "手机号和邮箱至少填写一项。"},
    "create.created": {"en": "Customer {name} ({code}) created.", "zh-CN": "已创建客户 {name}（{code}）。"},
    "create.invalid": {"en": "Please correct the highlighted fields.", "zh-CN": "请修正标出的字段。"},
    "create.form_expired": {
        "en": "The form expired; please submit it again.", "zh-CN": "表单已过期，请重新提交。",
    },
    "type.enterprise": {"en": "Enterprise", "zh-CN": "企业"},
    "type.individual": {"en": "Individual", "zh-CN": "个人"},
    "status.potential": {"en": "Potential", "zh-CN": "潜在"},
    "status.intent": {"en": "Intent", "zh-CN": "意向"},
    "status.won": {"en": "Won", "zh-CN": "成交"},
    "status.lost": {"en": "Lost", "zh-CN": "流失"},
    "role.tenant_admin": {"en": "Tenant admin", "zh-CN": "租户管理员"},
    "role.sales_manager": {"en": "Sales manager", "zh-CN": "销售经理"},
    "role.sales_rep": {"en": "Sales rep", "zh-CN": "销售代表"},
    "role.customer_service": {"en": "Customer service", "zh-CN": "客服"},
    "role.api_client": {"en": "API client", "zh-CN": "API 客户端"},
    # -- problems shown on pages ----------------------------------------------------------------
    "error.permission_denied": {
        "en": "Your role does not allow this.", "zh-CN": "您的角色无权执行此操作。",
    },
    "error.unavailable": {
        "en": "The customer service is temporarily unavailable. Please try again shortly.",
        "zh-CN": "客户服务暂时不可用，请稍后再试。",
    },
    "error.generic": {"en": "Something went wrong: {detail}", "zh-CN": "出现错误：{detail}"},
    "error.not_found_title": {"en": "Page not found", "zh-CN": "页面不存在"},
})
