"""The school return template: what it holds, that it opens in LibreOffice, and that a school can fill it in and have it ingested."""
from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from apxl.io.returns.ingest import ACCEPTED, KNOWN, ingest_return
from apxl.io.returns.template import EXTRA_COLUMNS, schools, write_return_template

from .conftest import RECEIVED, lo_convert, soffice

ISSUED = date(2025, 3, 1)
UNO_PYTHON = "/usr/bin/python3"


def _uno_available() -> bool:
    if soffice() is None or not Path(UNO_PYTHON).exists():
        return False
    return subprocess.run([UNO_PYTHON, "-c", "import uno"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def ashford(la, tmp_path_factory):
    register, _ = la
    return write_return_template(register, "100001", "2025-03", tmp_path_factory.mktemp("tpl") / "return_100001_2025-03.xlsx", issued=ISSUED)


def test_sheets_and_hidden_lists(ashford):
    wb = openpyxl.load_workbook(ashford)
    assert wb.sheetnames == ["Instructions", "Placements", "Attendance", "Provider list", "Lists", "Return info"]
    assert [wb[n].sheet_state for n in ("Lists", "Return info")] == ["hidden", "hidden"]
    info = {r[0]: r[1] for r in wb["Return info"].iter_rows(values_only=True)}
    assert (info["School URN"], info["Month"], info["Issued"]) == ("100001", "2025-03", "2025-03-01")


def test_placements_prefilled_for_confirmation(ashford, la):
    ws = openpyxl.load_workbook(ashford)["Placements"]
    heads = [c.value for c in ws[4]]
    assert heads[-2:] == list(EXTRA_COLUMNS) and heads[0] == "Placement ID" and len(heads) == 32
    assert [ws.cell(r, 1).value for r in range(5, 9)] == ["AP-0001", "AP-0003", "AP-0002", None]
    assert ws.cell(5, heads.index("Start date") + 1).value == datetime(2025, 1, 13)
    assert ws.cell(5, heads.index("Reintegration plan (Y/N)") + 1).value == "Y"


def test_single_registered_and_ended_placements_are_not_prefilled(la, tmp_path):
    register, _ = la
    path = write_return_template(register, "100002", "2025-03", tmp_path / "b.xlsx", issued=ISSUED)
    ids = [c.value for c in openpyxl.load_workbook(path)["Placements"]["A"][4:] if c.value]
    assert ids == ["AP-0005", "AP-0004"]  # AP-0009 is Single-registered at the AP: no longer on Brookside's roll
    path = write_return_template(register, "100003", "2025-03", tmp_path / "c.xlsx", issued=ISSUED)
    ids = [c.value for c in openpyxl.load_workbook(path)["Placements"]["A"][4:] if c.value]
    assert ids == ["AP-0006"]  # AP-0008 ended in February


def test_drop_downs(ashford):
    wb = openpyxl.load_workbook(ashford)
    ws = wb["Placements"]
    heads = [c.value for c in ws[4]]
    by_col = {}
    for dv in ws.data_validations.dataValidation:
        for rng in str(dv.sqref).split():
            by_col[openpyxl.utils.cell.coordinate_from_string(rng.split(":")[0])[0]] = dv.formula1
    col = lambda h: openpyxl.utils.get_column_letter(heads.index(h) + 1)  # noqa: E731
    assert by_col[col("Provider ID")] == "ProviderIDs"
    assert "ASSESS" in by_col[col("Route")] and "VOCATIONAL" in by_col[col("Route")]
    assert by_col[col("Registration (Dual/Single/Off-site)")] == '"Dual,Single,Off-site"'
    assert by_col[col("EHCP (Y/N)")] == '"Y,N"' and by_col[col("Confirmed by school (Y/N)")] == '"Y,N"'
    assert by_col[col("Commissioner")] == '"LA,School"'
    assert wb.defined_names["ProviderIDs"].attr_text == "'Provider list'!$A$2:$A$6"
    codes = [c.value for c in wb["Lists"]["A"][1:]]
    assert {"B", "D", "K", "/", "\\", "C2"} <= set(codes) and "H" not in codes  # the 2024 set is in force in March 2025
    grid_dv = [dv for dv in wb["Attendance"].data_validations.dataValidation]
    assert [dv.formula1 for dv in grid_dv] == ["ReturnAttendanceCodes"]


def test_headers_locked_data_open(ashford):
    ws = openpyxl.load_workbook(ashford)["Placements"]
    assert ws.protection.sheet
    assert ws["A4"].protection.locked and not ws["A5"].protection.locked and not ws["AF30"].protection.locked
    assert not ws.protection.insertRows  # False = allowed: a school may add rows
    att = openpyxl.load_workbook(ashford)["Attendance"]
    assert att.protection.sheet and att["E3"].protection.locked and not att["E5"].protection.locked


def test_attendance_grid_covers_the_months_school_days(ashford):
    ws = openpyxl.load_workbook(ashford)["Attendance"]
    dates = [c.value for c in ws[3][4:] if c.value is not None]
    assert len(dates) == 20  # March 2025: 21 weekdays less the INSET day on Friday 14th
    assert datetime(2025, 3, 14) not in dates and dates[0] == datetime(2025, 3, 3) and dates[-1] == datetime(2025, 3, 31)
    assert [c.value for c in ws[4][:6]] == ["UPN", "Surname", "Forename", "Placement ID(s)", "AM", "PM"]
    rows = {ws.cell(r, 1).value: r for r in range(5, 8)}
    clark = rows["Q938401200103"]  # AP-0003: Mon, Wed, Fri from 03/02/2025
    shaded = [ws.cell(clark, c).fill.start_color.rgb.endswith("E2EFDA") for c in range(5, 15)]
    assert shaded == [True, True, False, False, True, True, False, False, True, True]  # Mon 3 .. Fri 7 March
    assert all(ws.cell(r, c).value is None for r in range(5, 8) for c in range(5, 45))  # never pre-filled


def test_every_school_on_the_register(la, tmp_path):
    from apxl.io.returns.api import make_templates

    register, _ = la
    assert schools(register) == ["100001", "100002", "100003", "100004"]
    written = make_templates(Path(__file__).resolve().parents[2] / "fixtures" / "returns" / "register.xlsx", "2025-03", issued=ISSUED, all_schools=tmp_path / "out")
    assert [p.name for p in written] == [f"return_{u}_2025-03.xlsx" for u in schools(register)]


def test_an_untouched_template_ingests_as_all_known_and_no_differences(la, ashford):
    register, policy = la
    r = ingest_return(ashford, register, policy, received=RECEIVED)
    assert list(r.rows["status"]) == [KNOWN] * 3 and r.prepared.differences.empty and r.prepared.missing.empty


def _fill_with_openpyxl(src: Path, dst: Path) -> None:
    """What a school does: confirm the known rows, add a new placement, enter the week's codes, save."""
    wb = openpyxl.load_workbook(src)
    ws = wb["Placements"]
    for r in (5, 6, 7):
        ws[f"AE{r}"] = "Y"
    new = {"B": "L938401200110", "C": "Khan", "D": "Priya", "E": datetime(2009, 12, 1), "K": "P004", "L": "VOCATIONAL", "M": "School",
           "N": "School", "O": "School", "P": "Off-site", "Q": datetime(2025, 3, 10), "R": datetime(2025, 4, 4), "U": 20, "V": "Mon-Fri",
           "W": "Week", "X": 300, "Y": "Land-based skills", "Z": datetime(2025, 3, 31), "AA": "Y"}
    for col, value in new.items():
        ws[f"{col}8"] = value
    att = wb["Attendance"]
    for c in range(5, 15):  # Adams, Mon 3 to Fri 7 March, AM and PM
        att.cell(5, c, "B")
    att.cell(8, 1, "L938401200110")
    att.cell(8, 13, "B")  # Khan, Thu 6 March AM? no: column 13 is Fri 7 AM; she starts on the 10th
    wb.save(dst)


def test_a_school_fills_it_in_with_openpyxl(la, ashford, tmp_path):
    register, policy = la
    filled = tmp_path / "filled.xlsx"
    _fill_with_openpyxl(ashford, filled)
    r = ingest_return(filled, register, policy, received=RECEIVED)
    assert dict(zip(r.rows.index, r.rows["status"])) == {5: KNOWN, 6: KNOWN, 7: KNOWN, 8: ACCEPTED}
    assert r.prepared.differences.empty
    att = r.prepared.attendance.frame
    assert len(att) == 11 and set(att["code"]) == {"B"}
    # Khan's B on 7 March, before her placement starts, is an off-site code with no placement (ATT-003).
    att003 = r.report.by_rule("ATT-003")
    assert list(att003["column"]) == ["07/03/2025 AM"] and list(att003["row"]) == [8]


@pytest.mark.skipif(soffice() is None, reason="LibreOffice is not installed")
def test_template_and_filled_return_survive_a_libreoffice_round_trip(la, ashford, tmp_path):
    register, policy = la
    filled = tmp_path / "filled.xlsx"
    _fill_with_openpyxl(ashford, filled)
    saved = lo_convert(filled, tmp_path / "lo", "xlsx", tmp_path / "profile")
    direct = ingest_return(filled, register, policy, received=RECEIVED)
    via_lo = ingest_return(saved, register, policy, received=RECEIVED)
    assert via_lo.row_records() == direct.row_records()
    assert via_lo.prepared.attendance.frame[["upn", "date", "session", "code"]].reset_index(drop=True).equals(
        direct.prepared.attendance.frame[["upn", "date", "session", "code"]].reset_index(drop=True))
    assert via_lo.report.counts["by_rule"] == direct.report.counts["by_rule"]


@pytest.mark.skipif(not _uno_available(), reason="LibreOffice's Python UNO bridge is not installed")
def test_a_school_fills_it_in_with_libreoffice(la, ashford, tmp_path):
    """Cells typed through Calc itself (text dates as a person types them), saved by Calc as .xlsx, then ingested."""
    register, policy = la
    edits = [["Placements", "AE5", "Y"], ["Placements", "B8", "L938401200110"], ["Placements", "C8", "Khan"], ["Placements", "D8", "Priya"],
             ["Placements", "E8", "01/12/2009"], ["Placements", "K8", "P004"], ["Placements", "L8", "VOCATIONAL"], ["Placements", "M8", "School"],
             ["Placements", "N8", "School"], ["Placements", "O8", "School"], ["Placements", "P8", "Off-site"], ["Placements", "Q8", "10/03/2025"],
             ["Placements", "R8", "04/04/2025"], ["Placements", "U8", 20], ["Placements", "V8", "Mon-Fri"], ["Placements", "W8", "Week"],
             ["Placements", "X8", 300], ["Placements", "R5", "11/04/2025"],
             ["Attendance", "E5", "B"], ["Attendance", "F5", "B"], ["Attendance", "G5", "N"]]
    spec = tmp_path / "edits.json"
    spec.write_text(json.dumps(edits))
    out = tmp_path / "lo_filled.xlsx"
    run = subprocess.run([UNO_PYTHON, str(Path(__file__).with_name("lo_fill.py")), str(ashford), str(out), str(spec), str(tmp_path / "uno-profile")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and out.exists(), run.stderr
    r = ingest_return(out, register, policy, received=RECEIVED)
    assert dict(zip(r.rows.index, r.rows["status"])) == {5: KNOWN, 6: KNOWN, 7: KNOWN, 8: ACCEPTED}
    diffs = r.prepared.differences
    assert list(zip(diffs["placement_id"], diffs["field"])) == [("AP-0001", "planned_end_date")]
    assert r.prepared.placements.frame.loc[8, "start_date"].strftime("%Y-%m-%d") == "2025-03-10"
    att = r.prepared.attendance.frame
    assert sorted(att["code"]) == ["B", "B", "N"]


def test_the_same_register_gives_the_same_template(la, tmp_path):
    register, _ = la
    a = write_return_template(register, "100001", "2025-03", tmp_path / "a.xlsx", issued=ISSUED)
    b = write_return_template(register, "100001", "2025-03", tmp_path / "b.xlsx", issued=ISSUED)

    def dump(p):
        wb = openpyxl.load_workbook(p)
        return [(ws.title, c.coordinate, c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]

    assert dump(a) == dump(b)
    shutil.rmtree(tmp_path)
