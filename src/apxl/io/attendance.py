"""Attendance from files: the national code-set CSV, long tables (CSV/Parquet) and the wide grids school MIS systems export."""
from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter

from apxl.core.attendance_codes import CodeSet
from apxl.core.findings import RULE_OUTPUT_COLUMNS
from apxl.core.parse import is_blank, parse_date_value, parse_table
from apxl.core.policy import Policy
from apxl.core.register import RawTable, Register, Table
from apxl.core.tables import SHEETS, header_lookup, headers, norm_header
from apxl.errors import ApxlError, RegisterError
from apxl.io.gc_pause import gc_paused
from apxl.resources import schemas_dir

CODES_FILE = "attendance_codes.csv"
# Frame columns every attendance reader returns; wide grids add ``cell`` (the mark's A1 reference)
# and ``mark_column`` (the date-and-session header the mark sits under).
WIDE_COLUMNS = ["upn", "date", "session", "code", "source", "cell", "mark_column"]
_NO_MARK = {"-", ""}  # MIS exports show '-' where no mark has been entered yet
_SCAN_ROWS = 30


@lru_cache(maxsize=1)
def load_code_set() -> CodeSet:
    """The 2006 and 2024 attendance code sets from ``schemas/attendance_codes.csv``."""
    path = schemas_dir() / CODES_FILE
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return CodeSet.from_records(csv.DictReader(fh))
    except OSError:
        raise ApxlError(f"apxl's attendance code table ({CODES_FILE}) is missing from this installation.") from None


def with_attendance_codes(policy: Policy) -> Policy:
    """The policy with the national attendance code sets attached (the ATT rules need them)."""
    if getattr(policy, "attendance_codes", None) is not None:
        return policy
    return policy.with_changes(attendance_codes=load_code_set())


# ---- long tables from CSV / Parquet (national-scale files) ----------------------------------------

def read_attendance_file(path: str | Path) -> tuple[Table, pd.DataFrame]:
    """A long attendance table (UPN, Date, Session, Code, Source) from a CSV or Parquet file.

    Returns the typed table (indexed by file row: the header is row 1, as in Excel) and its STR findings.
    """
    path = Path(path)
    if not path.exists():
        raise RegisterError(f"The attendance file {path} does not exist.")
    suffix = path.suffix.lower()
    try:
        if suffix in {".parquet", ".pq"}:
            data = pd.read_parquet(path)
        elif suffix in {".csv", ".txt"}:
            data = pd.read_csv(path, dtype="str", keep_default_na=False, encoding="utf-8-sig")
        else:
            raise RegisterError(f"{path.name} is not a CSV or Parquet attendance file.")
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise RegisterError(f"{path.name} cannot be read as an attendance table ({type(exc).__name__}).") from None
    lookup = header_lookup(SHEETS["attendance"].model)
    if len({lookup.get(norm_header(c)) for c in data.columns} - {None}) < 2:
        raise RegisterError(f"{path.name} has no UPN, Date, Session and Code columns.")
    names = [str(c) for c in data.columns]
    columns = {}
    for i, n in enumerate(names):
        col = data.iloc[:, i]
        if pd.api.types.is_datetime64_any_dtype(col.dtype):
            # Typed dates (Parquet) as Excel serial numbers: read once per distinct day, never as 800,000 Timestamps.
            col = (col.dt.tz_localize(None) if getattr(col.dt, "tz", None) is not None else col).dt.normalize()
            col = ((col - pd.Timestamp("1899-12-30")) / pd.Timedelta(days=1)).astype("float64")
        elif col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            col = col.mask(col.eq(""))
        columns[n] = col
    frame = pd.DataFrame(columns)
    frame.index = pd.RangeIndex(2, 2 + len(frame)).astype("int64")
    raw = RawTable(sheet=path.name, header_row=1, headers=names, letters=[get_column_letter(i + 1) for i in range(len(names))], frame=frame)
    return parse_table("attendance", raw)


def use_attendance_file(register: Register, path: str | Path) -> Register:
    """Replace the register's attendance (and its STR findings) with the sessions in ``path``."""
    register.pending.pop("attendance", None)  # a sheet not yet read need not be read: the file replaces it
    old_sheet = register.table("attendance").sheet
    table, findings = read_attendance_file(path)
    kept = register.findings
    if len(kept):
        drop = (kept["sheet"] == old_sheet) | ((kept["rule_id"] == "STR-001") & (kept["sheet"] == SHEETS["attendance"].sheet))
        kept = kept[~drop]
    register.tables["attendance"] = table
    register.findings = pd.concat([f for f in (kept, findings) if len(f)], ignore_index=True) if (len(kept) or len(findings)) else kept
    return register


# ---- wide grids (one row per pupil, one column per date and session) ------------------------------

_WEEKDAY = re.compile(r"\b(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(day|nesday|sday|rsday|urday)?\b\.?,?", re.I)
_SESSION = re.compile(r"(?:^|[\s(\[\-_/])(am|pm|a\.m\.|p\.m\.|morning|afternoon)(?:$|[\s)\]\-_])", re.I)


