"""Typing raw cells: dates, Y/N, numbers, enums, header aliases, and the STR findings they raise."""
from datetime import date, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import given, strategies as st

from apxl.core.parse import coerce_column, parse_date_value, register_from_records
from apxl.core.tables import Placements, columns

DATE_COL = next(c for c in columns(Placements) if c.field == "start_date")
YN_COL = next(c for c in columns(Placements) if c.field == "ehcp")
REG_COL = next(c for c in columns(Placements) if c.field == "registration")
DAYS_COL = next(c for c in columns(Placements) if c.field == "days")
YEAR_COL = next(c for c in columns(Placements) if c.field == "year_group")

dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31))


@given(dates)
def test_every_written_form_of_a_date_reads_back_as_that_date(d):
    serial = (d - date(1899, 12, 30)).days
    forms = [d, datetime(d.year, d.month, d.day), d.strftime("%d/%m/%Y"), d.isoformat(), serial, float(serial), str(serial), f" {d:%d/%m/%Y} "]
    for form in forms:
        assert parse_date_value(form) == pd.Timestamp(d), form


@given(st.text(alphabet="abcxyz!?", min_size=1, max_size=8))
def test_text_that_is_not_a_date_is_unreadable_not_an_exception(text):
    value = parse_date_value(text)
    assert value is not None and not isinstance(value, pd.Timestamp)


def test_day_first_is_the_english_reading():
    assert parse_date_value("03/04/2025") == pd.Timestamp("2025-04-03")
    assert parse_date_value("31/02/2025") is not None and not isinstance(parse_date_value("31/02/2025"), pd.Timestamp)


def test_blank_cells_are_missing_not_errors():
    series, bad = coerce_column(pd.Series([None, "", "  ", pd.NA], dtype=object), DATE_COL)
    assert series.isna().all() and not bad.any()


@pytest.mark.parametrize("raw,expected", [("Y", True), ("yes", True), ("TRUE", True), (True, True), (1, True), ("N", False), ("No", False), ("false", False), (False, False), (0.0, False)])
def test_yes_no_spellings(raw, expected):
    series, bad = coerce_column(pd.Series([raw], dtype=object), YN_COL)
    assert series.iloc[0] == expected and not bad.any()


def test_unreadable_yes_no_is_flagged():
    series, bad = coerce_column(pd.Series(["maybe"], dtype=object), YN_COL)
    assert bad.iloc[0] and pd.isna(series.iloc[0])


@pytest.mark.parametrize("raw,expected", [("dual", "Dual"), ("Off site", "Off-site"), ("OFF-SITE", "Off-site"), ("single registration", "Single")])
def test_registration_spellings(raw, expected):
    series, _ = coerce_column(pd.Series([raw], dtype=object), REG_COL)
    assert series.iloc[0] == expected


@pytest.mark.parametrize("raw,expected", [("Mon,Wed", "Mon,Wed"), ("monday, wednesday", "Mon,Wed"), ("Mon-Wed", "Mon,Tue,Wed"), ("Wed Mon", "Mon,Wed"), ("Mon-Fri", "Mon,Tue,Wed,Thu,Fri")])
def test_days_lists(raw, expected):
    series, bad = coerce_column(pd.Series([raw], dtype=object), DAYS_COL)
    assert series.iloc[0] == expected and not bad.any()


@pytest.mark.parametrize("raw,expected", [(7, 7), ("Y7", 7), ("Year 10", 10), ("R", 0), ("11", 11)])
def test_year_groups(raw, expected):
    series, bad = coerce_column(pd.Series([raw], dtype=object), YEAR_COL)
    assert series.iloc[0] == expected and not bad.any()


def _placement(**overrides):
    row = {
        "Placement ID": "P1", "UPN": "B801200005001", "Surname": "Test", "Forename": "Pupil", "Date of birth": "01/09/2011",
        "Provider ID": "PRV1", "Route": "PEX", "Commissioner": "LA", "Registration": "Dual", "Start date": "02/09/2024",
    }
    row.update(overrides)
    return row


