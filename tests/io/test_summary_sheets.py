"""apxl summarise end to end: summary sheets written into a copy, re-runs replace them, nothing else changes."""
import hashlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet.datavalidation import DataValidation
from typer.testing import CliRunner

from apxl.cli import app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
from summary_fixture import PLACEMENTS, PROVIDERS, TERMS  # noqa: E402

runner = CliRunner()


def _sheet(wb, title, records):
    ws = wb.create_sheet(title)
    headers = list(dict.fromkeys(h for r in records for h in r))
    ws.append(headers)
    for r in records:
        ws.append([r.get(h) for h in headers])
    return ws


@pytest.fixture()
def register(tmp_path):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    _sheet(wb, "Placements", PLACEMENTS)
    _sheet(wb, "Providers", PROVIDERS)
    _sheet(wb, "Calendar", TERMS)
    _sheet(wb, "Settings", [{"Name": "As of date", "Value": "31/07/2025"}, {"Name": "AP high needs budget", "Value": "£50,000"}])
    notes = wb.create_sheet("My notes")
    notes["A1"] = "keep me"
    notes["B1"] = "=1+1"
    dv = DataValidation(type="list", formula1='"Y,N"')
    notes.add_data_validation(dv)
    dv.add("C1:C10")
    path = tmp_path / "register.xlsx"
    wb.save(path)
    return path


def _members(path):
    with zipfile.ZipFile(path) as z:
        return {n: hashlib.sha256(z.read(n)).hexdigest() for n in z.namelist()}


def test_summarise_a_year_writes_every_term_and_financial_year(register, tmp_path):
    before = register.read_bytes()
    out = tmp_path / "out.xlsx"
    result = runner.invoke(app, ["summarise", str(register), "--year", "2024-25", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert register.read_bytes() == before  # the input is never touched
    wb = openpyxl.load_workbook(out)
    expected = [f"Provider summary 2024-25 {t}" for t in ("autumn", "spring", "summer")] + [f"Funding summary 2024-25 {t}" for t in ("autumn", "spring", "summer")] + ["Funding summary FY 2024-25", "Funding summary FY 2025-26"]
    assert [n for n in wb.sheetnames if n.endswith(tuple(expected))] == expected
    assert wb["My notes"]["B1"].value == "=1+1"
    autumn = wb["Provider summary 2024-25 autumn"]
    values = [[c for c in row] for row in autumn.iter_rows(values_only=True)]
    flat = [v for row in values for v in row if v is not None]
    assert 12973.69 in flat and 23198.69 in flat  # PRV1's autumn cost and the total, as worked by hand
    assert any(len(ws._charts) for ws in wb.worksheets)
    fy = wb["Funding summary FY 2024-25"]
    assert "AP high needs budget against actual LA spend" in [c.value for c in fy["A"]]


def test_rerun_replaces_summary_sheets_and_leaves_other_parts_alone(register, tmp_path):
    first = tmp_path / "first.xlsx"
    second = tmp_path / "second.xlsx"
    assert runner.invoke(app, ["summarise", str(register), "--term", "2024-25-autumn", "-o", str(first)]).exit_code == 0
    assert runner.invoke(app, ["summarise", str(first), "--term", "2024-25-autumn", "-o", str(second)]).exit_code == 0
    names = openpyxl.load_workbook(second).sheetnames
    assert names.count("Provider summary 2024-25 autumn") == 1
    a, b = _members(register), _members(second)
    untouched = [n for n in a if n.startswith("xl/worksheets/sheet") and n in b]
    assert untouched and all(a[n] == b[n] for n in untouched if "sheet5" not in n)


def test_in_place_keeps_a_backup(register):
    original = register.read_bytes()
    result = runner.invoke(app, ["summarise", str(register), "--term", "2024-25-spring", "--in-place"])
    assert result.exit_code == 0, result.output
    backups = list(register.parent.glob("register.backup-*.xlsx"))
    assert len(backups) == 1 and backups[0].read_bytes() == original
    assert "Provider summary 2024-25 spring" in openpyxl.load_workbook(register).sheetnames


def test_publish_marks_small_counts(register, tmp_path):
    out = tmp_path / "pub.xlsx"
    assert runner.invoke(app, ["summarise", str(register), "--term", "2024-25-autumn", "--publish", "-o", str(out)]).exit_code == 0
    ws = openpyxl.load_workbook(out)["Provider summary 2024-25 autumn"]
    flat = [v for row in ws.iter_rows(values_only=True) for v in row]
    assert "<5" in flat
    assert any(isinstance(v, str) and "Published version" in v for v in flat)


def test_unknown_term_is_one_sentence(register):
    result = runner.invoke(app, ["summarise", str(register), "--term", "autumn"])
    assert result.exit_code == 2 and "not a term" in result.output


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed; .ci/run installs it")
def test_summaries_open_in_libreoffice(register, tmp_path):
    out = tmp_path / "out.xlsx"
    assert runner.invoke(app, ["summarise", str(register), "--year", "2024-25", "-o", str(out)]).exit_code == 0
    profile = tmp_path / "lo-profile"
    done = subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(out)],
                          capture_output=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.pdf").stat().st_size > 10_000
