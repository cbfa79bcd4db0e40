"""The translator's workflow for the two catalogues (docs/web.md, "Translations"): the gateway's
(`gateway/crm_gateway/locale`, domain `messages`) and the services' (`libs/crm_platform/crm_platform/
locale`, domain `services`, extracted from `services/` and `libs/crm_platform`):

    .venv/bin/python scripts/i18n.py extract   # the .pot files from the code and templates
    .venv/bin/python scripts/i18n.py update    # extract, then merge into every locale's .po
    .venv/bin/python scripts/i18n.py compile   # .mo files next to the .po (optional: the gateway
                                               # compiles the .po in memory when it starts)
    .venv/bin/python scripts/i18n.py check     # what tests/gateway/test_gateway_i18n.py checks

Each command is the pybabel command it prints; the keywords below are the one thing pybabel
cannot read from babel.cfg. After `update`, translate the new (empty) and fuzzy zh_CN entries,
e.g. with Poedit or any .po editor, then run `check`.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gateway" / "crm_gateway"
LOCALE_DIR = PACKAGE / "locale"
POT = LOCALE_DIR / "messages.pot"
SERVICES_SOURCES = (ROOT / "services", ROOT / "libs" / "crm_platform" / "crm_platform")
SERVICES_LOCALE_DIR = ROOT / "libs" / "crm_platform" / "crm_platform" / "locale"
SERVICES_POT = SERVICES_LOCALE_DIR / "services.pot"
LOCALES = ("zh_CN", "en")
# N_("text") marks a message translated later (Babel's default keywords have it); NC_ is its
# form with a context: NC_("context", "text").
KEYWORDS = ["-k", "NC_:1c,2"]


def pybabel(*args: str) -> None:
    """Runs from the repository's root, so the catalogues name files by their repository path."""
    print("pybabel", " ".join(args))
    cwd = Path.cwd()
    try:
        os.chdir(ROOT)
        CommandLineInterface().run(["pybabel", "-q", *args])
    finally:
        os.chdir(cwd)


# pybabel stamps the extraction time into the header, and `update` copies it into every .po: two
# branches that both ran `update` then conflict on that one line. A fixed stamp keeps merges clean.
POT_CREATION_DATE = '"POT-Creation-Date: 2026-12-01 00:00+0000\\n"'


def _fix_creation_date(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(POT_CREATION_DATE + "\n" if line.startswith('"POT-Creation-Date:') else line
                            for line in lines), encoding="utf-8")


@dataclass(frozen=True)
class Catalogue:
    project: str
    sources: tuple[Path, ...]
    locale_dir: Path
    pot: Path
    domain: str


def catalogues() -> tuple[Catalogue, ...]:
    """Read at call time, so a test can point the gateway's at a copy (LOCALE_DIR, POT)."""
    return (Catalogue("crm-gateway", (PACKAGE,), LOCALE_DIR, POT, "messages"),
            Catalogue("crm-services", SERVICES_SOURCES, SERVICES_LOCALE_DIR, SERVICES_POT, "services"))


def extract(catalogue: Catalogue, output: Path | None = None) -> None:
    target = output or catalogue.pot
    pybabel("extract", "-F", "babel.cfg", *KEYWORDS, "--add-location=file", "-c", "TRANSLATORS:",
            f"--project={catalogue.project}", "--copyright-holder=CRM Cloud", "-w", "120", "-o", str(target),
            *(str(path.relative_to(ROOT)) for path in catalogue.sources))
    _fix_creation_date(target)


def update() -> None:
    for catalogue in catalogues():
        extract(catalogue)
        for locale in LOCALES:
            po = catalogue.locale_dir / locale / "LC_MESSAGES" / f"{catalogue.domain}.po"
            command = "update" if po.exists() else "init"
            extra = ["--ignore-obsolete"] if command == "update" else []
            pybabel(command, "-i", str(catalogue.pot), "-d", str(catalogue.locale_dir), "-D", catalogue.domain,
                    "-l", locale, "-w", "120", *extra)
            _fix_creation_date(po)


def compile_mo() -> None:
    for catalogue in catalogues():
        pybabel("compile", "-d", str(catalogue.locale_dir), "-D", catalogue.domain, "--statistics")


def problems() -> list[str]:
    """Everything that would make the catalogues wrong: zh_CN entries untranslated or fuzzy, and
    messages the code has that a catalogue lacks (or the other way round)."""
    return [problem for catalogue in catalogues() for problem in _problems(catalogue)]


def _problems(catalogue: Catalogue) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "fresh.pot"
        extract(catalogue, fresh)
        with fresh.open("rb") as source:
            found = {(m.context, m.id) for m in read_po(source) if m.id}
    out: list[str] = []
    domain = catalogue.domain
    files = [(f"{domain}.pot", catalogue.pot)] + [
        (f"{loc}/{domain}.po", catalogue.locale_dir / loc / "LC_MESSAGES" / f"{domain}.po") for loc in LOCALES]
    for name, path in files:
        with path.open("rb") as source:
            catalog = read_po(source)
        have = {(m.context, m.id) for m in catalog if m.id}
        out += [f"{name}: missing {key!r} (run scripts/i18n.py update)" for key in sorted(found - have, key=str)]
        out += [f"{name}: no longer in the code {key!r} (run scripts/i18n.py update)"
                for key in sorted(have - found, key=str)]
        if name.startswith("zh_CN"):
            for message in catalog:
                if not message.id:
                    continue
                strings = message.string if isinstance(message.string, tuple) else (message.string,)
                if not all(strings):
                    out.append(f"{name}: no translation for {(message.context, message.id)!r}")
                if message.fuzzy:
                    out.append(f"{name}: fuzzy (needs a translator's review) {(message.context, message.id)!r}")
    return out


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "extract":
        for catalogue in catalogues():
            extract(catalogue)
    elif command == "update":
        update()
    elif command == "compile":
        compile_mo()
    elif command == "check":
        found = problems()
        print("\n".join(found) or "catalogues complete and up to date")
        return 1 if found else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
