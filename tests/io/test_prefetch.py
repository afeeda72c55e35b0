"""Tables loaded in the background (apxl.io.prefetch) give the same register, and bad files the same error."""
import datetime as dt

import openpyxl
import pandas as pd
import pytest
from openpyxl.worksheet.table import Table

from apxl.errors import RegisterError
from apxl.io.prefetch import prefetch_tables
from apxl.io.reader import read_register

HEAD = ["Placement ID", "UPN", "Surname", "Forename", "Date of birth", "Provider ID", "Route", "Commissioner",
        "Registration (Dual/Single/Off-site)", "Start date"]
ATT = ["UPN", "Date", "Session (AM/PM)", "Code", "Source (School/Provider)"]


def _register(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Placements"
    ws.append(["Title row"])
    ws.append(HEAD)
    for i in range(3):
        ws.append([f"P{i}", "B801200005001", "Test", "Pupil", dt.date(2011, 9, 1), "PRV1", "PEX", "LA", "Dual", dt.date(2024, 9, 2 + i)])
    ws.add_table(Table(displayName="tblPlacements", ref="A2:J5"))
    att = wb.create_sheet("Attendance")
    att.append(ATT)
    for d in range(2, 6):
        att.append(["B801200005001", dt.date(2024, 9, d), "AM", "/", "School"])
    att.append(["B801200005001", dt.date(2024, 9, 2), "AM", "/", "School"])  # a duplicate: STR-005 either way
    att.add_table(Table(displayName="Sessions", ref="A1:E6"))
    path = tmp_path / "r.xlsx"
    wb.save(path)
    return path


def test_prefetched_tables_give_the_same_register(tmp_path):
    path = _register(tmp_path)
    pending = prefetch_tables(path)
    tables = pending.tables()
    assert set(tables) == {"tblPlacements", "Sessions"}
    with_prefetch, plain = read_register(path, tables), read_register(path)
    for name in plain.tables:
        pd.testing.assert_frame_equal(with_prefetch.tables[name].frame, plain.tables[name].frame)
    pd.testing.assert_frame_equal(with_prefetch.findings, plain.findings)
    assert "STR-005" in set(plain.findings["rule_id"])


def test_files_the_thread_cannot_read_are_reported_by_the_reader(tmp_path):
    assert prefetch_tables(tmp_path / "missing.xlsx") is None
    assert prefetch_tables(tmp_path) is None
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04garbage that is not a zip")
    pending = prefetch_tables(broken)
    assert pending is not None and pending.tables() == {}
    with pytest.raises(RegisterError, match="cannot be opened"):
        read_register(broken, pending.tables())
