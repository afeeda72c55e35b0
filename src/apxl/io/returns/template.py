"""The school return template: a workbook a school fills in each month, pre-filled with the placements the LA knows.

Schools commission much AP themselves; the LA only sees it if they tell it (seed
003_57d480e12197286d.txt §6.1d: schools keep a full record of their placements; §11.5: one register
of every child in AP; seed 002_f01ccf5f4a336bf1.txt action 1; seed 001_1b4d944cfdd0b4c6.txt
"Working in partnership with schools"). The template asks for exactly the register's Placements
columns, so a return is checked by the same rules, plus an attendance grid for the month's
off-site sessions (never pre-filled: seed 003 §8.14).
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from apxl.core.calendar import SchoolCalendar
from apxl.core.costing import weekday_mask
from apxl.core.reconcile import expected_in_returns, month_bounds
from apxl.core.register import Register
from apxl.errors import ApxlError
from apxl.io import guide
from apxl.io.returns.cells import write
from apxl.io.returns.read import RETURN_INFO_SHEET
from apxl.io.safe_save import atomic_target
from apxl.io.template import PROVIDER_IDS, list_validation, column_formats

TEMPLATE_VERSION = "1"
EXTRA_COLUMNS = ("Confirmed by school (Y/N)", "School comments")
HEADER_ROW = 4  # two title rows and a blank row above the header, as schools' own sheets often have
GRID_HEADER_ROW = 4  # attendance: dates on row 3 (each over its AM and PM columns), AM/PM on row 4
BLANK_ROWS = 30
GRID_BLANK_ROWS = 15
_TITLE = Font(bold=True, size=14)
_HEAD = Font(bold=True)
_HEAD_FILL = PatternFill("solid", start_color="D9E1F2", end_color="D9E1F2")
_KNOWN_FILL = PatternFill("solid", start_color="F2F2F2", end_color="F2F2F2")
_SCHEDULED = PatternFill("solid", start_color="E2EFDA", end_color="E2EFDA")
_OPEN = Protection(locked=False)
_CODE_LIST = "ReturnAttendanceCodes"
_YN = '"Y,N"'


def template_path(folder: Path, school_urn: str, month: str) -> Path:
    return folder / f"return_{school_urn}_{month}.xlsx"


def schools(register: Register) -> list[str]:
    """Every home school URN on the register, in order: each gets a template with --all-schools."""
    urns = register.placements["home_school_urn"].dropna().astype("str")
    return sorted(set(urns))


def build_return_template(register: Register, school_urn: str, month: str, *, issued: date, code_set=None) -> Workbook:
    """The return workbook for one school and month (``issued`` is the date printed on it; no clock is read)."""
    start, end = month_bounds(month)
    pl = register.placements
    urn = str(school_urn).strip()
    mine = pl[(pl["home_school_urn"] == urn)]
    known = mine[expected_in_returns(mine, start, end)].sort_values(["start_date", "placement_id"], kind="stable")
    names = mine["home_school_name"].dropna()
    school_name = str(names.iloc[0]) if len(names) else None
    wb = Workbook()
    _instructions(wb.active, urn, school_name, month, issued, len(known))
    _placements(wb.create_sheet("Placements"), register, known, urn, school_name, month)
    days = SchoolCalendar.from_register(register).school_day_dates(start, end)
    _attendance(wb.create_sheet("Attendance"), known, days, month, code_set)
    _providers(wb, register)
    _lists(wb, code_set, start)
    _info(wb, urn, school_name, month, issued)
    wb.properties.creator = "apxl"
    wb.properties.title = f"AP return {urn} {month}"
    return wb


def write_return_template(register: Register, school_urn: str, month: str, output: str | Path, *, issued: date, code_set=None) -> Path:
    output = Path(output)
    if output.suffix.lower() != ".xlsx":
        raise ApxlError(f"A school return template must be an .xlsx file, not {output.name}.")
    wb = build_return_template(register, school_urn, month, issued=issued, code_set=code_set)
    with atomic_target(output) as tmp:
        wb.save(tmp)
    return output


def _month_text(month: str) -> str:
    return month_bounds(month)[0].strftime("%B %Y")


def _instructions(ws, urn: str, name: str | None, month: str, issued: date, n_known: int) -> None:
    ws.title = "Instructions"
    lines = [
        (f"Alternative provision return: {name or 'school'} (URN {urn}), {_month_text(month)}", _TITLE),
        (f"Issued {issued:%d/%m/%Y} by the local authority's AP team.", None),
        ("", None),
        ("Why: the LA keeps one register of every child in alternative provision, including placements your school arranges "
         "(Hillingdon AP policy §6.1d and §11.5; Solihull AP strategy action 1). Your return is checked by the same rules as the LA's register.", None),
        ("", None),
        ("What to do", _HEAD),
        (f"1. Placements sheet: the first {n_known} row(s) are the placements the LA already has for your pupils this month. "
         "Check every value, correct anything wrong, and put Y in 'Confirmed by school (Y/N)'.", None),
        ("2. Add every other placement your school arranged that ran this month, one row each, in the blank rows below "
         "(leave Placement ID blank for a new placement: the LA gives it one).", None),
        ("3. Attendance sheet: record the code your register shows for each off-site session (shaded cells are the days the LA expects "
         "the pupil at the provider). Record what happened, never what was planned: leave future sessions blank.", None),
        ("4. Save as 'Excel Workbook (*.xlsx)' and return it. Do not add macros, links to other files or embedded objects: "
         "such files are refused unread.", None),
        ("", None),
        ("What to enter in each column", _HEAD),
    ]
    notes = guide.COLUMN_NOTES.get("placements", {})
    for cf in column_formats("placements"):
        lines.append((f"{cf.header}: {notes.get(cf.field, '')}", None))
    lines.append((f"{EXTRA_COLUMNS[0]}: Y when you have checked a row the LA pre-filled.", None))
    lines.append((f"{EXTRA_COLUMNS[1]}: anything the AP team should know (e.g. a provider not yet in the LA's list).", None))
    for r, (text, font) in enumerate(lines, start=1):
        cell = write(ws.cell(r, 1), text)
        if font is not None:
            cell.font = font
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width = 130
    ws.protection.sheet = True


def _protect(ws) -> None:
    """Headers locked so the columns stay recognisable; rows may still be added, sorted and filtered."""
    p = ws.protection
    p.sheet = True
    p.formatColumns = p.formatRows = p.formatCells = False
    p.insertRows = p.deleteRows = p.sort = p.autoFilter = False


def _placements(ws, register: Register, known: pd.DataFrame, urn: str, name: str | None, month: str) -> None:
    formats = column_formats("placements")
    heads = [cf.header for cf in formats] + list(EXTRA_COLUMNS)
    last_col = get_column_letter(len(heads))
    write(ws["A1"], f"{name or 'School'} (URN {urn}): alternative provision placements, {_month_text(month)}").font = _TITLE
    ws.merge_cells(f"A1:{last_col}1")
    write(ws["A2"], "Check the pre-filled rows, add every other placement your school arranged, then save as .xlsx and return this file.")
    ws.merge_cells(f"A2:{last_col}2")
    for j, h in enumerate(heads, start=1):
        cell = write(ws.cell(HEADER_ROW, j), h)
        cell.font, cell.fill = _HEAD, _HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    first = HEADER_ROW + 1
    last = first + len(known) + BLANK_ROWS - 1
    for i, rec in enumerate(known.to_dict("records")):
        r = first + i
        for j, cf in enumerate(formats, start=1):
            write(ws.cell(r, j), rec.get(cf.field), yn=True)
            ws.cell(r, j).fill = _KNOWN_FILL
    for j, cf in enumerate(formats + [None] * len(EXTRA_COLUMNS), start=1):
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = cf.width if cf is not None else 26
        for r in range(first, last + 1):
            cell = ws.cell(r, j)
            cell.protection = _OPEN
            if cf is not None and cf.number_format and not isinstance(cell.value, str):
                cell.number_format = cf.number_format
        if cf is not None and cf.choices:
            ws.add_data_validation(list_validation(cf, f"{letter}{first}:{letter}{last}"))
    confirm = get_column_letter(len(formats) + 1)
    dv = DataValidation(type="list", formula1=_YN, allow_blank=True, showErrorMessage=True, errorTitle="Confirmed", error="Enter Y or N.")
    dv.add(f"{confirm}{first}:{confirm}{last}")
    ws.add_data_validation(dv)
    ws.freeze_panes = f"C{first}"
    ws.row_dimensions[HEADER_ROW].height = 45
    _protect(ws)


def _scheduled(known: pd.DataFrame, days: pd.DatetimeIndex, end: pd.Timestamp) -> pd.DataFrame:
    """For each pupil (UPN) and school day of the month: is a placement scheduled that day?"""
    if known.empty or len(days) == 0:
        return pd.DataFrame(index=pd.Index([], name="upn"), columns=days, dtype=bool)
    starts = known["start_date"].to_numpy(dtype="datetime64[ns]")[:, None]
    stops = known["end_date"].fillna(end).to_numpy(dtype="datetime64[ns]")[:, None]
    d = days.to_numpy(dtype="datetime64[ns]")[None, :]
    on_weekday = weekday_mask(known["days"])[:, days.dayofweek.to_numpy()]
    running = (d >= starts) & (d <= stops) & on_weekday
    return pd.DataFrame(running, index=known["upn"].to_numpy(), columns=days).groupby(level=0, sort=False).any()


def _attendance(ws, known: pd.DataFrame, days: pd.DatetimeIndex, month: str, code_set) -> None:
    ident = ["UPN", "Surname", "Forename", "Placement ID(s)"]
    n_id = len(ident)
    write(ws["A1"], f"Off-site sessions, {_month_text(month)}: the code your register shows for each session").font = _TITLE
    write(ws["A2"], "Shaded cells are the days the LA expects the pupil at the provider. Use B, D, K or an absence code; never fill in future sessions.")
    for j, h in enumerate(ident, start=1):
        cell = write(ws.cell(GRID_HEADER_ROW, j), h)
        cell.font, cell.fill = _HEAD, _HEAD_FILL
    for i, day in enumerate(days):
        col = n_id + 1 + 2 * i
        top = ws.cell(GRID_HEADER_ROW - 1, col)
        top.value = day.to_pydatetime()
        top.number_format = "ddd dd/mm/yyyy"
        top.font, top.fill = _HEAD, _HEAD_FILL
        top.alignment = Alignment(horizontal="center")
        ws.merge_cells(start_row=GRID_HEADER_ROW - 1, start_column=col, end_row=GRID_HEADER_ROW - 1, end_column=col + 1)
        for k, half in enumerate(("AM", "PM")):
            cell = write(ws.cell(GRID_HEADER_ROW, col + k), half)
            cell.font, cell.fill = _HEAD, _HEAD_FILL
            ws.column_dimensions[get_column_letter(col + k)].width = 5.5
    for j, width in enumerate((16, 16, 14, 22), start=1):
        ws.column_dimensions[get_column_letter(j)].width = width
    plan = _scheduled(known, days, month_bounds(month)[1])
    pupils = known.drop_duplicates("upn")
    ids = known.groupby("upn", sort=False)["placement_id"].agg(lambda s: ", ".join(s.astype("str")))
    first = GRID_HEADER_ROW + 1
    last_col = n_id + 2 * len(days)
    for i, rec in enumerate(pupils.to_dict("records")):
        r = first + i
        for j, value in enumerate((rec["upn"], rec["surname"], rec["forename"], ids.get(rec["upn"])), start=1):
            write(ws.cell(r, j), value)
        if rec["upn"] in plan.index:
            flags = np.repeat(plan.loc[rec["upn"]].to_numpy(dtype=bool), 2)
            for k in np.flatnonzero(flags):
                ws.cell(r, n_id + 1 + int(k)).fill = _SCHEDULED
    last = first + len(pupils) + GRID_BLANK_ROWS - 1
    for r in range(first, last + 1):
        for c in range(1, last_col + 1):
            if r >= first + len(pupils) or c > n_id:  # known pupils' names stay as the LA has them
                ws.cell(r, c).protection = _OPEN
    if len(days):
        dv = DataValidation(type="list", formula1=_CODE_LIST, allow_blank=True, showErrorMessage=True, errorStyle="warning",
                            errorTitle="Attendance code", error="This is not an attendance code for this month: check it against your register.")
        dv.add(f"{get_column_letter(n_id + 1)}{first}:{get_column_letter(last_col)}{last}")
        ws.add_data_validation(dv)
    ws.freeze_panes = f"{get_column_letter(n_id + 1)}{first}"
    _protect(ws)


def _providers(wb: Workbook, register: Register) -> None:
    ws = wb.create_sheet("Provider list")
    heads = ["Provider ID", "Name", "Type", "Registered (Y/N)", "QA status"]
    for j, h in enumerate(heads, start=1):
        cell = write(ws.cell(1, j), h)
        cell.font, cell.fill = _HEAD, _HEAD_FILL
    pv = register.providers.dropna(subset=["provider_id"]).sort_values("provider_id", kind="stable")
    for r, rec in enumerate(pv.to_dict("records"), start=2):
        for j, f in enumerate(("provider_id", "name", "type", "registered", "qa_status"), start=1):
            write(ws.cell(r, j), rec.get(f), yn=True)
    for j, width in enumerate((14, 36, 20, 16, 14), start=1):
        ws.column_dimensions[get_column_letter(j)].width = width
    last = max(2, len(pv) + 1)
    wb.defined_names[PROVIDER_IDS] = DefinedName(PROVIDER_IDS, attr_text=f"'Provider list'!$A$2:$A${last}")
    ws.protection.sheet = True


def _codes(code_set, start: pd.Timestamp) -> list[str]:
    if code_set is None:
        from apxl.io.attendance import load_code_set

        code_set = load_code_set()
    return [str(c) for c in code_set.on(start)["code"]]


def _lists(wb: Workbook, code_set, start: pd.Timestamp) -> None:
    ws = wb.create_sheet("Lists")
    codes = _codes(code_set, start)
    write(ws.cell(1, 1), "Attendance codes in force")
    for r, code in enumerate(codes, start=2):
        write(ws.cell(r, 1), code)
    wb.defined_names[_CODE_LIST] = DefinedName(_CODE_LIST, attr_text=f"Lists!$A$2:$A${max(2, len(codes) + 1)}")
    ws.sheet_state = "hidden"
    ws.protection.sheet = True


def _info(wb: Workbook, urn: str, name: str | None, month: str, issued: date) -> None:
    ws = wb.create_sheet(RETURN_INFO_SHEET)
    rows = [("Name", "Value"), ("Return type", "apxl school AP return"), ("Template version", TEMPLATE_VERSION), ("School URN", urn),
            ("School name", name), ("Month", month), ("Issued", issued.isoformat())]
    for r, (k, v) in enumerate(rows, start=1):
        write(ws.cell(r, 1), k)
        write(ws.cell(r, 2), v)
    ws.sheet_state = "hidden"
    ws.protection.sheet = True


__all__ = ["build_return_template", "write_return_template", "template_path", "schools", "TEMPLATE_VERSION", "EXTRA_COLUMNS"]
