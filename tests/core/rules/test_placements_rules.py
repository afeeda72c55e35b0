"""PLC-001..007: placement dates, provider directory, end arrangements, reviews, next steps, destinations, weekly hours."""
from datetime import date

import pytest

from apxl.core.check import check_register
from apxl.core.parse import register_from_records
from apxl.core.policy import DEFAULT_THRESHOLDS, default_policy
from apxl.core.rules.placements import concurrent_hours

AS_OF = date(2024, 11, 1)
PROVIDERS = [{"Provider ID": "P1", "Name": "Test AP", "Type": "PRU", "Registered (Y/N)": "Y"},
             {"Provider ID": "P2", "Name": "Tutor Co", "Type": "Unregistered", "Registered (Y/N)": "N"}]
ALL = ["PLC-001", "PLC-002", "PLC-003", "PLC-004", "PLC-005", "PLC-006", "PLC-007"]


def placement(pid: str, **extra) -> dict:
    """A placement that passes every PLC rule at AS_OF (synthetic pupil)."""
    rec = {
        "Placement ID": pid, "UPN": "B801200005001", "Surname": "Testpupil", "Forename": "Alex", "Date of birth": "15/05/2011",
        "Year group": 9, "Provider ID": "P1", "Route": "ASSESS", "Commissioner": "School", "Registration": "Dual",
        "Start date": "02/09/2024", "Planned end date": "20/12/2024", "Hours per week": 25,
        "Objectives": "Re-engage with maths and English", "Review date": "29/11/2024", "Reintegration plan (Y/N)": "Y",
    }
    rec.update(extra)
    return rec


def run(rule_ids, *placements: dict, providers=PROVIDERS, policy=None, as_of: date = AS_OF):
    ids = [rule_ids] if isinstance(rule_ids, str) else rule_ids
    reg = register_from_records(placements=list(placements), providers=providers)
    report = check_register(reg, policy or default_policy(), as_of=as_of, only=ids)
    return report.frame


def test_the_base_placement_passes_every_placement_rule():
    assert run(ALL, placement("OK")).empty


# --- PLC-001 --------------------------------------------------------------------------------------

def test_plc_001_end_or_planned_end_before_start():
    found = run("PLC-001", placement("OK", **{"End date": "02/09/2024"}),
                placement("END", **{"End date": "30/08/2024"}),
                placement("PLAN", **{"Planned end date": "01/09/2024"}))
    assert list(zip(found["key"], found["column"])) == [("END", "End date"), ("PLAN", "Planned end date")]
    f = found.iloc[0]
    assert (f["severity"], f["row"], f["value"]) == ("error", 3, "30/08/2024")
    assert "before the start date 02/09/2024" in f["message"] and "Hillingdon AP guidance 2024/25 s13.11a" in f["message"]


# --- PLC-002 --------------------------------------------------------------------------------------

def test_plc_002_provider_missing_from_the_directory():
    found = run("PLC-002", placement("OK"), placement("LOWER", **{"Provider ID": "p 2"}), placement("GONE", **{"Provider ID": "P9"}))
    assert list(found["key"]) == ["GONE"]
    f = found.iloc[0]
    assert (f["severity"], f["column"], f["value"], f["row"]) == ("error", "Provider ID", "P9", 4)
    assert "not on the Providers sheet" in f["message"]


def test_plc_002_is_silent_when_the_workbook_has_no_providers_sheet():
    assert run("PLC-002", placement("GONE", **{"Provider ID": "P9"}), providers=None).empty


# --- PLC-003 --------------------------------------------------------------------------------------

def test_plc_003_open_placement_without_planned_end():
    found = run("PLC-003",
                placement("OK"),
                placement("OPEN", **{"Planned end date": None}),
                placement("ENDED", **{"Planned end date": None, "End date": "01/11/2024"}),
                placement("LATER", **{"Planned end date": None, "End date": "20/12/2024"}))
    assert list(found["key"]) == ["OPEN", "LATER"]
    assert set(found["severity"]) == {"warning"} and set(found["column"]) == {"Planned end date"}
    assert "no end date and no planned end date" in found.iloc[0]["message"]
    assert "still open" in found.iloc[1]["message"] and "20/12/2024" in found.iloc[1]["message"]


# --- PLC-004 --------------------------------------------------------------------------------------

def test_plc_004_missing_or_overdue_review_on_open_placements():
    found = run("PLC-004",
                placement("OK"),
                placement("TODAY", **{"Review date": "01/11/2024"}),
                placement("NONE", **{"Review date": None}),
                placement("LATE", **{"Review date": "31/10/2024"}),
                placement("ENDED", **{"Review date": "01/10/2024", "End date": "15/10/2024"}))
    assert list(found["key"]) == ["NONE", "LATE"]
    assert set(found["severity"]) == {"warning"} and set(found["column"]) == {"Review date"}
    assert "no review date" in found.iloc[0]["message"]
    late = found.iloc[1]
    assert late["value"] == "31/10/2024" and "has passed" in late["message"] and "Responsibilities" in late["message"]


# --- PLC-005 --------------------------------------------------------------------------------------

def test_plc_005_objectives_and_next_step_plan():
    found = run("PLC-005",
                placement("OK"),
                placement("DEST", **{"Reintegration plan (Y/N)": "N", "Destination": "Sixth form college"}),
                placement("NOOBJ", Objectives="  "),
                placement("NOPLAN", **{"Reintegration plan (Y/N)": "N"}),
                placement("BLANK", **{"Reintegration plan (Y/N)": None}))
    assert list(zip(found["key"], found["column"])) == [
        ("NOOBJ", "Objectives"), ("NOPLAN", "Reintegration plan (Y/N)"), ("BLANK", "Reintegration plan (Y/N)")]
    assert list(found["value"].fillna("-")) == ["-", "N", "-"]
    assert set(found["severity"]) == {"warning"}
    assert "objectives" in found.iloc[0]["message"] and "next step" in found.iloc[1]["message"]


