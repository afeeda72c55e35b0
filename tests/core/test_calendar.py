"""The school calendar: terms, half-terms, INSET closures, bank holidays, census days, financial years."""
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apxl.core.calendar import (
    SchoolCalendar,
    academic_year_of,
    census_days,
    financial_year,
    financial_year_bounds,
    parse_academic_year,
    school_calendar,
)
from apxl.core.parse import register_from_records

TERMS = [
    # 2023-24 and 2024-25, in the shape of a county's published term dates.
    {"academic_year": "2023-24", "term": "Autumn", "start": "2023-09-05", "end": "2023-12-20", "half_term_start": "2023-10-30", "half_term_end": "2023-11-03"},
    {"academic_year": "2023-24", "term": "Spring", "start": "2024-01-04", "end": "2024-03-28", "half_term_start": "2024-02-12", "half_term_end": "2024-02-16"},
    {"academic_year": "2023-24", "term": "Summer", "start": "2024-04-15", "end": "2024-07-23", "half_term_start": "2024-05-27", "half_term_end": "2024-05-31"},
    {"academic_year": "2024-25", "term": "Autumn", "start": "2024-09-03", "end": "2024-12-20", "half_term_start": "2024-10-28", "half_term_end": "2024-11-01"},
    {"academic_year": "2024-25", "term": "Spring", "start": "2025-01-06", "end": "2025-04-04", "half_term_start": "2025-02-17", "half_term_end": "2025-02-21"},
    {"academic_year": "2024-25", "term": "Summer", "start": "2025-04-22", "end": "2025-07-22", "half_term_start": "2025-05-26", "half_term_end": "2025-05-30"},
]
INSET = ["2024-01-05", "2024-09-03", "2025-01-06", "2025-06-02"]
CAL = school_calendar(TERMS, INSET)
PLAIN = SchoolCalendar(None, None)

ts = pd.Timestamp
dates = st.dates(min_value=date(2023, 1, 1), max_value=date(2026, 12, 31))
covered_dates = st.dates(min_value=date(2023, 9, 1), max_value=date(2025, 8, 31))


def test_calendar_from_register_sheet():
    reg = register_from_records(
        placements=[],
        terms=[{"Academic year": t["academic_year"], "Term": t["term"], "Start": t["start"], "End": t["end"],
                "Half-term start": t["half_term_start"], "Half-term end": t["half_term_end"]} for t in TERMS],
        closures=[{"Date": d, "Reason": "INSET"} for d in INSET],
    )
    cal = SchoolCalendar.from_register(reg)
    assert cal.has_terms
    assert list(cal.terms_table()["label"]) == ["2023-24-autumn", "2023-24-spring", "2023-24-summer", "2024-25-autumn", "2024-25-spring", "2024-25-summer"]
    assert cal.school_days("2024-09-01", "2025-08-31") == CAL.school_days("2024-09-01", "2025-08-31")


def test_a_full_year_has_about_190_school_days():
    # 2024-25: term weekdays 79 + 65 + 66, less three half-term weeks, the 5 May bank holiday
    # and three INSET closures inside terms.
    assert CAL.school_days("2024-09-01", "2025-08-31") == 79 + 65 + 66 - 15 - 1 - 3


def test_half_term_is_not_school_days():
    assert not CAL.is_school_day(pd.date_range("2024-10-28", "2024-11-01")).any()
    # Exclusion on Thursday 24 Oct 2024: Thu, Fri, then half-term; day 6 is Thursday 7 Nov.
    assert CAL.nth_school_day("2024-10-24", 6) == ts("2024-11-07")
    assert CAL.school_days("2024-10-24", "2024-11-07") == 6


def test_inset_day_is_skipped():
    assert not CAL.is_school_day(["2025-01-06"])[0]
    assert CAL.is_school_day(["2025-01-07"])[0]
    # 18, 19, 20 Dec; Christmas holiday; 6 Jan INSET; 7, 8, 9 Jan.
    assert CAL.nth_school_day("2024-12-18", 6) == ts("2025-01-09")


def test_christmas_and_the_holiday_between_terms():
    assert CAL.school_days("2024-12-21", "2025-01-05") == 0
    assert not PLAIN.is_school_day(["2024-12-25", "2024-12-26"]).any()
    assert PLAIN.is_school_day(["2024-12-27"])[0]  # a weekday, not a bank holiday: a school day without terms


def test_easter():
    # Good Friday 18 Apr and Easter Monday 21 Apr 2025 fall in the Easter holiday; 2024's in the plain calendar.
    assert CAL.school_days("2025-04-05", "2025-04-21") == 0
    assert CAL.nth_school_day("2025-04-03", 3) == ts("2025-04-22")
    assert not PLAIN.is_school_day(["2024-03-29", "2024-04-01"]).any()


def test_bank_holidays_in_term_and_in_the_summer():
    assert not CAL.is_school_day(["2024-05-06"])[0]  # early May bank holiday inside the summer term
    assert CAL.nth_school_day("2024-05-03", 2) == ts("2024-05-07")
    assert not PLAIN.is_school_day(["2024-05-06", "2024-08-26"]).any()
    assert PLAIN.school_days("2024-08-19", "2024-08-30") == 9


