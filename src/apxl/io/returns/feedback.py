"""The feedback workbook sent back to a school: its own rows as it sent them, each with its status and findings beside it."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo

from apxl.core.tables import SHEETS, header_lookup, norm_header
from apxl.io.returns.cells import write
from apxl.io.returns.ingest import ACCEPTED, CORRECT, KNOWN, REPEATED, IngestResult
from apxl.io.safe_save import atomic_target

FILLS = {"error": "FFC7CE", "warning": "FFEB9C", "info": "DDEBF7"}
STATUS_FILLS = {ACCEPTED: "C6EFCE", KNOWN: "DDEBF7", REPEATED: "EDEDED", CORRECT: "FFC7CE"}
_RANK = {"error": 0, "warning": 1, "info": 2}
FINDING_HEADERS = ["Rule", "Severity", "Sheet", "Row", "Column", "Key", "Value", "Message"]
_WHAT_TO_DO = [
    "Rows marked 'Needs correction' were not added to the LA's register: correct the cells highlighted red and send the return again.",
    "Rows marked 'Accepted: new placement' are now on the LA's register; the Placement ID beside them is the one to use from now on.",
    "Rows marked 'Already on the register' were matched to a placement the LA knows; any value that differs is listed (RET-005): tell the AP team which is right.",
    "Warnings are about the placement itself (for example registration law or missing review dates): please act on them, but they did not stop the row being recorded.",
]


def default_feedback_path(return_path: Path, folder: Path | None = None) -> Path:
    """``100001_return.xlsx`` -> ``100001_return-feedback.xlsx`` (in ``folder`` when given, so it never lands among the returns)."""
    name = f"{return_path.stem}-feedback.xlsx"
    return (folder / name) if folder is not None else return_path.with_name(name)


def write_feedback(result: IngestResult, output: str | Path) -> Path:
    """Write the school's feedback workbook to ``output`` (atomically); returns the path."""
    output = Path(output)
    wb = Workbook()
    ws = wb.active
    ws.title = "Feedback"
    _summary(ws, result)
    _rows_sheet(wb.create_sheet("Your rows"), result)
    _findings_sheet(wb.create_sheet("Findings"), result)
    wb.properties.creator = "apxl"
    with atomic_target(output) as tmp:
        wb.save(tmp)
    return output


def _summary(ws, result: IngestResult) -> None:
    p, s = result.prepared, result.summary()
    ws["A1"] = "Feedback on your alternative provision return"
    ws["A1"].font = Font(bold=True, size=14)
    who = f"School {p.school_urn}" if p.school_urn else "School (URN not given)"
    write(ws["A2"], f"{who}; return for {_month(p.month)}; file {p.file.path.name}; received {result.received:%d/%m/%Y}.")
    counts = s["findings"]
    lines = [
        ("Rows in your return", s["rows"]),
        ("Accepted: new placements added to the register", s["accepted"]),
        ("Already on the register", s["already_on_register"]),
        ("Repeated in the return (counted once)", s["repeated"]),
        ("Needs correction (not added)", s["needs_correction"]),
        ("Findings: errors", counts["error"]),
        ("Findings: warnings", counts["warning"]),
        ("Findings: information", counts["info"]),
    ]
    for r, (label, value) in enumerate(lines, start=4):
        ws.cell(r, 1, label)
        ws.cell(r, 2, value)
    r = 4 + len(lines) + 1
    ws.cell(r, 1, "What to do").font = Font(bold=True)
    for i, text in enumerate(_WHAT_TO_DO, start=r + 1):
        ws.cell(i, 1, text)
    ws.column_dimensions["A"].width = 60
    ws.column_dimensions["B"].width = 12


def _month(month: str | None) -> str:
    if not month:
        return "the month (not stated)"
    try:
        return datetime.strptime(month, "%Y-%m").strftime("%B %Y")
    except ValueError:
        return month


