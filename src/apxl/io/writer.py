"""Write findings into a copy of the workbook: a Findings sheet, highlighted cells and comments."""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.table import Table, TableStyleInfo

from apxl.core.findings import Report
from apxl.core.register import Register
from apxl.io.locate import DEFAULT_MAX_MARKS, link_targets, locate, plan_marks
from apxl.io.safe_save import atomic_target, make_backup, resolve_output

FINDINGS_SHEET = "Findings"
AUTHOR = "apxl"
MARKER = "apxl-highlight"
COLUMNS = ["Rule", "Severity", "Sheet", "Row", "Column", "Key", "Value", "Message", "Link"]
WIDTHS = [10, 10, 16, 7, 24, 16, 22, 100, 22]
FILLS = {"error": "FFC7CE", "warning": "FFEB9C", "info": "DDEBF7"}
HEADER_ROW = 5
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _text(value) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return _ILLEGAL.sub("", str(value))[:32767]


def write_findings(source, register: Register, report: Report, output=None, in_place: bool = False, *, max_marks: int = DEFAULT_MAX_MARKS) -> Path:
    """Write ``report`` into a copy of ``source`` (``<stem>-checked<suffix>`` unless ``output``) or, with
    ``in_place``, into ``source`` itself after a timestamped backup. Returns the path written."""
    source = Path(source)
    target = resolve_output(source, output, in_place)
    keep_vba = source.suffix.lower() == ".xlsm"
    wb = load_workbook(source, keep_vba=keep_vba, rich_text=True)
    sheets = set(wb.sheetnames) - {FINDINGS_SHEET}
    frame = report.frame
    cells = locate(register, frame, sheets)
    plan = plan_marks(frame, cells, max_marks)
    _clear_marks(wb)
    _mark(wb, plan)
    _findings_sheet(wb, report, frame, cells, link_targets(frame, cells, sheets), plan)
    if in_place:
        make_backup(source)
    with atomic_target(target) as tmp:
        wb.save(tmp)
    return target


def _clear_marks(wb) -> None:
    for ws in wb.worksheets:
        for cf_range in list(ws.conditional_formatting):
            if any(MARKER in "".join(r.formula or []) for r in cf_range.rules):
                del ws.conditional_formatting._cf_rules[cf_range]
        for row in ws.iter_rows():
            for cell in row:
                if cell.comment is not None and cell.comment.author == AUTHOR:
                    cell.comment = None


def _mark(wb, plan) -> None:
    by_sheet: dict[tuple[str, str], list[str]] = {}
    for mark in plan.marks:
        ws = wb[mark.sheet]
        by_sheet.setdefault((mark.sheet, mark.severity), []).append(mark.cell)
        cell = ws[mark.cell]
        if cell.comment is None:
            cell.comment = Comment(mark.comment, AUTHOR, width=320, height=120)
    for (sheet, severity), refs in by_sheet.items():
        fill = PatternFill("solid", start_color=FILLS[severity], end_color=FILLS[severity])
        wb[sheet].conditional_formatting.add(" ".join(refs), FormulaRule(formula=[f'ISTEXT("{MARKER}")'], fill=fill))


def _findings_sheet(wb, report, frame, cells, links, plan) -> None:
    if FINDINGS_SHEET in wb.sheetnames:
        index = wb.sheetnames.index(FINDINGS_SHEET)
        del wb[FINDINGS_SHEET]
        ws = wb.create_sheet(FINDINGS_SHEET, index)
    else:
        ws = wb.create_sheet(FINDINGS_SHEET)
    counts = report.counts
    ws["A1"] = "apxl findings"
    ws["A1"].font = Font(bold=True, size=14)
    as_of = report.as_of.strftime("%d/%m/%Y") if report.as_of else "unknown"
    ws["A2"] = f"Checked as of {as_of} under the {report.policy_name or 'default'} policy on {datetime.now():%d/%m/%Y %H:%M}."
    ws["A3"] = f"{counts['total']} findings: {counts['error']} errors, {counts['warning']} warnings, {counts['info']} info."
    if plan.capped:
        ws["A4"] = f"Highlighted the {len(plan.marks):,} worst of {plan.total_cells:,} cells with findings; this table lists them all."
    for j, (name, width) in enumerate(zip(COLUMNS, WIDTHS), start=1):
        ws.cell(HEADER_ROW, j, name)
        ws.column_dimensions[ws.cell(HEADER_ROW, j).column_letter].width = width
    fields = ["rule_id", "severity", "sheet", "row", "column", "key", "value", "message"]
    r = HEADER_ROW
    for r, values in enumerate(zip(*(frame[f] for f in fields), cells, links), start=HEADER_ROW + 1):
        *data, cell_ref, link = values
        for j, value in enumerate(data, start=1):
            if j == 4:
                ws.cell(r, j, None if pd.isna(value) else int(value))
                continue
            c = ws.cell(r, j)
            c.value = _text(value)
            c.data_type = "s"
        if link:
            c = ws.cell(r, 9)
            c.value = f"{data[2]}!{cell_ref or 'A1'}"
            c.data_type = "s"
            c.hyperlink = Hyperlink(ref=c.coordinate, location=link)
            c.font = Font(color="0563C1", underline="single")
    last = max(r, HEADER_ROW + 1)
    ref = f"A{HEADER_ROW}:I{last}"
    table = Table(displayName="Findings", ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    for severity, colour in FILLS.items():
        fill = PatternFill("solid", start_color=colour, end_color=colour)
        ws.conditional_formatting.add(f"B{HEADER_ROW + 1}:B{last}", CellIsRule(operator="equal", formula=[f'"{severity}"'], fill=fill))
