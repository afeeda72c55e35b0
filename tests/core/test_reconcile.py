"""Pure reconciliation: matching returned placements, field differences, who did not return, invoices against cost."""
from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apxl.core.parse import register_from_records
from apxl.core.reconcile import (
    MATCH_BY_ID, MATCH_BY_PUPIL, NO_INVOICE, NOT_EXPECTED, OVER, UNDER, MATCHES, active_between, compare_invoices, expected_in_returns,
    field_differences, match_placements, month_bounds, schools_not_returned, trace_row, with_placements,
)


def P(pid, upn="B801200005001", provider="PRV1", start="02/09/2024", **extra):
    rec = {"Placement ID": pid, "UPN": upn, "Surname": "Test", "Forename": "Pupil", "Date of birth": "01/09/2011", "Provider ID": provider,
           "Route": "ASSESS", "Commissioner": "School", "Registration": "Dual", "Start date": start, "Home school URN": "100001",
           "Home school name": "Ashford Academy"}
    rec.update(extra)
    return rec


def frame(*records):
    return register_from_records(placements=list(records)).placements


def test_month_bounds():
    assert month_bounds("2025-02") == (pd.Timestamp("2025-02-01"), pd.Timestamp("2025-02-28"))
    assert month_bounds("2024-12") == (pd.Timestamp("2024-12-01"), pd.Timestamp("2024-12-31"))
    for bad in ("2025-13", "March", "", "2025/03"):
        with pytest.raises(ValueError):
            month_bounds(bad)


def test_active_and_expected_in_the_month():
    f = frame(P("a", start="01/02/2025"), P("ended", start="01/01/2025", **{"End date": "28/02/2025"}),
              P("later", start="01/04/2025"), P("single", start="01/01/2025", Registration="Single"),
              P("open past plan", start="01/01/2025", **{"Planned end date": "01/02/2025"}))
    start, end = month_bounds("2025-03")
    assert list(f.loc[active_between(f, start, end), "placement_id"]) == ["a", "single", "open past plan"]
    assert list(f.loc[expected_in_returns(f, start, end), "placement_id"]) == ["a", "open past plan"]


def test_match_by_id_then_by_pupil_provider_start():
    reg = frame(P("AP-1"), P("AP-2", upn="A801200006002"))
    ret = frame(P("AP-1"), P("SCHOOL-9", upn="A801200006002"), P("NEW", upn="C801200007003"))
    m = match_placements(reg, ret)
    assert list(m["register_row"].astype("object")) == [2, 3, pd.NA]
    assert list(m["matched_by"]) == [MATCH_BY_ID, MATCH_BY_PUPIL, None]
    assert m["duplicate_of"].isna().all()


def test_pupil_key_needs_all_three_parts():
    reg = frame(P("AP-1"))
    ret = frame(P("X", provider="PRV2"), P("Y", start="03/09/2024"))
    assert match_placements(reg, ret)["register_row"].isna().all()


def test_repeats_within_a_return_and_only_within_it():
    ret = frame(P("A"), P("A"), P("B", upn="A801200006002"), P("C", upn="A801200006002"))
    m = match_placements(frame(), ret)
    assert list(m["duplicate_of"].astype("object")) == [pd.NA, 2, pd.NA, 4]
    grouped = match_placements(frame(), ret, group=pd.Series([0, 1, 0, 1], index=ret.index))
    assert grouped["duplicate_of"].isna().all()  # the same placement in two schools' returns is not a repeat


def test_field_differences_only_where_the_return_states_a_value():
    reg = frame(P("AP-1", Surname="Smith", **{"Hours per week": "25", "Planned end date": "04/04/2025", "Objectives": "Maths"}))
    ret = frame(P("AP-1", Surname="  SMITH ", **{"Hours per week": "25.001", "Planned end date": "11/04/2025", "Objectives": None}))
    d = field_differences(reg, ret, match_placements(reg, ret))
    assert list(d["field"]) == ["planned_end_date"]  # case/spacing and sub-penny changes are not differences; a blank is not stated
    assert d.loc[0, "register_value"] == pd.Timestamp("2025-04-04") and d.loc[0, "returned_value"] == pd.Timestamp("2025-04-11")


