"""An open workbook (xlwings Book: desktop Excel, xlwings Server or Lite) as a Register, and findings written back into it.

The same layout as the file writer (apxl.io.writer): a Findings sheet with the same columns and
colours, the offending cells filled by severity with a note giving rule ids and messages.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from apxl.core.findings import Report
from apxl.core.parse import parse_register
from apxl.core.register import Register
from apxl.core.tables import SHEETS, header_lookup
from apxl.errors import RegisterError
from apxl.io import reader as rd
from apxl.io.locate import link_targets, locate, plan_marks
from apxl.io.writer import FILLS, FINDINGS_SHEET

# The Findings sheet's layout, as the file writer lays it out (apxl.io.writer).
COLUMNS = ["Rule", "Severity", "Sheet", "Row", "Column", "Key", "Value", "Message", "Link"]
WIDTHS = [10, 10, 16, 7, 26, 16, 24, 110, 22]
HEADER_ROW = 5

SUMMARY_PREFIXES = ("Provider summary", "Funding summary")
MAX_MARKS = 2_000  # cells highlighted through Office.js: each is a round trip in Excel


def sheet_grid(sheet) -> list[list[Any]]:
    """A sheet's cells from A1 to the last used cell, as rows of values (None for blank)."""
    used = sheet.used_range
    last = used.last_cell
    values = sheet.range((1, 1), (last.row, last.column)).options(ndim=2).value
    return [list(r) for r in (values or [])]


def read_book(book) -> Register:
    """The register in an open workbook, located and typed exactly as ``apxl.io.reader`` does for files."""
    names = [s.name for s in book.sheets]
    grids: dict[str, list[list[Any]]] = {}
    raws: dict[str, Any] = {}
    missing: dict[str, tuple[str, str]] = {}
    for name, spec in SHEETS.items():
        sheet = rd.find_sheet(names, name)
        if sheet is None:
            raws[name] = None
            if name == "placements":
                raise RegisterError("This workbook has no Placements sheet, so there is no register to check.")
            if name in rd._MISSING_WHY:
                missing[name] = (rd._MISSING_WHY[name], rd._MISSING_SEVERITY[name])
            continue
        if sheet not in grids:
            grids[sheet] = sheet_grid(book.sheets[sheet])
        other = header_lookup(SHEETS["closures"].model) if name == "terms" else None
        raw = rd.table_from_grid(grids[sheet], sheet, header_lookup(spec.model), other)
        if name == "closures" and raw is not None and rd._score(raw.headers, header_lookup(SHEETS["terms"].model)) >= 2:
            raw = None
        raws[name] = raw
        if raw is None and name in {"placements", "providers", "attendance", "terms"}:
            why = f"The {spec.sheet} sheet has no table with the expected headers (e.g. {', '.join(rd._first_headers(spec.model)[:3])})."
            if name == "placements":
                raise RegisterError(why)
            missing[name] = (why, rd._MISSING_SEVERITY.get(name, "error"))
    wide = None
    attendance_sheet = rd.find_sheet(names, "attendance")
    if raws.get("attendance") is None and attendance_sheet:
        from apxl.io.attendance import wide_from_grid

        wide = wide_from_grid(grids.get(attendance_sheet) or sheet_grid(book.sheets[attendance_sheet]), attendance_sheet)
        if wide is not None:
            missing.pop("attendance", None)
    register = parse_register(raws, source=book.name, missing=missing)
    if wide is not None:
        register.tables["attendance"], found = wide
        if len(found):
            register.findings = pd.concat([f for f in (register.findings, found) if len(f)], ignore_index=True)
    return register


def _delete_sheet(book, name: str) -> bool:
    for sheet in book.sheets:
        if sheet.name == name:
            sheet.delete()
            return True
    return False


def _hex(colour: str) -> str:
    return "#" + colour[-6:]


def _note(cell, text: str | None) -> None:
    """Add (or with None remove) a cell note; hosts without notes (older Office.js) keep just the fill."""
    try:
        existing = cell.note
        if text is None:
            if existing is not None:
                existing.delete()
        elif existing is not None:
            existing.text = text
        else:
            cell.add_note(text) if hasattr(cell, "add_note") else setattr(cell.note, "text", text)
    except (NotImplementedError, AttributeError):
        pass


def clear_marks(book, register: Register | None = None) -> int:
    """Remove the highlights listed on an existing Findings sheet (its Sheet, Row and Column columns)."""
    if FINDINGS_SHEET not in [s.name for s in book.sheets]:
        return 0
    grid = sheet_grid(book.sheets[FINDINGS_SHEET])
    if len(grid) < HEADER_ROW:
        return 0
    head = [str(h or "") for h in grid[HEADER_ROW - 1]]
    if head[: len(COLUMNS) - 1] != COLUMNS[:-1]:
        return 0
    rows = [dict(zip(COLUMNS, r)) for r in grid[HEADER_ROW:] if any(v not in (None, "") for v in r)]
    if not rows:
        return 0
    frame = pd.DataFrame({
        "rule_id": [r["Rule"] for r in rows], "severity": [r["Severity"] for r in rows], "sheet": [r["Sheet"] for r in rows],
        "row": pd.to_numeric(pd.Series([r["Row"] for r in rows]), errors="coerce"), "column": [r["Column"] for r in rows],
        "message": [r["Message"] for r in rows],
    })
    register = register or read_book(book)
    names = {s.name for s in book.sheets}
    cells = locate(register, frame, names)
    done = 0
    for sheet, cell in {(s, c) for s, c in zip(frame["sheet"], cells) if c}:
        target = book.sheets[sheet][cell]
        target.color = None
        _note(target, None)
        done += 1
    return done


