"""Attendance readers: the long table, wide MIS grids (one or two header rows) and CSV/Parquet files all give the
same sessions, and the ATT checks find the same planted mistakes whichever shape the register came in."""
import datetime as dt
import json
import re
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
import attendance_fixture as fx  # noqa: E402

from apxl.cli import app  # noqa: E402
from apxl.core.check import check_register  # noqa: E402
from apxl.core.policy import default_policy  # noqa: E402
from apxl.errors import RegisterError  # noqa: E402
from apxl.io.attendance import header_date_session, read_attendance_file, use_attendance_file, wide_from_grid, with_attendance_codes  # noqa: E402
from apxl.io.reader import read_register  # noqa: E402

ATT = [f"ATT-{i:03d}" for i in range(1, 13)]
POLICY = with_attendance_codes(default_policy())


def _sheet(wb, title, records):
    ws = wb.create_sheet(title)
    heads = list(dict.fromkeys(h for r in records for h in r))
    ws.append(heads)
    for r in records:
        ws.append([r.get(h) for h in heads])
    return ws


def _workbook(path, attendance_rows=None, *, long=True):
    """The fixture register as an .xlsx: Attendance as the long table, or the given grid rows."""
    sheets = fx.register_records()
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    _sheet(wb, "Placements", sheets["placements"])
    _sheet(wb, "Providers", sheets["providers"])
    cal = _sheet(wb, "Calendar", sheets["terms"])
    cal.append([])
    cal.append(["Date", "Reason"])
    for c in sheets["closures"]:
        cal.append([c["Date"], c["Reason"]])
    _sheet(wb, "Settings", sheets["settings"])
    if long:
        _sheet(wb, "Attendance", sheets["attendance"])
    else:
        ws = wb.create_sheet("Attendance")
        for row in attendance_rows:
            ws.append(row)
    wb.save(path)
    return path


def _two_row_grid(records):
    """A date row above an AM/PM row, the date written once (as over merged cells) as a real date."""
    grid = fx.wide_rows(records)
    heads = grid[2][2:]
    dates, sessions = ["UPN", "Source"], ["", ""]
    for h in heads:
        d, s = header_date_session(h)
        dates.append(d.to_pydatetime() if s == "AM" else None)
        sessions.append(s)
    return [grid[0], dates, sessions, *grid[3:]]


def _sessions(frame):
    cols = ["upn", "date", "session", "code", "source"]
    return set(map(tuple, frame[cols].astype(str).to_numpy().tolist()))


def _planted(report):
    out = set()
    for rid, key, msg in zip(report.frame["rule_id"], report.frame["key"], report.frame["message"]):
        term = re.search(r"absence in (\d{4}-\d{2}-\w+):", msg)
        hit = re.search(r"(\d\d/\d\d/\d{4}) (AM|PM)", msg)
        out.add((rid, key, term.group(1), "") if term else (rid, key, hit.group(1), hit.group(2)))
    return out


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("att")
    records, planted = fx.build_records()
    long = read_register(_workbook(tmp / "long.xlsx"))
    wide = read_register(_workbook(tmp / "wide.xlsx", fx.wide_rows(records), long=False))
    two = read_register(_workbook(tmp / "two.xlsx", _two_row_grid(records), long=False))
    return {"long": long, "wide": wide, "two-row": two, "planted": set(planted)}


def test_every_shape_reads_the_same_sessions(shapes):
    expected = _sessions(shapes["long"].attendance)
    assert len(expected) == len(fx.build_records()[0])
    assert _sessions(shapes["wide"].attendance) == expected
    assert _sessions(shapes["two-row"].attendance) == expected
    for name in ("long", "wide", "two-row"):
        assert not any(shapes[name].findings["sheet"] == "Attendance"), name


@pytest.mark.parametrize("shape", ["long", "wide", "two-row"])
def test_checks_find_the_planted_mistakes_in_every_shape(shapes, shape):
    report = check_register(shapes[shape], POLICY, fx.AS_OF.date(), only=ATT)
    assert _planted(report) == shapes["planted"]


def test_wide_findings_point_at_the_cell(shapes):
    register = shapes["wide"]
    report = check_register(register, POLICY, fx.AS_OF.date(), only=["ATT-010", "ATT-009"])
    x = report.by_rule("ATT-010").iloc[0]
    assert x["column"] == "Mon 23/09/2024 AM"
    frame = register.attendance
    hit = frame[(frame["upn"] == fx.X12) & (frame["mark_column"] == "Mon 23/09/2024 AM")]
    assert list(hit.index) == [x["row"]] and hit["cell"].iloc[0].endswith(str(x["row"]))
    gap = report.by_rule("ATT-009").iloc[0]
    assert gap["column"] == "Wed 13/11/2024 AM"  # the empty cell's own column
    assert frame.loc[[gap["row"]], "upn"].iloc[0] == fx.A


