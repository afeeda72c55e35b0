"""Reading registers: tables below title rows, ListObjects, loose header rows, the Calendar's two tables, bad files."""
import datetime as dt
import zipfile

import openpyxl
import pandas as pd
import pytest
from openpyxl.worksheet.table import Table

from apxl.errors import RegisterError
from apxl.io.reader import read_register

HEAD = ["Placement ID", "UPN", "Surname", "Forename", "Date of birth", "Provider ID", "Route", "Commissioner", "Registration (Dual/Single/Off-site)", "Start date", "EHCP (Y/N)"]


def _row(pid, start, **kw):
    base = [pid, "B801200005001", "Test", "Pupil", dt.date(2011, 9, 1), "PRV1", "PEX", "LA", "Dual", start, "N"]
    return base


def test_listobject_below_a_title_block_is_found_with_excel_row_numbers(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Placements"
    ws.append(["Herefordshire AP register"])
    ws.append(["Confidential"])
    ws.append([])
    ws.append(HEAD)
    ws.append(_row("P1", dt.date(2024, 9, 2)))
    ws.append(_row("P2", "03/09/2024"))
    ws.append(_row("P3", 45560))  # an Excel serial: 25/09/2024
    ws.add_table(Table(displayName="tblPlacements", ref=f"A4:K7"))
    path = tmp_path / "r.xlsx"
    wb.save(path)
    reg = read_register(path)
    p = reg.placements
    assert list(p.index) == [5, 6, 7]
    assert list(p["start_date"]) == [pd.Timestamp("2024-09-02"), pd.Timestamp("2024-09-03"), pd.Timestamp("2024-09-25")]
    assert reg.table("placements").letters["start_date"] == "J"
    assert reg.table("placements").header_row == 4


def test_sheet_without_a_table_object_header_found_by_scanning(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "placements "  # sheet names match loosely too
    ws.append(["Title"])
    ws.append([h.upper() for h in HEAD] + ["Notes"])
    ws.append(_row("P1", dt.date(2024, 9, 2)) + ["free text"])
    ws.append([None] * 5)  # a blank row inside the table is skipped
    ws.append(_row("P2", dt.date(2024, 9, 3)))
    path = tmp_path / "r.xlsx"
    wb.save(path)
    reg = read_register(path)
    assert list(reg.placements.index) == [3, 5]
    assert reg.findings.query("rule_id != 'STR-001'").empty


def test_calendar_sheet_with_terms_and_closures_side_by_side(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Placements"
    wb.active.append(HEAD)
    wb.active.append(_row("P1", dt.date(2024, 9, 2)))
    cal = wb.create_sheet("Calendar")
    cal.append(["Academic year", "Term", "Start", "End", "Half-term start", "Half-term end", None, "Date", "Reason"])
    cal.append(["2024-25", "Autumn", dt.date(2024, 9, 2), dt.date(2024, 12, 20), dt.date(2024, 10, 28), dt.date(2024, 11, 1), None, dt.date(2024, 9, 2), "INSET"])
    cal.append(["2024-25", "Spring", dt.date(2025, 1, 6), dt.date(2025, 4, 4), dt.date(2025, 2, 17), dt.date(2025, 2, 21), None, dt.date(2025, 1, 6), "INSET"])
    cal.add_table(Table(displayName="tblTerms", ref="A1:F3"))
    cal.add_table(Table(displayName="tblClosures", ref="H1:I3"))
    path = tmp_path / "r.xlsx"
    wb.save(path)
    reg = read_register(path)
    assert list(reg.terms["term"]) == ["Autumn", "Spring"]
    assert list(reg.closures["reason"]) == ["INSET", "INSET"]
    assert reg.table("closures").letters["date"] == "H"


def test_calendar_tables_stacked_without_table_objects(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Placements"
    wb.active.append(HEAD)
    cal = wb.create_sheet("Calendar")
    cal.append(["Academic year", "Term", "Start", "End"])
    cal.append(["2024-25", "Autumn", dt.date(2024, 9, 2), dt.date(2024, 12, 20)])
    cal.append([])
    cal.append(["Closures"])
    cal.append(["Date", "Reason"])
    cal.append([dt.date(2024, 9, 2), "INSET"])
    path = tmp_path / "r.xlsx"
    wb.save(path)
    reg = read_register(path)
    assert list(reg.terms["term"]) == ["Autumn"]
    assert list(reg.closures["date"]) == [pd.Timestamp("2024-09-02")]
    assert list(reg.closures.index) == [6]


def test_missing_optional_sheets_are_findings_not_errors(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Placements"
    wb.active.append(HEAD)
    path = tmp_path / "r.xlsx"
    wb.save(path)
    reg = read_register(path)
    assert set(reg.findings["rule_id"]) == {"STR-001"}
    assert set(reg.findings["sheet"]) == {"Providers", "Calendar", "Attendance"}


@pytest.mark.parametrize(
    "name,content,phrase",
    [
        ("notes.txt", b"hello", "not an Excel workbook"),
        ("broken.xlsx", b"PK\x03\x04garbage that is not a zip", "cannot be opened"),
        ("empty.xlsx", b"", "is empty"),
        ("locked.xlsx", bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 600, "password-protected"),
    ],
)
def test_unreadable_files_raise_one_clear_sentence(tmp_path, name, content, phrase):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(RegisterError, match=phrase):
        read_register(path)


def test_workbook_without_placements_cannot_run(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Providers"
    path = tmp_path / "r.xlsx"
    wb.save(path)
    with pytest.raises(RegisterError, match="no Placements sheet"):
        read_register(path)


def test_truncated_workbook_is_a_clear_error(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Placements"
    wb.active.append(HEAD)
    good = tmp_path / "good.xlsx"
    wb.save(good)
    bad = tmp_path / "cut.xlsx"
    bad.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(RegisterError):
        read_register(bad)


def test_columns_of_text_or_dates_are_typed_and_others_keep_their_cell_values():
    from apxl.io.reader import _to_frame

    rows = [
        ["A1", dt.date(2024, 9, 2), dt.date(2024, 9, 2), 7, "x"],
        ["", dt.date(2024, 9, 3), dt.datetime(2024, 9, 3, 14, 30), 7.5, 5],
        ["", "", "", "", ""],  # a blank row inside the table: skipped
        ["A3", "", dt.date(2024, 9, 4), "", True],
    ]
    frame = _to_frame(rows, 10, ["UPN", "Date", "Stamp", "Hours", "Mixed"])
    assert list(frame.index) == [10, 11, 13]  # Excel rows
    assert pd.api.types.is_string_dtype(frame["UPN"].dtype) and frame["UPN"].tolist()[0] == "A1" and pd.isna(frame["UPN"].iloc[1])
    assert isinstance(frame["Date"].dtype, pd.ArrowDtype) and frame["Date"].iloc[1] == dt.date(2024, 9, 3) and pd.isna(frame["Date"].iloc[2])
    # A datetime among dates keeps its time; numbers and mixed cells stay as the workbook gave them.
    assert frame["Stamp"].dtype == object and frame["Stamp"].iloc[1] == dt.datetime(2024, 9, 3, 14, 30)
    assert frame["Hours"].tolist()[:2] == [7, 7.5] and pd.isna(frame["Hours"].iloc[2])
    assert frame["Mixed"].tolist() == ["x", 5, True]


def test_duplicate_header_texts_keep_one_column_each():
    from apxl.io.reader import _to_frame

    frame = _to_frame([["a", "b"], ["c", ""]], 2, ["Notes", "Notes"])
    assert frame.shape == (2, 2) and frame.iloc[:, 1].isna().tolist() == [False, True]
