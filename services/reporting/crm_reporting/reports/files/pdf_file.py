"""The report as a PDF for printing, by WeasyPrint (HTML and CSS to PDF): title, filters, the time
it was made, the chart (SVG, drawn by `chart.chart_svg`), and the pivoted table with subtotal and
grand total rows, its header repeated on every page; CJK text in Noto Sans CJK (Debian's
fonts-noto-cjk), "Page n of N" in the viewer's language at the foot of every page. Landscape when
the table is wide. A PDF is for reading: past `PDF_MAX_ROWS` rows the table stops and says how many
rows it shows of how many, pointing to the XLSX or CSV for all of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Final
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_decimal
from jinja2 import Environment
from markupsafe import Markup

from crm_platform.i18n import BABEL_LOCALES, messages
from crm_reporting.reports.files.chart import CHART_CATEGORIES, ChartData, chart_data, chart_svg
from crm_reporting.reports.files.layout import lay_out, report_locale
from crm_reporting.reports.files.values import display
from crm_reporting.reports.result import Measure, PivotResult

PDF_TYPE: Final = "application/pdf"
PDF_MAX_ROWS: Final = 2000
LANDSCAPE_FROM_COLUMNS: Final = 8

# The page shell every PDF shares (a report's pivot, a dashboard's panels): A4, CJK fonts, the
# title and "Page n of N" at the foot of every page, tables whose header repeats on each page.
_HEAD = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
@page { size: A4 {{ orientation }}; margin: 16mm 12mm 18mm 12mm;
  @bottom-center { content: {{ page_css }}; font-size: 9pt; color: #666;
    font-family: 'Noto Sans CJK SC', 'Noto Sans', sans-serif; }
  @bottom-left { content: "{{ title_css }}"; font-size: 8pt; color: #999;
    font-family: 'Noto Sans CJK SC', 'Noto Sans', sans-serif; } }
body { font-family: 'Noto Sans CJK SC', 'Noto Sans', sans-serif; font-size: 9pt; color: #222; }
h1 { font-size: 16pt; margin: 0 0 4pt; }
.meta { color: #555; margin: 0 0 2pt; }
.meta b { color: #333; }
.chart { margin: 10pt 0; }
.chart svg { width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; }
th, td { border: 0.5pt solid #c8cfdc; padding: 2.5pt 4pt; }
th { background: #2F5AA8; color: #fff; font-weight: bold; text-align: center; }
td.num { text-align: right; white-space: nowrap; }
tr.subtotal td { background: #EEF2FA; font-weight: bold; }
tr.total td { background: #D6E0F5; font-weight: bold; }
.note { margin-top: 6pt; color: #A33; }
h2 { font-size: 12pt; margin: 14pt 0 4pt; page-break-after: avoid; }
section { page-break-inside: avoid; }
</style></head>
<body>
<h1>{{ title }}</h1>"""

_TEMPLATE = _HEAD + """
{% for label, value in filters %}<p class="meta"><b>{{ label }}:</b> {{ value }}</p>{% endfor %}
{% if generated %}<p class="meta"><b>{{ generated_label }}:</b> {{ generated }}</p>{% endif %}
{% if chart %}<div class="chart">{{ chart }}</div>{% endif %}
<table>
<thead>
{% if group_header %}<tr>{% if dims %}<th colspan="{{ dims }}">{{ column_label }}</th>{% endif %}
{% for text, span in group_header %}<th colspan="{{ span }}">{{ text }}</th>{% endfor %}</tr>{% endif %}
<tr>{% for text in header %}<th>{{ text }}</th>{% endfor %}</tr>
</thead>
<tbody>
{% for kind, labels, values in body %}<tr class="{{ kind }}">{% for text in labels %}<td>{{ text }}</td>{% endfor %}
{% for text in values %}<td class="num">{{ text }}</td>{% endfor %}</tr>
{% endfor %}
</tbody></table>
{% if note %}<p class="note">{{ note }}</p>{% endif %}
</body></html>
"""

_env = Environment(autoescape=True)


def _css_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _page_css(locale: str) -> str:
    """ "Page %(page)s of %(pages)s" translated, as CSS `content` with the page counters."""
    marker_page, marker_pages = "\x00PAGE\x00", "\x00PAGES\x00"
    text = messages(report_locale(locale)).gettext("Page %(page)s of %(pages)s", page=marker_page,
                                                  pages=marker_pages)
    out: list[str] = []
    for piece in text.replace(marker_pages, "\x01pages\x01").replace(marker_page, "\x01page\x01").split("\x01"):
        if piece == "page":
            out.append("counter(page)")
        elif piece == "pages":
            out.append("counter(pages)")
        elif piece:
            out.append(f'"{_css_string(piece)}"')
    return " ".join(out) or "counter(page)"


