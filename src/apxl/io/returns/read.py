"""Reading a checked school return: find its placements and attendance, whatever the school did to the layout."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from python_calamine import CalamineWorkbook

from apxl.core.findings import RULE_OUTPUT_COLUMNS
from apxl.core.parse import is_blank, parse_table
from apxl.core.register import RawTable, Table
from apxl.core.tables import SHEETS, header_lookup, norm_header
from apxl.core.vocab import norm
from apxl.errors import ApxlError
from apxl.io.attendance import wide_from_grid
from apxl.io.reader import find_sheet, table_from_grid
from apxl.io.returns.safety import DEFAULT_LIMITS, Inspection, Limits, UnsafeReturnError, check_return_file

RETURN_INFO_SHEET = "Return info"
NOT_PLACEMENTS = {norm(n) for n in ("Instructions", "Provider list", "Lists", RETURN_INFO_SHEET, "Attendance", "Feedback", "Findings")}
_MAX_MERGED_FILL = 20000  # a merged range bigger than this is decoration, not data: only its first cell counts
NOTE_COLUMNS = ["rule_id", *RULE_OUTPUT_COLUMNS]


@dataclass
class ReturnInfo:
    """Who sent the return and for which month: from the template's Return info sheet or given by the caller."""

    school_urn: str | None = None
    school_name: str | None = None
    month: str | None = None
    template_version: str | None = None


@dataclass
class ReturnFile:
    """A school return as found: raw placements and attendance (long form) ready for apxl.core.parse."""

    path: Path
    inspection: Inspection
    info: ReturnInfo
    placements: RawTable
    attendance: Table | None = None  # typed by apxl.io.attendance (a grid keeps each mark's cell reference)
    attendance_findings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=NOTE_COLUMNS))


def read_return(path: str | Path, *, limits: Limits = DEFAULT_LIMITS, school: str | None = None, month: str | None = None) -> ReturnFile:
    """Check the file (refusing anything unsafe), then read its cells.

    Only a file whose every XML part has passed defusedxml (no DTD, so no entities or external
    references anywhere: apxl.io.returns.safety) reaches the cell reader, python-calamine, whose XML
    reader expands no entities of its own.
    """
    path = Path(path)
    inspection = check_return_file(path, limits)
    grids = read_grids(path, limits)
    info = _info(grids)
    if school:
        info.school_urn = str(school).strip()
    if month:
        info.month = month
    placements = _placements(path, grids)
    attendance, attendance_findings = _attendance(grids)
    if info.school_urn is None:
        info.school_urn = _infer_school(placements) or urn_from_name(path)
    return ReturnFile(path=path, inspection=inspection, info=info, placements=placements, attendance=attendance, attendance_findings=attendance_findings)


def read_grids(path: Path, limits: Limits = DEFAULT_LIMITS) -> dict[str, list[list[Any]]]:
    """Every sheet's cells from A1 (a checked file only); merged cells carry their value into every cell they cover."""
    try:
        book = CalamineWorkbook.from_path(str(path))
        return {name: _grid(book.get_sheet_by_name(name), limits) for name in book.sheet_names}
    except UnsafeReturnError:
        raise
    except Exception as exc:  # calamine raises several types on damaged parts
        raise UnsafeReturnError("corrupt", f"{path.name} was refused: it cannot be read as a workbook ({type(exc).__name__}); save it again as .xlsx and resend.") from None


