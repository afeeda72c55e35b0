"""Read a register workbook into raw tables (indexed by Excel row) and type them with apxl.core.parse."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from openpyxl.utils import get_column_letter
from python_calamine import CalamineWorkbook

from apxl.core.parse import missing_findings, parse_register, parse_table
from apxl.core.register import RawTable, Register, Table
from apxl.core.tables import SHEETS, header_lookup, norm_header
from apxl.core.vocab import norm
from apxl.errors import RegisterError
from apxl.io.gc_pause import gc_paused
from apxl.io.prefetch import LoadedTable, TablePrefetch, load_table

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
    # Column by column: a column of text or of dates is typed in C (Arrow) rather than kept as Python objects,
    # which makes reading and parsing a year of attendance (800,000 rows) about a second faster.
    with gc_paused():
        data = {j: _column([r[j] for r in rows]) for j in range(width)}
    del rows
    blank = np.ones(len(next(iter(data.values()))) if data else 0, dtype=bool)
    for values in data.values():
        blank &= pd.isna(values)
    frame = pd.DataFrame(data, index=pd.RangeIndex(first_row, first_row + len(blank)).astype("int64"), copy=False)
    frame.columns = headers
    if blank.any():  # blank rows inside a table are skipped, not reported
        frame = frame[~blank]
    return frame


_TEXT = {str, type(None)}
_DATES = {date, type(None)}


def _column(values: list[Any]) -> Any:
    """One column's cells: Arrow text or dates when every cell is text or every cell a date, else Python objects.

    Empty cells (python-calamine gives "") become missing values, as in every other column.
    """
    kinds = set(map(type, values))
    if kinds <= _TEXT and str in kinds:
        text = pa.array(values, type=pa.string())
        return pd.array(pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text), dtype="str")
    if date in kinds and kinds <= _DATES | {str}:  # exactly dates (a datetime keeps its time as an object), or blank
        try:
            days = pa.array([None if v == "" else v for v in values] if str in kinds else values, type=pa.date32())
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # text other than blanks among the dates
            pass
        else:
            return pd.arrays.ArrowExtensionArray(days)
    data = np.empty(len(values), dtype=object)
    data[:] = values
    data[pd.isna(data) | (data == "")] = np.nan
    return data


def _raw_from_block(sheet: str, header_row: int, col0: int, header_cells: list[Any], body: list[list[Any]]) -> RawTable:
    # Trim to the run of non-blank headers so a table beside another on the same sheet stays separate.
    width = len(header_cells)
    while width and _blank(header_cells[width - 1]):
        width -= 1
    headers = [str(h).strip() if not _blank(h) else f"(column {get_column_letter(col0 + i + 1)})" for i, h in enumerate(header_cells[:width])]
    letters = [get_column_letter(col0 + i + 1) for i in range(width)]
    frame = _to_frame(body, header_row + 1, headers)  # cut to ``width`` there
    return RawTable(sheet=sheet, header_row=header_row, headers=headers, letters=letters, frame=frame)


class _WorkbookTables:
    """The workbook's Excel tables for the reader: from the prefetch thread when it has them, else loaded here, once."""

    def __init__(self, book: CalamineWorkbook, prefetch: TablePrefetch | None):
        self.book = book
        self.prefetch = prefetch
        self._all: list[LoadedTable] | None = None

    def on_sheet(self, sheet: str) -> list[LoadedTable]:
        if self.prefetch is not None:
            found = self.prefetch.on_sheet(sheet)
            if found is not None:
                return found
        if self._all is None:
            self._all = [load_table(self.book, name) for name in self.book.table_names]
        return [t for t in self._all if t.sheet == sheet]


def _from_listobjects(tables: _WorkbookTables, sheet: str, lookup: dict[str, str]) -> RawTable | None:
    best, best_score = None, 0
    for table in tables.on_sheet(sheet):
        score = _score(table.columns, lookup)
        if score > best_score:
            best, best_score = table, score
    if best is None or best_score < 2:
        return None
    header_row = best.start[0]  # calamine's start is the first data row, 0-based: the header is the Excel row above
    return _raw_from_block(sheet, header_row, best.start[1], list(best.columns), best.rows)


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


