"""Read a register workbook into raw tables (indexed by Excel row) and type them with apxl.core.parse."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter
from python_calamine import CalamineWorkbook

from apxl.core.parse import parse_register
from apxl.core.register import RawTable, Register
from apxl.core.tables import SHEETS, header_lookup, norm_header
from apxl.core.vocab import norm
from apxl.errors import RegisterError

_OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
READABLE = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"}
_HEADER_SCAN_ROWS = 30  # a header row may sit below a title block, but not further down than this
# Sheets whose absence matters, and how much: without Providers most provider rules cannot run.
_MISSING_SEVERITY = {"providers": "error", "terms": "warning", "attendance": "info"}
_MISSING_WHY = {
    "providers": "There is no Providers sheet: provider checks (PLC-002, REG-*, PRV-*) cannot run. Add the provider directory.",
    "terms": "There is no Calendar sheet with term dates: school days are counted as weekdays less England bank holidays.",
    "attendance": "There is no Attendance sheet: attendance checks (ATT-*) did not run.",
}


def open_workbook(path: str | Path) -> CalamineWorkbook:
    path = Path(path)
    if not path.exists():
        raise RegisterError(f"The file {path} does not exist.")
    if path.suffix.lower() not in READABLE:
        raise RegisterError(f"{path.name} is not an Excel workbook (.xlsx, .xlsm, .xls, .xlsb or .ods).")
    if path.is_dir():
        raise RegisterError(f"{path} is a folder, not a workbook.")
    with path.open("rb") as fh:
        head = fh.read(8)
    if not head:
        raise RegisterError(f"{path.name} is empty.")
    if head == _OLE_MAGIC and path.suffix.lower() in {".xlsx", ".xlsm", ".xlsb"}:
        # Excel saves password-protected workbooks as an encrypted OLE container, not a zip.
        raise RegisterError(f"{path.name} is password-protected: save an unprotected copy and check that.")
    try:
        return CalamineWorkbook.from_path(str(path), load_tables=path.suffix.lower() in {".xlsx", ".xlsm"})
    except Exception as exc:  # calamine raises several types for corrupt files
        raise RegisterError(f"{path.name} cannot be opened as a workbook ({type(exc).__name__}): it may be corrupt or password-protected.") from None


def find_sheet(names: list[str], spec_name: str) -> str | None:
    """The workbook's sheet for a contract table, matching its name or aliases loosely (case, spaces, hyphens)."""
    spec = SHEETS[spec_name]
    wanted = [norm(spec.sheet), *(norm(a) for a in spec.sheet_aliases)]
    by_norm = {norm(n): n for n in names}
    for w in wanted:
        if w in by_norm:
            return by_norm[w]
    return None


def _score(cells: list[Any], lookup: dict[str, str]) -> int:
    return len({lookup[h] for h in (norm_header(c) for c in cells if isinstance(c, str) and c.strip()) if h in lookup})


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _to_frame(rows: list[list[Any]], first_row: int, headers: list[str]) -> pd.DataFrame:
    width = len(headers)
    if set(map(len, rows)) - {width}:  # rows of a scanned grid are padded or cut to the table; a ListObject's already fit
        rows = [(r + [None] * (width - len(r)))[:width] for r in rows]
    data = np.empty((len(rows), width), dtype=object)
    if len(rows) and width:
        data[:] = rows  # one C-level copy: building the frame row by row was a third of reading a year of attendance
    # Blanks found once on the array (calamine gives "" for empty cells), not through intermediate frames.
    blank = pd.isna(data) | (data == "")
    data[blank] = np.nan
    keep = ~blank.all(axis=1)  # blank rows inside a table are skipped, not reported
    index = pd.RangeIndex(first_row, first_row + len(data)).astype("int64")
    if not keep.all():
        data, index = data[keep], index[keep]
    return pd.DataFrame(data, columns=headers, dtype=object, index=index)


def _raw_from_block(sheet: str, header_row: int, col0: int, header_cells: list[Any], body: list[list[Any]]) -> RawTable:
    # Trim to the run of non-blank headers so a table beside another on the same sheet stays separate.
    width = len(header_cells)
    while width and _blank(header_cells[width - 1]):
        width -= 1
    headers = [str(h).strip() if not _blank(h) else f"(column {get_column_letter(col0 + i + 1)})" for i, h in enumerate(header_cells[:width])]
    letters = [get_column_letter(col0 + i + 1) for i in range(width)]
    frame = _to_frame(body, header_row + 1, headers)  # cut to ``width`` there
    return RawTable(sheet=sheet, header_row=header_row, headers=headers, letters=letters, frame=frame)


def _from_listobjects(book: CalamineWorkbook, sheet: str, lookup: dict[str, str], loaded: dict[str, Any] | None = None) -> RawTable | None:
    best, best_score = None, 0
    loaded = {} if loaded is None else loaded
    for name in book.table_names:
        if name not in loaded:
            # get_table_by_name reads the table's cells: once per workbook (``loaded``), not once per contract sheet.
            loaded[name] = book.get_table_by_name(name)
        table = loaded[name]
        if table.sheet != sheet:
            continue
        score = _score(table.columns, lookup)
        if score > best_score:
            best, best_score = table, score
    if best is None or best_score < 2:
        return None
    header_row = best.start[0]  # calamine's start is the first data row, 0-based: the header is the Excel row above
    return _raw_from_block(sheet, header_row, best.start[1], list(best.columns), best.to_python())


