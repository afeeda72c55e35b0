"""S19-001..003: Section 19 timeliness counted in school days with the register's calendar, and full-time hours.

The calendar below is a 2024-25 LA calendar: autumn half-term 28/10-01/11/2024, an INSET closure on
Monday 18/11/2024, Christmas 21/12/2024-05/01/2025, and the early May bank holiday on 05/05/2025.
"""
from datetime import date

import pandas as pd
import pytest

from apxl.core.check import check_register
from apxl.core.parse import register_from_records
from apxl.core.policy import default_policy

AS_OF = date(2025, 6, 1)
TERMS = [
    {"Academic year": "2024-25", "Term": "Autumn", "Start": "03/09/2024", "End": "20/12/2024", "Half-term start": "28/10/2024", "Half-term end": "01/11/2024"},
    {"Academic year": "2024-25", "Term": "Spring", "Start": "06/01/2025", "End": "04/04/2025", "Half-term start": "17/02/2025", "Half-term end": "21/02/2025"},
    {"Academic year": "2024-25", "Term": "Summer", "Start": "22/04/2025", "End": "22/07/2025", "Half-term start": "26/05/2025", "Half-term end": "30/05/2025"},
]
CLOSURES = [{"Date": "18/11/2024", "Reason": "INSET day"}]


def placement(pid: str, start: str, excl: str | None = None, route: str = "PEX", **extra) -> dict:
    rec = {
        "Placement ID": pid, "UPN": f"UPN-{pid}", "Surname": "Testpupil", "Forename": "Sam", "Date of birth": "15/05/2011",
        "Year group": 8, "Provider ID": "P1", "Route": route, "Commissioner": "LA", "Registration": "Single",
        "Start date": start, "Exclusion start date": excl, "Hours per week": 25,
    }
    rec.update(extra)
    return rec


def run(rule_id: str, placements: list[dict], *, policy=None, calendar: bool = True, as_of: date = AS_OF) -> pd.DataFrame:
    sheets = {"placements": placements}
    if calendar:
        sheets.update(terms=TERMS, closures=CLOSURES)
    reg = register_from_records(**sheets)
    return check_register(reg, policy or default_policy(), as_of=as_of, only=[rule_id]).by_rule(rule_id)


# ---- S19-001: permanent exclusion, day 6 -------------------------------------------------------------

@pytest.mark.parametrize(
    ("case", "excl", "on_time", "late"),
    [
        # Wed 23/10 d1, Thu d2, Fri d3, half-term, Mon 04/11 d4, Tue d5, Wed 06/11 d6 (weekdays alone would say 30/10).
        ("half-term", "23/10/2024", "06/11/2024", "07/11/2024"),
        # Wed 13/11 d1, Thu d2, Fri d3, Mon 18/11 INSET, Tue 19/11 d4, Wed d5, Thu 21/11 d6.
        ("INSET", "13/11/2024", "21/11/2024", "22/11/2024"),
        # Tue 17/12 d1 .. Fri 20/12 d4, Christmas holidays, Mon 06/01 d5, Tue 07/01 d6.
        ("Christmas", "17/12/2024", "07/01/2025", "08/01/2025"),
        # Wed 30/04 d1, Thu d2, Fri d3, Mon 05/05 bank holiday, Tue 06/05 d4, Wed d5, Thu 08/05 d6.
        ("bank holiday", "30/04/2025", "08/05/2025", "09/05/2025"),
    ],
)
def test_s19_001_start_on_day_6_is_on_time_and_day_7_is_one_school_day_late(case, excl, on_time, late):
    found = run("S19-001", [placement("ONTIME", on_time, excl), placement("LATE", late, excl)])
    assert list(found["key"]) == ["LATE"], case
    hit = found.iloc[0]
    assert (hit["severity"], hit["sheet"], hit["row"], hit["column"], hit["value"]) == ("error", "Placements", 3, "Start date", late)
    assert "1 school day late" in hit["message"] and f"here {on_time}" in hit["message"]
    assert "Education Act 1996 s.19" in hit["message"] and "SI 2007/1870" in hit["message"]


def test_s19_001_bank_holiday_counts_without_a_calendar_sheet():
    # No Calendar sheet: school days are weekdays minus England bank holidays (05/05/2025 early May).
    found = run("S19-001", [placement("ONTIME", "08/05/2025", "30/04/2025"), placement("LATE", "09/05/2025", "30/04/2025")], calendar=False)
    assert list(found["key"]) == ["LATE"]


def test_s19_001_counts_every_school_day_late_across_the_inset_day():
    # Day 6 is Thu 21/11; a start on Tue 26/11 misses Thu 21, Fri 22, Mon 25: 3 school days.
    found = run("S19-001", [placement("A", "26/11/2024", "13/11/2024")])
    assert "3 school days late" in found["message"].iloc[0]


def test_s19_001_a_weekend_start_after_day_6_is_late():
    # Exclusion Fri 08/11: day 6 is Fri 15/11. A Saturday start leaves that Friday uncovered (Monday is INSET).
    found = run("S19-001", [placement("SAT", "16/11/2024", "08/11/2024"), placement("FRI", "15/11/2024", "08/11/2024", UPN="OTHER")])
    assert list(found["key"]) == ["SAT"]
    assert "1 school day late" in found["message"].iloc[0]


