"""The Import school returns button: the Settings sheet's returns folder checked against the open register, written as two sheets."""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np
import pandas as pd

from apxl.core.register import Register
from apxl.errors import ApxlError

SUMMARY_SHEET = "School returns"
FINDINGS_SHEET = "Return findings"
SHEETS = (SUMMARY_SHEET, FINDINGS_SHEET)
# A1 of both sheets starts with this: a re-run (and Clear apxl output) only replaces a sheet apxl wrote.
MARK = "apxl school returns"
FOLDER_SETTING, MONTH_SETTING, INVOICES_SETTING = "Returns folder", "Returns month", "Invoices file"
# On a shared `apxl serve`, IT can confine the folders the button reads (several joined by os.pathsep).
ROOTS_ENV = "APXL_RETURNS_ROOT"
DATE_FORMAT = "dd/mm/yyyy"
MONEY_FORMAT = "£#,##0.00"
# Text a spreadsheet would run as a formula or DDE command (apxl.io.returns.cells): written with the quote prefix.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

NOT_SET = ("Set 'Returns folder' on the Settings sheet (a row named Returns folder, its value the folder holding the month's "
           "school returns, e.g. C:\\AP\\Returns\\2025-03), then press Import school returns again.")

FINDING_COLUMNS = [("file", "File"), ("school_urn", "School URN"), ("rule_id", "Rule"), ("severity", "Severity"), ("sheet", "Sheet"),
                   ("row", "Row"), ("column", "Column"), ("key", "Key"), ("value", "Value"), ("message", "Message")]
FILE_COLUMNS = [("file", "File"), ("school_urn", "School URN"), ("status", "Status"), ("reason", "Reason"), ("rows", "Rows"), ("new", "New"),
                ("needs_correction", "Needs correction"), ("already_on_register", "Already on register"), ("repeated", "Repeated"),
                ("differences", "Differences"), ("missing", "Missing from return"), ("message", "Message")]
NOT_RETURNED_COLUMNS = [("school_urn", "School URN"), ("placement_id", "Placement ID"), ("register_row", "Register row"),
                        ("provider_id", "Provider ID"), ("start_date", "Start date")]
SCHOOL_COLUMNS = [("school_urn", "School URN"), ("school_name", "School name"), ("placements", "Placements expected")]
DIFFERENCE_COLUMNS = [("file", "File"), ("school_urn", "School URN"), ("row", "Return row"), ("placement_id", "Placement ID"),
                      ("register_row", "Register row"), ("column", "Column"), ("register_value", "Register value"), ("returned_value", "Returned value")]
INVOICE_COLUMNS = [("provider_id", "Provider ID"), ("expected", "Expected (£)"), ("invoiced", "Invoiced (£)"), ("difference", "Difference (£)"),
                   ("status", "Status"), ("invoice_refs", "Invoice refs")]
NEW_EXTRA = [("_file", "Return file"), ("_urn", "Returned by school (URN)"), ("_row", "Return row")]


@dataclass(frozen=True)
class Job:
    """What the button reads: the returns folder, the month they cover and an optional invoices file."""

    folder: Path
    month: str
    invoices: Path | None = None


@dataclass
class Imported:
    """The month's returns checked against the register: the reconciliation, every finding and the rows to add."""

    job: Job
    as_of: date
    reconciliation: Any  # apxl.io.returns.reconcile.Reconciliation
    findings: pd.DataFrame  # FINDING_COLUMNS fields, in file order
    new_rows: pd.DataFrame  # accepted placements (canonical fields) plus _file, _urn, _row


# ---- the settings -----------------------------------------------------------------------------------
def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip().strip('"').strip()  # Explorer's "Copy as path" adds quotes


def _looks_absolute(text: str) -> bool:
    return PureWindowsPath(text).is_absolute() or PurePosixPath(text).is_absolute() or text.startswith("~")


def _path(text: str, setting: str, base: Path | None, where: str) -> Path:
    if not _looks_absolute(text) and base is None:
        raise ApxlError(f"'{setting}' is '{text}': give the full path{where}, e.g. C:\\AP\\Returns\\2025-03.")
    path = Path(text).expanduser()
    return path if path.is_absolute() or base is None else base / path


def _within_roots(path: Path) -> None:
    roots = [Path(r).expanduser().resolve() for r in os.environ.get(ROOTS_ENV, "").split(os.pathsep) if r.strip()]
    if roots and not any(path.resolve().is_relative_to(r) for r in roots):
        raise ApxlError(f"This apxl server only reads returns from {', '.join(map(str, roots))}: put the month's returns there and set 'Returns folder' to that folder.")


