"""A saved report as a share link or a subscription delivers it (target kind `report`): the
report builder's definition (reports/service.py) run by its engine (reports/engine.py) under an
access snapshot, and the report files (reports/files/) for the mail: the chart as SVG, the PDF or the
XLSX. A report the person may not read (deleted, made private, another team's) is not delivered."""

from __future__ import annotations

import io
import json
import uuid
from html import escape

from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.errors import NotFound, PermissionDenied
from crm_reporting.analytics import Analytics
from crm_reporting.delivery.access import AccessSnapshot
from crm_reporting.delivery.dashboard import Target
from crm_reporting.reports import engine
from crm_reporting.reports.files.chart import chart_data, chart_svg
from crm_reporting.reports.files.layout import lay_out
from crm_reporting.reports.files.pdf_file import write_pdf
from crm_reporting.reports.files.xlsx_file import write_xlsx
from crm_reporting.reports.result import PivotResult, UnderlyingRows
from crm_reporting.reports.serialize import result_json
from crm_reporting.reports.service import saved_report_service

PDF_TYPE = "application/pdf"


async def check_readable(session: AsyncSession, access: AccessSnapshot, tenant_id: uuid.UUID, target: Target) -> str:
    """The report's name if the person may read it (NotFound otherwise) and count by its segment
    (the one the gateway read as them: 400 on `segment_id`, 403 `field_hidden`)."""
    principal = access.principal(tenant_id, f"user:{access.user_id}")
    saved = await saved_report_service.get(session, principal, target.id)
    engine.check_segment(saved.definition, principal, target.segment_definition)
    return saved.name


async def run_report(analytics: Analytics, session: AsyncSession, tenant_id: uuid.UUID, access: AccessSnapshot,
                     target: Target, locale: str, time_zone: str, *, frozen: bool) -> PivotResult | None:
    """The saved report under `access` (`frozen`: its owners as resolved in the snapshot, else the
    person's scope now), its view's filters and segment as the creator read them; None when they
    may no longer read it."""
    principal = access.principal(tenant_id, f"user:{access.user_id}")
    try:
        saved = await saved_report_service.get(session, principal, target.id)
    except NotFound:
        return None
    request = engine.RunRequest(saved.definition, title=saved.name, locale=locale, time_zone=time_zone,
                                view_filters=dict(target.view_filters), segment=target.segment_definition)
    return await engine.run(analytics, session, principal, request, scope=access.scope if frozen else None)


async def run_for_recipient(analytics: Analytics, session: AsyncSession, tenant_id: uuid.UUID,
                            access: AccessSnapshot, target: Target, locale: str, time_zone: str) -> PivotResult | None:
    """`run_report` under the recipient's scope now; None also when their field policies refuse it
    (a segment judged by spend for someone who may not see spend, too)."""
    try:
        return await run_report(analytics, session, tenant_id, access, target, locale, time_zone, frozen=False)
    except PermissionDenied:
        return None


def as_json(result: PivotResult) -> str:
    return json.dumps(result_json(result), ensure_ascii=False, default=str)


def empty(result: PivotResult) -> bool:
    return not any(value not in (None, 0) for cell in result_json(result).get("cells", [])
                   for value in cell.get("values", []))


def chart(result: PivotResult, locale: str) -> bytes | None:
    data = chart_data(lay_out(result))
    return chart_svg(data, locale).encode() if data is not None else None


def attachment(result: PivotResult, fmt: str) -> tuple[bytes, str, str]:
    """(bytes, extension, content type) of the report file."""
    out = io.BytesIO()
    if fmt == "pdf":
        write_pdf(result, out)
        return out.getvalue(), "pdf", PDF_TYPE
    write_xlsx(result, UnderlyingRows(columns=[]), out)
    return out.getvalue(), "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"





def html_table(result: PivotResult) -> str:
    """The pivot as a plain HTML table for the mail body (the files' layout: subtotal rows included)."""
    layout = lay_out(result)
    head = "".join(f"<th>{escape(label)}</th>" for label in layout.flat_header())
    rows = ["<tr>" + "".join(f"<td>{escape('' if c is None else str(c))}</td>" for c in (*row.labels, *row.values))
            + "</tr>" for row in layout.rows]
    return f'<table border="1" cellpadding="4" cellspacing="0"><tr>{head}</tr>{"".join(rows)}</table>'
