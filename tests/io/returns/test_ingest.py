"""Messy school returns are mapped to the contract, checked by the register's rules and each row given the expected fate."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from apxl.io.returns.ingest import ACCEPTED, BLOCKING_RULES, CORRECT, KNOWN, REPEATED, blocking
from apxl.io.returns.read import read_return, urn_from_name

from .conftest import EXPECTED, MONTH_DIR, SCHOOL_RETURNS

OUTCOMES = json.loads((EXPECTED / "outcomes.json").read_text())


@pytest.mark.parametrize("name", SCHOOL_RETURNS)
def test_rows_get_the_expected_status_and_id(ingested, name):
    got = {str(r["row"]): [r["status"], r["placement_id"]] for r in ingested[name].row_records()}
    assert got == OUTCOMES[name]["rows"]


@pytest.mark.parametrize("name", SCHOOL_RETURNS)
def test_found_where_the_school_put_it(ingested, name):
    p = ingested[name].prepared
    assert p.placements.sheet == OUTCOMES[name]["sheet"]
    assert p.placements.header_row == OUTCOMES[name]["header_row"]
    assert p.school_urn == OUTCOMES[name]["school_urn"]


def _plain(v):
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    return v.item() if hasattr(v, "item") else v


@pytest.mark.parametrize("name", SCHOOL_RETURNS)
def test_differences_and_missing_placements(ingested, name):
    p = ingested[name].prepared
    diffs = [[r.placement_id, r.field, _plain(r.register_value), _plain(r.returned_value)] for r in p.differences.itertuples()]
    assert diffs == OUTCOMES[name]["differences"]
    assert list(p.missing["placement_id"]) == OUTCOMES[name]["missing"]


@pytest.mark.parametrize("name", SCHOOL_RETURNS)
def test_ret_findings_land_on_the_expected_rows(ingested, name):
    frame = ingested[name].report.frame
    ret = frame[frame["rule_id"].str.startswith("RET-")]
    got = {rid: [None if pd.isna(r) else int(r) for r in g["row"]] for rid, g in ret.groupby("rule_id")}
    assert got == OUTCOMES[name]["ret"]


def test_renamed_reordered_headers_trailing_spaces_blank_row_and_provider_names(ingested):
    r = ingested["100001_ashford.xlsx"]
    pl = r.prepared.placements.frame
    assert list(pl.index) == [2, 4, 5]  # row 3 is blank in the school's sheet
    assert pl.loc[2, "upn"] == "M938401200101" and pl.loc[2, "surname"] == "Adams"  # "M938401200101 ", "Adams " as typed
    assert pl.loc[4, "provider_id"] == "P004"  # written as "Greenfield Farm Skills"
    assert pl.loc[5, "registration"] == "Off-site"  # "Off site"
    assert pl.loc[5, "days"] == "Mon,Tue,Wed,Thu,Fri" and pl.loc[5, "cost_basis"] == "Week"  # "Mon-Fri", "Weekly"
    assert r.prepared.placements.letters["start_date"] == "M"  # "Placement start" in column M
    note = r.report.by_rule("RET-002")
    assert list(note["value"]) == ["Greenfield Farm Skills"] and "P004" in note["message"].iloc[0]


def test_merged_title_rows_merged_cells_and_missing_id_column(ingested):
    r = ingested["100002_brookside.xlsx"]
    pl = r.prepared.placements.frame
    assert list(pl.index) == [5, 6, 7, 8]
    assert list(pl["home_school_name"]) == ["Brookside School"] * 4  # S5:S7 merged, S8 typed
    # No Placement ID column: rows found on the register by UPN + provider + start take the register's ID.
    assert r.rows.loc[5, "matched_by"] == "UPN + provider + start date"
    assert "this is placement AP-0004 on the LA register" in r.report.by_rule("RET-001").set_index("row").loc[5, "message"]


def test_repeated_row_is_counted_once_by_the_rules(ingested):
    r = ingested["100002_brookside.xlsx"]
    assert r.rows.loc[8, "duplicate_of"] == 7
    # Without the repeat the pupil has 20 hours at P004, not 40 (PLC-007 would double them).
    assert r.report.by_rule("PLC-007").empty
    assert "40 hours" not in " ".join(r.report.frame["message"])


def test_attendance_grid_with_merged_dates_is_read_and_checked(ingested):
    r = ingested["100002_brookside.xlsx"]
    att = r.prepared.attendance.frame
    assert len(att) == 10 + 10 + 3
    assert set(att["source"]) == {"School"}
    frame = r.report.frame
    for rule, cells in OUTCOMES["100002_brookside.xlsx"]["attendance"].items():
        hits = frame[frame["rule_id"] == rule]
        assert sorted([c, int(row)] for c, row in zip(hits["column"], hits["row"])) == sorted(cells)


def test_text_dates_in_four_styles_and_one_that_is_not_a_date(ingested):
    r = ingested["100003_castle_hill.xlsx"]
    pl = r.prepared.placements.frame
    assert pl.loc[2, "start_date"] == pd.Timestamp("2025-03-10")  # "10/03/2025"
    assert pl.loc[2, "end_date"] == pd.Timestamp("2025-03-21")  # "2025-03-21"
    assert pl.loc[2, "exclusion_start_date"] == pd.Timestamp("2025-03-03")  # "3 March 2025"
    assert pl.loc[3, "start_date"] == pd.Timestamp("2025-03-17")  # "17.03.2025"
    bad = r.report.by_rule("STR-003")
    assert [[int(x), c, v] for x, c, v in zip(bad["row"], bad["column"], bad["value"])] == OUTCOMES["100003_castle_hill.xlsx"]["blocking"]["STR-003"]
    assert r.rows.loc[4, "status"] == CORRECT


def test_formula_like_text_is_kept_as_text(ingested):
    pl = ingested["100005_eastfield.xlsx"].prepared.placements.frame
    assert pl.loc[2, "surname"].startswith("=HYPERLINK(")
    assert pl.loc[2, "forename"] == "+cmd|' /C calc'!A0"
    assert pl.loc[2, "objectives"].startswith("-2+3")
    assert pl.loc[2, "destination"].startswith("@SUM")


def test_findings_about_the_las_own_sheets_are_not_sent_to_the_school(ingested):
    for r in ingested.values():
        sheets = set(r.report.frame["sheet"])
        assert sheets <= {r.prepared.placements.sheet, "Attendance"}


def test_compliance_findings_do_not_hold_a_row_back(ingested):
    """REG-004 (over 18 hours unregistered) is an error, but the placement must reach the register so the LA sees it."""
    r = ingested["100001_ashford.xlsx"]
    reg004 = r.report.by_rule("REG-004")
    assert 5 in set(reg004["row"].astype(int))
    assert r.rows.loc[5, "status"] == ACCEPTED


def test_blocking_rules():
    frame = pd.DataFrame({"rule_id": ["STR-003", "PUP-001", "PLC-001", "REG-004", "STR-006", "PUP-002"],
                          "severity": ["error", "error", "error", "error", "warning", "warning"]})
    assert list(blocking(frame)) == [True, True, True, False, False, False]
    assert set(BLOCKING_RULES) == {"PUP-001", "PLC-001"}


def test_statuses_are_the_four_fates():
    assert len({ACCEPTED, KNOWN, REPEATED, CORRECT}) == 4


def test_summary_has_no_names_or_upns(ingested):
    text = json.dumps([r.summary() for r in ingested.values()], default=str)
    for surname in ("Adams", "Khan", "Lewis", "Morris", "HYPERLINK"):
        assert surname not in text
    assert "938401" not in text  # no UPN


def test_urn_from_file_name():
    from pathlib import Path

    assert urn_from_name(Path("100001_ashford.xlsx")) == "100001"
    assert urn_from_name(Path("return 2025-03.xlsx")) is None
    assert urn_from_name(Path("100001 and 100002.xlsx")) is None


def test_a_return_without_a_placements_table_is_unreadable(tmp_path):
    import openpyxl

    from apxl.errors import ApxlError

    wb = openpyxl.Workbook()
    wb.active["A1"] = "Nothing to report this month"
    wb.save(tmp_path / "nothing.xlsx")
    with pytest.raises(ApxlError, match="no placements table"):
        read_return(tmp_path / "nothing.xlsx")


def test_return_info_sheet_gives_school_and_month(tmp_path, la):
    from datetime import date

    from apxl.io.returns.template import write_return_template

    register, _ = la
    path = write_return_template(register, "100003", "2025-03", tmp_path / "t.xlsx", issued=date(2025, 3, 1))
    info = read_return(path).info
    assert (info.school_urn, info.month, info.template_version) == ("100003", "2025-03", "1")
    assert read_return(path, school="999999", month="2025-04").info.school_urn == "999999"


def test_one_broken_return_does_not_stop_a_batch(la, monkeypatch):
    from apxl.io.returns import prepare

    register, _ = la
    real = prepare.read_return

    def flaky(path, **kw):
        if path.name == "100003_castle_hill.xlsx":
            raise RuntimeError("boom")
        return real(path, **kw)

    monkeypatch.setattr(prepare, "read_return", flaky)
    files = [MONTH_DIR / n for n in SCHOOL_RETURNS]
    done, failed = prepare.prepare_returns(files, register, month="2025-03")
    assert [p.file.path.name for p in done] == ["100001_ashford.xlsx", "100002_brookside.xlsx", "100005_eastfield.xlsx"]
    assert [(f.path.name, f.reason) for f in failed] == [("100003_castle_hill.xlsx", "error")]
    assert "boom" not in failed[0].message  # the school gets a sentence, not an exception's text