def test_s19_001_follow_on_placement_for_the_same_exclusion_is_not_judged_against_day_6():
    found = run("S19-001", [placement("FIRST", "06/11/2024", "23/10/2024"), placement("MOVE", "03/02/2025", "23/10/2024", UPN="UPN-FIRST")])
    assert found.empty


def test_s19_001_looked_after_pupil_day_1_only_under_a_policy_with_the_switch():
    recs = [
        placement("LAC-D1", "13/11/2024", "13/11/2024", **{"Looked after (Y/N)": "Y"}),
        placement("LAC-D2", "14/11/2024", "13/11/2024", **{"Looked after (Y/N)": "Y"}),
        placement("NOTLAC-D2", "14/11/2024", "13/11/2024", **{"Looked after (Y/N)": "N"}),
    ]
    assert run("S19-001", recs).empty  # day 6 for everyone without the switch
    policy = default_policy().with_changes(lac_day1=True, la_name="Hillingdon")
    found = run("S19-001", recs, policy=policy)
    assert list(found["key"]) == ["LAC-D2"]
    msg = found["message"].iloc[0]
    assert "first school day" in msg and "looked-after" in msg and "s5.6" in msg and "Hillingdon's policy" in msg


def test_s19_001_missing_exclusion_date_is_a_warning_and_other_routes_are_ignored():
    found = run("S19-001", [placement("NODATE", "07/11/2024"), placement("HEALTH", "30/11/2024", "23/10/2024", route="HEALTH")])
    assert list(found["key"]) == ["NODATE"]
    assert found["severity"].iloc[0] == "warning" and found["column"].iloc[0] == "Exclusion start date"


def test_s19_001_deadline_day_is_a_policy_threshold():
    policy = default_policy().with_changes(thresholds={**default_policy().thresholds, "pex_deadline_day": 5.0})
    found = run("S19-001", [placement("D6", "06/11/2024", "23/10/2024")], policy=policy)
    assert list(found["key"]) == ["D6"]


# ---- S19-002: suspension over five school days ------------------------------------------------------

def test_s19_002_long_suspension_start_after_day_6_is_late_and_day_6_on_time():
    recs = [
        placement("S-LATE", "22/11/2024", "13/11/2024", route="SUSPENSION", **{"Planned end date": "29/11/2024"}),
        placement("S-DAY6", "21/11/2024", "13/11/2024", route="SUSPENSION", **{"Planned end date": "29/11/2024"}),
    ]
    found = run("S19-002", recs)
    assert list(found["key"]) == ["S-LATE"]
    msg = found["message"].iloc[0]
    # 13/11 to 29/11 without the INSET Monday is 12 school days.
    assert "lasts 12 school days" in msg and "here 21/11/2024" in msg and "1 school day late" in msg
    assert "Education and Inspections Act 2006 s.100" in msg


def test_s19_002_short_suspension_and_off_site_direction_are_not_in_scope():
    recs = [
        # Three-day suspension (Wed-Fri) with provision from day 2: no day-6 duty.
        placement("SHORT", "14/11/2024", "13/11/2024", route="SUSPENSION", **{"Planned end date": "15/11/2024"}),
        # Off-site direction: a SUSPENSION-route placement with no exclusion date.
        placement("OFFSITE", "02/12/2024", None, route="SUSPENSION"),
    ]
    assert run("S19-002", recs).empty


def test_s19_002_without_end_dates_a_start_after_day_6_shows_the_suspension_was_longer_than_5_days():
    found = run("S19-002", [placement("NOEND", "25/11/2024", "13/11/2024", route="SUSPENSION")])
    assert list(found["key"]) == ["NOEND"]
    assert "at least, to the placement's start" in found["message"].iloc[0] and "2 school days late" in found["message"].iloc[0]


def test_s19_002_counts_across_half_term():
    recs = [placement("HT", "07/11/2024", "23/10/2024", route="SUSPENSION", **{"End date": "15/11/2024"}),
            placement("HT-OK", "06/11/2024", "23/10/2024", route="SUSPENSION", UPN="X", **{"End date": "15/11/2024"})]
    assert list(run("S19-002", recs)["key"]) == ["HT"]


# ---- S19-003: full-time hours where AP is the whole education ---------------------------------------

def hours_placement(pid: str, hours: float, *, upn: str = "P1", start: str = "02/09/2024", end: str | None = None, **extra) -> dict:
    rec = placement(pid, start, None, route="INTERIM", UPN=upn, **{"Hours per week": hours, "End date": end})
    rec.update(extra)
    return rec


def test_s19_003_single_registered_part_time_pupil_is_flagged_and_full_time_is_not():
    found = run("S19-003", [hours_placement("PART", 15, upn="A"), hours_placement("FULL", 24, upn="B")])
    assert list(found["key"]) == ["PART"]
    hit = found.iloc[0]
    assert (hit["severity"], hit["column"], hit["value"]) == ("warning", "Hours per week", "15")
    assert "KS3" in hit["message"] and "24 hours" in hit["message"] and "15 hours a week" in hit["message"]
    assert "Education Act 1996 s.19" in hit["message"]


