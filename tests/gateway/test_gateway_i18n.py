"""Locale negotiation and the gettext catalogues: every message the code and templates use is in
the catalogues (extracted by pybabel exactly as scripts/i18n.py does), translated into zh-CN and
not fuzzy; no UI text lives anywhere else; the catalogue fills placeholders and contexts."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from jinja2 import Environment, FileSystemLoader, meta

from crm_gateway import i18n
from crm_gateway.i18n import N_, NC_, messages
from crm_gateway.problem_texts import PROBLEM_DETAILS, PROBLEM_TITLES
from crm_gateway.problems import GRPC_TO_HTTP, HTTP_CODES
from crm_gateway.web import labels
from crm_gateway.web.templating import WEB_DIR

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "gateway" / "crm_gateway"
sys.path.insert(0, str(ROOT / "scripts"))
import i18n as workflow  # noqa: E402  (scripts/i18n.py: the translators' commands)

# Chinese characters (ideographs; CJK punctuation such as the enumeration comma may appear in
# English text that talks about it).
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# The REST API's OpenAPI descriptions give Chinese data as examples (a region path "华北/北京").
DATA_EXAMPLES = PACKAGE / "api"
# Third-party files kept as published (ECharts carries its own Chinese locale).
VENDORED = PACKAGE / "web" / "static" / "vendor"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("zh-CN", "zh-CN"),
        ("zh", "zh-CN"),
        ("zh-Hans-CN,zh;q=0.9", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("fr-FR,zh-CN;q=0.5,en;q=0.4", "zh-CN"),
        ("en;q=0.2, zh;q=0.8", "zh-CN"),
        ("zh-CN;q=0, en", "en"),
        ("de, fr", "en"),
        ("zh;q=abc, en;q=0.1", "en"),
        ("*", "en"),
        ("ZH-cn", "zh-CN"),
    ],
)
def test_accept_language_negotiation(header: str | None, expected: str) -> None:
    assert i18n.negotiate(header) == expected


@pytest.mark.parametrize(("tag", "expected"), [("zh-CN", "zh-CN"), ("zh_CN", "zh-CN"), ("zh", "zh-CN"),
                                               ("en-GB", "en"), ("fr", None), ("", None), (None, None)])
def test_one_tag(tag: str | None, expected: str | None) -> None:
    assert i18n.parse_locale(tag) == expected


def test_catalogue_fills_placeholders_contexts_and_falls_back() -> None:
    zh, en = messages("zh-CN"), messages("en")
    assert zh.text(PROBLEM_DETAILS["invalid_input"], count=2) == "2 个字段无效。"
    assert en.text(PROBLEM_DETAILS["invalid_input"], count=2) == "2 field(s) are invalid."
    # A missing parameter shows the template rather than failing the page.
    assert en.text(PROBLEM_DETAILS["invalid_input"]) == "%(count)s field(s) are invalid."
    # The same English, different Chinese: contexts keep both.
    assert zh.gettext("Mobile") == "手机" and zh.pgettext("filter", "Mobile") == "手机号"
    assert en.pgettext("filter", "Mobile") == "Mobile"
    assert zh.text(NC_("person", "Name")) == "姓名" and zh.text(N_("Name")) == "名称"
    # Unknown text passes through (English source strings are the fallback).
    assert zh.gettext("No such message") == "No such message"
    assert labels.label("status", "won", "zh-CN") == "成交" and labels.label("status", "new-one", "zh-CN") == "new-one"


def test_every_generic_problem_code_has_a_title_and_detail() -> None:
    codes = {code for _, code in GRPC_TO_HTTP.values()} | set(HTTP_CODES.values()) | {"internal", "malformed_json"}
    for code in codes:
        assert code in PROBLEM_TITLES and code in PROBLEM_DETAILS, code


def test_catalogues_are_complete_and_up_to_date() -> None:
    """(a) every msgid has a zh_CN translation and none is fuzzy; (b) the .pot and .po files hold
    exactly what `pybabel extract` finds in the code and templates now."""
    assert workflow.problems() == []


def test_the_check_notices_untranslated_fuzzy_and_stale_entries(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: a copy of the catalogues with an untranslated, a fuzzy and a
    stale entry, and one message missing, is refused with all four named."""
    locale_dir = tmp_path / "locale"
    for path in (PACKAGE / "locale").rglob("*.po*"):
        target = locale_dir / path.relative_to(PACKAGE / "locale")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    po = locale_dir / "zh_CN" / "LC_MESSAGES" / "messages.po"
    text = po.read_text(encoding="utf-8")
    text = text.replace('msgid "Sign out"\nmsgstr "退出登录"', 'msgid "Sign out"\nmsgstr ""', 1)
    text = text.replace('msgid "Sign in again"\nmsgstr', '#, fuzzy\nmsgid "Sign in again"\nmsgstr', 1)
    text = text.replace('msgid "Skip to content"\nmsgstr "跳到主要内容"\n', "", 1)
    text += '\nmsgid "Nobody uses this any more"\nmsgstr "没人用了"\n'
    po.write_text(text, encoding="utf-8")
    monkeypatch.setattr(workflow, "LOCALE_DIR", locale_dir)
    monkeypatch.setattr(workflow, "POT", locale_dir / "messages.pot")
    found = "\n".join(workflow.problems())
    assert "no translation for (None, 'Sign out')" in found
    assert "fuzzy (needs a translator's review) (None, 'Sign in again')" in found
    assert "zh_CN/messages.po: missing (None, 'Skip to content')" in found
    assert "no longer in the code (None, 'Nobody uses this any more')" in found


