"""Write termly provider and funding summaries as worksheets: Excel tables, totals, number formats and native charts.

Values, never formulas: a summary is a record of what the register said when it was built.
"""
from __future__ import annotations

import re
from typing import Iterable

import pandas as pd
from openpyxl.chart import BarChart, PieChart, Reference
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook
from openpyxl.worksheet.table import Table, TableStyleInfo

from apxl.core.summaries import Summary, SummaryTable

MONEY = '"£"#,##0.00'
COUNT = "#,##0"
PERCENT = "0.0%"
HOURS = "#,##0.0"
TITLE = Font(bold=True, size=14, color="1F3864")
SUBTITLE = Font(bold=True, size=11, color="1F3864")
NOTE = Font(italic=True, size=9, color="595959")
TOTAL_FILL = PatternFill("solid", start_color="D9E1F2", end_color="D9E1F2")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
SUMMARY_PREFIXES = ("Provider summary", "Funding summary")


def is_summary_sheet(name: str) -> bool:
    return name.startswith(SUMMARY_PREFIXES)


def _put(ws, row: int, col: int, value):
    """Write one cell; text is always stored as text so nothing from a register can become a formula."""
    cell = ws.cell(row, col)
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return cell
    if isinstance(value, str):
        cell.value = _ILLEGAL.sub("", value)[:32767]
        cell.data_type = "s"
    elif isinstance(value, pd.Timestamp):
        cell.value = value.to_pydatetime()
        cell.number_format = "dd/mm/yyyy"
    elif hasattr(value, "item"):
        cell.value = value.item()
    else:
        cell.value = value
    return cell


def _table_name(base: str, sheet: str, used: set[str]) -> str:
    token = re.sub(r"[^A-Za-z0-9]+", "_", sheet.split(" ", 2)[-1]).strip("_")
    name = f"{base}_{token}"[:250]
    n, candidate = 2, name
    while candidate.lower() in used:
        candidate = f"{name}_{n}"
        n += 1
    used.add(candidate.lower())
    return candidate


def _format_for(table: SummaryTable, column: str) -> str | None:
    if column in table.money:
        return MONEY
    if column in table.percent:
        return PERCENT
    if column in table.counts or column == "Places":
        return COUNT
    if column.startswith("Hours"):
        return HOURS
    return None


def _chart(table: SummaryTable, ws, header_row: int, first_col: int, n_rows: int):
    spec = table.chart
    if spec is None or n_rows == 0:
        return None
    cols = list(table.frame.columns)
    cat_col = first_col + cols.index(spec.category)
    cats = Reference(ws, min_col=cat_col, min_row=header_row + 1, max_row=header_row + n_rows)
    if spec.kind == "pie":
        chart = PieChart()
    else:
        chart = BarChart()
        chart.type = "bar" if spec.kind == "bar" else "col"
        chart.grouping = "clustered"
        chart.y_axis.title = spec.values[0] if len(spec.values) == 1 else None
        chart.y_axis.delete = False
        chart.x_axis.delete = False
    for value in spec.values:
        col = first_col + cols.index(value)
        data = Reference(ws, min_col=col, min_row=header_row, max_row=header_row + n_rows)
        chart.add_data(data, titles_from_data=True)
    chart.set_categories(cats)
    chart.title = spec.title
    chart.height = max(7.5, min(20, 0.6 * n_rows + 4))
    chart.width = 16
    return chart


def _write_table(ws, table: SummaryTable, top: int, used_names: set[str], chart_col: int) -> int:
    """Write one table with its title at row ``top``; returns the next free row."""
    _put(ws, top, 1, table.title).font = SUBTITLE
    row = top + 1
    if table.note:
        _put(ws, row, 1, table.note).font = NOTE
        row += 1
    frame = table.frame
    if frame.empty:
        _put(ws, row, 1, "None in this period.").font = NOTE
        return row + 2
    header_row = row
    for j, name in enumerate(frame.columns, start=1):
        _put(ws, header_row, j, str(name)).alignment = Alignment(wrap_text=True, vertical="top")
    values = frame.to_numpy(dtype=object)
    formats = [_format_for(table, c) for c in frame.columns]
    for i, record in enumerate(values, start=1):
        for j, value in enumerate(record, start=1):
            cell = _put(ws, header_row + i, j, value)
            if formats[j - 1] and not isinstance(value, str):
                cell.number_format = formats[j - 1]
    last = header_row + len(frame)
    ref = f"A{header_row}:{get_column_letter(len(frame.columns))}{last}"
    t = Table(displayName=_table_name(table.name, ws.title, used_names), ref=ref)
    t.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(t)
    end = last
    if table.total_row:
        end = last + 1
        top_border = Border(top=Side(style="thin"), bottom=Side(style="double"))
        for j, name in enumerate(frame.columns, start=1):
            cell = _put(ws, end, j, table.total_row.get(name))
            cell.font = Font(bold=True)
            cell.fill = TOTAL_FILL
            cell.border = top_border
            if formats[j - 1] and not isinstance(table.total_row.get(name), str):
                cell.number_format = formats[j - 1]
    chart = _chart(table, ws, header_row, 1, len(frame))
    if chart is not None:
        ws.add_chart(chart, f"{get_column_letter(chart_col)}{top}")
        end = max(end, top + int(chart.height / 0.5) + 1)  # about two rows per centimetre
    return end + 3


def add_summary_sheets(wb: Workbook, summaries: Iterable[Summary]) -> list[str]:
    """Add (or replace) one worksheet per summary in ``wb``; returns the sheet names written."""
    used = {name.lower() for ws in wb.worksheets for name in ws.tables.keys()}
    written = []
    for summary in summaries:
        if summary.sheet in wb.sheetnames:
            index = wb.sheetnames.index(summary.sheet)
            for name in wb[summary.sheet].tables.keys():
                used.discard(name.lower())
            del wb[summary.sheet]
            ws = wb.create_sheet(summary.sheet, index)
        else:
            ws = wb.create_sheet(summary.sheet)
        ws.sheet_properties.tabColor = "1F3864" if summary.sheet.startswith("Provider") else "548235"
        _put(ws, 1, 1, summary.title).font = TITLE
        _put(ws, 2, 1, f"{summary.start:%d/%m/%Y} to {summary.end:%d/%m/%Y}. Figures are values worked out by apxl; re-run to refresh.").font = NOTE
        row = 3
        for note in summary.notes:
            _put(ws, row, 1, note).font = NOTE
            row += 1
        row += 1
        widest = max((len(t.frame.columns) for t in summary.tables), default=4)
        for table in summary.tables:
            row = _write_table(ws, table, row, used, widest + 2)
        for j in range(1, widest + 1):
            ws.column_dimensions[get_column_letter(j)].width = 16 if j > 1 else 22
        ws.freeze_panes = "A3"
        written.append(summary.sheet)
    return written
