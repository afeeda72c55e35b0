"""The reconciliation workbook: one sheet per kind of difference, each an Excel table, every cell written safely."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo

from apxl.io.returns.cells import write
from apxl.io.returns.reconcile import Reconciliation
from apxl.io.safe_save import atomic_target

# (sheet, table name, attribute, [(column, header)], what the sheet means)
_SHEETS: list[tuple[str, str, str, list[tuple[str, str]], str]] = [
    ("Returns", "Returns", "returns", [("file", "File"), ("school_urn", "School URN"), ("status", "Status"), ("reason", "Reason"),
                                       ("rows", "Rows"), ("new", "New"), ("needs_correction", "Needs correction"),
                                       ("already_on_register", "Already on register"), ("repeated", "Repeated"),
                                       ("differences", "Differences"), ("missing", "Missing from return"), ("message", "Message")],
     "Every file in the returns folder: processed, or refused with the reason sent to the school."),
    ("Not on register", "NotOnRegister", "not_on_register", [("file", "File"), ("school_urn", "School URN"), ("row", "Row"),
                                                             ("placement_id", "Placement ID"), ("upn", "UPN"), ("surname", "Surname"),
                                                             ("forename", "Forename"), ("provider_id", "Provider ID"), ("start_date", "Start date"),
                                                             ("status", "Status")],
     "Placements schools returned that the register does not have (same Placement ID, or same UPN + provider + start date)."),
    ("Not returned", "NotReturned", "not_returned", [("school_urn", "School URN"), ("placement_id", "Placement ID"), ("register_row", "Register row"),
                                                     ("upn", "UPN"), ("surname", "Surname"), ("forename", "Forename"), ("provider_id", "Provider ID"),
                                                     ("start_date", "Start date")],
     "Register placements running this month, pupil on the school's roll, that the school's return leaves out."),
    ("Differences", "Differences", "differences", [("file", "File"), ("school_urn", "School URN"), ("row", "Row"), ("placement_id", "Placement ID"),
                                                   ("register_row", "Register row"), ("column", "Column"), ("register_value", "Register value"),
                                                   ("returned_value", "Returned value")],
     "Field-by-field differences between returned placements and the register (only values the school stated)."),
    ("Schools not returned", "SchoolsNotReturned", "schools_not_returned", [("school_urn", "School URN"), ("school_name", "School name"),
                                                                           ("placements", "Placements expected")],
     "Schools with placements running this month that sent no readable return."),
    ("Attendance", "Attendance", "attendance", [("rule_id", "Rule"), ("severity", "Severity"), ("file", "File"), ("school_urn", "School URN"),
                                                ("sheet", "Sheet"), ("row", "Row"), ("column", "Column"), ("key", "UPN"), ("value", "Code"),
                                                ("message", "Message")],
     "Attendance codes in the returns that contradict the placements (ATT-003, ATT-004, ATT-005)."),
    ("Registration", "Registration", "registration", [("rule_id", "Rule"), ("severity", "Severity"), ("provider_id", "Provider ID"),
                                                      ("only_with_returns", "Only with returns"), ("message", "Message")],
     "Unregistered providers over the registration limit, counting every school's placements together (REG-005)."),
]
_INVOICES = ("Invoices", "Invoices", "invoices", [("provider_id", "Provider ID"), ("expected", "Expected (£)"), ("invoiced", "Invoiced (£)"),
                                                 ("difference", "Difference (£)"), ("status", "Status"), ("invoice_refs", "Invoice refs")],
             "Provider invoices against the expected cost of the month's placements.")


def write_reconciliation(rec: Reconciliation, output: str | Path) -> Path:
    """Write the reconciliation workbook (atomically). The same reconciliation always gives the same cells."""
    output = Path(output)
    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    write(ws["A1"], f"Monthly reconciliation of school returns, {rec.month}").font = Font(bold=True, size=14)
    write(ws["A2"], f"Register: {rec.register}")
    for r, (name, value) in enumerate(rec.counts.items(), start=4):
        write(ws.cell(r, 1), name.replace("_", " ").capitalize())
        ws.cell(r, 2, value)
    ws.column_dimensions["A"].width = 40
    sheets = list(_SHEETS)
    if rec.invoices is not None:
        sheets.append(_INVOICES)
    for sheet, table, attr, cols, note in sheets:
        frame = getattr(rec, attr)
        if attr == "invoices":
            frame = frame.assign(**{c: frame[f"{c}_pence"] / 100 for c in ("expected", "invoiced", "difference")})
        _table(wb.create_sheet(sheet), table, frame, cols, note)
    r = 4 + len(rec.counts) + 1
    for text in [*rec.invoice_problems, *(f"Ignored (not a spreadsheet): {n}" for n in rec.ignored)]:
        write(ws.cell(r, 1), text)
        r += 1
    wb.properties.creator = "apxl"
    with atomic_target(output) as tmp:
        wb.save(tmp)
    return output


def _table(ws, name: str, frame: pd.DataFrame, cols: list[tuple[str, str]], note: str) -> None:
    write(ws["A1"], note).font = Font(italic=True)
    head = 3
    for j, (_, header) in enumerate(cols, start=1):
        write(ws.cell(head, j), header).font = Font(bold=True)
    for r, rec in enumerate(frame.to_dict("records"), start=head + 1):
        for j, (col, _) in enumerate(cols, start=1):
            value: Any = rec.get(col)
            if isinstance(value, bool):
                value = "Y" if value else "N"
            cell = write(ws.cell(r, j), value)
            if col in {"expected", "invoiced", "difference"}:
                cell.number_format = "£#,##0.00"
    last = head + max(len(frame), 1)
    t = Table(displayName=name, ref=f"A{head}:{get_column_letter(len(cols))}{last}")
    t.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(t)
    for j, (col, header) in enumerate(cols, start=1):
        ws.column_dimensions[get_column_letter(j)].width = 90 if col == "message" else max(12, len(header) + 4)
    ws.freeze_panes = f"A{head + 1}"


__all__ = ["write_reconciliation"]
