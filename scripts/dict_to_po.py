"""Carries UI strings written in the old style (Python dictionaries keyed by name, with "en" and
"zh-CN" texts: `web/strings.py`'s `UI = Catalogue({...})`, `i18n.py`'s catalogues) into the
gettext catalogues, and rewrites the code that used them.

    .venv/bin/python scripts/dict_to_po.py OLD.py [OLD.py ...] [--rewrite] [--dry-run]

For every entry of the dictionaries found in the files:
- the English text becomes the msgid (`{name}` placeholders become `%(name)s`, `%` becomes `%%`);
- if the catalogue already has that msgid with another Chinese text, the entry gets a context
  (its key, or CONTEXTS below) so both can live side by side (pgettext);
- the Chinese text is written as the zh_CN translation, the English one stays the en msgid.
With --rewrite, templates' `t("key", ...)` and Python's `UI.text("key", locale, ...)` calls of
those keys become `_("English", ...)` / `pgettext("context", "English", ...)` and
`messages(locale).gettext("English", ...)`; what cannot be rewritten safely (keys built at run
time, keys passed around as data) is listed for a person to convert with `label()` / `N_()`.

Afterwards run `scripts/i18n.py update` (extract + merge) and `pytest tests/gateway/test_gateway_i18n.py`.
Typical use after merging a branch that still added strings the old way:

    git show theirs:gateway/crm_gateway/web/strings.py > /tmp/their_strings.py
    .venv/bin/python scripts/dict_to_po.py /tmp/their_strings.py --rewrite
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
GATEWAY = ROOT / "gateway" / "crm_gateway"
LOCALE_DIR = GATEWAY / "locale"
PO_FILES = {"zh_CN": LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po",
            "en": LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po"}

# Readable contexts for English texts that need different Chinese in different places (the
# first migration's collisions); other collisions get the entry's key as context.
CONTEXTS: dict[str, str] = {
    "UI:exports.stat.total": "count",
    "UI:audit.search": "audit log",
    "UI:detail.back": "back link",
    "UI:create.source": "customer field",
    "UI:filter.mobile": "filter",
    "UI:filter.code": "filter",
    "UI:import.col.code": "error code",
    "UI:detail.first_contact_date": "date",
    "UI:users.display_name": "person",
    "UI:merge.by_you": "merged by",
    "UI:bulk.progress_title": "progress",
    "UI:erase.reason": "erasure",
    "UI:detail.title": "page title",
    "UI:audit.col.details": "audit log",
    "UI:erase.kept": "erasure",
    "UI:step.mfa_enroll.title": "sign-in step",
    "UI:merge.submit": "button",
}
# Entries that keep the plain msgid when their English collides (the most common use).
PLAIN: set[str] = {"UI:col.code", "UI:account.mfa_start", "UI:merge.kept", "UI:customers.title"}


@dataclass
class Entry:
    namespace: str  # the dictionary's name, e.g. UI or PROBLEM_TITLES
    key: str
    en: str  # as a msgid: %(name)s placeholders
    zh: str
    context: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.namespace}:{self.key}"


# Dictionaries whose texts are shown as they are (never filled with parameters): their braces are
# literal, e.g. a code pattern's "{seq}".
LITERAL_BRACES = {"SERVICE_FIELD_MESSAGES"}


def to_msgid(text: str, literal_braces: bool = False) -> str:
    """str.format placeholders -> %-style ones; a literal % doubled."""
    text = text.replace("%", "%%")
    return text if literal_braces else re.sub(r"\{(\w+)\}", r"%(\1)s", text)


def read_old(path: Path) -> list[Entry]:
    """Every `NAME = Catalogue({...})` or `NAME = {...}` whose values are {"en": ..., "zh-CN": ...}."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    entries: list[Entry] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None:
            continue
        target = node.targets[0] if isinstance(node, ast.Assign) else node.target
        if not isinstance(target, ast.Name):
            continue
        value = node.value
        if isinstance(value, ast.Call) and getattr(value.func, "id", "") == "Catalogue" and value.args:
            value = value.args[0]
        if not isinstance(value, ast.Dict):
            continue
        try:
            data = ast.literal_eval(value)
        except ValueError:
            continue
        literal = target.id in LITERAL_BRACES
        for key, texts in data.items():
            if isinstance(texts, dict) and "en" in texts:
                entries.append(Entry(target.id, str(key), to_msgid(texts["en"], literal),
                                     to_msgid(texts.get("zh-CN", ""), literal)))
    return entries


def load_po(locale: str) -> Catalog:
    path = PO_FILES[locale]
    if not path.exists():
        return Catalog(locale=locale, domain="messages", project="crm-gateway", fuzzy=False)
    with path.open("rb") as source:
        return read_po(source, locale=locale, domain="messages")