# --- PLC-006 --------------------------------------------------------------------------------------

def test_plc_006_ended_placement_needs_a_destination():
    found = run("PLC-006",
                placement("OPEN"),
                placement("DONE", **{"End date": "18/10/2024", "Destination": "Returned to home school"}),
                placement("NODEST", **{"End date": "01/11/2024"}))
    assert list(found["key"]) == ["NODEST"]
    f = found.iloc[0]
    assert (f["severity"], f["column"], f["row"]) == ("warning", "Destination", 4)
    assert "ended on 01/11/2024" in f["message"] and "s6.1j" in f["message"]


# --- PLC-007 --------------------------------------------------------------------------------------

def test_plc_007_two_overlapping_placements_over_a_school_week():
    found = run("PLC-007",
                placement("A", **{"Hours per week": 20, "Planned end date": None}),
                placement("B", **{"Hours per week": 15, "Provider ID": "P2", "Start date": "01/10/2024"}))
    assert sorted(found["key"]) == ["A", "B"]
    f = found[found["key"] == "A"].iloc[0]
    assert (f["severity"], f["column"], f["value"]) == ("error", "Hours per week", "20")
    # 20 + 15 = 35 hours from 01/10/2024, when B starts, against the 32.5-hour default.
    assert "From 01/10/2024" in f["message"] and "A, B" in f["message"] and "35 hours" in f["message"] and "32.5" in f["message"]


def test_plc_007_within_a_school_week_or_not_overlapping_passes():
    assert run("PLC-007", placement("A", **{"Hours per week": 20}), placement("B", **{"Hours per week": 12.5})).empty
    # A's planned end (31/10) is before B starts (01/11): no overlap.
    assert run("PLC-007", placement("A", **{"Hours per week": 25, "Planned end date": "31/10/2024"}),
               placement("B", **{"Hours per week": 25, "Start date": "01/11/2024"})).empty
    # The actual end date wins over the planned end.
    assert run("PLC-007", placement("A", **{"Hours per week": 25, "End date": "30/09/2024"}),
               placement("B", **{"Hours per week": 25, "Start date": "01/10/2024"})).empty
    # Different pupils are never added together.
    assert run("PLC-007", placement("A", **{"Hours per week": 25}),
               placement("B", UPN="X935201624017", **{"Hours per week": 25, "Date of birth": "01/01/2012"})).empty


def test_plc_007_counts_three_placements_that_overlap_at_once():
    # Every pair is within 32.5 hours (15+10, 10+10), but all three run together from 01/10 for 35 hours.
    found = run("PLC-007",
                placement("A", **{"Hours per week": 15}),
                placement("B", **{"Hours per week": 10, "Start date": "16/09/2024"}),
                placement("C", **{"Hours per week": 10, "Start date": "01/10/2024", "Provider ID": "P2"}),
                placement("LATER", **{"Hours per week": 5, "Start date": "04/01/2025", "Planned end date": "28/03/2025"}))
    assert sorted(found["key"]) == ["A", "B", "C"]
    assert all("From 01/10/2024" in m and "A, B, C" in m and "35 hours" in m for m in found["message"])


def test_plc_007_reports_the_peak_when_it_grows_later():
    found = run("PLC-007",
                placement("A", **{"Hours per week": 20}),
                placement("B", **{"Hours per week": 15, "Start date": "01/10/2024"}),
                placement("C", **{"Hours per week": 5, "Start date": "01/11/2024"}))
    a = found[found["key"] == "A"].iloc[0]["message"]
    assert "From 01/10/2024" in a and "35 hours" in a and "(rising to 40 later)" in a


def test_plc_007_threshold_comes_from_the_policy():
    policy = default_policy().with_changes(thresholds={**DEFAULT_THRESHOLDS, "school_week_hours": 36.0})
    rows = (placement("A", **{"Hours per week": 20}), placement("B", **{"Hours per week": 15}))
    assert run("PLC-007", *rows, policy=policy).empty
    assert len(run("PLC-007", *rows)) == 2


def test_concurrent_hours_sweeps_starts_and_ends():
    reg = register_from_records(placements=[
        placement("A", **{"Hours per week": 20, "Start date": "02/09/2024", "End date": "30/09/2024"}),
        placement("B", **{"Hours per week": 10, "Start date": "16/09/2024", "Planned end date": "18/10/2024"}),
    ])
    totals = concurrent_hours(reg.placements)
    got = [(d.strftime("%d/%m"), h) for d, h in zip(totals["date"], totals["hours"])]
    # A alone, then A+B from 16/09, B alone from 01/10 (day after A ends), nothing from 19/10.
    assert got == [("02/09", 20.0), ("16/09", 30.0), ("01/10", 10.0), ("19/10", 0.0)]


@pytest.mark.parametrize("rule_id", ALL)
def test_placement_rules_never_raise_on_an_empty_or_blank_register(rule_id):
    assert run(rule_id).empty
    blank = {"Placement ID": "X", "UPN": None, "Start date": "not a date", "Hours per week": "lots", "Provider ID": None}
    found = run(rule_id, blank)
    assert found.empty or set(found["rule_id"]) == {rule_id}
