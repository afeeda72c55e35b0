"""The register template: each contract sheet as an Excel table with drop-downs, date formats and instructions.

``build_register_template`` makes the blank workbook that ``apxl new`` writes and that is committed as
``workbooks/apxl-register.xlsx`` (regenerate it with ``uv run python -m apxl.io.template``; a test keeps
the two in step). ``build_register_workbook`` is the same layout holding data: the demo and the
benchmarks write registers through it (see apxl.io.register_writer for large tables).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from apxl.core import vocab
from apxl.core.tables import SHEETS, Column, columns
from apxl.io import guide
from apxl.io.template_data import profile_rules, template_data, template_settings  # noqa: F401 (re-exported)

TEMPLATE_FILE = "apxl-register.xlsx"
MACRO_TEMPLATE_FILE = "apxl-register.xlsm"
SPARE_ROWS = 1000  # rows below the data that drop-downs and formats still cover, for typing new rows
PROVIDER_IDS = "ProviderIDs"  # defined name over the Providers table's ID column (Placements drop-down)
DATE_FORMAT = "dd/mm/yyyy"
MONEY_FORMAT = "£#,##0.00"
INSTRUCTIONS = "Instructions"


@dataclass(frozen=True)
class Slot:
    """Where one contract table sits: sheet, Excel table name, first column, frozen cell, extra columns."""

    table: str
    sheet: str
    display_name: str
    first_col: int = 1
    freeze: str = "A2"
    extras: tuple[str, ...] = ()  # columns outside the contract (kept and ignored by apxl), by header


SLOTS: tuple[Slot, ...] = (
    Slot("placements", "Placements", "Placements", freeze="C2"),
    Slot("providers", "Providers", "Providers", freeze="C2"),
    Slot("attendance", "Attendance", "Attendance"),
    Slot("terms", "Calendar", "Terms"),
    Slot("closures", "Calendar", "Closures", first_col=8),
    Slot("rules", "Rules", "Rules", extras=("Description",)),
    Slot("settings", "Settings", "Settings", extras=("Notes",)),
)
SHEET_ORDER = [INSTRUCTIONS, "Placements", "Providers", "Attendance", "Calendar", "Rules", "Settings"]
SLOT = {s.table: s for s in SLOTS}

_MONEY_FIELDS = {"rate", "weekly_fee", "hourly_fee"}
_WIDE_FIELDS = {"objectives": 40, "destination": 24, "home_school_name": 28, "name": 30}
_PROMPT_TITLE = 32  # Excel's limits on data-validation message lengths
_PROMPT_TEXT = 250


@dataclass(frozen=True)
class ColumnFormat:
    """How one column looks and what its drop-down offers."""

    field: str | None  # contract field, or None for an extra column
    header: str
    number_format: str | None
    width: float
    choices: str | None = None  # a data-validation list formula: '"A,B"' or a defined name
    strict: bool = True  # stop (True) or only warn (False) on a value outside the list
    note: str = ""


def _list(values: list[str] | tuple[str, ...]) -> str:
    return '"' + ",".join(values) + '"'


def attendance_code_choices() -> str | None:
    """Every national attendance code (2006 and 2024 sets) for the Code drop-down; None if the table is missing."""
    try:
        from apxl.io.attendance import load_code_set

        codes = load_code_set().codes
    except Exception:  # the drop-down is a convenience; the ATT rules still check every code
        return None
    order = {c: i for i, c in enumerate(["/", "\\", "L", "K", "V", "P", "W", "B", "D", "C1", "M", "J1", "S", "C2", "C", "X", "T", "R", "I", "E", "Q"])}
    text = _list(sorted(codes, key=lambda c: (order.get(c, 99), c)))
    return text if len(text) <= 255 else None


def column_formats(table: str) -> list[ColumnFormat]:
    """The columns of one contract table as the template lays them out, extras last."""
    notes = guide.COLUMN_NOTES.get(table, {})
    out = [_format(table, col, notes.get(col.field, "")) for col in columns(SHEETS[table].model)]
    for header in SLOT[table].extras:
        out.append(ColumnFormat(None, header, None, 60 if table == "rules" else 50))
    return out


def _format(table: str, col: Column, note: str) -> ColumnFormat:
    width = max(len(col.header) + 3, 10)
    fmt: str | None = None
    choices: str | None = None
    strict = True
    if col.kind == "date":
        fmt, width = DATE_FORMAT, max(width, 13)
    elif col.kind == "number":
        fmt = MONEY_FORMAT if col.field in _MONEY_FIELDS else ("0" if col.field == "places" else "0.0")
    elif col.kind == "code":
        fmt = "@"  # URNs and UPNs are identifiers: keep them as typed
        width = max(width, 16)
    elif col.kind == "yn":
        choices = _list(["Y", "N"])
    elif col.kind == "enum" and col.allowed and table != "rules":
        choices = _list(col.allowed)
    if table == "rules" and col.field == "route":
        choices = _list(vocab.ROUTES)
    if table == "placements" and col.field == "provider_id":
        choices, strict = PROVIDER_IDS, False  # warn only: a new provider may be typed before it is added
    if table == "attendance" and col.field == "code":
        choices, strict = attendance_code_choices(), False
    if table == "rules" and col.field != "route":
        width = 28
    width = _WIDE_FIELDS.get(col.field, width) if table in {"placements", "providers"} else width
    return ColumnFormat(col.field, col.header, fmt, float(min(width, 60)), choices, strict, note)


# ---- building ---------------------------------------------------------------------------------

def build_register_template(profile: str | None = None) -> Workbook:
    """The blank register: every sheet as an Excel table, with drop-downs and Settings/Rules filled for ``profile``."""
    return build_register_workbook(template_data(profile), profile=profile)


def build_register_workbook(
    data: dict[str, pd.DataFrame] | None = None,
    *,
    profile: str | None = None,
    sizes: dict[str, int] | None = None,
) -> Workbook:
    """The register layout with ``data`` (frames by table name, columns named by contract field or extra header).

    ``sizes`` reserves rows for tables whose cells are filled later by streaming (apxl.io.register_writer):
    such a table gets its header only, with the table, drop-downs and formats sized for that many rows.
    """
    data = data or {}
    sizes = sizes or {}
    wb = Workbook()
    intro = wb.active
    intro.title = INSTRUCTIONS
    sheets: dict[str, Worksheet] = {}
    for name in SHEET_ORDER[1:]:
        sheets[name] = wb.create_sheet(name)
    for slot in SLOTS:
        frame = data.get(slot.table)
        n = sizes.get(slot.table, len(frame) if frame is not None else 0)
        _lay_table(sheets[slot.sheet], slot, frame if slot.table not in sizes else None, n)
    providers = data.get("providers")
    last = sizes.get("providers", 0 if providers is None else len(providers)) + 1 + SPARE_ROWS
    wb.defined_names[PROVIDER_IDS] = DefinedName(PROVIDER_IDS, attr_text=f"Providers!$A$2:$A${last}")
    _profile_choice(sheets["Settings"])
    _write_instructions(intro)
    return wb


def _lay_table(ws: Worksheet, slot: Slot, frame: pd.DataFrame | None, n_rows: int) -> None:
    formats = column_formats(slot.table)
    c0 = slot.first_col
    for j, cf in enumerate(formats):
        cell = ws.cell(row=1, column=c0 + j, value=cf.header)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[get_column_letter(c0 + j)].width = cf.width
    if frame is not None and len(frame):
        _write_rows(ws, slot, formats, frame)
    last_row = max(n_rows, 1) + 1
    ref = f"{get_column_letter(c0)}1:{get_column_letter(c0 + len(formats) - 1)}{last_row}"
    table = Table(displayName=slot.display_name, ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    table.tableColumns = [TableColumn(id=j + 1, name=cf.header) for j, cf in enumerate(formats)]
    ws.add_table(table)
    covered = n_rows + 1 + SPARE_ROWS
    for j, cf in enumerate(formats):
        letter = get_column_letter(c0 + j)
        if cf.number_format:
            ws.column_dimensions[letter].number_format = cf.number_format
        if cf.choices:
            ws.add_data_validation(list_validation(cf, f"{letter}2:{letter}{covered}"))
    if slot.first_col == 1:
        ws.freeze_panes = slot.freeze


def list_validation(cf: ColumnFormat, sqref: str) -> DataValidation:
    dv = DataValidation(
        type="list",
        formula1=cf.choices,
        allow_blank=True,
        showErrorMessage=True,
        showInputMessage=bool(cf.note),
        errorStyle="stop" if cf.strict else "warning",
        errorTitle=cf.header[:_PROMPT_TITLE],
        error=("Pick a value from the list." if cf.strict else "This value is not in the list: check it, or add it where the list comes from.")[:_PROMPT_TEXT],
        promptTitle=cf.header[:_PROMPT_TITLE] if cf.note else None,
        prompt=cf.note[:_PROMPT_TEXT] if cf.note else None,
    )
    dv.add(sqref)
    return dv


def cell_value(value: Any) -> Any:
    """A frame value as openpyxl writes it: dates as datetimes, blanks as None, numpy scalars unwrapped."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime()
    if isinstance(value, (datetime, date, str, bool)):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        return value
    return value.item() if hasattr(value, "item") else value