def test_s19_003_only_whole_education_placements_are_judged():
    recs = [
        hours_placement("DUAL", 10, upn="A", Registration="Dual", **{"Home school URN": "123456"}),
        hours_placement("OFFSITE", 10, upn="B", Registration="Off-site", **{"Home school name": "Some Academy"}),
        hours_placement("NOHOME", 10, upn="C", Registration="Dual"),  # dual-coded but no home school recorded
    ]
    assert list(run("S19-003", recs)["key"]) == ["NOHOME"]


def test_s19_003_concurrent_placements_add_up():
    enough = [hours_placement("A1", 12, upn="A"), hours_placement("A2", 12, upn="A")]
    short = [hours_placement("B1", 12, upn="B"), hours_placement("B2", 10, upn="B"), hours_placement("B3", 1, upn="B", start="01/10/2024")]
    alone = [hours_placement("C1", 10, upn="C")]
    found = run("S19-003", enough + short + alone).set_index("key")
    assert sorted(found.index) == ["B1", "B2", "B3", "C1"]
    assert "from 02/09/2024 to 30/09/2024 the pupil's placements B1, B2 together give 22 hours" in found.loc["B1", "message"]
    assert "and in 1 other period" in found.loc["B1", "message"]
    assert "from 01/10/2024 onwards the pupil's placements B1, B2, B3 together give 23 hours" in found.loc["B3", "message"]
    assert "only placement (this one) gives 10 hours" in found.loc["C1", "message"]


def test_s19_003_a_package_that_loses_a_placement_is_flagged_for_the_period_it_is_short():
    recs = [
        hours_placement("LONG", 14, upn="A", end="20/12/2024"),
        hours_placement("SHORT", 12, upn="A", end="29/11/2024"),  # ends early: 14 h from 30/11 to 20/12
    ]
    found = run("S19-003", recs)
    assert list(found["key"]) == ["LONG"]
    assert "from 30/11/2024 to 20/12/2024" in found["message"].iloc[0]


def test_s19_003_benchmark_follows_key_stage_from_date_of_birth_and_policy_thresholds():
    # No year group: born 10/03/2015 is Year 4 (KS2, 23.5 h) in 2024-25.
    ks2 = {"Year group": None, "Date of birth": "10/03/2015"}
    recs = [hours_placement("K23", 23, upn="A", **ks2), hours_placement("K235", 23.5, upn="B", **ks2)]
    assert list(run("S19-003", recs)["key"]) == ["K23"]
    lower = default_policy().with_changes(thresholds={**default_policy().thresholds, "fulltime_hours_ks2": 20.0})
    assert run("S19-003", recs, policy=lower).empty


def test_s19_003_unknown_hours_are_not_judged():
    assert run("S19-003", [hours_placement("NOHRS", None, upn="A")]).empty


# ---- property: S19-001 agrees with a brute-force school-day count -----------------------------------

from datetime import timedelta  # noqa: E402

import holidays  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _oracle_school_days() -> list[date]:
    """School days of 2024-25 by hand: term weekdays minus half-terms, the INSET day and bank holidays."""
    bank = holidays.country_holidays("GB", subdiv="ENG", years=[2024, 2025])
    terms = [(date(2024, 9, 3), date(2024, 12, 20), date(2024, 10, 28), date(2024, 11, 1)),
             (date(2025, 1, 6), date(2025, 4, 4), date(2025, 2, 17), date(2025, 2, 21)),
             (date(2025, 4, 22), date(2025, 7, 22), date(2025, 5, 26), date(2025, 5, 30))]
    days = []
    for start, end, ht_start, ht_end in terms:
        d = start
        while d <= end:
            if d.weekday() < 5 and not (ht_start <= d <= ht_end) and d != date(2024, 11, 18) and d not in bank:
                days.append(d)
            d += timedelta(days=1)
    return days


SCHOOL_DAYS = _oracle_school_days()


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(SCHOOL_DAYS) - 40), st.integers(0, 30)), min_size=1, max_size=15))
def test_s19_001_flags_exactly_the_starts_after_the_sixth_school_day(cases):
    recs, expected = [], {}
    for i, (excl_idx, start_offset_days) in enumerate(cases):
        excl = SCHOOL_DAYS[excl_idx]
        start = excl + timedelta(days=start_offset_days)
        deadline = SCHOOL_DAYS[excl_idx + 5]
        missed = sum(1 for d in SCHOOL_DAYS if deadline <= d < start)
        pid = f"C{i}"
        recs.append(placement(pid, start.strftime("%d/%m/%Y"), excl.strftime("%d/%m/%Y")))
        if missed:
            expected[pid] = missed
    found = run("S19-001", recs)
    got = {k: int(m.split(" school day")[0].rsplit(", ", 1)[1]) for k, m in zip(found["key"], found["message"])}
    assert got == expected
