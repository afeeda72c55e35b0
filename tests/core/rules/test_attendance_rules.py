"""ATT-001..012: the fixture register's planted mistakes are all found and nothing else; each rule passes and fails."""
import re
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fixtures"))
import attendance_fixture as fx  # noqa: E402

from apxl.core.attendance import code_measures, placement_measures, pupil_term_measures  # noqa: E402
from apxl.core.calendar import SchoolCalendar  # noqa: E402
from apxl.core.check import check_register  # noqa: E402
from apxl.core.parse import register_from_records  # noqa: E402
from apxl.core.policy import default_policy  # noqa: E402
from apxl.io.attendance import load_code_set, with_attendance_codes  # noqa: E402

ATT = [f"ATT-{i:03d}" for i in range(1, 13)]
POLICY = with_attendance_codes(default_policy())
CODES = load_code_set()


def planted_of(report_frame: pd.DataFrame) -> set[tuple[str, str, str, str]]:
    """(rule, UPN, date or term, session) of each finding, read from its message as a user would."""
    out = set()
    for rid, key, msg in zip(report_frame["rule_id"], report_frame["key"], report_frame["message"]):
        term = re.search(r"absence in (\d{4}-\d{2}-\w+):", msg)
        if term:
            out.add((rid, key, term.group(1), ""))
            continue
        hit = re.search(r"(\d\d/\d\d/\d{4}) (AM|PM)", msg)
        out.add((rid, key, hit.group(1), hit.group(2)))
    return out


@pytest.fixture(scope="module")
def fixture_report():
    register = register_from_records(**fx.register_records())
    assert register.findings.empty
    return check_register(register, POLICY, fx.AS_OF.date(), only=ATT)


def test_every_planted_mistake_is_found_and_nothing_else(fixture_report):
    _, planted = fx.build_records()
    assert planted_of(fixture_report.frame) == set(planted)
    assert len(fixture_report) == len(planted)


def test_findings_point_at_the_attendance_row_with_upn_as_key(fixture_report):
    register = register_from_records(**fx.register_records())
    att = register.attendance
    for f in fixture_report.findings:
        assert f.sheet == "Attendance" and f.key
        assert att.loc[f.row, "upn"] == f.key
        if f.rule_id not in {"ATT-009", "ATT-011", "ATT-012"}:
            assert att.loc[f.row, "code"] == f.value
            hit = re.search(r"(\d\d/\d\d/\d{4}) (AM|PM)", f.message)
            assert att.loc[f.row, "date"].strftime("%d/%m/%Y") == hit.group(1) and att.loc[f.row, "session"] == hit.group(2)


def test_findings_say_which_code_would_be_right(fixture_report):
    by = {(f.rule_id, f.value): f.message for f in fixture_report.findings}
    assert "record B instead" in by[("ATT-001", "K")]
    assert "record G instead" in by[("ATT-001", "H")]
    assert "record K" in by[("ATT-004", "D")]
    assert "record B." in by[("ATT-005", "K")]
    assert "record K" in by[("ATT-005", "B")]
    assert "O as the provider reported" in by[("ATT-007", "B")]


def test_severities(fixture_report):
    sev = {(f.rule_id, f.value): f.severity for f in fixture_report.findings}
    assert sev[("ATT-003", "B")] == "warning" and sev[("ATT-003", "D")] == "error"
    assert {f.severity for f in fixture_report.findings if f.rule_id in {"ATT-009", "ATT-011", "ATT-012"}} == {"warning"}


# ---- one passing and one failing case per rule ----------------------------------------------------

A = fx.A
BASE = fx._placement("P1", A, "10/03/2011", "PRU1", "S19OTHER", "LA", "Dual", "02/09/2024")
SCHOOL_OFFSITE = fx._placement("P1", A, "10/03/2011", "FARM", "ASSESS", "School", "Off-site", "02/09/2024")
LA_TUTOR = fx._placement("P1", A, "10/03/2011", "TUTOR", "HEALTH", "LA", "Off-site", "02/09/2024")
SUMMER_LA = fx._placement("P1", A, "10/03/2011", "FARM", "S19OTHER", "LA", "Off-site", "15/04/2024")
EXCLUDED = fx._placement("P1", A, "10/03/2011", "PRU1", "PEX", "LA", "Dual", "20/01/2025", exclusion="06/01/2025")
YOUNG = fx._placement("P1", A, "01/06/2020", "PRU1", "HEALTH", "LA", "Dual", "02/09/2024")