def write_findings(book, register: Register, report: Report, *, max_marks: int = MAX_MARKS) -> int:
    """Replace the Findings sheet and highlights in ``book``; returns how many cells were highlighted."""
    clear_marks(book, register)
    _delete_sheet(book, FINDINGS_SHEET)
    frame = report.frame
    names = {s.name for s in book.sheets}
    cells = locate(register, frame, names)
    links = link_targets(frame, cells, names)
    plan = plan_marks(frame, cells, max_marks)
    for mark in plan.marks:
        target = book.sheets[mark.sheet][mark.cell]
        target.color = _hex(FILLS[mark.severity])
        _note(target, mark.comment)

    ws = book.sheets.add(FINDINGS_SHEET, after=book.sheets[len(book.sheets) - 1])
    counts = report.counts
    as_of = report.as_of.strftime("%d/%m/%Y") if report.as_of else "unknown"
    head = [
        ["apxl findings"],
        [f"Checked as of {as_of} under the {report.policy_name or 'default'} policy on {datetime.now():%d/%m/%Y %H:%M}."],
        [f"{counts['total']} findings: {counts['error']} errors, {counts['warning']} warnings, {counts['info']} info."],
        [f"Highlighted the {len(plan.marks):,} worst of {plan.total_cells:,} cells with findings; this table lists them all." if plan.capped else None],
    ]
    ws["A1"].value = head
    ws["A1"].font.bold = True
    body = [list(COLUMNS)]
    fields = ["rule_id", "severity", "sheet", "row", "column", "key", "value", "message"]
    for values in zip(*(frame[f] for f in fields), cells, links):
        *data, cell_ref, link = values
        row = [None if (v is None or (not isinstance(v, str) and pd.isna(v))) else (int(v) if j == 3 else _safe_text(v)) for j, v in enumerate(data)]
        row.append(f"{data[2]}!{cell_ref or 'A1'}" if link else None)
        body.append(row)
    if len(body) == 1:
        body.append([None] * len(COLUMNS))
    area = ws.range((HEADER_ROW, 1), (HEADER_ROW + len(body) - 1, len(COLUMNS)))
    area.value = body
    for r, link in enumerate(links, start=HEADER_ROW + 1):
        if link:
            ws.range((r, len(COLUMNS))).add_hyperlink("#" + link, body[r - HEADER_ROW][-1])
    ws.tables.add(area, name="Findings", table_style_name="TableStyleMedium2")
    for j, width in enumerate(WIDTHS, start=1):
        ws.range((HEADER_ROW, j)).column_width = width * 6 if _points(book) else width
    for r, severity in enumerate(frame["severity"], start=HEADER_ROW + 1):
        if severity in FILLS:
            ws.range((r, 2)).color = _hex(FILLS[severity])
    ws.activate()
    return len(plan.marks)


def _safe_text(value: Any) -> str:
    # Findings quote user input: text starting =, +, -, @ must never become a formula when written.
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _points(book) -> bool:
    """Office.js measures column widths in points; desktop Excel in characters."""
    try:
        return getattr(book.api, "get", lambda *_: None)("client") == "Office.js"
    except Exception:  # noqa: BLE001
        return False


def delete_output(book) -> list[str]:
    """Remove apxl's own sheets (Findings, Provider/Funding summary, School returns ...) and the highlights it added."""
    from apxl.excel.returns import SHEETS as RETURNS_SHEETS, is_apxl_sheet

    clear_marks(book)
    removed = []
    for sheet in list(book.sheets):
        if sheet.name == FINDINGS_SHEET or sheet.name.startswith(SUMMARY_PREFIXES) or (sheet.name in RETURNS_SHEETS and is_apxl_sheet(sheet)):
            removed.append(sheet.name)
    for name in removed:
        _delete_sheet(book, name)
    return removed


def write_summaries(book, summaries) -> list[str]:
    """Write apxl.core.summaries Summary sheets into ``book`` as values and Excel tables (replacing earlier ones)."""
    written = []
    for summary in summaries:
        _delete_sheet(book, summary.sheet)
        ws = book.sheets.add(summary.sheet, after=book.sheets[len(book.sheets) - 1])
        lines = [[summary.title]] + [[n] for n in summary.notes]
        ws["A1"].value = lines
        ws["A1"].font.bold = True
        top = len(lines) + 2
        for n, table in enumerate(summary.tables):
            frame = table.frame
            ws.range((top, 1)).value = table.title
            ws.range((top, 1)).font.bold = True
            body = [list(map(str, frame.columns))] + [[_cell(v) for v in row] for row in frame.itertuples(index=False)]
            if len(body) == 1:
                body.append([None] * len(frame.columns))
            if table.total_row:
                body.append([_cell(table.total_row.get(c)) for c in frame.columns])
            area = ws.range((top + 1, 1), (top + len(body), max(1, len(frame.columns))))
            area.value = body
            ws.tables.add(area, name=f"{table.name}_{len(written)}_{n}", table_style_name="TableStyleMedium2")
            for j, column in enumerate(frame.columns, start=1):
                if column in table.money:
                    ws.range((top + 2, j), (top + len(body), j)).number_format = "£#,##0.00"
            top += len(body) + 3
        written.append(summary.sheet)
    return written


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):
        return value.item()
    return _safe_text(value) if isinstance(value, str) else value