def month_of(value: Any, folder: Path | None = None) -> str:
    """'Returns month' as YYYY-MM: typed as 2025-03, 03/2025 or March 2025, or a date Excel made of it; blank: the folder's name."""
    from apxl.core.parse import parse_month_value

    if isinstance(value, (datetime, date, pd.Timestamp)):
        return value.strftime("%Y-%m")
    text = _text(value)
    if not text:
        month = parse_month_value(folder.name) if folder is not None and re.fullmatch(r"\d{4}-\d{1,2}", folder.name) else None
        if month:
            return month
        raise ApxlError("Set 'Returns month' on the Settings sheet to the month the returns cover (e.g. 2025-03), or name the returns folder after the month.")
    month = parse_month_value(text)
    if month:
        return month
    raise ApxlError(f"'Returns month' is '{text}', which is not a month: enter it as YYYY-MM, e.g. 2025-03.")


def job_from_settings(register: Register, *, base: Path | None = None, where: str = "") -> Job:
    """The returns folder, month and invoices file from the Settings sheet; one sentence (ApxlError) when they are unusable.

    ``base``: the workbook's own folder (desktop Excel), for a folder given relative to it.
    ``where``: words placing the folder for the officer, e.g. ' on the computer running the apxl server'.
    """
    text = _text(register.setting(FOLDER_SETTING))
    if not text:
        raise ApxlError(NOT_SET)
    folder = _path(text, FOLDER_SETTING, base, where)
    _within_roots(folder)  # first: a confined server says nothing about folders outside its roots
    if not folder.exists():
        raise ApxlError(f"The returns folder '{text}' does not exist{where}: check 'Returns folder' on the Settings sheet.")
    if not folder.is_dir():
        raise ApxlError(f"'Returns folder' is '{text}', which is a file, not a folder: give the folder holding the month's returns.")
    month = month_of(register.setting(MONTH_SETTING), folder)
    invoices = None
    inv_text = _text(register.setting(INVOICES_SETTING))
    if inv_text:
        invoices = _path(inv_text, INVOICES_SETTING, base, where)
        _within_roots(invoices)
        if not invoices.is_file():
            raise ApxlError(f"The invoices file '{inv_text}' does not exist{where}: check 'Invoices file' on the Settings sheet, or clear it.")
    return Job(folder=folder, month=month, invoices=invoices)