def att(code, day, session="AM", source="School", upn=A):
    return {"UPN": upn, "Date": day, "Session": session, "Code": code, "Source": source}


def days(codes, start="2024-11-11"):
    """One code per school session from ``start`` (AM, PM, AM, ...): weekdays, the calendar is checked by ATT-009."""
    out, d = [], pd.Timestamp(start)
    i = 0
    while i < len(codes):
        if d.dayofweek < 5:
            for s in ("AM", "PM"):
                if i < len(codes):
                    out.append(att(codes[i], d.strftime("%d/%m/%Y"), s))
                    i += 1
        d += pd.Timedelta(days=1)
    return out


CASES = {
    "ATT-001": ([BASE], [att("K", "12/11/2024")], [SUMMER_LA], [att("K", "10/06/2024")]),
    "ATT-002": ([BASE], [att("D", "17/01/2025", "PM"), att("#", "24/01/2025")], [BASE], [att("D", "20/01/2025")]),
    "ATT-003": ([BASE], [att("D", "02/09/2024")], [BASE], [att("D", "30/08/2024")]),
    "ATT-004": ([BASE], [att("D", "12/11/2024")], [LA_TUTOR], [att("D", "12/11/2024")]),
    "ATT-005": ([SCHOOL_OFFSITE], [att("B", "12/11/2024"), *[att("B", "10/06/2024")]], [SCHOOL_OFFSITE], [att("K", "12/11/2024")]),
    "ATT-006": ([EXCLUDED], [att("E", d) for d in ("06/01/2025", "10/01/2025")], [EXCLUDED], [att("E", "13/01/2025", "PM")]),
    "ATT-007": ([BASE], [att("O", "12/11/2024"), att("O", "12/11/2024", source="Provider"), att("D", "13/11/2024"), att("I", "13/11/2024", source="Provider")],
                [BASE], [att("B", "12/11/2024"), att("O", "12/11/2024", source="Provider")]),
    "ATT-008": ([BASE], [att("D", "05/11/2024"), att("#", "04/11/2024")], [BASE], [att("D", "09/11/2024")]),
    "ATT-009": ([BASE], [att("D", "25/10/2024", "PM"), att("D", "05/11/2024", "AM")],
                [BASE], [att("D", "12/11/2024", "PM"), att("D", "14/11/2024", "AM")]),
    "ATT-010": ([YOUNG], [att("X", "12/11/2024")], [BASE], [att("X", "12/11/2024")]),
    "ATT-011": ([SCHOOL_OFFSITE], days(["N"] + ["B"] * 19), [SCHOOL_OFFSITE], days(["N"] * 3 + ["B"] * 17)),
    "ATT-012": ([SCHOOL_OFFSITE], days(["N"] * 9 + ["B"] * 11), [SCHOOL_OFFSITE], days(["N"] * 10 + ["B"] * 10)),
}


def run(rule_id, placements, attendance):
    register = register_from_records(placements=placements, providers=fx.PROVIDERS, terms=fx.TERMS, closures=fx.CLOSURES, attendance=attendance)
    return check_register(register, POLICY, fx.AS_OF.date(), only=[rule_id])


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_passes_on_right_coding(rule_id):
    placements, attendance, _, _ = CASES[rule_id]
    assert len(run(rule_id, placements, attendance)) == 0


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fails_on_wrong_coding(rule_id):
    _, _, placements, attendance = CASES[rule_id]
    report = run(rule_id, placements, attendance)
    assert len(report) == 1 and report.rule_ids() == {rule_id}


def test_missing_sessions_are_one_finding_per_run():
    attendance = [att("D", "11/11/2024"), att("D", "15/11/2024", "PM")]
    report = run("ATT-009", [BASE], attendance)
    (f,) = report.findings
    assert "8 sessions, Mon 11/11/2024 PM to Fri 15/11/2024 AM" in f.message and f.row == 2