def header_date_session(cell: Any) -> tuple[pd.Timestamp | None, str | None]:
    """Read a grid header such as 'Mon 06/01/2025 AM', '2025-01-06 (PM)', a real date, or a bare 'AM'."""
    if is_blank(cell):
        return None, None
    if not isinstance(cell, str):
        when = parse_date_value(cell) if not isinstance(cell, (int, float)) or 30000 < float(cell) < 80000 else None
        return (when if isinstance(when, pd.Timestamp) else None), None
    text = f" {cell.strip()} "
    session = None
    hit = _SESSION.search(text)
    if hit:
        word = hit.group(1).lower().replace(".", "")
        session = "AM" if word in {"am", "morning"} else "PM"
        text = text[: hit.start(1)] + " " + text[hit.end(1):]
    text = _WEEKDAY.sub(" ", text).strip(" -()[],")
    if not text:
        return None, session
    when = parse_date_value(text)
    return (when if isinstance(when, pd.Timestamp) else None), session


def _marks_layout(grid: list[list[Any]]) -> tuple[int, dict[int, tuple[pd.Timestamp, str]], int | None, int | None] | None:
    """Find the header row of a wide grid: (last header row index, column -> (date, session), UPN col, Source col)."""
    upn_names = {norm_header(h) for h in ("UPN", "Unique pupil number", "Pupil UPN")}
    src_names = {norm_header(h) for h in ("Source", "Recorded by", "Source (School/Provider)")}

    def find(rows: list[list[Any]], names: set[str]) -> int | None:
        for row in rows:
            for j, c in enumerate(row):
                if isinstance(c, str) and norm_header(c) in names:
                    return j
        return None

    for i, row in enumerate(grid[:_SCAN_ROWS]):
        parsed = [header_date_session(c) for c in row]
        both = {j: (d, s) for j, (d, s) in enumerate(parsed) if d is not None and s is not None}
        above = grid[i - 1] if i else []
        if len(both) < 2:
            # A date row above an AM/PM row: the date cell may cover both sessions (merged cells).
            sessions = {j: s for j, (d, s) in enumerate(parsed) if s is not None and d is None}
            if len(sessions) < 2 or not i:
                continue
            dates: dict[int, pd.Timestamp] = {}
            current = None
            for j in range(max(sessions) + 1):
                d = header_date_session(above[j] if j < len(above) else None)[0]
                if d is not None:
                    current = d
                elif j < len(above) and not is_blank(above[j]):
                    current = None
                if j in sessions and current is not None:
                    dates[j] = current
            both = {j: (dates[j], s) for j, s in sessions.items() if j in dates}
            if len(both) < 2:
                continue
        upn_col = find([row, above], upn_names)
        if upn_col is None:
            continue
        return i, both, upn_col, find([row, above], src_names)
    return None


def is_long_table(raw: RawTable | None) -> bool:
    """True when a found Attendance table has the long shape's Date and Code columns (else try a grid)."""
    if raw is None:
        return False
    lookup = header_lookup(SHEETS["attendance"].model)
    fields = {lookup.get(norm_header(h)) for h in raw.headers}
    return {"date", "code"} <= fields


def looks_wide(grid: list[list[Any]]) -> bool:
    """True when a sheet holds a pupil-by-session grid rather than the long UPN/Date/Session/Code table."""
    return _marks_layout(grid) is not None