def _grid(sheet, limits: Limits) -> list[list[Any]]:
    if sheet.height > limits.max_rows or sheet.width > limits.max_cols:
        raise UnsafeReturnError("too-many-rows", f"The sheet '{sheet.name}' has data beyond row {limits.max_rows} or column {limits.max_cols}: send only the return's rows.")
    rows = sheet.to_python(skip_empty_area=False)
    grid = [[_clean(v) for v in row] for row in rows]
    for (r0, c0), (r1, c1) in sheet.merged_cell_ranges:
        if r0 >= len(grid) or c0 >= len(grid[r0]):
            continue
        top = grid[r0][c0]
        if top is None or (r1 - r0 + 1) * (c1 - c0 + 1) > _MAX_MERGED_FILL:
            continue
        for r in range(r0, min(r1, len(grid) - 1) + 1):
            row = grid[r]
            for c in range(c0, min(c1, len(row) - 1) + 1):
                if row[c] is None:
                    row[c] = top
    while grid and all(v is None for v in grid[-1]):
        grid.pop()
    return grid


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = value.replace("\xa0", " ")
        return value if value.strip() else None
    return value


def _info(grids: dict[str, list[list[Any]]]) -> ReturnInfo:
    sheet = next((n for n in grids if norm(n) == norm(RETURN_INFO_SHEET)), None)
    info = ReturnInfo()
    if sheet is None:
        return info
    pairs = {norm(str(r[0])): r[1] for r in grids[sheet] if len(r) >= 2 and not is_blank(r[0]) and not is_blank(r[1])}
    text = lambda v: None if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip())  # noqa: E731
    info.school_urn = text(pairs.get("schoolurn"))
    info.school_name = text(pairs.get("schoolname"))
    info.month = text(pairs.get("month"))
    info.template_version = text(pairs.get("templateversion"))
    return info


def _placements(path: Path, grids: dict[str, list[list[Any]]]) -> RawTable:
    lookup = header_lookup(SHEETS["placements"].model)
    named = find_sheet(list(grids), "placements")
    candidates = [named] if named else []
    candidates += [n for n in grids if n != named and norm(n) not in NOT_PLACEMENTS]
    best: RawTable | None = None
    for sheet in candidates:
        raw = table_from_grid(grids[sheet], sheet, lookup, None) if grids[sheet] else None
        if raw is not None and (best is None or _matched(raw, lookup) > _matched(best, lookup)):
            best = raw
        if best is not None and sheet == named:
            break
    if best is None:
        raise ApxlError(f"{path.name} has no placements table: no sheet has a header row with columns such as Placement ID, UPN, Provider ID and Start date.")
    return best


def _matched(raw: RawTable, lookup: dict[str, str]) -> int:
    return len({lookup[norm_header(h)] for h in raw.headers if norm_header(h) in lookup})


def urn_from_name(path: Path) -> str | None:
    """A school URN (six or seven digits) in the file name, when there is exactly one: '100001_ashford.xlsx' -> '100001'."""
    found = set(re.findall(r"(?<!\d)(\d{6,7})(?!\d)", path.stem))
    return found.pop() if len(found) == 1 else None


def _infer_school(placements: RawTable) -> str | None:
    lookup = header_lookup(SHEETS["placements"].model)
    for pos, h in enumerate(placements.headers):
        if lookup.get(norm_header(h)) == "home_school_urn":
            urns = {re.sub(r"\s+", "", str(int(v) if isinstance(v, float) and v.is_integer() else v)) for v in placements.frame.iloc[:, pos] if not is_blank(v)}
            return urns.pop() if len(urns) == 1 else None
    return None


def _attendance(grids: dict[str, list[list[Any]]]) -> tuple[Table | None, pd.DataFrame]:
    """The school's attendance codes: a pupil-by-session grid (as the template has) or the contract's long table."""
    empty = pd.DataFrame(columns=NOTE_COLUMNS)
    sheet = find_sheet(list(grids), "attendance")
    if sheet is None or not grids[sheet]:
        return None, empty
    grid = grids[sheet]
    wide = wide_from_grid(grid, sheet)
    if wide is not None:
        table, found = wide
        return (table if len(table.frame) else None), found
    raw = table_from_grid(grid, sheet, header_lookup(SHEETS["attendance"].model), None)
    if raw is None:
        return None, empty
    return parse_table("attendance", raw)