def test_aliases_and_case_map_to_the_contract():
    reg = register_from_records(placements=[{"placement id": "P1", "upn": "B801200005001", "LAST NAME": "T", "first name": "P", "DOB": "01/09/2011",
                                             "Provider": "PRV1", "route code": "pex", "Commissioned by": "la", "Registration type": "dual", "START DATE": "2024-09-02"}])
    p = reg.placements.iloc[0]
    assert (p.placement_id, p.route, p.commissioner, p.registration, p.start_date) == ("P1", "PEX", "LA", "Dual", pd.Timestamp("2024-09-02"))
    assert reg.findings.empty


def test_route_written_with_its_description_is_read_as_the_code():
    reg = register_from_records(placements=[_placement(Route="PEX - from day 6 after permanent exclusion")])
    assert reg.placements.iloc[0].route == "PEX"


def test_str_findings_point_at_row_and_column():
    reg = register_from_records(placements=[_placement(), _placement(**{"Start date": "soon", "Route": "HOLIDAY", "Placement ID": "P1"}), _placement(**{"Placement ID": "P3", "Commissioner": None})])
    f = reg.findings.set_index(["rule_id", "row"])
    assert f.loc[("STR-003", 3), "column"] == "Start date"
    assert f.loc[("STR-003", 3), "value"] == "soon"
    assert f.loc[("STR-004", 3), "column"] == "Route"
    assert set(reg.findings.query("rule_id == 'STR-005'")["row"]) == {2, 3}
    assert f.loc[("STR-006", 4), "column"] == "Commissioner"
    # the unreadable start date is reported once, as unreadable, not again as blank
    assert not ((reg.findings.rule_id == "STR-006") & (reg.findings.row == 3)).any()
    # a disallowed value is blanked so rules do not act on it
    assert pd.isna(reg.placements.loc[3, "route"])


def test_missing_required_column_is_str002_and_rules_still_have_the_column():
    row = _placement()
    del row["Start date"]
    reg = register_from_records(placements=[row])
    assert list(reg.findings["rule_id"]) == ["STR-002"]
    assert "start_date" in reg.placements.columns


def test_extra_columns_are_kept_out_of_the_typed_frame():
    reg = register_from_records(placements=[_placement(**{"Key worker": "Someone"})])
    assert "Key worker" not in reg.placements.columns and reg.findings.empty


def test_duplicate_sessions_are_found_when_written_differently():
    """One pupil's session twice, once as 'am' with a date serial and once as 'AM' with dd/mm/yyyy text, is a
    duplicate key (STR-005): the check compares the typed values, not the spellings."""
    from apxl.core.parse import parse_table
    from apxl.core.register import RawTable

    def table(rows):
        frame = pd.DataFrame(rows, columns=[0, 1, 2, 3], dtype=object)
        frame.columns = ["UPN", "Date", "Session", "Code"]
        frame.index = pd.RangeIndex(2, 2 + len(frame)).astype("int64")
        return RawTable(sheet="Attendance", header_row=1, headers=list(frame.columns), letters=list("ABCD"), frame=frame)

    upn = "A123456789012"
    _, dup = parse_table("attendance", table([[upn, 45659.0, "am", "/"], [upn, "02/01/2025", "AM", "B"]]))
    assert "STR-005" in set(dup["rule_id"])
    _, ok = parse_table("attendance", table([[upn, 45659.0, "am", "/"], [upn, "02/01/2025", "PM", "B"]]))
    assert "STR-005" not in set(ok["rule_id"])


@pytest.mark.parametrize("raw, expected", [
    ("2025-03", "2025-03"), ("2025/3", "2025-03"), ("2025.03", "2025-03"), ("03/2025", "2025-03"), ("3-2025", "2025-03"),
    ("March 2025", "2025-03"), ("Mar 2025", "2025-03"), (datetime(2025, 3, 1), "2025-03"), (date(2025, 3, 31), "2025-03"),
    ("15/03/2025", "2025-03"), ("2025-13", None), ("13/2025", None), ("soon", None), ("", None), (None, None),
])
def test_months_in_the_forms_officers_type_them(raw, expected):
    from apxl.core.parse import parse_month_value

    assert parse_month_value(raw) == expected
