"""/problems/{code}: what a problem `type` URI shows when someone opens it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from crm_gateway import i18n
from crm_gateway.problems import Problem
from crm_gateway.web.templating import message_page, page_locale

router = APIRouter(include_in_schema=False)


@router.get("/problems/{code}")
async def problem_doc(request: Request, code: str) -> Response:
    locale = page_locale(request)
    title = i18n.PROBLEM_TITLES.get(code, locale)
    if title is None:
        raise Problem(404, "not_found")
    return message_page(request, f"{title} ({code})", i18n.PROBLEM_DETAILS.text(code, locale, count="N",
                        limit="N", method="…", error="…", position="…"), status_code=200)
