"""/problems/{code}: what a problem `type` URI shows when someone opens it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from crm_gateway.problem_texts import PROBLEM_DETAILS, PROBLEM_TITLES
from crm_gateway.problems import Problem, catalogue_text
from crm_gateway.web.templating import message_page, page_locale

router = APIRouter(include_in_schema=False)


@router.get("/problems/{code}")
async def problem_doc(request: Request, code: str) -> Response:
    locale = page_locale(request)
    title = catalogue_text(PROBLEM_TITLES, code, locale)
    if title is None:
        raise Problem(404, "not_found")
    detail = catalogue_text(PROBLEM_DETAILS, code, locale, count="N", limit="N", method="…", error="…",
                            position="…")
    return message_page(request, f"{title} ({code})", detail or title, status_code=200)