def _write_rows(ws: Worksheet, slot: Slot, formats: list[ColumnFormat], frame: pd.DataFrame) -> None:
    keys = [cf.field if cf.field is not None else cf.header for cf in formats]
    for i, record in enumerate(frame.reindex(columns=keys).itertuples(index=False), start=2):
        for j, (value, cf) in enumerate(zip(record, formats)):
            value = cell_value(value)
            if value is None:
                continue
            cell = ws.cell(row=i, column=slot.first_col + j, value=value)
            if isinstance(value, (datetime, date)):
                cell.number_format = DATE_FORMAT
            elif cf.number_format and not isinstance(value, str):
                cell.number_format = cf.number_format


def _profile_choice(ws: Worksheet) -> None:
    """A drop-down of the installed profiles on the Settings row named Profile (B column)."""
    from apxl.io.profiles import available_profiles

    names = available_profiles()
    for row in range(2, ws.max_row + 1):
        if str(ws.cell(row=row, column=1).value or "").strip().lower() == "profile" and names:
            dv = DataValidation(type="list", formula1=_list(names), allow_blank=True, showErrorMessage=True, errorStyle="warning",
                                errorTitle="Profile", error="Not an installed profile: apxl will refuse to check under it.")
            dv.add(f"B{row}")
            ws.add_data_validation(dv)
        if str(ws.cell(row=row, column=1).value or "").strip().lower() == "as of date":
            ws.cell(row=row, column=2).number_format = DATE_FORMAT