def assign_contexts(entries: list[Entry], existing: Catalog) -> None:
    """Same English, different Chinese: the most common Chinese (or the catalogue's) keeps the
    plain msgid, the others get a context."""
    by_msgid: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_msgid[entry.en].append(entry)
    for msgid, group in by_msgid.items():
        known = existing.get(msgid)
        plain_zh = known.string if known is not None and known.string else None
        if plain_zh is None:
            preferred = [e.zh for e in group if e.ref in PLAIN]
            plain_zh = preferred[0] if preferred else Counter(e.zh for e in group).most_common(1)[0][0]
        for entry in group:
            if entry.zh == plain_zh:
                continue
            # A context already in the catalogue for exactly this translation is reused.
            reuse = next((m.context for m in existing if m.id == msgid and m.context and m.string == entry.zh), None)
            entry.context = reuse or CONTEXTS.get(entry.ref) or entry.key


def write_catalogues(entries: Iterable[Entry], dry_run: bool) -> int:
    added = 0
    for locale, path in PO_FILES.items():
        catalog = load_po(locale)
        for entry in entries:
            current = catalog.get(entry.en, context=entry.context)
            translation = entry.zh if locale == "zh_CN" else ""
            if current is None:
                catalog.add(entry.en, translation, context=entry.context,
                            flags=("python-format",) if "%(" in entry.en else ())
                added += locale == "zh_CN"
            elif locale == "zh_CN" and (not current.string or current.fuzzy):
                current.string = translation
                current.flags.discard("fuzzy")
        if not dry_run:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as out:
                write_po(out, catalog, width=120, sort_output=False, omit_header=False)
    return added


# -- rewriting the code ---------------------------------------------------------------------------


def _literal(text: str) -> str:
    """A string literal valid in both Python and Jinja."""
    if '"' not in text:
        return '"' + text.replace("\\", "\\\\") + '"'
    if "'" not in text:
        return "'" + text.replace("\\", "\\\\") + "'"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def call(entry: Entry, fn_plain: str, fn_context: str) -> str:
    if entry.context is None:
        return f"{fn_plain}({_literal(entry.en)}"
    return f"{fn_context}({_literal(entry.context)}, {_literal(entry.en)}"


TEMPLATE_CALL = re.compile(r"""\bt\((["'])([\w.:\-]+)\1""")
PYTHON_CALL = re.compile(r"""\bUI\.(?:text|get)\((["'])([\w.:\-]+)\1,\s*([^,()]+(?:\([^()]*\))?)""")


def rewrite(paths: Iterable[Path], by_key: dict[str, Entry], dry_run: bool) -> list[str]:
    """Rewrites literal-key calls; returns what is left for a person (file:line: text)."""
    left: list[str] = []
    for path in paths:
        source = path.read_text(encoding="utf-8")
        if path.suffix == ".html":
            def template_call(match: re.Match[str]) -> str:
                entry = by_key.get(match.group(2))
                return call(entry, "_", "pgettext") if entry else match.group(0)
            new = TEMPLATE_CALL.sub(template_call, source)
            leftovers = re.finditer(r"\bt\(", new)
        else:
            def python_call(match: re.Match[str]) -> str:
                entry = by_key.get(match.group(2))
                if entry is None:
                    return match.group(0)
                locale_expr = match.group(3).strip()
                return call(entry, f"messages({locale_expr}).gettext", f"messages({locale_expr}).pgettext")
            new = PYTHON_CALL.sub(python_call, source)
            # `messages(locale).gettext("x", locale)` cannot happen: the locale argument was consumed.
            leftovers = re.finditer(r"\bUI\.(?:text|get)\(", new)
        for match in leftovers:
            line = new.count("\n", 0, match.start()) + 1
            left.append(f"{path.relative_to(ROOT)}:{line}: {new.splitlines()[line - 1].strip()[:110]}")
        if new != source and not dry_run:
            path.write_text(new, encoding="utf-8")
    return left


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path, help="Python files holding old-style dictionaries")
    parser.add_argument("--rewrite", action="store_true", help="rewrite t(...) / UI.text(...) calls of these keys")
    parser.add_argument("--dry-run", action="store_true", help="write nothing, print the plan")
    args = parser.parse_args(argv)

    entries = [e for path in args.files for e in read_old(path)]
    missing = [e.ref for e in entries if not e.zh]
    if missing:
        print("entries without a zh-CN text (translate them in the .po):", ", ".join(missing), file=sys.stderr)
    assign_contexts(entries, load_po("zh_CN"))
    added = write_catalogues(entries, args.dry_run)
    print(f"{len(entries)} entries, {added} new in the catalogues")
    for entry in entries:
        if entry.context:
            print(f"  context {entry.context!r:22} for {entry.ref}: {entry.en!r}")
    if args.rewrite:
        by_key = {e.key: e for e in entries if e.namespace == "UI"}
        paths = [*GATEWAY.rglob("*.html"), *GATEWAY.rglob("*.py")]
        left = rewrite([p for p in paths if p.name != "strings.py"], by_key, args.dry_run)
        if left:
            print("\nleft for a person (keys built at run time or passed as data; use label() / N_()):")
            print("\n".join(f"  {line}" for line in left))
        print("\nthen: `from crm_gateway.i18n import messages` where ruff reports it undefined (F821), "
              "`scripts/i18n.py update` and `scripts/i18n.py check`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