def test_no_ui_text_outside_the_catalogues() -> None:
    """(c) no dictionaries of translations are left: no Chinese in the gateway's code or templates
    (outside the catalogues), no per-locale text tables, no old `t("key")` lookups."""
    offenders = []
    for path in [*PACKAGE.rglob("*.py"), *PACKAGE.rglob("*.html"), *PACKAGE.rglob("*.js")]:
        text = path.read_text(encoding="utf-8")
        if CJK.search(text) and DATA_EXAMPLES not in path.parents and VENDORED not in path.parents:
            offenders.append(f"{path.relative_to(ROOT)}: Chinese text (put it in the catalogue)")
        if path.suffix == ".py":
            offenders += [f"{path.relative_to(ROOT)}:{line}: a per-locale text table" for line in text_tables(text)]
        if path.suffix == ".html" and re.search(r"\bt\(['\"]", text):
            offenders.append(f"{path.relative_to(ROOT)}: t(\"key\") lookup")
    assert not (PACKAGE / "web" / "strings.py").exists()
    assert offenders == []


def text_tables(source: str) -> list[int]:
    """Lines of dictionaries keyed by locale whose values are text (not a locale id or a zone name)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if (isinstance(key, ast.Constant) and key.value in ("zh-CN", "zh_CN", "zh")
                        and not (isinstance(value, ast.Constant) and re.fullmatch(r"[\w/+\-]*", str(value.value)))):
                    found.append(node.lineno)
    return found


def test_the_text_table_check_finds_old_style_dictionaries() -> None:
    old = 'UI = Catalogue({"sign_out": {"en": "Sign out", "zh-CN": "x y"}})\nZONES = {"zh-CN": "Asia/Shanghai"}\n'
    assert text_tables(old) == [1]


def test_templates_only_use_known_helpers() -> None:
    """Templates translate with _/gettext/pgettext/ngettext and label(); a leftover `t` would fail
    only when that branch of a page renders."""
    env = Environment(loader=FileSystemLoader(WEB_DIR / "templates"), extensions=["jinja2.ext.i18n"])
    for name in env.list_templates():
        assert env.loader is not None
        source = env.loader.get_source(env, name)[0]
        undeclared = meta.find_undeclared_variables(env.parse(source))
        assert "t" not in undeclared, name


def test_the_compiled_catalogue_matches_the_po_file() -> None:
    with (PACKAGE / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source)
    zh = messages("zh-CN")
    for message in catalog:
        if message.id and not message.pluralizable:
            got = zh.pgettext(message.context, message.id) if message.context else zh.gettext(message.id)
            expected = message.string.replace("%%", "%") if "%(" not in message.string else None
            if expected is not None:
                assert got == expected, message.id


def test_services_keep_no_per_locale_text_tables() -> None:
    """Text a service writes itself (import messages, spreadsheet headers, emails, the permission
    catalogue) lives in the services' catalogue (crm_platform.i18n), not in per-locale tables."""
    offenders = []
    for base in (ROOT / "services", ROOT / "libs"):
        for path in base.rglob("*.py"):
            if "versions" in path.parts:  # migrations keep what they wrote at the time
                continue
            offenders += [f"{path.relative_to(ROOT)}:{line}" for line in text_tables(path.read_text(encoding="utf-8"))]
    assert offenders == []


def test_services_catalogue_translates_service_text() -> None:
    from crm_identity.imports.messages import message
    from crm_identity.roles.catalogue import catalogue
    assert message("too_long", "zh-CN", limit=5) == "最多 5 个字符。"
    assert message("too_long", "en", limit=5) == "At most 5 characters."
    assert message("too_long", "fr", limit=5) == "At most 5 characters."
    assert ("customers:read", "Read customers in the caller's data scope", "查看数据范围内的客户") in catalogue()
