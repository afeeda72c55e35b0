"""The APXL functions called as plain Python, with values as Excel passes them (serials, text dates, ranges)."""
from __future__ import annotations

from datetime import date

import pytest

from apxl.excel import functions as f
from apxl.excel.results import Noted, NotedDate
from excel_payloads import PLACEMENT_HEADERS, placement, serial

CALENDAR = [
    ["Academic year", "Term", "Start", "End", "Half-term start", "Half-term end"],
    ["2024-25", "Autumn", "03/09/2024", "20/12/2024", "28/10/2024", "01/11/2024"],
    ["2024-25", "Spring", "06/01/2025", "04/04/2025", "17/02/2025", "21/02/2025"],
]


def test_upn_valid_and_explained():
    assert f.UPN_VALID("B801200005001") is True
    assert f.UPN_VALID("A801200005001") is False
    assert "B" in f.UPN_VALID("A801200005001", True)  # says which check letter is due
    assert f.UPN_VALID(" b801200005001 ") is True  # case and spaces as typed


def test_year_group_and_key_stage_from_serials_and_text():
    # DOMAIN.md section 6 example: born 01/09/2012 is in Year 7 on 01/10/2024.
    assert f.YEAR_GROUP(serial("2012-09-01"), serial("2024-10-01")) == 7
    assert f.YEAR_GROUP("31/08/2012", "01/10/2024") == 8
    assert f.KEY_STAGE("01/09/2012", "01/10/2024") == "KS3"
    assert f.KEY_STAGE(serial("2009-01-15"), serial("2024-10-01")) == "KS4"


def test_school_days_without_calendar_says_so():
    # 01/10/2024 (Tue) to 04/11/2024 (Mon): 23 weekdays in October plus Fri 1 and Mon 4 November.
    days = f.SCHOOL_DAYS(serial("2024-10-01"), serial("2024-11-04"))
    assert isinstance(days, Noted) and days == 25
    assert "no Calendar" in days.note and "bank holidays" in days.note


def test_school_days_with_calendar_skips_half_term():
    # October 2024 has 23 weekdays; half-term Mon 28 to Thu 31 October takes 4.
    days = f.SCHOOL_DAYS("01/10/2024", "31/10/2024", CALENDAR)
    assert days == 19 and days.note == ""


def test_school_days_counts_bank_holidays_out():
    # 23/12/2024 to 03/01/2025: 10 weekdays less Christmas Day, Boxing Day and New Year's Day.
    assert f.SCHOOL_DAYS("23/12/2024", "03/01/2025") == 7


def test_day6_counts_school_days_from_exclusion():
    # Exclusion from Thu 24/10/2024: days 1-2 are 24-25 Oct; half-term follows; day 6 is Thu 7 Nov.
    assert f.DAY6("24/10/2024", CALENDAR) == date(2024, 11, 7)
    plain = f.DAY6(serial("2024-10-24"))
    assert isinstance(plain, NotedDate) and plain == date(2024, 10, 31) and "no Calendar" in plain.note
    assert f.DAY6("26/10/2024", CALENDAR, True) == date(2024, 11, 4)  # a Saturday start: day 1 is the next school day


def test_funders_spills_one_row_of_four():
    out = f.FUNDERS("INTERIM", "solihull")
    assert out == [["LA", "LA", "LA", "Single"]]  # seed 002: INTERIM is LA; LA; LA; single (AP)
    assert f.FUNDERS("PEX - from day 6 after permanent exclusion", "solihull")[0][3] == "Dual, Single"


def test_attendance_rate_by_code_set():
    # / \ L K attend; N is possible but absent; D and X are not possible sessions.
    rate = f.ATTENDANCE([["/", "\\", "L", "K", "N", "D", "X"]])
    assert rate == pytest.approx(4 / 5) and rate.number_format == "0.0%"
    # Before 19/08/2024 K did not exist: the function says so rather than guessing.
    assert "K" in f.ATTENDANCE([["K", "/"]], [["01/07/2024", "01/07/2024"]])


def test_cost_by_basis_and_period():
    # 02/09/2024 to 20/12/2024: 16 whole weeks, no bank holidays.
    assert f.COST("02/09/2024", "20/12/2024", "Week", 500) == 8000
    assert f.COST("02/09/2024", "20/12/2024", "Day", 100) == 8000
    # Hour: £20 x 10 hours a week over October 2024 (23 weekdays = 4.6 weeks).
    assert f.COST("02/09/2024", "20/12/2024", "Hour", 20, 10, "01/10/2024", "31/10/2024") == pytest.approx(920)
    # Place: the annual value pro rata by school days over a 190-day year.
    assert f.COST("02/09/2024", "20/12/2024", "Place", 10000) == pytest.approx(round(10000 * 80 / 190, 2))


def test_check_spills_rule_ids_and_messages():
    clean = f.CHECK([PLACEMENT_HEADERS], [placement()], None, "15/10/2024")
    assert clean[0][0] == "OK"
    found = f.CHECK([PLACEMENT_HEADERS], [placement(UPN="A801200005001", Commissioner="LA")], "solihull", "15/10/2024")
    ids = [r[0] for r in found]
    assert "PUP-001" in ids and "FND-001" in ids
    assert all(len(r) == 2 and r[1] for r in found)
    assert any("Solihull" in r[1] for r in found if r[0] == "FND-001")


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: f.SCHOOL_DAYS("not a date", "01/10/2024"), "not a date"),
        (lambda: f.YEAR_GROUP(None), "blank"),
        (lambda: f.FUNDERS("NOPE"), "not a route"),
        (lambda: f.COST("01/10/2024", "01/09/2024", "Week", 100), "before start"),
        (lambda: f.COST("01/09/2024", "01/10/2024", "Fortnight", 100), "Place, Week, Day or Hour"),
        (lambda: f.SCHOOL_DAYS("01/10/2024", "31/10/2024", [["Academic year", "Term", "Start", "End"], ["2024-25", "Autumn", "x", "20/12/2024"]]), "Calendar"),
        (lambda: f.ATTENDANCE([[None, ""]]), "no codes"),
        (lambda: f.CHECK([[]], [["x"]]), "headers"),
    ],
)
def test_errors_are_short_sentences_in_the_cell(call, words):
    text = call()
    assert isinstance(text, str) and text.startswith("APXL.")
    assert words in text and "Traceback" not in text and "\n" not in text and len(text) < 300


def test_calendar_range_with_closures_below():
    # An INSET day on Friday 4 October 2024 is not a school day either.
    with_closures = CALENDAR + [[None] * 6, ["Closures", None], ["Date", "Reason"], ["04/10/2024", "INSET"]]
    assert f.SCHOOL_DAYS("01/10/2024", "31/10/2024", with_closures) == 18


def test_noted_values_for_each_host():
    from apxl.excel.results import NotedConverter

    days = f.SCHOOL_DAYS("01/10/2024", "04/11/2024")
    # Desktop Excel (COM) and older Office.js runtimes get the bare number or date.
    assert NotedConverter.write_value(days, {}) == 25 and isinstance(NotedConverter.write_value(days, {}), int)
    assert NotedConverter.write_value(f.DAY6("24/10/2024"), {"runtime": "1.3"}).isoformat() == "2024-10-31T00:00:00"
    # Office.js 1.4+ shows the note beside the number, which stays a number.
    shown = NotedConverter.write_value(days, {"runtime": "1.4"})
    assert shown["basicValue"] == 25 and shown["numberFormat"].startswith('0 "school days')
