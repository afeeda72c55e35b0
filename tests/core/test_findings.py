"""Findings: the vectorised display of keys and values, flag(), and the Report's order, counts and JSON."""
import pandas as pd
from hypothesis import given, strategies as st

from apxl.core.findings import Report, display_value, display_series, flag

floats = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)


@given(st.lists(st.one_of(st.none(), floats), max_size=20))
def test_vectorised_display_matches_the_scalar_one_for_numbers(values):
    s = pd.Series(values, dtype="float64")
    assert list(display_series(s)) == [display_value(v) for v in s]


@given(st.lists(st.one_of(st.none(), st.dates(min_value=pd.Timestamp("1900-01-01").date(), max_value=pd.Timestamp("2200-01-01").date()).map(pd.Timestamp)), max_size=20))
def test_vectorised_display_matches_the_scalar_one_for_dates(values):
    s = pd.Series(values, dtype="datetime64[ns]")
    assert list(display_series(s)) == [display_value(v) for v in s]


@given(st.lists(st.one_of(st.none(), st.text(max_size=5), st.integers(), floats), max_size=20))
def test_vectorised_display_matches_the_scalar_one_for_mixed_cells(values):
    s = pd.Series(values, dtype=object)
    assert list(display_series(s)) == [display_value(v) for v in s]


def test_flag_builds_rows_for_the_masked_excel_rows():
    frame = pd.DataFrame({"placement_id": ["P1", "P2", "P3"], "hours": [10.0, 30.0, None]}, index=[5, 6, 7])
    out = flag(frame, frame["hours"] > 20, sheet="Placements", column="hours", key="placement_id", message="too many")
    assert out.to_dict("records") == [{"sheet": "Placements", "row": 6, "column": "hours", "key": "P2", "value": "30", "message": "too many"}]


def test_report_orders_errors_first_and_counts():
    frame = pd.DataFrame([
        {"rule_id": "PLC-003", "severity": "warning", "sheet": "Placements", "row": 3, "column": "x", "key": "P1", "value": None, "message": "m"},
        {"rule_id": "PUP-001", "severity": "error", "sheet": "Placements", "row": 9, "column": "UPN", "key": "P2", "value": "X", "message": "m"},
        {"rule_id": "FND-005", "severity": "info", "sheet": "Placements", "row": 2, "column": None, "key": "P3", "value": None, "message": "m"},
    ])
    report = Report(frame)
    assert [f.rule_id for f in report.findings] == ["PUP-001", "PLC-003", "FND-005"]
    assert report.counts == {"total": 3, "error": 1, "warning": 1, "info": 1, "by_rule": {"FND-005": 1, "PLC-003": 1, "PUP-001": 1}}
    assert report.has_errors
    assert report.to_json_dict()["findings"][0]["row"] == 9
    assert not Report().has_errors and Report().counts["total"] == 0