def wide_from_grid(grid: list[list[Any]], sheet: str, first_row: int = 1, first_col: int = 1) -> tuple[Table, pd.DataFrame] | None:
    """Turn a wide grid (cells as read, top-left at Excel ``first_row``/``first_col``) into the long attendance frame.

    Blank and '-' cells are sessions with no mark (ATT-009 finds the ones that matter). The frame is indexed
    by the pupil's Excel row (so one row index per pupil, repeated for each session) and carries ``cell``,
    the mark's A1 reference, and ``mark_column``, the header it sits under. Returns None when the grid has
    no UPN column and date/session headers.
    """
    layout = _marks_layout(grid)
    if layout is None:
        return None
    head, columns_, upn_col, src_col = layout
    body = grid[head + 1:]
    width = max([len(r) for r in body] + [max(columns_) + 1, upn_col + 1])
    block = np.array([list(r) + [None] * (width - len(r)) for r in body], dtype=object).reshape(len(body), width)
    excel_rows = np.arange(len(body), dtype="int64") + first_row + head + 1
    cols = np.array(sorted(columns_), dtype="int64")
    marks = block[:, cols] if len(body) else np.empty((0, len(cols)), dtype=object)
    text = pd.DataFrame(marks).map(lambda x: None if is_blank(x) else re.sub(r"\s+", "", str(x)).upper())
    arr = text.to_numpy(dtype=object)
    present = pd.notna(arr) & ~np.isin(arr.astype(str), list(_NO_MARK))
    r_idx, c_idx = np.nonzero(present)
    upns = pd.Series(block[:, upn_col]).map(lambda x: None if is_blank(x) else re.sub(r"\s+", "", str(x)).upper())
    if src_col is not None:
        src = pd.Series(block[:, src_col]).map(lambda x: None if is_blank(x) else str(x).strip().title())
        src = src.where(src.isin(["School", "Provider"]), "School")
    else:
        src = pd.Series(["School"] * len(body), dtype=object)
    header_texts = [str(grid[head][j]) if j < len(grid[head]) and not is_blank(grid[head][j]) else "" for j in cols]
    labels = [h if header_date_session(h)[0] is not None else f"{columns_[j][0]:%d/%m/%Y} {h}".strip() for h, j in zip(header_texts, cols)]
    letters = np.array([get_column_letter(first_col + int(j)) for j in cols], dtype=object)
    dates = np.array([columns_[int(j)][0].to_datetime64() for j in cols], dtype="datetime64[ns]")
    sessions = np.array([columns_[int(j)][1] for j in cols], dtype=object)
    frame = pd.DataFrame({
        "upn": upns.to_numpy()[r_idx],
        "date": dates[c_idx],
        "session": sessions[c_idx],
        "code": arr[r_idx, c_idx],
        "source": src.to_numpy()[r_idx],
        "cell": letters[c_idx] + excel_rows[r_idx].astype(str),
        "mark_column": np.array(labels, dtype=object)[c_idx] if len(cols) else np.array([], dtype=object),
    }, index=pd.Index(excel_rows[r_idx], dtype="int64"))
    for col in ("upn", "session", "code", "source", "cell", "mark_column"):
        frame[col] = frame[col].astype("str")
    findings = _wide_findings(frame, upns, excel_rows, sheet, get_column_letter(first_col + upn_col))
    hdrs = headers(SHEETS["attendance"].model)
    table = Table(name="attendance", sheet=sheet, frame=frame, headers=hdrs,
                  letters={"upn": get_column_letter(first_col + upn_col)}, header_row=first_row + head)
    return table, findings


def _wide_findings(frame: pd.DataFrame, upns: pd.Series, excel_rows: np.ndarray, sheet: str, upn_letter: str) -> pd.DataFrame:
    """STR-006 for marks on a row with no UPN; STR-005 for a pupil listed on two rows with marks for one session."""
    out = []
    no_upn = frame["upn"].isna()
    if no_upn.any():
        rows = sorted(set(frame.index[no_upn]))
        out.append(pd.DataFrame({"rule_id": "STR-006", "sheet": sheet, "row": rows, "column": "UPN", "key": None, "value": None,
                                 "message": "UPN is blank on a row with attendance marks: every pupil row needs one."}))
    dup = frame[~no_upn & frame.duplicated(["upn", "date", "session", "source"], keep=False)]
    if len(dup):
        per_row = dup.reset_index(names="row").groupby(["row", "upn"], as_index=False).size()
        others = per_row.groupby("upn")["row"].agg(lambda r: sorted(r))
        per_row = per_row.assign(others=per_row["upn"].map(others))
        out.append(pd.DataFrame({
            "rule_id": "STR-005", "sheet": sheet, "row": per_row["row"].astype("int64"), "column": "UPN", "key": per_row["upn"],
            "value": per_row["upn"],
            "message": [f"This pupil also has marks for the same sessions on row {', '.join(str(x) for x in o if x != r)}: keep one row per pupil."
                        for r, o in zip(per_row["row"], per_row["others"])],
        }))
    if not out:
        return pd.DataFrame(columns=["rule_id", *RULE_OUTPUT_COLUMNS])
    return pd.concat(out, ignore_index=True)[["rule_id", *RULE_OUTPUT_COLUMNS]]


def read_wide_attendance(path: str | Path) -> tuple[Table, pd.DataFrame] | None:
    """The Attendance sheet of the workbook at ``path`` read as a wide grid (None when there is no such grid)."""
    from python_calamine import CalamineWorkbook

    from apxl.io.reader import find_sheet

    try:  # the reader has already opened (and vetted) this file; no need to load its table definitions again
        book = CalamineWorkbook.from_path(str(path))
    except Exception:
        raise RegisterError(f"{Path(path).name} cannot be opened as a workbook: it may be corrupt or password-protected.") from None
    sheet = find_sheet(list(book.sheet_names), "attendance")
    if sheet is None:
        return None
    try:
        with gc_paused():
            grid = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    except Exception:
        raise RegisterError(f"The sheet '{sheet}' in {Path(path).name} cannot be read: the file may be corrupt.") from None
    return wide_from_grid(grid, sheet)


__all__ = [
    "load_code_set", "with_attendance_codes", "read_attendance_file", "use_attendance_file", "header_date_session",
    "is_long_table", "looks_wide", "wide_from_grid", "read_wide_attendance",
]