# ---- the work -------------------------------------------------------------------------------------
def import_returns(register: Register, policy, job: Job, *, register_name: str, as_of: date | None = None) -> Imported:
    """Read every return in the folder once (hostile files refused), reconcile the month and collect the findings about each return.

    As ``apxl reconcile``: checked as of the month's last day unless ``as_of`` is given. Only the
    rules that decide a row's fate run on the returned rows (STR-*, PUP-001, PLC-001, RET-001..006);
    the other checks run on new placements once they are in the register (Validate register).
    """
    from apxl.core.reconcile import month_bounds
    from apxl.io.returns.ingest import ACCEPTED, BLOCKING_RULES, check_prepared
    from apxl.io.returns.prepare import prepare_returns
    from apxl.io.returns.reconcile import reconcile, return_files

    as_of = as_of or month_bounds(job.month)[1].date()
    files, ignored = return_files(job.folder)
    prepared, failures = prepare_returns(files, register, month=job.month)
    rec = reconcile(register, register_name, files, job.month, policy, as_of=as_of, invoices=job.invoices, ignored=ignored,
                    prepared=(prepared, failures))
    by_name = {p.file.path.name: p for p in prepared}
    failed = {f.path.name: f for f in failures}
    parts: list[pd.DataFrame] = []
    for name in rec.returns["file"]:
        if name in failed:
            f = failed[name]
            parts.append(_rows([{"file": name, "rule_id": "Refused", "severity": "error", "value": f.reason, "message": f.message}]))
        elif name in by_name:
            p = by_name[name]
            found = check_prepared(p, register, policy, as_of, only=BLOCKING_RULES).frame
            parts.append(found.assign(file=name, school_urn=p.school_urn).sort_values(["row", "rule_id"], kind="stable", na_position="last"))
            att = rec.attendance[rec.attendance["file"] == name]
            if len(att):
                parts.append(att)
    parts.append(_rows([{"file": n, "rule_id": "Ignored", "severity": "info", "message": "Not a spreadsheet, so it was not read as a return."}
                        for n in rec.ignored]))
    reg = rec.registration
    if len(reg):
        parts.append(reg.assign(key=reg["provider_id"], value=np.where(reg["only_with_returns"], "only with the returns", None)))
    fields = [f for f, _ in FINDING_COLUMNS]
    findings = pd.concat([p.reindex(columns=fields) for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else pd.DataFrame(columns=fields)
    new = rec.not_on_register[rec.not_on_register["status"] == ACCEPTED]
    blocks = [by_name[f].placements.frame.loc[[int(r)]].assign(_file=f, _urn=u, _row=int(r)) for f, u, r in zip(new["file"], new["school_urn"], new["row"])]
    new_rows = pd.concat(blocks) if blocks else pd.DataFrame(columns=[f for f, _ in NEW_EXTRA])
    return Imported(job=job, as_of=as_of, reconciliation=rec, findings=findings, new_rows=new_rows)


def _rows(records: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(records, columns=[f for f, _ in FINDING_COLUMNS])


def summary_text(imported: Imported) -> str:
    """One or two sentences for the officer (status bar, alert, task pane)."""
    c = imported.reconciliation.counts
    schools = f"{c['schools_not_returned']} school(s) with placements this month sent nothing"
    if not c["returns"]:
        return f"There are no returns in {imported.job.folder} yet; {schools}. See the {SUMMARY_SHEET} sheet."
    return (f"Read {c['processed']} of {c['returns']} returns for {imported.job.month} ({c['refused']} refused): {len(imported.new_rows)} new placement(s) "
            f"to add, {c['differences']} difference(s) from the register, {c['not_returned']} register placement(s) missing from returns, {schools}. "
            f"See the {SUMMARY_SHEET} and {FINDINGS_SHEET} sheets.")


# ---- writing into the workbook ----------------------------------------------------------------------
def is_apxl_sheet(sheet) -> bool:
    """A sheet this button wrote (its A1 starts with MARK): only those are replaced or cleared."""
    try:
        return str(sheet["A1"].value or "").startswith(MARK)
    except Exception:  # noqa: BLE001 - an unreadable sheet is not ours
        return False


def check_replaceable(book) -> None:
    """Refuse, before any work, when the workbook has a sheet of the same name that apxl did not write."""
    for sheet in book.sheets:
        if sheet.name in SHEETS and not is_apxl_sheet(sheet):
            raise ApxlError(f"This workbook already has a sheet called '{sheet.name}' that apxl did not write: rename it, then press Import school returns again.")


def write_import(book, register: Register, imported: Imported) -> list[str]:
    """Replace the School returns and Return findings sheets with the import's results (values, never formulas)."""
    check_replaceable(book)
    for sheet in list(book.sheets):
        if sheet.name in SHEETS:
            sheet.delete()
    rec, job = imported.reconciliation, imported.job
    points = _points(book)

    ws = book.sheets.add(SUMMARY_SHEET, after=book.sheets[len(book.sheets) - 1])
    c = rec.counts
    lines = [
        [f"{MARK} for {job.month}"],
        [_safe(f"Read from {job.folder} on {datetime.now():%d/%m/%Y %H:%M}; checked against this register as of {imported.as_of:%d/%m/%Y}.")],
        [f"Files: {c['returns']} ({c['processed']} read, {c['refused']} refused). New placements: {len(imported.new_rows)}. "
         f"Rows needing correction: {c['not_on_register'] - len(imported.new_rows)}. Differences: {c['differences']}. "
         f"Register placements missing from returns: {c['not_returned']}. Schools that sent nothing: {c['schools_not_returned']}."],
        ["The Placements sheet was not changed: copy the rows under 'New placements to add' into it, then press Validate register."],
        *[[_safe(t)] for t in rec.invoice_problems],
    ]
    ws["A1"].value = lines
    ws["A1"].font.bold = True
    top = len(lines) + 2
    place_fields = _placement_fields(register)
    new_cols = [(f, register.header("placements", f)) for f in place_fields] + NEW_EXTRA
    dates = {f for f in place_fields if f.endswith("date") or f == "date_of_birth"}
    yes_no = {f for f in place_fields if f in imported.new_rows.columns and str(imported.new_rows[f].dtype) == "boolean"}
    tables = [
        ("Files in the returns folder (a refused file's reason is the sentence to send the school)", "ReturnsFiles", rec.returns, FILE_COLUMNS, set(), set()),
        ("New placements to add (in the Placements sheet's column order: copy them into Placements)", "ReturnsNew", imported.new_rows, new_cols, dates, set()),
        ("Register placements running this month that the school's return leaves out", "ReturnsMissing", rec.not_returned, NOT_RETURNED_COLUMNS, {"start_date"}, set()),
        ("Schools with placements this month that sent no readable return", "ReturnsNoReturn", rec.schools_not_returned, SCHOOL_COLUMNS, set(), set()),
        ("Differences between the returns and the register (the register was not changed)", "ReturnsDifferences", rec.differences, DIFFERENCE_COLUMNS, set(), set()),
    ]
    if rec.invoices is not None:
        inv = rec.invoices.assign(**{k: rec.invoices[f"{k}_pence"] / 100 for k in ("expected", "invoiced", "difference")})
        tables.append(("Provider invoices against the month's expected cost", "ReturnsInvoices", inv, INVOICE_COLUMNS, set(), {"expected", "invoiced", "difference"}))
    for caption, name, frame, cols, date_cols, money_cols in tables:
        top = _table(ws, top, caption, name, frame, cols, date_cols, money_cols, yes_no if name == "ReturnsNew" else set())
    _widths(ws, [30, 14, 12, 16, 10, 10], points)

    fs = book.sheets.add(FINDINGS_SHEET, after=book.sheets[len(book.sheets) - 1])
    counts = imported.findings["severity"].value_counts()
    fs["A1"].value = [[f"{MARK}: findings for {job.month}"],
                      [f"{len(imported.findings)} findings: {counts.get('error', 0)} errors, {counts.get('warning', 0)} warnings, {counts.get('info', 0)} info. "
                       "Sheet and Row are the school's return; REG-005 rows are the register's Providers sheet."]]
    fs["A1"].font.bold = True
    _table(fs, 4, None, "ReturnFindings", imported.findings, FINDING_COLUMNS, set(), set(), set())
    _widths(fs, [30, 12, 10, 10, 14, 7, 18, 24, 24, 110], points)
    fs.activate()
    return list(SHEETS)


def _placement_fields(register: Register) -> list[str]:
    """The register's Placements fields in its sheet's column order (so the new rows can be pasted under it)."""
    table = register.table("placements")
    fields = [f for f in table.headers if f in table.frame.columns]
    letters = table.letters or {}
    return sorted(fields, key=lambda f: (len(letters.get(f, "ZZZ")), letters.get(f, "ZZZ")))


def _table(ws, top: int, caption: str | None, name: str, frame: pd.DataFrame, cols: list[tuple[str, str]], date_cols: set[str],
           money_cols: set[str], yes_no: set[str]) -> int:
    """Write ``frame``'s ``cols`` as an Excel table at row ``top`` (a caption row above it); returns the next free row."""
    if caption:
        ws.range((top, 1)).value = caption + (": none" if frame.empty else "")
        ws.range((top, 1)).font.bold = True
        top += 1
    body = [[h for _, h in cols]]
    for rec in frame.to_dict("records"):
        body.append([_value(rec.get(f), f in yes_no, f in date_cols) for f, _ in cols])
    if len(body) == 1:
        body.append([None] * len(cols))
    area = ws.range((top, 1), (top + len(body) - 1, len(cols)))
    area.value = body
    ws.tables.add(area, name=name, table_style_name="TableStyleMedium2")
    for j, (f, _) in enumerate(cols, start=1):
        if len(body) > 1 and (f in date_cols or f in money_cols):
            ws.range((top + 1, j), (top + len(body) - 1, j)).number_format = DATE_FORMAT if f in date_cols else MONEY_FORMAT
    return top + len(body) + 2


def _value(value: Any, yn: bool = False, as_date: bool = False) -> Any:
    """A frame value as a cell value: dates as dates, Y/N for yes/no columns, text that can never become a formula."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.date() if as_date or (value.hour, value.minute, value.second) == (0, 0, 0) else value.replace(tzinfo=None)
    if isinstance(value, bool):
        return ("Y" if value else "N") if yn else value
    if isinstance(value, (int, float, date)):
        return value
    return _safe(str(value))


def _safe(text: str) -> str:
    # Returns are untrusted: a school's "=HYPERLINK(...)" must arrive as text, never run as a formula.
    text = _ILLEGAL.sub("", text)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _points(book) -> bool:
    """Office.js measures column widths in points; desktop Excel in characters."""
    try:
        return getattr(book.api, "get", lambda *_: None)("client") == "Office.js"
    except Exception:  # noqa: BLE001
        return False


def _widths(ws, widths: list[int], points: bool) -> None:
    for j, width in enumerate(widths, start=1):
        try:
            ws.range((1, j)).column_width = width * 6 if points else width
        except Exception:  # noqa: BLE001 - a host without column widths still has the values
            pass


__all__ = ["SUMMARY_SHEET", "FINDINGS_SHEET", "SHEETS", "MARK", "FOLDER_SETTING", "MONTH_SETTING", "INVOICES_SETTING", "ROOTS_ENV", "Job",
           "Imported", "job_from_settings", "month_of", "import_returns", "summary_text", "is_apxl_sheet", "check_replaceable", "write_import"]