def render_html(result: PivotResult) -> str:
    layout = lay_out(result)
    locale = result.locale
    text = messages(report_locale(locale))
    babel_locale = BABEL_LOCALES[report_locale(locale)]
    dims = len(result.rows)
    figures = chart_data(layout)
    group_header: list[tuple[str, int]] = []
    if result.column is not None:
        for column in layout.columns:
            group = layout.column_group(column)
            if group_header and group_header[-1][0] == group:
                group_header[-1] = (group, group_header[-1][1] + 1)
            else:
                group_header.append((group, 1))
    body = []
    previous: tuple[str, ...] = ()
    shown_rows = list(layout.rows)
    if len(shown_rows) > PDF_MAX_ROWS:  # the first rows, and the grand total whatever is left out
        shown_rows = shown_rows[:PDF_MAX_ROWS] + [r for r in shown_rows[PDF_MAX_ROWS:] if r.kind == "total"]
    for row in shown_rows:
        # A parent's label once per group: the rows under it leave it blank.
        labels = list(row.labels)
        if row.kind == "detail":
            for i in range(len(labels) - 1):
                if i < len(previous) and previous[i] == labels[i] and labels[:i] == list(previous[:i]):
                    labels[i] = ""
                else:
                    break
            previous = row.labels
        values = [display(v, c.measure, locale) for v, c in zip(row.values, layout.columns, strict=True)]
        body.append((row.kind, labels, values))
    note = ""
    if len(layout.rows) > PDF_MAX_ROWS:
        shown, total = format_decimal(PDF_MAX_ROWS, locale=babel_locale), format_decimal(len(layout.rows),
                                                                                        locale=babel_locale)
        note = text.gettext("This PDF shows the first %(shown)s of %(total)s rows; the XLSX and CSV files have all "
                            "of them.", shown=shown, total=total)
    generated = ""
    if result.generated_at is not None:
        at: datetime = result.generated_at.astimezone(ZoneInfo(result.time_zone))
        generated = f"{format_datetime(at, 'medium', locale=babel_locale)} ({result.time_zone})"
    width = dims + len(layout.columns)
    return _env.from_string(_TEMPLATE).render(
        lang=report_locale(locale),
        title=result.title,
        title_css=_css_string(result.title),
        page_css=Markup(_page_css(locale)),
        orientation="landscape" if width >= LANDSCAPE_FROM_COLUMNS else "portrait",
        filters=result.filters,
        generated=generated,
        generated_label=layout.words.generated,
        chart=Markup(chart_svg(figures, locale, height=280)) if figures is not None else None,
        dims=dims,
        column_label=result.column.label if result.column is not None else "",
        group_header=group_header,
        header=[*layout.dimension_labels, *(c.measure.label for c in layout.columns)],
        body=body,
        note=note,
    )


def write_pdf(result: PivotResult, out: IO[bytes]) -> None:
    _write(render_html(result), out)


def _write(html: str, out: IO[bytes]) -> None:
    from weasyprint import HTML  # loads Pango: only the processes that make PDFs pay for it

    HTML(string=html).write_pdf(out)


# -- a dashboard's panels (subscriptions) ------------------------------------------------------------

@dataclass(frozen=True)
class PanelSection:
    """One dashboard panel as the PDF shows it: its title, a header and text cells (already
    formatted in the reader's language), and the bars of its chart when it has one (the first
    column's labels as categories)."""

    title: str
    head: Sequence[str]
    rows: Sequence[Sequence[str]]
    bars: Sequence[float] = ()
    bars_label: str = ""


_PANELS_TEMPLATE = _HEAD + """
{% for label, value in filters %}<p class="meta"><b>{{ label }}:</b> {{ value }}</p>{% endfor %}
{% if generated %}<p class="meta"><b>{{ generated_label }}:</b> {{ generated }}</p>{% endif %}
{% for section in sections %}<section>
<h2>{{ section.title }}</h2>
{% if section.chart %}<div class="chart">{{ section.chart }}</div>{% endif %}
<table><thead><tr>{% for text in section.head %}<th>{{ text }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in section.rows %}<tr>{% for text in row %}
<td{% if not loop.first %} class="num"{% endif %}>{{ text }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>
</section>{% endfor %}
</body></html>
"""


def render_panels_html(title: str, sections: Sequence[PanelSection], locale: str, time_zone: str,
                       generated_at: datetime | None = None,
                       filters: Sequence[tuple[str, str]] = ()) -> str:
    """The panels in the report PDF's shell: each panel's chart (the report files' SVG bars) and
    its table, a panel kept on one page where it fits."""
    text = messages(report_locale(locale))
    babel_locale = BABEL_LOCALES[report_locale(locale)]
    shown = []
    for section in sections:
        chart = None
        if section.bars and len(section.bars) == len(section.rows):
            figures = ChartData("bar", tuple(str(r[0]) for r in section.rows[:CHART_CATEGORIES]),
                                ((section.bars_label, tuple(section.bars[:CHART_CATEGORIES])),),
                                Measure("panel", section.bars_label, "number"))
            chart = Markup(chart_svg(figures, locale, height=240))
        shown.append({"title": section.title, "head": section.head, "rows": section.rows, "chart": chart})
    generated = ""
    if generated_at is not None:
        at = generated_at.astimezone(ZoneInfo(time_zone))
        generated = f"{format_datetime(at, 'medium', locale=babel_locale)} ({time_zone})"
    return _env.from_string(_PANELS_TEMPLATE).render(
        lang=report_locale(locale), title=title, title_css=_css_string(title),
        page_css=Markup(_page_css(locale)), orientation="portrait", filters=filters, generated=generated,
        generated_label=text.gettext("Generated"), sections=shown)


def write_panels_pdf(title: str, sections: Sequence[PanelSection], out: IO[bytes], *, locale: str,
                     time_zone: str, generated_at: datetime | None = None,
                     filters: Sequence[tuple[str, str]] = ()) -> None:
    _write(render_panels_html(title, sections, locale, time_zone, generated_at, filters), out)
