"""Where findings point in the workbook: cell references, hyperlink targets and one mark per offending cell."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from apxl.core.register import Register

SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
DEFAULT_MAX_MARKS = 10_000
# A comment is a note to read, not a report: long ones are cut and point to the Findings sheet.
COMMENT_MAX_LINES = 8
COMMENT_MAX_CHARS = 1_500


@dataclass(frozen=True)
class CellMark:
    """One cell to highlight, with the worst severity of its findings and the comment text that explains them."""

    sheet: str
    cell: str
    severity: str
    comment: str


@dataclass(frozen=True)
class MarkPlan:
    marks: list[CellMark]
    total_cells: int  # cells that have findings, before the cap

    @property
    def capped(self) -> bool:
        return len(self.marks) < self.total_cells


def _column_number(letter: str) -> int:
    n = 0
    for ch in letter:
        n = n * 26 + ord(ch.upper()) - 64
    return n


def locate(register: Register, frame: pd.DataFrame, sheets: set[str] | None = None) -> pd.Series:
    """The cell each finding points at (``C7``), or the row's first cell when it names no column; None when
    it names no row, or its sheet is not in ``sheets`` (the workbook's sheet names, when known).

    A finding's column is the contract header text, mapped back to the column letter the reader found.
    Sheets holding two tables (Calendar: terms and closures) are told apart by the finding's row.
    """
    out = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    if frame.empty:
        return out
    rows = pd.to_numeric(frame["row"], errors="coerce")
    for table in register.tables.values():
        if not table.present or not table.letters:
            continue
        last = int(table.frame.index.max()) if len(table.frame) else table.header_row or 0
        first = table.header_row if table.header_row is not None else 1
        mask = (frame["sheet"] == table.sheet) & rows.between(first, last) & out.isna()
        if not mask.any():
            continue
        by_header = {table.headers.get(field, field): letter for field, letter in table.letters.items()}
        by_header.update(_grid_letters(table.frame))
        first_letter = min(table.letters.values(), key=_column_number)
        letters = frame.loc[mask, "column"].map(by_header).fillna(first_letter)
        out.loc[mask] = (letters.astype(str) + rows[mask].astype("int64").astype(str)).astype(object)
    if sheets is not None:
        out = out.where(frame["sheet"].isin(sheets), None)
    return out


def _grid_letters(frame: pd.DataFrame) -> dict[str, str]:
    """A wide attendance grid's session headers (``Mon 06/01/2025 AM``) -> their column letters.

    The grid reader keeps each mark's header (``mark_column``) and cell (``C7``): findings about a
    mark name the header, so this sends their links and highlights to the mark itself.
    """
    if not {"mark_column", "cell"} <= set(frame.columns) or frame.empty:
        return {}
    pairs = frame[["mark_column", "cell"]].dropna().drop_duplicates("mark_column")
    letters = pairs["cell"].astype(str).str.extract(r"^([A-Z]+)", expand=False)
    return dict(zip(pairs["mark_column"].astype(str), letters))


def quote_sheet(sheet: str) -> str:
    """A sheet name as Excel writes it in a reference: always quoted, apostrophes doubled."""
    return "'" + sheet.replace("'", "''") + "'"


def link_targets(frame: pd.DataFrame, cells: pd.Series, sheets: set[str] | None = None) -> pd.Series:
    """Hyperlink locations (``'Sheet name'!C7``); a finding without a cell links to the sheet's A1."""
    quoted = frame["sheet"].astype(str).map(quote_sheet)
    target = (quoted + "!" + cells.fillna("A1").astype(str)).astype(object)
    keep = frame["sheet"].notna()
    if sheets is not None:
        keep &= frame["sheet"].isin(sheets)
    return target.where(keep, None)


def plan_marks(frame: pd.DataFrame, cells: pd.Series, max_marks: int = DEFAULT_MAX_MARKS) -> MarkPlan:
    """Group findings by cell: worst severity first, one comment per cell listing each rule and message.

    When more cells than ``max_marks`` have findings, the worst (errors first, then by sheet and row)
    are kept: the Findings sheet still lists everything.
    """
    have = cells.notna().to_numpy(bool)
    if not have.any():
        return MarkPlan([], 0)
    sub = pd.DataFrame({
        "sheet": frame["sheet"].to_numpy(object)[have],
        "cell": cells.to_numpy(object)[have],
        "rank": frame["severity"].map(SEVERITY_RANK).fillna(3).astype("int64").to_numpy()[have],
        "row": pd.to_numeric(frame["row"], errors="coerce").to_numpy(float)[have],
        "pos": np.flatnonzero(have),
    })
    # Choose the cells first (a cythonised groupby), then build comments only for those kept.
    per_cell = sub.groupby(["sheet", "cell"], sort=False).agg(rank=("rank", "min"), row=("row", "min")).reset_index()
    total = len(per_cell)
    per_cell = per_cell.sort_values(["rank", "sheet", "row", "cell"], kind="stable").head(max_marks)
    kept = sub.merge(per_cell[["sheet", "cell"]].assign(order=np.arange(len(per_cell))), on=["sheet", "cell"])
    kept = kept.sort_values(["order", "rank", "pos"], kind="stable")
    rule = frame["rule_id"].astype(str).to_numpy(object)
    severity = frame["severity"].astype(str).to_numpy(object)
    message = frame["message"].astype(str).to_numpy(object)
    lines: dict[int, list[str]] = {}
    for order, pos in zip(kept["order"].tolist(), kept["pos"].tolist()):
        lines.setdefault(order, []).append(f"{rule[pos]} ({severity[pos]}): {message[pos]}")
    names = ("error", "warning", "info", "info")
    marks = [
        CellMark(sheet=s, cell=c, severity=names[r], comment=_comment(lines[i]))
        for i, (s, c, r) in enumerate(zip(per_cell["sheet"].tolist(), per_cell["cell"].tolist(), per_cell["rank"].tolist()))
    ]
    return MarkPlan(marks, total)


def _comment(lines: list[str]) -> str:
    shown = lines[:COMMENT_MAX_LINES]
    text = "\n".join(shown)
    if len(text) > COMMENT_MAX_CHARS:
        text = text[: COMMENT_MAX_CHARS - 1] + "…"
    if len(lines) > len(shown):
        text += f"\n… and {len(lines) - len(shown)} more: see the Findings sheet."
    return text
