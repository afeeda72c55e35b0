"""Tables loaded in the background (apxl.io.prefetch): smallest first, handed out per sheet, the same register, bad files the same error."""
import datetime as dt

import openpyxl
import pandas as pd
import pytest
from openpyxl.worksheet.table import Table

import apxl.io.prefetch as prefetch
from apxl.errors import RegisterError
from apxl.io.prefetch import prefetch_tables, table_layout
from apxl.io.reader import read_register

HEAD = ["Placement ID", "UPN", "Surname", "Forename", "Date of birth", "Provider ID", "Route", "Commissioner",
        "Registration (Dual/Single/Off-site)", "Start date"]
ATT = ["UPN", "Date", "Session (AM/PM)", "Code", "Source (School/Provider)"]


def _register(tmp_path):
    wb = openpyxl.Workbook()
    att = wb.active
    att.title = "Attendance"  # first in the workbook, biggest table: loaded last all the same
    att.append(ATT)
    for d in range(2, 27):
        att.append(["B801200005001", dt.date(2024, 9, d), "AM", "/", "School"])
    att.append(["B801200005001", dt.date(2024, 9, 2), "AM", "/", "School"])  # a duplicate: STR-005 either way
    att.add_table(Table(displayName="Sessions", ref="A1:E27"))
    ws = wb.create_sheet("Placements")
    ws.append(["Title row"])
    ws.append(HEAD)
    for i in range(3):
        ws.append([f"P{i}", "B801200005001", "Test", "Pupil", dt.date(2011, 9, 1), "PRV1", "PEX", "LA", "Dual", dt.date(2024, 9, 2 + i)])
    ws.add_table(Table(displayName="tblPlacements", ref="A2:J5"))
    path = tmp_path / "r.xlsx"
    wb.save(path)
    return path


def _same(a, b):
    assert set(a.tables) == set(b.tables)
    for name in b.tables:
        pd.testing.assert_frame_equal(a.tables[name].frame, b.tables[name].frame)
    pd.testing.assert_frame_equal(a.findings, b.findings)


def test_layout_names_each_tables_sheet_and_size(tmp_path):
    assert table_layout(_register(tmp_path)) == {"Sessions": ("Attendance", 27 * 5), "tblPlacements": ("Placements", 4 * 10)}


def test_small_tables_load_first_and_each_sheet_gets_only_its_own(tmp_path, monkeypatch):
    path = _register(tmp_path)
    order = []
    real = prefetch.load_table
    monkeypatch.setattr(prefetch, "load_table", lambda book, name: order.append(name) or real(book, name))
    pending = prefetch_tables(path)
    placements = pending.on_sheet("Placements")
    assert [t.name for t in placements] == ["tblPlacements"] and placements[0].start == (2, 0)
    assert [t.name for t in pending.on_sheet("Attendance")] == ["Sessions"]
    assert pending.on_sheet("Calendar") == []
    pending.wait()
    assert order == ["tblPlacements", "Sessions"]


def test_prefetched_and_deferred_tables_give_the_same_register(tmp_path):
    path = _register(tmp_path)
    plain = read_register(path)
    _same(read_register(path, prefetch_tables(path)), plain)
    deferred = read_register(path, prefetch_tables(path), defer_attendance=True)
    assert "attendance" in deferred.pending and "attendance" not in deferred.tables
    deferred.resolve()
    _same(deferred, plain)
    assert "STR-005" in set(plain.findings["rule_id"])


def test_without_a_layout_every_table_is_loaded_before_any_is_handed_out(tmp_path, monkeypatch):
    path = _register(tmp_path)

    def no_layout(path):
        raise ValueError("unreadable table part")

    monkeypatch.setattr(prefetch, "table_layout", no_layout)
    pending = prefetch_tables(path)
    assert [t.name for t in pending.on_sheet("Placements")] == ["tblPlacements"]
    _same(read_register(path, prefetch_tables(path)), read_register(path))


def test_files_the_thread_cannot_read_are_reported_by_the_reader(tmp_path):
    assert prefetch_tables(tmp_path / "missing.xlsx") is None
    assert prefetch_tables(tmp_path) is None
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04garbage that is not a zip")
    pending = prefetch_tables(broken)
    assert pending is not None and pending.on_sheet("Placements") is None
    with pytest.raises(RegisterError, match="cannot be opened"):
        read_register(broken, pending)
