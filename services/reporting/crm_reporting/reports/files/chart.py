"""The chart of a report, the same in every file: its figures (`chart_data`, which the XLSX plots
as a native Excel chart) and an SVG drawing of them (`chart_svg`, which the PDF embeds).

What is plotted: the top level of the rows (each first-level group's subtotal; the detail rows
when there is one row dimension), at most `CHART_CATEGORIES` of them in the engine's order (its
sort / top N come first). Bar and line charts draw one series per column value of the first
measure, or, without a column dimension, one per measure of the first measure's kind (money and
counts never share an axis). A pie draws the first measure's total across columns."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final
from xml.sax.saxutils import escape

from crm_reporting.reports.files.layout import Layout
from crm_reporting.reports.files.values import display
from crm_reporting.reports.result import CellValue, ChartKind, Measure

CHART_CATEGORIES: Final = 40
PALETTE: Final = ("#2F5AA8", "#E07B39", "#3BA272", "#D64550", "#8E6CC0", "#C9A227", "#2AA1B8", "#7F7F7F")
FONT: Final = "'Noto Sans CJK SC', 'Noto Sans', sans-serif"


@dataclass(frozen=True)
class ChartData:
    kind: ChartKind
    categories: tuple[str, ...]
    series: tuple[tuple[str, tuple[float | None, ...]], ...]
    measure: Measure


def chart_data(layout: Layout) -> ChartData | None:
    result = layout.result
    if result.chart == "table" or not result.measures or not layout.rows:
        return None
    depth = len(result.rows)
    if depth == 1:
        picked = [r for r in layout.rows if r.kind == "detail"]
    elif depth > 1:
        picked = [r for r in layout.rows if r.kind == "subtotal" and r.level == 1]
    else:
        picked = list(layout.rows)
    picked = picked[:CHART_CATEGORIES]
    if not picked:
        return None
    categories = tuple(r.labels[0] if r.labels else layout.words.total for r in picked)
    first = result.measures[0]
    if result.chart == "pie":
        wanted = [
            i for i, c in enumerate(layout.columns) if c.measure_index == 0 and c.column_value is None
        ] or [i for i, c in enumerate(layout.columns) if c.measure_index == 0][:1]
        names = [first.label]
    elif result.column is not None:
        wanted = [i for i, c in enumerate(layout.columns) if c.measure_index == 0 and c.column_value is not None]
        names = [layout.columns[i].column_value or "" for i in wanted]
    else:
        wanted = [i for i, c in enumerate(layout.columns) if c.measure.kind == first.kind]
        names = [layout.columns[i].measure.label for i in wanted]
    if not wanted:
        return None
    series = tuple(
        (name, tuple(_number(r.values[i]) for r in picked))
        for name, i in zip(names, wanted, strict=True)
    )
    return ChartData(result.chart, categories, series, first)


def _number(value: CellValue) -> float | None:
    return float(value) if value is not None else None


def _nice_step(value: float, whole: bool) -> float:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) of at least `value`; whole numbers
    for counts."""
    if value <= 0:
        return 1.0
    exponent = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * exponent
        if step >= value and (not whole or (step >= 1 and float(step).is_integer())):
            return step
    return max(10 * exponent, 1.0) if whole else 10 * exponent


