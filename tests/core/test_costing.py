"""Placement costs by basis and their apportioning to terms and financial years (to the penny)."""
from datetime import date

import numpy as np
import pandas as pd
from hypothesis import given, settings, strategies as st

from apxl.core.calendar import SchoolCalendar
from apxl.core.costing import apportion_rows, costs_by_period, placement_costs
from apxl.core.money import apportion, to_pence
from apxl.core.parse import register_from_records
from apxl.core.policy import default_policy

TERMS = [
    {"Academic year": "2024-25", "Term": "Autumn", "Start": "02/09/2024", "End": "20/12/2024", "Half-term start": "28/10/2024", "Half-term end": "01/11/2024"},
    {"Academic year": "2024-25", "Term": "Spring", "Start": "06/01/2025", "End": "04/04/2025", "Half-term start": "17/02/2025", "Half-term end": "21/02/2025"},
    {"Academic year": "2024-25", "Term": "Summer", "Start": "22/04/2025", "End": "18/07/2025", "Half-term start": "26/05/2025", "Half-term end": "30/05/2025"},
]


def _placement(pid, basis, rate, start="02/09/2024", end="18/07/2025", **kw):
    row = {"Placement ID": pid, "UPN": "B801200005001", "Provider ID": "PRV1", "Route": "PEX", "Commissioner": "LA", "Registration": "Dual",
           "Start date": start, "End date": end, "Cost basis": basis, "Rate": rate, "Place funder": "LA", "Top-up funder": "School"}
    row.update(kw)
    return row


def _costs(rows, providers=None):
    reg = register_from_records(placements=rows, terms=TERMS, providers=providers or [{"Provider ID": "PRV1", "Name": "A", "Type": "PRU", "Registered": "Y", "Weekly fee": 400, "Hourly fee": 30}])
    cal = SchoolCalendar.from_register(reg)
    costs = placement_costs(reg.placements, reg.providers, cal, default_policy(), horizon=pd.Timestamp("2025-08-31"))
    return reg, cal, costs


def test_school_days_in_the_fixture_year():
    # Autumn 2 Sep-20 Dec less half-term: 16 weeks = 80 days - 5 = 75; Spring 6 Jan-4 Apr: 13 weeks = 65 - 5 = 60;
    # Summer 22 Apr-18 Jul: 13 weeks less Easter Monday (21 Apr, outside), May Day 5 May, half-term 26-30 May (incl. 26 May bank holiday): 64 - 1 - 5 = 58
    _, cal, _ = _costs([_placement("P1", "Day", 100)])
    assert cal.school_days(pd.Timestamp("2024-09-02"), pd.Timestamp("2024-12-20")) == 75
    assert cal.school_days(pd.Timestamp("2025-01-06"), pd.Timestamp("2025-04-04")) == 60
    assert cal.school_days(pd.Timestamp("2025-04-22"), pd.Timestamp("2025-07-18")) == 58


def test_each_basis_costs_as_worked_by_hand():
    _, _, c = _costs([
        _placement("DAY", "Day", 100, days="Mon,Wed", end="20/12/2024"),
        _placement("WEEK", "Week", 500, end="20/12/2024"),
        _placement("HOUR", "Hour", 30, end="20/12/2024", **{"Hours per week": 10}),
        _placement("PLACE", "Place", 19000, end="20/12/2024"),
        _placement("FEE", "Week", None, end="20/12/2024"),
        _placement("DEFAULT", "Place", None, end="20/12/2024"),
    ])
    c = c.set_index("placement_id")
    # Autumn 2024: Mondays 2 Sep-16 Dec = 16 less half-term Monday = 15; Wednesdays 16 - 1 = 15; so 30 days x £100.
    assert c.loc["DAY", "total_pence"] == 3_000_00
    assert c.loc["WEEK", "total_pence"] == 75 / 5 * 500 * 100  # 15 school weeks
    assert c.loc["HOUR", "total_pence"] == 30 * 10 * 15 * 100
    assert c.loc["PLACE", "total_pence"] == 19000 * 75 / 190 * 100
    assert c.loc["FEE", "total_pence"] == 400 * 15 * 100 and c.loc["FEE", "rate_source"] == "provider weekly fee"
    assert c.loc["DEFAULT", "total_pence"] == to_pence(10000 * 75 / 190) and c.loc["DEFAULT", "rate_source"] == "policy place value"


def test_place_cost_is_paid_by_the_place_funder_and_fees_by_the_top_up_funder():
    _, _, c = _costs([_placement("A", "Place", 10000), _placement("B", "Week", 300), _placement("C", "Week", 300, **{"Top-up funder": None})])
    c = c.set_index("placement_id")
    assert (c.loc["A", "element"], c.loc["A", "payer"]) == ("place", "LA")
    assert (c.loc["B", "element"], c.loc["B", "payer"]) == ("top-up", "School")
    assert c.loc["C", "payer"] == "LA"  # falls back to the commissioner


def test_terms_share_the_year_and_sum_back_exactly():
    reg, cal, c = _costs([_placement("A", "Place", 10000), _placement("B", "Hour", 27.5, start="15/10/2024", end="13/06/2025", **{"Hours per week": 7})])
    terms = cal.terms_table()[["label", "start", "end"]]
    by_term = costs_by_period(c, reg.placements, cal, terms)
    sums = by_term.groupby("placement_id")["pence"].sum()
    assert sums["A"] == c.set_index("placement_id").loc["A", "total_pence"]
    assert sums["B"] == c.set_index("placement_id").loc["B", "total_pence"]
    a = by_term[by_term.placement_id == "A"].set_index("period")["pence"]
    # £10,000 x 193/190 = 1,015,789p; shared 75:60:58 -> 394,736.66p, 315,789.33p, 305,263.02p;
    # the floors leave 1p over, which goes to the largest remainder (autumn).
    assert list(a) == [394737, 315789, 305263]
    fy = pd.DataFrame({"label": ["2024-25", "2025-26"], "start": pd.to_datetime(["2024-04-01", "2025-04-01"]), "end": pd.to_datetime(["2025-03-31", "2026-03-31"])})
    by_fy = costs_by_period(c, reg.placements, cal, fy)
    assert by_fy.groupby("placement_id")["pence"].sum().to_dict() == sums.to_dict()


@given(st.integers(-10**9, 10**9), st.lists(st.integers(0, 400), min_size=1, max_size=12))
def test_apportion_always_sums_back(total, weights):
    parts = apportion(total, weights)
    assert parts.sum() == total
    if sum(weights):
        assert all(p == 0 for p, w in zip(parts, weights) if w == 0)


@settings(max_examples=60)
@given(st.lists(st.tuples(st.integers(0, 10**8), st.lists(st.integers(0, 66), min_size=3, max_size=3)), min_size=1, max_size=20))
def test_row_wise_apportioning_matches_the_scalar_one(rows):
    totals = np.array([t for t, _ in rows])
    weights = np.array([w for _, w in rows])
    out = apportion_rows(totals, weights)
    assert (out.sum(axis=1) == totals).all()
    for i, (t, w) in enumerate(rows):
        assert list(out[i]) == list(apportion(t, w))
    assert (np.abs(out - totals[:, None] * weights / np.maximum(weights.sum(axis=1, keepdims=True), 1)) < 1 + 1e-6)[weights.sum(axis=1) > 0].all()
