"""Locale negotiation and the catalogues."""

from __future__ import annotations

import pytest

from crm_gateway import i18n
from crm_gateway.problems import GRPC_TO_HTTP, HTTP_CODES
from crm_gateway.web.strings import UI


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("zh-CN", "zh-CN"),
        ("zh", "zh-CN"),
        ("zh-Hans-CN,zh;q=0.9", "zh-CN"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("fr-FR,zh-CN;q=0.5,en;q=0.4", "zh-CN"),
        ("en;q=0.2, zh;q=0.8", "zh-CN"),
        ("zh-CN;q=0, en", "en"),
        ("de, fr", "en"),
        ("zh;q=abc, en;q=0.1", "en"),
        ("*", "en"),
    ],
)
def test_accept_language_negotiation(header: str | None, expected: str) -> None:
    assert i18n.negotiate(header) == expected


def test_catalogue_fills_parameters_and_falls_back() -> None:
    assert i18n.PROBLEM_DETAILS.text("invalid_input", "zh-CN", count=2) == "2 个字段无效。"
    assert i18n.PROBLEM_DETAILS.text("invalid_input", "en") == "{count} field(s) are invalid."  # missing param
    assert i18n.PROBLEM_TITLES.get("no_such_code", "en") is None
    assert i18n.PROBLEM_TITLES.text("no_such_code", "en") == "no_such_code"


@pytest.mark.parametrize("catalogue", [i18n.PROBLEM_TITLES, i18n.PROBLEM_DETAILS, i18n.FIELD_MESSAGES, UI])
def test_every_entry_has_both_languages(catalogue: i18n.Catalogue) -> None:
    for key, entry in catalogue._entries.items():
        assert set(entry) == {"en", "zh-CN"}, key


def test_every_generic_problem_code_has_a_title_and_detail() -> None:
    codes = {code for _, code in GRPC_TO_HTTP.values()} | set(HTTP_CODES.values()) | {"internal", "malformed_json"}
    for code in codes:
        assert code in i18n.PROBLEM_TITLES and code in i18n.PROBLEM_DETAILS, code