def test_off_site_code_on_a_day_the_part_week_placement_does_not_run():
    part = fx._placement("P1", A, "10/03/2011", "FARM", "VOCATIONAL", "School", "Off-site", "02/09/2024", days="Mon,Wed")
    report = run("ATT-003", [part], [att("B", "11/11/2024"), att("B", "12/11/2024")])
    (f,) = report.findings
    assert "Tue 12/11/2024" in f.message and "Mon,Wed only" in f.message


def test_without_code_sets_the_checks_say_they_did_not_run():
    register = register_from_records(placements=[BASE], attendance=[att("D", "12/11/2024")])
    report = check_register(register, default_policy(), fx.AS_OF.date(), only=ATT)
    assert report.rule_ids() == {"ATT-001"} and "not loaded" in report.findings[0].message


def test_no_attendance_no_findings():
    register = register_from_records(placements=[BASE])
    assert len(check_register(register, POLICY, fx.AS_OF.date(), only=ATT)) == 0


# ---- measures ---------------------------------------------------------------------------------------

def _fixture_register():
    return register_from_records(**fx.register_records())


def test_pupil_term_measures_follow_dfe_definitions():
    register = _fixture_register()
    cal = SchoolCalendar.from_register(register)
    m = pupil_term_measures(register.attendance, CODES, cal, as_of=fx.AS_OF).set_index(["upn", "term"])
    g = m.loc[(fx.G, "2024-25-autumn")]
    autumn_days = len(cal.school_day_dates("2024-09-09", "2024-12-20"))
    absent_days = len(range(0, autumn_days, 5))
    assert g["possible"] == 2 * autumn_days and g["unauthorised"] == 2 * absent_days
    assert g["attended"] == g["possible"] - g["unauthorised"]
    assert g["attendance_rate"] == pytest.approx(1 - absent_days / autumn_days)
    assert bool(g["persistent"]) and not bool(g["severe"])
    # A: the school's D gives way to the PRU's own marks; the illness day is authorised absence.
    a = m.loc[(fx.A, "2024-25-autumn")]
    assert a["authorised"] == 2 and a["not_counted"] == 0 and not bool(a["persistent"])
    # X5 is coded X throughout: no possible sessions, no rate.
    x5 = m.loc[(fx.X5, "2024-25-autumn")]
    assert x5["possible"] == 0 and pd.isna(x5["attendance_rate"]) and not bool(x5["persistent"])


def test_placement_measures_count_sessions_inside_the_placement():
    register = _fixture_register()
    cal = SchoolCalendar.from_register(register)
    pm = placement_measures(register.attendance, register.placements, CODES, cal, as_of=fx.AS_OF, by_term=True)
    e = pm[(pm["placement_id"] == "PL-E")]
    assert e["term"].tolist() == ["2024-25-autumn"]
    assert int(e["possible"].iloc[0]) == 2 * len(cal.school_day_dates("2024-11-08", "2024-12-20"))
    assert int(e["placement_row"].iloc[0]) == 6
    whole = placement_measures(register.attendance, register.placements, CODES, cal, as_of=fx.AS_OF)
    assert set(whole["placement_id"]) <= {p["Placement ID"] for p in fx.PLACEMENTS}


def test_code_measures_for_a_row_of_marks():
    m = code_measures(["/", "\\", "N", "I", "D", "", "??"], "2025-01-06", CODES)
    assert (m["possible"], m["attended"], m["authorised"], m["unauthorised"], m["not_counted"], m["invalid"]) == (4, 2, 1, 1, 1, 1)
    assert m["attendance_rate"] == 0.5 and m["persistent"] and m["severe"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(sorted(CODES.codes) + ["??"]), max_size=40), st.sampled_from(["2024-06-03", "2024-09-02"]))
def test_possible_sessions_are_attended_or_absent(marks, day):
    m = code_measures(marks, day, CODES)
    assert m["attended"] + m["authorised"] + m["unauthorised"] == m["possible"]
    assert m["possible"] + m["not_counted"] + m["invalid"] == len(marks)
    if m["possible"]:
        assert 0 <= m["attendance_rate"] <= 1 and m["attendance_rate"] + m["absence_rate"] == pytest.approx(1)
