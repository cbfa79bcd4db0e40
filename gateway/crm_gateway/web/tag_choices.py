"""The tenant's tags as the web pages offer them: the customer list's tag filter, the detail
page's "add a tag", the mass change's filter summary."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlencode

from crm_gateway.clients import Backends, Caller
from crm_gateway.problems import UpstreamError
from crm_proto.crm.tagging.v1 import tagging_pb2 as pb

TAGS_PAGE: Final = 500
# A tenant with more tags than this gets the first ones in the pickers (tags are a short list).
MAX_TAGS: Final = 2000
# Tag colours as tagging stores them (#rrggbb, lower case).
COLOR: Final = re.compile(r"[0-9a-f]{6}")


@dataclass(frozen=True)
class TagChoice:
    id: str
    name: str
    color: str

    @property
    def color_key(self) -> str:
        """The `data-tag-color` of its chip or dot (colour_stylesheet gives it the colour)."""
        return self.color.removeprefix("#")


def color_stylesheet(colors: Iterable[str]) -> str:
    """The URL of a stylesheet colouring these tags' chips. The pages' CSP allows no inline style,
    so each colour is a rule `[data-tag-color="rrggbb"] { --tag: #rrggbb }` in a stylesheet of our
    own (web/customer_tags.py serves it; the colours are its whole input, so it is cacheable)."""
    keys = sorted({c.removeprefix("#") for c in colors if COLOR.fullmatch(c.removeprefix("#"))})
    return "/app/tag-colors.css?" + urlencode({"c": ",".join(keys)})


def color_rules(query: str) -> str:
    """The stylesheet itself for the `c` parameter (anything not a colour is left out)."""
    keys = sorted({c for c in query.split(",") if COLOR.fullmatch(c)})
    return "".join(f'[data-tag-color="{key}"]{{--tag:#{key}}}\n' for key in keys[:MAX_TAGS])


async def tenant_tags(caller: Caller, services: Backends) -> list[TagChoice]:
    """The tenant's tags, oldest first; none when the caller may not read them (or tagging is down:
    the pages work without them)."""
    found: list[TagChoice] = []
    token = ""
    try:
        while len(found) < MAX_TAGS:
            reply = await caller.call(services.tagging.ListTags, pb.ListTagsRequest(page_size=TAGS_PAGE,
                                                                                   page_token=token))
            found += [TagChoice(t.id, t.name, t.color) for t in reply.items]
            token = reply.next_page_token
            if not token:
                break
    except UpstreamError:
        return []
    return found