def test_summer_holiday_of_a_listed_year_is_not_school_days():
    # 2024-25 lists a summer term, so the whole of August 2025 is holiday, not weekdays.
    assert CAL.school_days("2025-07-23", "2025-08-31") == 0


def test_unlisted_years_fall_back_to_weekdays_without_bank_holidays():
    assert CAL.is_school_day(["2026-03-03"])[0]
    assert not CAL.is_school_day(["2026-05-04"])[0]  # early May bank holiday 2026
    assert CAL.term_of(pd.Series([ts("2026-03-03")])).iloc[0] == "2025-26-spring"


def test_no_terms_means_weekdays_minus_bank_holidays():
    assert not PLAIN.has_terms
    assert PLAIN.school_days("2024-05-01", "2024-05-31") == 21  # 23 weekdays less 6 and 27 May
    assert PLAIN.terms_table().empty


def test_blank_dates_do_not_raise():
    assert list(CAL.is_school_day([None, "2024-09-04"])) == [False, True]
    out = CAL.school_days_between(pd.Series([pd.NaT, ts("2024-09-04")]), pd.Series([ts("2024-09-10"), pd.NaT]))
    assert np.isnan(out).all()
    assert pd.isna(CAL.nth_school_days([None], 6)[0])
    assert CAL.term_of([None]).iloc[0] is None


def test_end_before_start_counts_zero():
    assert CAL.school_days("2024-09-10", "2024-09-04") == 0


def test_term_of_and_labels():
    got = CAL.term_of(pd.Series([ts("2024-10-30"), ts("2025-03-03"), ts("2025-06-10"), ts("2024-09-03")], index=[7, 8, 9, 10]))
    assert list(got.index) == [7, 8, 9, 10]
    assert list(got) == ["2024-25-autumn", "2024-25-spring", "2024-25-summer", "2024-25-autumn"]
    assert CAL.term_bounds("2024-25-spring") == (ts("2025-01-06"), ts("2025-04-04"))


def test_academic_year_text_in_any_common_form():
    assert parse_academic_year("2024/25") == 2024
    assert parse_academic_year("2024/2025") == 2024
    assert parse_academic_year("2024 to 2025") == 2024
    assert parse_academic_year("2024-26") is None
    assert academic_year_of(date(2024, 9, 1)) == "2024-25"
    assert academic_year_of(date(2025, 8, 31)) == "2024-25"


def test_census_days():
    assert census_days("2024-09-01", "2025-08-31") == [ts("2024-10-03"), ts("2025-01-16"), ts("2025-05-15")]
    assert census_days("2025-09-01", "2026-06-30") == [ts("2025-10-02"), ts("2026-01-15"), ts("2026-05-21")]


def test_financial_year():
    assert financial_year(date(2024, 4, 1)) == "2024-25"
    assert financial_year(date(2025, 3, 31)) == "2024-25"
    assert financial_year(pd.Series([ts("2025-04-01"), pd.NaT])).tolist() == ["2025-26", None]
    assert financial_year_bounds("2024-25") == (ts("2024-04-01"), ts("2025-03-31"))


# ---- properties ---------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(covered_dates)
def test_every_school_day_in_a_listed_year_is_in_exactly_one_listed_term(day):
    if not CAL.is_school_day([day])[0]:
        return
    table = CAL.terms_table()
    inside = (table["start"] <= ts(day)) & (ts(day) <= table["end"])
    assert inside.sum() == 1
    assert CAL.term_of([day]).iloc[0] == table.loc[inside, "label"].iloc[0]


@settings(max_examples=200, deadline=None)
@given(dates, st.integers(min_value=1, max_value=400))
def test_nth_school_day_is_a_school_day_and_counts_back_to_n(start, n):
    for cal in (CAL, PLAIN):
        day = cal.nth_school_day(start, n)
        assert day >= ts(start)
        assert day.weekday() < 5
        assert cal.is_school_day([day])[0]
        assert day.strftime("%Y-%m-%d") not in INSET or cal is PLAIN
        assert cal.school_days(start, day) == n
        if cal.is_school_day([start])[0] and n == 1:
            assert day == ts(start)


@settings(max_examples=100, deadline=None)
@given(dates, st.integers(min_value=0, max_value=60))
def test_vectorised_counts_match_a_day_by_day_count(start, length):
    end = start + timedelta(days=length)
    days = pd.date_range(start, end)
    expected = int(CAL.is_school_day(days).sum())
    assert CAL.school_days(start, end) == expected
    assert len(CAL.school_day_dates(start, end)) == expected
    assert CAL.school_days_between([start, start], [end, start])[0] == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dates(min_value=date(2024, 9, 1), max_value=date(2025, 7, 31)), max_size=10))
def test_closures_are_never_school_days(closed):
    cal = school_calendar(TERMS, closed)
    assert not cal.is_school_day(closed).any()
    for day in closed:
        assert cal.nth_school_day(day, 1) != ts(day)


@pytest.mark.parametrize("bad", [
    [{"term": "Autumn", "start": None, "end": "2024-12-20"}],
    [{"term": "Winter", "start": "2024-09-03", "end": "2024-12-20"}],
    [{"term": "Autumn", "start": "2024-12-20", "end": "2024-09-03"}],
])
def test_unusable_term_rows_are_ignored(bad):
    cal = school_calendar(bad, [])
    assert not cal.has_terms