def _text(x: float, y: float, text: str, size: int = 11, anchor: str = "middle", extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-family="{escape(FONT)}" fill="#333"{extra}>{escape(text)}</text>')


def _short(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def chart_svg(chart: ChartData, locale: str, width: int = 720, height: int = 320) -> str:
    """A self-contained SVG (no script, no external reference) of the chart."""
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img">']
    legend_y = height - 12
    if chart.kind == "pie":
        _pie(parts, chart, locale, width, height)
    else:
        _axes_chart(parts, chart, locale, width, height - 30)
        x = 60.0
        for index, (name, _) in enumerate(chart.series):
            color = PALETTE[index % len(PALETTE)]
            parts.append(f'<rect x="{x:.1f}" y="{legend_y - 9}" width="10" height="10" fill="{color}"/>')
            parts.append(_text(x + 14, legend_y, _short(name, 24), 11, "start"))
            x += 30 + 8 * min(len(name), 24) * (1.6 if any(ord(c) > 0x2E80 for c in name) else 1)
    parts.append("</svg>")
    return "".join(parts)


def _axes_chart(parts: list[str], chart: ChartData, locale: str, width: int, height: int) -> None:
    left, right, top, bottom = 80.0, 16.0, 16.0, 56.0
    plot_w, plot_h = width - left - right, height - top - bottom
    numbers = [v for _, values in chart.series for v in values if v is not None]
    whole = chart.measure.kind == "count"
    step = _nice_step((max([0.0, *numbers]) - min([0.0, *numbers])) / 5, whole)
    low = math.floor(min([0.0, *numbers]) / step) * step
    high = max(math.ceil(max([0.0, *numbers]) / step) * step, low + step)
    span = high - low
    ticks = round(span / step)

    def y_of(value: float) -> float:
        return top + plot_h - (value - low) / span * plot_h

    for tick in range(ticks + 1):
        value = low + step * tick
        y = y_of(value)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e3e3e3"/>')
        parts.append(_text(left - 6, y + 4, display(value, chart.measure, locale), 10, "end"))
    count = len(chart.categories)
    slot = plot_w / count
    for index, category in enumerate(chart.categories):
        x = left + slot * (index + 0.5)
        limit = max(4, int(slot / 7))
        parts.append(_text(x, top + plot_h + 16, _short(category, limit), 10))
    if chart.kind == "line":
        for s, (_, values) in enumerate(chart.series):
            color = PALETTE[s % len(PALETTE)]
            points = [(left + slot * (i + 0.5), y_of(v)) for i, v in enumerate(values) if v is not None]
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
            parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>' for x, y in points)
    else:
        groups = len(chart.series)
        bar = slot * 0.8 / groups
        zero = y_of(0.0)
        for s, (_, values) in enumerate(chart.series):
            color = PALETTE[s % len(PALETTE)]
            for i, maybe in enumerate(values):
                if maybe is None:
                    continue
                value = maybe
                x = left + slot * i + slot * 0.1 + bar * s
                y = min(y_of(value), zero)
                parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                             f'height="{abs(zero - y_of(value)):.1f}" fill="{color}"/>')
    parts.append(f'<line x1="{left}" y1="{y_of(0.0):.1f}" x2="{width - right}" y2="{y_of(0.0):.1f}" stroke="#999"/>')


def _pie(parts: list[str], chart: ChartData, locale: str, width: int, height: int) -> None:
    values = [max(v or 0.0, 0.0) for v in chart.series[0][1]]
    total = sum(values) or 1.0
    cx, cy, r = height / 2, height / 2, height / 2 - 16
    angle = -math.pi / 2
    for index, value in enumerate(values):
        color = PALETTE[index % len(PALETTE)]
        sweep = value / total * 2 * math.pi
        if sweep >= 2 * math.pi - 1e-9:
            parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="{color}"/>')
        elif sweep > 0:
            x1, y1 = cx + r * math.cos(angle), cy + r * math.sin(angle)
            x2, y2 = cx + r * math.cos(angle + sweep), cy + r * math.sin(angle + sweep)
            large = 1 if sweep > math.pi else 0
            parts.append(f'<path d="M{cx:.1f},{cy:.1f} L{x1:.1f},{y1:.1f} A{r:.1f},{r:.1f} 0 {large} 1 '
                         f'{x2:.1f},{y2:.1f} Z" fill="{color}" stroke="#fff"/>')
        angle += sweep
    x, y = height + 20, 24.0
    for index, (category, value) in enumerate(zip(chart.categories, values, strict=True)):
        if y > height - 10:
            break
        color = PALETTE[index % len(PALETTE)]
        share = value / total
        parts.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{color}"/>')
        parts.append(_text(x + 16, y, f"{_short(category, 28)}  {display(value, chart.measure, locale)}"
                           f"  ({share:.1%})", 11, "start"))
        y += 18