class _SheetReader:
    """Finds each contract table in one workbook: a matching Excel table first, else a header row on the sheet."""

    def __init__(self, path: str | Path, prefetch: TablePrefetch | None = None):
        self.path = Path(path)
        self.book = open_workbook(path)
        self.names = list(self.book.sheet_names)
        self.tables = _WorkbookTables(self.book, prefetch) if self.book.table_names else None
        self._grids: dict[str, list[list[Any]]] = {}

    def read(self, name: str) -> tuple[RawTable | None, tuple[str, str] | None]:
        """The raw table for contract table ``name``, and (why, severity) when it is missing and that matters."""
        spec = SHEETS[name]
        sheet = find_sheet(self.names, name)
        if sheet is None:
            if name == "placements":
                raise RegisterError(f"{self.path.name} has no Placements sheet, so there is no register to check.")
            return None, ((_MISSING_WHY[name], _MISSING_SEVERITY[name]) if name in _MISSING_WHY else None)
        lookup = header_lookup(spec.model)
        raw = _from_listobjects(self.tables, sheet, lookup) if self.tables is not None else None
        if raw is None:
            other = header_lookup(SHEETS["closures"].model) if name == "terms" else None
            raw = table_from_grid(self._grid(sheet), sheet, lookup, other)
            if name == "closures" and raw is not None and _score(raw.headers, header_lookup(SHEETS["terms"].model)) >= 2:
                raw = None  # the terms table itself, not a closures table
        if raw is None and name in {"placements", "providers", "attendance", "terms"}:
            why = f"The {spec.sheet} sheet has no table with the expected headers (e.g. {', '.join(h for h in list(_first_headers(spec.model))[:3])})."
            if name == "placements":
                raise RegisterError(why)
            return None, (why, _MISSING_SEVERITY.get(name, "error"))
        return raw, None

    def _grid(self, sheet: str) -> list[list[Any]]:
        if sheet not in self._grids:
            try:
                with gc_paused():
                    self._grids[sheet] = self.book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
            except Exception:
                raise RegisterError(f"The sheet '{sheet}' in {self.path.name} cannot be read: the file may be corrupt.") from None
        return self._grids[sheet]

    def read_all(self, skip: set[str] | frozenset[str] = frozenset()) -> tuple[dict[str, RawTable | None], dict[str, tuple[str, str]]]:
        raws: dict[str, RawTable | None] = {}
        missing: dict[str, tuple[str, str]] = {}
        for name in SHEETS:
            if name in skip:
                continue
            raws[name], why = self.read(name)
            if why is not None:
                missing[name] = why
        return raws, missing


def read_raw_tables(path: str | Path, tables: TablePrefetch | None = None) -> tuple[dict[str, RawTable | None], dict[str, tuple[str, str]]]:
    """Locate every contract table in the workbook; returns the raw tables and why any are missing.

    ``tables``: this file's Excel tables being loaded in the background (``apxl.io.prefetch``).
    """
    return _SheetReader(path, tables).read_all()


def _first_headers(model) -> list[str]:
    from apxl.core.tables import columns

    return [c.header for c in columns(model)]


def read_register(path: str | Path, tables: TablePrefetch | None = None, *, defer_attendance: bool = False) -> Register:
    """Read and type a register workbook; structural problems become STR findings on the Register.

    ``tables``: this file's Excel tables being loaded in the background (``apxl.io.prefetch``).
    ``defer_attendance``: leave the attendance to be read when first needed (``Register.resolve``), so that
    checks which do not need it can run while a year of attendance is still loading.
    """
    reader = _SheetReader(path, tables)
    raws, missing = reader.read_all(skip={"attendance"})
    register = parse_register(raws, source=str(path), missing=missing)
    del register.tables["attendance"]  # parse_register's placeholder: the deferred read fills it
    register.defer("attendance", lambda: _read_attendance(reader))
    if not defer_attendance:
        register.resolve()
    return register


def _read_attendance(reader: _SheetReader) -> tuple[Table, pd.DataFrame]:
    """The Attendance table (long, or the wide grid school MIS systems export) and its STR findings."""
    from apxl.io.attendance import is_long_table, read_wide_attendance

    raw, why = reader.read("attendance")
    if not is_long_table(raw):
        wide = read_wide_attendance(reader.path)
        if wide is not None:
            return wide
    if raw is None:
        return Table.missing("attendance"), missing_findings({"attendance": why} if why else {})
    return parse_table("attendance", raw)
