"""Adding accepted returned placements to the register workbook: new rows with provenance, nothing else touched."""
from __future__ import annotations

from copy import copy
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook
from openpyxl.utils import column_index_from_string, get_column_letter, range_boundaries
from openpyxl.worksheet.table import TableColumn

from apxl.core.parse import parse_register
from apxl.core.reconcile import match_placements
from apxl.core.tables import SHEETS, columns, header_lookup, norm_header
from apxl.errors import ApxlError
from apxl.io.reader import read_raw_tables
from apxl.io.returns.cells import DATE_FORMAT, write
from apxl.io.safe_save import atomic_target, make_backup, resolve_output

# Where each added row came from (seed 003_57d480e12197286d.txt §11.5: one register the LA can
# trust needs to show which school told it about a placement, in which return, and when).
PROVENANCE = {"school": "Returned by school (URN)", "file": "Return file", "received": "Date received"}
_KINDS = {c.field: c.kind for c in columns(SHEETS["placements"].model)}


@dataclass
class Addition:
    """Rows of one return to add: typed placements (contract fields) and where they came from."""

    placements: pd.DataFrame
    school_urn: str | None
    file_name: str
    received: date


def merge_into_register(register_path: str | Path, additions: list[Addition], *, output: str | Path | None = None,
                        in_place: bool = False) -> tuple[Path, pd.DataFrame]:
    """Append the additions to the register's Placements table; returns the path written and the rows added.

    Writes ``<register>-merged.xlsx`` unless ``output`` or ``in_place`` (a timestamped backup first).
    A placement already on the register (same Placement ID, or same UPN + provider + start date) is
    never added again, so merging the same return twice changes nothing the second time.
    Only the new rows and, when absent, the three provenance columns are written.
    """
    source = Path(register_path)
    target = resolve_output(source, output, in_place, tag="merged")
    raws, missing = read_raw_tables(source)
    raw = raws["placements"]
    current = parse_register(raws, source=str(source), missing=missing).placements
    new = _new_rows(current, additions)
    keep_vba = source.suffix.lower() == ".xlsm"
    wb = load_workbook(source, keep_vba=keep_vba, keep_links=True, rich_text=True)
    ws = wb[raw.sheet]
    lookup = header_lookup(SHEETS["placements"].model)
    letters: dict[str, str] = {}
    for h, letter in zip(raw.headers, raw.letters):
        f = lookup.get(norm_header(h))
        if f and f not in letters:
            letters[f] = letter
    table = _table_at(ws, raw.header_row, letters)
    first = (int(raw.frame.index.max()) if len(raw.frame) else raw.header_row) + 1
    last = first + len(new) - 1
    if len(new):  # with nothing new the copy is cell-for-cell the register
        prov = _provenance_columns(ws, raw, table)
        _check_free(ws, first, last, [*letters.values(), *prov.values()])
        template_row = first - 1 if first - 1 > raw.header_row else None
        for i, rec in enumerate(new.to_dict("records")):
            r = first + i
            for field, letter in letters.items():
                cell = ws[f"{letter}{r}"]
                if template_row is not None:
                    cell._style = copy(ws[f"{letter}{template_row}"]._style)
                write(cell, rec.get(field), yn=_KINDS.get(field) == "yn", date_format=_date_format(cell))
            for key, letter in prov.items():
                cell = ws[f"{letter}{r}"]
                if template_row is not None:
                    cell._style = copy(ws[f"{letter}{template_row}"]._style)
                write(cell, rec[f"_{key}"], date_format=_date_format(cell))
        if table is not None:
            _extend_table(table, last)
    if in_place:
        make_backup(source)
    with atomic_target(target) as tmp:
        wb.save(tmp)
    return target, new


def _new_rows(current: pd.DataFrame, additions: list[Addition]) -> pd.DataFrame:
    """The additions not already on the register, nor repeated among themselves, with provenance columns."""
    parts = []
    for a in additions:
        if len(a.placements):
            parts.append(a.placements.assign(_school=a.school_urn, _file=a.file_name, _received=pd.Timestamp(a.received)))
    if not parts:
        return pd.DataFrame(columns=[*current.columns, "_school", "_file", "_received"])
    frame = pd.concat(parts, ignore_index=True)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    m = match_placements(current, frame)
    return frame[m["register_row"].isna().to_numpy() & m["duplicate_of"].isna().to_numpy()]


def _date_format(cell) -> str:
    fmt = cell.number_format or "General"
    return fmt if any(ch in fmt.lower() for ch in ("d", "y")) and fmt != "General" else DATE_FORMAT


def _table_at(ws, header_row: int, letters: dict[str, str]):
    """The ListObject holding the Placements header, if the register uses one."""
    if not letters:
        return None
    col = column_index_from_string(next(iter(letters.values())))
    for table in ws.tables.values():
        min_col, min_row, max_col, max_row = range_boundaries(table.ref)
        if min_row == header_row and min_col <= col <= max_col:
            if table.totalsRowCount:
                raise ApxlError(f"The Placements table '{table.displayName}' has a totals row: remove it so returned placements can be added below the last row.")
            return table
    return None


def _provenance_columns(ws, raw, table) -> dict[str, str]:
    """Letters of the provenance columns, adding any that are missing just right of the table's last column."""
    found: dict[str, str] = {}
    wanted = {norm_header(v): k for k, v in PROVENANCE.items()}
    for h, letter in zip(raw.headers, raw.letters):
        key = wanted.get(norm_header(h))
        if key and key not in found:
            found[key] = letter
    next_col = column_index_from_string(raw.letters[-1]) + 1
    if table is not None:
        next_col = max(next_col, range_boundaries(table.ref)[2] + 1)
    for key, header in PROVENANCE.items():
        if key in found:
            continue
        letter = get_column_letter(next_col)
        next_col += 1
        head = ws[f"{letter}{raw.header_row}"]
        if head.value not in (None, ""):
            raise ApxlError(f"Cannot add the '{header}' column to {raw.sheet}: cell {letter}{raw.header_row} is already used.")
        left = ws[f"{get_column_letter(column_index_from_string(letter) - 1)}{raw.header_row}"]
        head._style = copy(left._style)
        write(head, header)
        found[key] = letter
        if table is not None:
            min_col, min_row, _, max_row = range_boundaries(table.ref)
            table.ref = f"{get_column_letter(min_col)}{min_row}:{letter}{max_row}"
            ids = [c.id for c in table.tableColumns] or [0]
            table.tableColumns.append(TableColumn(id=max(ids) + 1, name=header))
            if table.autoFilter is not None:
                table.autoFilter.ref = table.ref
    return found


def _check_free(ws, first: int, last: int, letters: list[str]) -> None:
    for r in range(first, last + 1):
        for letter in letters:
            if ws[f"{letter}{r}"].value not in (None, ""):
                raise ApxlError(f"Row {r} of {ws.title} below the placements is not empty ({letter}{r}): move what is there before adding returned placements.")


def _extend_table(table, last_row: int) -> None:
    min_col, min_row, max_col, max_row = range_boundaries(table.ref)
    if last_row > max_row:
        table.ref = f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{last_row}"
        if table.autoFilter is not None:
            table.autoFilter.ref = table.ref


__all__ = ["Addition", "PROVENANCE", "merge_into_register"]
