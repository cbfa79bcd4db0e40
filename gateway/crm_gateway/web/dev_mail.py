"""/app/dev/mail: what the platform sent, for developers (`crm dev` only). The local SMTP server keeps
every message in a Maildir (`.crm/mail`); this page lists it newest first (filter by recipient) and
shows one message: headers, text, the HTML part in a sandboxed frame (inline images resolved),
attachments to download. `app.py` mounts this router only when `CRM_GATEWAY_DEV_MAILBOX_DIR` is set,
which only the dev runner and the test platform do: in production the paths do not exist (404).

No sign-in is needed (an invitee reads their invitation before they have an account); the page sits
in the shell when a session exists."""

from __future__ import annotations

import html
import re
from typing import Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from crm_gateway.dev_mail import DevMailbox, ReceivedMail
from crm_gateway.i18n import messages
from crm_gateway.web.templating import message_page, page_locale, render

router = APIRouter(prefix="/app/dev/mail", include_in_schema=False)

PAGE: Final = "/app/dev/mail"
LIST_LIMIT: Final = 200
# The HTML part is shown in a frame of its own: no script, no form, no request anywhere but to its
# own inline images (rewritten from cid: to this page's part URLs).
HTML_CSP: Final = ("default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
                   "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox")
_CID: Final = re.compile(r"""(["'(])cid:([^"')\s]+)""")


def _mailbox(request: Request) -> DevMailbox:
    return DevMailbox(request.app.state.settings.dev_mailbox_dir)


def _not_found(request: Request) -> Response:
    catalogue = messages(page_locale(request))
    return message_page(request, catalogue.gettext("Sent mail"),
                        catalogue.gettext("This message is not in the mailbox (any more)."),
                        status_code=404, link=(PAGE, catalogue.gettext("All sent mail")))


@router.get("")
async def mail_list(request: Request) -> Response:
    to = request.query_params.get("to", "").strip()
    found = _mailbox(request).list(limit=LIST_LIMIT, to=to or None)
    return render(request, "dev_mail.html", {"mails": found, "to": to, "limit": LIST_LIMIT,
                                              "directory": request.app.state.settings.dev_mailbox_dir})


@router.get("/{key}")
async def mail_detail(request: Request, key: str) -> Response:
    mail = _mailbox(request).get(key)
    if mail is None:
        return _not_found(request)
    response = render(request, "dev_mail_message.html", {"mail": mail})
    # The one page that frames something: its own message's HTML part (served with HTML_CSP).
    response.headers["Content-Security-Policy"] = response.headers["Content-Security-Policy"].replace(
        "default-src 'none';", "default-src 'none'; frame-src 'self';")
    return response


def _with_part_links(mail: ReceivedMail) -> str:
    by_cid = {p.content_id.strip("<>"): p.index for p in mail.inline if p.content_id}

    def link(match: re.Match[str]) -> str:
        index = by_cid.get(match.group(2))
        target = f"{PAGE}/{mail.key}/parts/{index}" if index is not None else "about:blank"
        return f"{match.group(1)}{html.escape(target)}"

    return _CID.sub(link, mail.html)


@router.get("/{key}/html")
async def mail_html(request: Request, key: str) -> Response:
    mail = _mailbox(request).get(key)
    if mail is None or not mail.html:
        return _not_found(request)
    return Response(_with_part_links(mail), media_type="text/html; charset=utf-8", headers={
        "Content-Security-Policy": HTML_CSP, "X-Frame-Options": "SAMEORIGIN", "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"})


@router.get("/{key}/parts/{index}")
async def mail_part(request: Request, key: str, index: int) -> Response:
    found = _mailbox(request).part(key, index)
    if found is None:
        return _not_found(request)
    content_type, filename, content = found
    inline = content_type.startswith("image/") and content_type != "image/svg+xml"
    disposition = "inline" if inline else "attachment"
    safe_name = re.sub(r"[^\w.\- ]", "_", filename or f"part-{index}")
    return Response(content, media_type=content_type if inline else "application/octet-stream", headers={
        "Content-Disposition": f'{disposition}; filename="{safe_name}"', "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store", "Content-Security-Policy": "default-src 'none'; sandbox"})