def _write_instructions(ws: Worksheet) -> None:
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = 34
    ws.column_dimensions["C"].width = 100
    ws.cell(row=1, column=1, value=guide.INTRO[0]).font = Font(bold=True, size=14)
    row = 2
    for para in guide.INTRO[1:]:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=3)
        cell = ws.cell(row=row, column=1, value=para)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[row].height = 15 * (1 + len(para) // 140)
        row += 1
    row += 1
    for slot in SLOTS:
        cell = ws.cell(row=row, column=1, value=f"{slot.sheet}" + (f" ({slot.display_name} table)" if slot.sheet == "Calendar" else ""))
        cell.font = Font(bold=True)
        note = ws.cell(row=row, column=3, value=guide.SHEET_NOTES.get(slot.table, ""))
        note.alignment = Alignment(wrap_text=True, vertical="top")
        row += 1
        for cf in column_formats(slot.table):
            if cf.field is None:
                continue
            ws.cell(row=row, column=2, value=cf.header)
            ws.cell(row=row, column=3, value=cf.note).alignment = Alignment(wrap_text=True, vertical="top")
            row += 1
        row += 1


# ---- files ------------------------------------------------------------------------------------

def template_path(macro: bool = False) -> Path:
    from apxl.resources import workbooks_dir

    return workbooks_dir() / (MACRO_TEMPLATE_FILE if macro else TEMPLATE_FILE)


def new_register(path: str | Path, profile: str | None = None, *, force: bool = False) -> Path:
    """Write a blank register to ``path`` (never over an existing file unless ``force``).

    ``.xlsm`` copies the macro-enabled template from workbooks/ (its VBA and buttons kept byte for byte);
    with a profile its Settings and Rules sheets are replaced, package-level, by the profile's.
    """
    import os
    import shutil
    import tempfile

    from apxl.errors import ApxlError

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in {".xlsx", ".xlsm"}:
        raise ApxlError(f"{path.name}: a new register must be an .xlsx workbook (or .xlsm for the macro-enabled template).")
    if path.exists() and not force:
        raise ApxlError(f"{path} already exists: choose another name, or add --force to replace it.")
    if not path.parent.is_dir():
        raise ApxlError(f"The folder {path.parent} does not exist.")
    if profile:
        from apxl.io.profiles import load_profile_data

        load_profile_data(profile)  # an unknown profile is one clear sentence, before anything is written
    fd, tmp = tempfile.mkstemp(suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        if suffix == ".xlsm":
            macro = template_path(macro=True)
            if not macro.is_file():
                raise ApxlError("The macro-enabled register template is not installed: write an .xlsx register instead.")
            if profile:
                from apxl.io.package import replace_sheets

                replace_sheets(macro, build_register_template(profile), ["Rules", "Settings"], tmp)
            else:
                shutil.copyfile(macro, tmp)
        else:
            build_register_template(profile).save(tmp)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes the file private; a register is shared like any workbook
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def main() -> None:
    """Regenerate workbooks/apxl-register.xlsx from this module (run after changing the layout)."""
    path = template_path()
    build_register_template().save(path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