def test_repeated_rows_are_not_compared_twice():
    reg = frame(P("AP-1", **{"Hours per week": "25"}))
    ret = frame(P("AP-1", **{"Hours per week": "20"}), P("AP-1", **{"Hours per week": "20"}))
    assert len(field_differences(reg, ret, match_placements(reg, ret))) == 1


def test_schools_not_returned():
    f = frame(P("a"), P("b", **{"Home school URN": "100002", "Home school name": "Brookside"}), P("c", **{"Home school URN": "100002"}))
    got = schools_not_returned(f, ["100001"])
    assert got.to_dict("records") == [{"school_urn": "100002", "school_name": "Brookside", "placements": 2}]
    assert schools_not_returned(f, ["100001", "100002"]).empty


def test_with_placements_and_trace_row():
    reg = register_from_records(placements=[P("AP-1"), P("AP-2")])
    a, b = frame(P("N1"), P("N2")), frame(P("N3"))
    merged, offsets, _ = with_placements(reg, [a, b], stride=100)
    assert list(merged.placements["placement_id"]) == ["AP-1", "AP-2", "N1", "N2", "N3"]
    assert offsets == [4, 104]
    assert [trace_row(int(r), offsets, 100) for r in merged.placements.index] == [(None, 2), (None, 3), (0, 2), (0, 3), (1, 2)]
    assert merged.placements["start_date"].dtype == reg.placements["start_date"].dtype


def test_compare_invoices_statuses():
    expected = pd.DataFrame({"provider_id": ["P1", "P1", "P2", "P3", "P4"], "pence": [50_000, 55_263, 180_000, 140_000, 10_000]})
    invoices = pd.DataFrame({"provider_id": ["P1", "P2", "P4", "P5"], "pence": [105_300, 225_000, 5_000, 90_000], "ref": ["a", "b", "c", "d"]})
    got = compare_invoices(expected, invoices, tolerance_pence=100)
    assert got[["provider_id", "status", "difference_pence"]].values.tolist() == [
        ["P1", MATCHES, 37], ["P2", OVER, 45_000], ["P3", NO_INVOICE, -140_000], ["P4", UNDER, -5_000], ["P5", NOT_EXPECTED, 90_000]]


_upn = st.sampled_from(["B801200005001", "A801200006002", "C801200007003"])
_row = st.fixed_dictionaries({"Placement ID": st.sampled_from(["P1", "P2", "P3", None]), "UPN": _upn,
                              "Provider ID": st.sampled_from(["X", "Y"]), "Start date": st.sampled_from(["02/09/2024", "06/01/2025"])})


@settings(max_examples=12, deadline=None)
@given(st.lists(_row, min_size=1, max_size=6))
def test_every_row_matches_itself(rows):
    """A return identical to the register: every row with an ID or a full pupil key matches, and nothing differs."""
    recs = [P(r["Placement ID"] or f"gen{i}", upn=r["UPN"], provider=r["Provider ID"], start=r["Start date"]) for i, r in enumerate(rows)]
    reg = frame(*recs)
    m = match_placements(reg, reg)
    assert m["register_row"].notna().all()
    firsts = m["duplicate_of"].isna()
    assert field_differences(reg, reg, m).empty
    # A row that is not a repeat matched a register row with the same Placement ID or the same pupil key.
    for row in reg.index[firsts]:
        other = int(m.loc[row, "register_row"])
        same_id = reg.loc[row, "placement_id"] == reg.loc[other, "placement_id"]
        same_key = all(reg.loc[row, f] == reg.loc[other, f] for f in ("upn", "provider_id", "start_date"))
        assert same_id or same_key