def table_from_grid(grid: list[list[Any]], sheet: str, lookup: dict[str, str], other: dict[str, str] | None) -> RawTable | None:
    """Find the header row by scanning (title rows above it are tolerated) and take the rows below it."""
    best_row, best_score = None, 1
    for i, row in enumerate(grid[:_HEADER_SCAN_ROWS]):
        score = _score(row, lookup)
        if score > best_score:
            best_row, best_score = i, score
    if best_row is None:
        return None
    header = grid[best_row]
    matched = [j for j, c in enumerate(header) if isinstance(c, str) and norm_header(c) in lookup]
    start_col = matched[0]
    while start_col > 0 and not _blank(header[start_col - 1]):
        start_col -= 1
    end_col = matched[-1] + 1
    while end_col < len(header) and not _blank(header[end_col]):
        end_col += 1
    body_end = len(grid)
    if other:  # another table stacked below on the same sheet (the Calendar's Closures) ends this one
        for i in range(best_row + 1, len(grid)):
            if _score(grid[i], other) >= 2 and _score(grid[i], lookup) < _score(grid[i], other):
                body_end = i
                # A caption such as "Closures" usually sits between the two: end at the blank row above it.
                for k in range(i - 1, best_row, -1):
                    if all(_blank(c) for c in grid[k]):
                        body_end = k
                        break
                break
    body = [r[start_col:end_col] for r in grid[best_row + 1 : body_end]]
    return _raw_from_block(sheet, best_row + 1, start_col, header[start_col:end_col], body)


def read_raw_tables(path: str | Path, tables: dict[str, Any] | None = None) -> tuple[dict[str, RawTable | None], dict[str, tuple[str, str]]]:
    """Locate every contract table in the workbook; returns the raw tables and why any are missing.

    ``tables`` are Excel tables already loaded from this file, by name (``apxl.io.prefetch``).
    """
    book = open_workbook(path)
    names = list(book.sheet_names)
    raws: dict[str, RawTable | None] = {}
    missing: dict[str, tuple[str, str]] = {}
    grids: dict[str, list[list[Any]]] = {}
    loaded: dict[str, Any] = dict(tables or {})
    for name, spec in SHEETS.items():
        sheet = find_sheet(names, name)
        if sheet is None:
            raws[name] = None
            if name == "placements":
                raise RegisterError(f"{Path(path).name} has no Placements sheet, so there is no register to check.")
            if name in _MISSING_WHY:
                missing[name] = (_MISSING_WHY[name], _MISSING_SEVERITY[name])
            continue
        lookup = header_lookup(spec.model)
        raw = _from_listobjects(book, sheet, lookup, loaded) if book.table_names else None
        if raw is None:
            if sheet not in grids:
                try:
                    grids[sheet] = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
                except Exception:
                    raise RegisterError(f"The sheet '{sheet}' in {Path(path).name} cannot be read: the file may be corrupt.") from None
            other = header_lookup(SHEETS["closures"].model) if name == "terms" else None
            if name == "closures":
                other = None
            raw = table_from_grid(grids[sheet], sheet, lookup, other)
            if name == "closures" and raw is not None and _score(raw.headers, header_lookup(SHEETS["terms"].model)) >= 2:
                raw = None  # the terms table itself, not a closures table
        raws[name] = raw
        if raw is None and name in {"placements", "providers", "attendance", "terms"}:
            why = f"The {spec.sheet} sheet has no table with the expected headers (e.g. {', '.join(h for h in list(_first_headers(spec.model))[:3])})."
            if name == "placements":
                raise RegisterError(why)
            missing[name] = (why, _MISSING_SEVERITY.get(name, "error"))
    return raws, missing


def _first_headers(model) -> list[str]:
    from apxl.core.tables import columns

    return [c.header for c in columns(model)]


def read_register(path: str | Path, tables: dict[str, Any] | None = None) -> Register:
    """Read and type a register workbook; structural problems become STR findings on the Register.

    ``tables``: Excel tables already loaded from this file (see ``apxl.io.prefetch``).
    """
    raws, missing = read_raw_tables(path, tables)
    wide = None
    from apxl.io.attendance import is_long_table, read_wide_attendance

    if not is_long_table(raws.get("attendance")):
        # School MIS exports give one row per pupil and one column per session: read that grid instead.
        wide = read_wide_attendance(path)
        if wide is not None:
            missing.pop("attendance", None)
            raws["attendance"] = None
    register = parse_register(raws, source=str(path), missing=missing)
    if wide is not None:
        register.tables["attendance"], found = wide
        if len(found):
            register.findings = pd.concat([f for f in (register.findings, found) if len(f)], ignore_index=True)
    return register
