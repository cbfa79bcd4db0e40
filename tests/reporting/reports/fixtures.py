"""PivotResults as the pivot engine returns them (long form, subtotals and grand totals from
ROLLUP), in Chinese and English, and their underlying rows: what the report-file tests render."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

from crm_reporting.reports.result import Dimension, Measure, PivotCell, PivotResult, UnderlyingRows

# The underlying records: (region, tier, status, annual spend CNY, orders, created at).
RECORDS: list[tuple[str, str, str, Decimal, int, datetime]] = [
    ("华东", "A", "won", Decimal("1200.50"), 3, datetime(2026, 1, 5, 1, 30, tzinfo=UTC)),
    ("华东", "A", "lost", Decimal("300.00"), 1, datetime(2026, 1, 9, 2, 0, tzinfo=UTC)),
    ("华东", "B", "won", Decimal("800.25"), 2, datetime(2026, 2, 1, 3, 0, tzinfo=UTC)),
    ("华北", "A", "won", Decimal("5000.00"), 7, datetime(2026, 2, 14, 4, 0, tzinfo=UTC)),
    ("华北", "B", "lost", Decimal("50.00"), 1, datetime(2026, 3, 3, 5, 0, tzinfo=UTC)),
    ("华南", "B", "won", Decimal("999.99"), 4, datetime(2026, 3, 20, 6, 0, tzinfo=UTC)),
]
STATUS = {"zh-CN": {"won": "赢单", "lost": "输单"}, "en": {"won": "Won", "lost": "Lost"}}
REGION_EN = {"华东": "East China", "华北": "North China", "华南": "South China"}


def _label(locale: str, region: str) -> str:
    return region if locale == "zh-CN" else REGION_EN[region]


def pivot(locale: str = "zh-CN", *, column: bool = True, chart: str = "bar") -> PivotResult:
    """Rows: region, tier; column: status (optional); measures: count, sum of spend (CNY), won rate."""
    zh = locale == "zh-CN"
    rows = (Dimension("region", "地区" if zh else "Region"), Dimension("tier", "等级" if zh else "Tier"))
    col = Dimension("status", "状态" if zh else "Status") if column else None
    measures = (
        Measure("count", "客户数" if zh else "Customers", "count"),
        Measure("sum:annual_spend", "年消费额（合计）" if zh else "Annual spend (sum)", "money", "CNY"),
        Measure("rate:won", "赢单率" if zh else "Win rate", "percent"),
    )
    groups: dict[tuple[tuple[str | None, ...], str | None], list[tuple[str, str, str, Decimal, int, datetime]]] = {}
    for record in RECORDS:
        region, tier, status = _label(locale, record[0]), record[1], STATUS[locale][record[2]]
        keys: tuple[tuple[str | None, ...], ...] = ((region, tier), (region, None), (None, None))
        for key in keys:
            for c in ((status, None) if column else (None,)):
                groups.setdefault((key, c), []).append(record)
    cells = []
    for (key, c), members in groups.items():
        won = sum(1 for m in members if m[2] == "won")
        cells.append(PivotCell(key, c, (len(members), sum((m[3] for m in members), Decimal(0)),
                                        Decimal(won) / Decimal(len(members)))))
    return PivotResult(
        title="客户地区分析" if zh else "Customers by region",
        rows=rows,
        column=col,
        measures=measures,
        cells=tuple(cells),
        column_values=tuple(STATUS[locale].values()) if column else (),
        filters=((("对象", "客户"), ("时间范围", "2026-01-01 至 2026-03-31")) if zh
                 else (("Object", "Customers"), ("Time range", "2026-01-01 to 2026-03-31"))),
        chart=chart,  # type: ignore[arg-type]
        locale=locale,
        time_zone="Asia/Shanghai",
        generated_at=datetime(2026, 4, 1, 1, 0, tzinfo=UTC),
    )


def underlying(locale: str = "zh-CN") -> UnderlyingRows:
    zh = locale == "zh-CN"
    columns = (["地区", "等级", "状态", "年消费额", "订单数", "创建时间"] if zh
               else ["Region", "Tier", "Status", "Annual spend", "Orders", "Created at"])
    return UnderlyingRows(columns, [
        [_label(locale, r[0]), r[1], STATUS[locale][r[2]], r[3], r[4], r[5]] for r in RECORDS
    ])


def many_rows(count: int) -> Iterator[list[object]]:
    """`count` generated records, made as they are read (the benchmark's and the streaming tests')."""
    regions = list(REGION_EN)
    base = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    for i in range(count):
        yield [f"客户{i}", regions[i % 3], "AB"[i % 2], "won" if i % 3 else "lost",
               Decimal(i % 10_000) / 4, i % 17, datetime.fromtimestamp(base + i * 37, UTC)]


MANY_COLUMNS = ["客户", "地区", "等级", "状态", "年消费额", "订单数", "创建时间"]
