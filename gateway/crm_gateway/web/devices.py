"""A user agent in plain words ("Chrome on Windows") for the sessions list.
Only the common browsers and systems are named; anything else is "Unknown device" (the raw user
agent stays available as the row's tooltip)."""

from __future__ import annotations

import re
from typing import Final

from crm_gateway.i18n import Locale, messages

# Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
BROWSERS: Final = (
    ("Edg/", "Edge"), ("OPR/", "Opera"), ("MicroMessenger", "WeChat"), ("Firefox/", "Firefox"),
    ("Chromium/", "Chromium"), ("HeadlessChrome", "Chrome"), ("Chrome/", "Chrome"), ("CriOS", "Chrome"),
    ("Safari/", "Safari"),
)
SYSTEMS: Final = (
    ("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("Windows", "Windows"),
    ("Mac OS X", "macOS"), ("Macintosh", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"),
)


def describe_device(user_agent: str, locale: Locale) -> str:
    t = messages(locale)
    browser = next((name for key, name in BROWSERS if key in user_agent), "")
    system = next((name for key, name in SYSTEMS if key in user_agent), "")
    if browser and system:
        return t.gettext("%(browser)s on %(system)s", browser=browser, system=system)
    if browser or system:
        return browser or system
    # A script or app (e.g. "python-httpx/0.28", "erp-sync/2.1"): its product name.
    product = re.match(r"^([A-Za-z][\w.\-]{0,40})/", user_agent.strip())
    if product:
        return t.gettext("Program (%(name)s)", name=product.group(1))
    return t.gettext("Unknown device")
