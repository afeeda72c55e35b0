"""Invoice files are read leniently but never trusted; the fixture set is exactly what its build script writes."""
from __future__ import annotations

import importlib.util

import openpyxl
import pytest

from apxl.errors import ApxlError
from apxl.io.returns.invoices import read_invoices
from apxl.io.returns.safety import UnsafeReturnError

from .conftest import FIXTURES, INVOICES, MONTH_DIR


def test_fixture_invoices():
    lines, problems = read_invoices(INVOICES, "2025-03")
    assert lines[["provider_id", "pence", "ref"]].values.tolist() == [["P001", 105263, "NPRU-2503"], ["P002", 225000, "RAP-0325"], ["P004", 90000, "GFS/25/03"]]
    assert problems == ["invoices.csv: 1 line(s) for other months were left out."]


def test_messy_invoice_csv(tmp_path):
    path = tmp_path / "inv.csv"
    path.write_text("Supplier,Invoice No,Period,Invoice total\n"
                    " p001 ,1,03/2025,\"£1,000.50\"\n"
                    "P002,2,March 2025,(25.00)\n"
                    "P003,3,2025-03,tbc\n"
                    "P004,4,someday,10\n"
                    ",,,\n"
                    "P005,5,,7\n", encoding="utf-8")
    lines, problems = read_invoices(path, "2025-03")
    assert lines[["provider_id", "pence"]].values.tolist() == [["P001", 100050], ["P002", -2500], ["P005", 700]]
    assert len(problems) == 2 and "line 4" in problems[0] and "line 5" in problems[1]


def test_invoice_workbook_goes_through_the_safety_checks(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["Provider ID", "Amount"])
    wb.active.append(["P001", 12.5])
    wb.save(tmp_path / "inv.xlsx")
    lines, _ = read_invoices(tmp_path / "inv.xlsx", "2025-03")
    assert lines["pence"].tolist() == [1250]
    with pytest.raises(UnsafeReturnError):
        read_invoices(MONTH_DIR / "hostile_macro_renamed.xlsx", "2025-03")
    with pytest.raises(ApxlError, match="CSV or .xlsx"):
        read_invoices(MONTH_DIR / "hostile_macro.xlsm", "2025-03")


def test_invoices_without_the_columns(tmp_path):
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ApxlError, match="Provider ID and an Amount"):
        read_invoices(tmp_path / "x.csv", "2025-03")


def test_committed_fixtures_are_what_the_build_script_writes(tmp_path):
    spec = importlib.util.spec_from_file_location("build_returns_fixtures", FIXTURES / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    files = build.build(tmp_path)
    for path, data in files.items():
        committed = FIXTURES / path.relative_to(tmp_path)
        assert committed.read_bytes() == data, f"{committed.name} differs from build.py: rerun it"