def test_csv_and_parquet_files_read_like_the_sheet(tmp_path, shapes):
    records, _ = fx.build_records()
    frame = pd.DataFrame(records)
    frame.to_csv(tmp_path / "sessions.csv", index=False)
    pq = frame.assign(Date=pd.to_datetime(frame["Date"], format="%d/%m/%Y"))
    pq.to_parquet(tmp_path / "sessions.parquet", index=False)
    expected = _sessions(shapes["long"].attendance)
    for name in ("sessions.csv", "sessions.parquet"):
        table, findings = read_attendance_file(tmp_path / name)
        assert _sessions(table.frame) == expected and findings.empty
        assert table.frame.index[0] == 2 and table.sheet == name


def test_attendance_file_replaces_the_register_attendance(tmp_path, shapes):
    records, _ = fx.build_records()
    only_x = [r for r in records if r["UPN"] == fx.X12]
    pd.DataFrame(only_x).to_csv(tmp_path / "x.csv", index=False)
    register = read_register(_workbook(tmp_path / "r.xlsx"))
    use_attendance_file(register, tmp_path / "x.csv")
    report = check_register(register, POLICY, fx.AS_OF.date(), only=ATT)
    assert report.rule_ids() == {"ATT-010"} and report.frame["sheet"].tolist() == ["x.csv"]


def test_unreadable_attendance_file_is_one_clear_error(tmp_path):
    (tmp_path / "bad.csv").write_text("foo,bar\n1,2\n")
    with pytest.raises(RegisterError, match="no UPN"):
        read_attendance_file(tmp_path / "bad.csv")
    with pytest.raises(RegisterError, match="does not exist"):
        read_attendance_file(tmp_path / "missing.parquet")


def test_cli_validate_with_attendance_file(tmp_path):
    records, planted = fx.build_records()
    pd.DataFrame(records).to_csv(tmp_path / "sessions.csv", index=False)
    book = _workbook(tmp_path / "r.xlsx", [["nothing here"]], long=False)
    result = CliRunner().invoke(app, ["validate", str(book), "--attendance", str(tmp_path / "sessions.csv"), "--as-of", "2025-01-17", "--format", "json"])
    assert result.exit_code == 1, result.output
    found = json.loads(result.stdout)["findings"]
    att = {(f["rule_id"], f["key"]) for f in found if f["rule_id"].startswith("ATT-")}
    assert att == {(r, k) for r, k, _, _ in planted}
    assert all(f["sheet"] == "sessions.csv" for f in found if f["rule_id"].startswith("ATT-"))


@pytest.mark.parametrize("text, expected", [
    ("Mon 06/01/2025 AM", ("2025-01-06", "AM")),
    ("06/01/2025 PM", ("2025-01-06", "PM")),
    ("2025-01-06 (am)", ("2025-01-06", "AM")),
    ("Monday 6 January 2025 Afternoon", ("2025-01-06", "PM")),
    ("AM", (None, "AM")),
    (dt.datetime(2025, 1, 6), ("2025-01-06", None)),
    ("Surname", (None, None)),
    ("Year 7", (None, None)),
])
def test_grid_headers(text, expected):
    d, s = header_date_session(text)
    assert ((d.strftime("%Y-%m-%d") if d is not None else None), s) == expected


def test_grid_marks_without_upn_and_dash_cells():
    grid = [["UPN", "Mon 06/01/2025 AM", "Mon 06/01/2025 PM"], [fx.A, "/", "-"], [None, "N", ""]]
    table, findings = wide_from_grid(grid, "Attendance")
    assert len(table.frame) == 2  # '-' and blank are sessions with no mark
    assert findings["rule_id"].tolist() == ["STR-006"] and findings["row"].tolist() == [3]
    assert table.frame["cell"].tolist() == ["B2", "B3"]


def test_a_sheet_that_is_neither_shape_is_reported_missing(tmp_path):
    register = read_register(_workbook(tmp_path / "n.xlsx", [["Notes"], ["nothing"]], long=False))
    assert register.attendance.empty
    assert (register.findings["rule_id"] == "STR-001").any()