def _rows_sheet(ws, result: IngestResult) -> None:
    """The school's rows exactly as sent (values typed safely), with status and findings in the first and last columns."""
    p = result.prepared
    raw = p.file.placements
    lookup = header_lookup(SHEETS["placements"].model)
    field_pos: dict[str, int] = {}
    for i, h in enumerate(raw.headers):
        f = lookup.get(norm_header(h))
        if f and f not in field_pos:
            field_pos[f] = i
    header_to_field = {h: f for f, h in p.placements.headers.items()}
    lead = ["Row in your return", "Status", "Placement ID on the register"]
    heads = lead + list(raw.headers) + ["Findings"]
    for j, h in enumerate(heads, start=1):
        write(ws.cell(1, j), h).font = Font(bold=True)
    findings = result.report.frame
    mine = findings[(findings["sheet"] == p.placements.sheet) & findings["row"].notna()]
    by_row = {int(r): g for r, g in mine.groupby("row")}
    rows = result.rows
    for out_r, (excel_row, values) in enumerate(raw.frame.iterrows(), start=2):
        excel_row = int(excel_row)
        status = rows.at[excel_row, "status"] if excel_row in rows.index else ""
        ws.cell(out_r, 1, excel_row)
        write(ws.cell(out_r, 2), status)
        if status in STATUS_FILLS:
            ws.cell(out_r, 2).fill = PatternFill("solid", start_color=STATUS_FILLS[status], end_color=STATUS_FILLS[status])
        write(ws.cell(out_r, 3), rows.at[excel_row, "placement_id"] if excel_row in rows.index else None)
        for j, value in enumerate(values.tolist(), start=len(lead) + 1):
            write(ws.cell(out_r, j), value)
        group = by_row.get(excel_row)
        if group is None:
            continue
        # Highlight each cell with a finding in its worst severity; list every finding in the last column.
        worst: dict[int, str] = {}
        for rec in group.itertuples(index=False):
            field = header_to_field.get(rec.column)
            if field in field_pos:
                j = field_pos[field] + len(lead) + 1
                if j not in worst or _RANK[rec.severity] < _RANK[worst[j]]:
                    worst[j] = rec.severity
        for j, severity in worst.items():
            ws.cell(out_r, j).fill = PatternFill("solid", start_color=FILLS[severity], end_color=FILLS[severity])
        text = "\n".join(f"{rec.rule_id} ({rec.severity}) {rec.column or ''}: {rec.message}" for rec in group.itertuples(index=False))
        cell = write(ws.cell(out_r, len(heads)), text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for j in range(1, len(heads) + 1):
        ws.column_dimensions[get_column_letter(j)].width = 14
    ws.column_dimensions["B"].width = 24
    ws.column_dimensions["C"].width = 24
    ws.column_dimensions[get_column_letter(len(heads))].width = 100
    ws.freeze_panes = "D2"


def _findings_sheet(ws, result: IngestResult) -> None:
    for j, h in enumerate(FINDING_HEADERS, start=1):
        ws.cell(1, j, h).font = Font(bold=True)
    frame = result.report.frame
    for r, rec in enumerate(frame.itertuples(index=False), start=2):
        for j, value in enumerate((rec.rule_id, rec.severity, rec.sheet, rec.row, rec.column, rec.key, rec.value, rec.message), start=1):
            write(ws.cell(r, j), None if (value is None or (not isinstance(value, str) and pd.isna(value))) else (int(value) if j == 4 else value))
        fill = FILLS.get(rec.severity)
        if fill:
            ws.cell(r, 2).fill = PatternFill("solid", start_color=fill, end_color=fill)
    last = max(2, len(frame) + 1)
    table = Table(displayName="Findings", ref=f"A1:H{last}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    ws.add_table(table)
    for j, width in enumerate((10, 10, 14, 7, 26, 24, 22, 120), start=1):
        ws.column_dimensions[get_column_letter(j)].width = width
    ws.freeze_panes = "A2"


__all__ = ["write_feedback", "default_feedback_path"]
