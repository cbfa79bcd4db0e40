"""The words of reminder emails, in the two languages of the product. Followups has no Babel
catalogue of its own (the gateway's is for pages); these few sentences live here, chosen by the
user's language (`locale` from identity's user events; empty: Chinese, the product's default)."""

from __future__ import annotations

from typing import Final

TEXTS: Final[dict[str, dict[str, str]]] = {
    "zh-CN": {
        "due_subject": "跟进提醒：{title}",
        "overdue_subject": "跟进已逾期：{title}",
        "due_body": "您有一项跟进任务到期了。\n\n{title}\n计划跟进时间：{when}\n\n打开客户：{link}\n",
        "overdue_body": "这项跟进任务已逾期一天，仍未完成。\n\n{title}\n计划跟进时间：{when}\n\n打开客户：{link}\n",
        "digest_subject": "今日跟进：{today} 项今天到期，{overdue} 项已逾期",
        "digest_intro": "早上好，{name}。以下是您今天的跟进任务。",
        "digest_overdue": "已逾期",
        "digest_today": "今天",
        "digest_footer": "查看全部：{link}",
    },
    "en": {
        "due_subject": "Follow-up due: {title}",
        "overdue_subject": "Follow-up overdue: {title}",
        "due_body": "A follow-up task of yours is due.\n\n{title}\nPlanned for: {when}\n\nOpen the customer: {link}\n",
        "overdue_body": "This follow-up task is a day overdue and still open.\n\n{title}\nPlanned for: {when}\n\n"
                        "Open the customer: {link}\n",
        "digest_subject": "Today's follow-ups: {today} due today, {overdue} overdue",
        "digest_intro": "Good morning, {name}. Here are your follow-ups for today.",
        "digest_overdue": "Overdue",
        "digest_today": "Today",
        "digest_footer": "See them all: {link}",
    },
}


def text(locale: str, key: str, **values: object) -> str:
    return TEXTS["en" if locale == "en" else "zh-CN"][key].format(**values)
