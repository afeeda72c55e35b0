"""Termly provider and funding summaries on a hand-worked register of a dozen placements."""
import sys
from pathlib import Path

import pandas as pd
import pytest

from apxl.core.calendar import SchoolCalendar
from apxl.core.parse import register_from_records
from apxl.core.policy import default_policy
from apxl.core.summaries import SUPPRESSED, cost_book, funding_summary, provider_summary, suppress_counts

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
from summary_fixture import PLACEMENTS, PROVIDERS, TERMS  # noqa: E402


@pytest.fixture(scope="module")
def setup():
    reg = register_from_records(placements=PLACEMENTS, providers=PROVIDERS, terms=TERMS)
    assert reg.findings.query("rule_id != 'STR-002' and rule_id != 'STR-001'").empty, reg.findings
    cal = SchoolCalendar.from_register(reg)
    book = cost_book(reg, cal, default_policy())
    return reg, cal, book


def test_provider_summary_autumn_by_hand(setup):
    reg, cal, book = setup
    s = provider_summary(reg, cal, default_policy(), "2024-25-autumn", book=book)
    t = s.table("apxlProviders").frame.set_index("Provider ID")
    assert list(t.index) == ["PRV1", "PRV2", "PRV3", "PRV4"]
    assert t["On roll at census"].to_dict() == {"PRV1": 3, "PRV2": 1, "PRV3": 1, "PRV4": 1}  # A3 starts in Nov, A5 in Oct, A11 ended 30 Sep, A12 in Dec
    assert t["Pupils supported"].to_dict() == {"PRV1": 4, "PRV2": 2, "PRV3": 2, "PRV4": 1}  # U5 has two PRV2 placements and counts once
    assert t["Starters"].to_dict() == {"PRV1": 4, "PRV2": 3, "PRV3": 2, "PRV4": 1}
    assert t["Leavers"].to_dict() == {"PRV1": 2, "PRV2": 2, "PRV3": 1, "PRV4": 0}
    assert t["EHCP pupils"].to_dict() == {"PRV1": 1, "PRV2": 0, "PRV3": 0, "PRV4": 0}
    assert t["Looked-after pupils"].to_dict() == {"PRV1": 1, "PRV2": 0, "PRV3": 0, "PRV4": 0}
    assert t["LA-commissioned"].to_dict() == {"PRV1": 4, "PRV2": 1, "PRV3": 0, "PRV4": 0}
    assert t["School-commissioned"].to_dict() == {"PRV1": 0, "PRV2": 2, "PRV3": 2, "PRV4": 1}
    # PRV1: 25x15 + 25x15 + 25x7 + 20x6 = 1045; PRV2: 6x15 + 4x10 + 5x21/5 = 151; PRV3: 10x15 + 25x1 = 175; PRV4: 6x15 = 90
    assert t["Hours delivered"].to_dict() == {"PRV1": 1045.0, "PRV2": 151.0, "PRV3": 175.0, "PRV4": 90.0}
    # PRV1: 3,947.37 + 3,947.37 + 3,500 + 1,578.95
    assert t["Cost (£)"].to_dict() == {"PRV1": 12973.69, "PRV2": 4425.00, "PRV3": 2800.00, "PRV4": 3000.00}
    assert s.table("apxlProviders").total_row["Cost (£)"] == 23198.69
    places = s.table("apxlPlacesVsRoll").frame.set_index("Provider ID")
    assert places.to_dict("index") == {"PRV1": {"Places": 10.0, "On roll at census": 3}, "PRV3": {"Places": 5.0, "On roll at census": 1}}
    dest = s.table("apxlDestinations").frame.set_index("Destination")["Leavers"].to_dict()
    assert dest == {"Not recorded": 3, "Returned to mainstream": 1, "Special school": 1}


def test_funding_summary_autumn_by_hand(setup):
    reg, cal, book = setup
    f = funding_summary(reg, cal, default_policy(), "2024-25-autumn", book=book, budget=20000)
    payer = f.table("apxlCostByPayer").frame.set_index(["Payer", "Element"])["Amount (£)"].to_dict()
    assert payer == {("LA", "place funding"): 9473.69, ("LA", "top-up"): 4025.00, ("School", "place funding"): 0.0, ("School", "top-up"): 9700.00}
    route = f.table("apxlCostByRoute").frame.set_index("Route")["Total (£)"].to_dict()
    assert route == {"ASSESS": 2800.00, "HEALTH": 4425.00, "INTERIM": 3500.00, "PEX": 7894.74, "S19OTHER": 1578.95, "VOCATIONAL": 3000.00}
    home = f.table("apxlCostByHomeSchool").frame.set_index("Home school URN")
    assert home.loc["100002", "School (£)"] == 3000.00 and home.loc["100002", "Home school"] == "Elm Academy"
    budget = f.table("apxlBudget").frame.iloc[0].to_dict()
    assert budget == {"Budget (£)": 20000.0, "Actual LA spend (£)": 13498.69, "Variance (£)": 6501.31}


def test_christmas_placement_is_split_between_terms(setup):
    reg, cal, book = setup
    a12 = book[book.placement_id == "A12"].groupby("term")["pence"].sum().to_dict()
    assert a12 == {"2024-25-autumn": 40000, "2024-25-spring": 40000}


def test_figures_reconcile_providers_terms_and_financial_years(setup):
    reg, cal, book = setup
    policy = default_policy()
    terms = ["2024-25-autumn", "2024-25-spring", "2024-25-summer"]
    term_totals = []
    for term in terms:
        prov = provider_summary(reg, cal, policy, term, book=book).table("apxlProviders")
        fund = funding_summary(reg, cal, policy, term, book=book)
        by_provider = fund.table("apxlCostByProvider").total_row["Total (£)"]
        assert prov.total_row["Cost (£)"] == pytest.approx(by_provider, abs=0.001)
        assert fund.table("apxlCostByPayer").total_row["Amount (£)"] == pytest.approx(by_provider, abs=0.001)
        term_totals.append(round(by_provider * 100))
    assert sum(term_totals) == book["pence"].sum()
    fys = [funding_summary(reg, cal, policy, f"FY {fy}", book=book).table("apxlCostByProviderFY").total_row["Total (£)"] for fy in ("2024-25", "2025-26")]
    assert sum(round(x * 100) for x in fys) == book["pence"].sum()


def test_publish_hides_small_counts_and_what_would_reveal_them():
    frame = pd.DataFrame({"Provider": ["A", "B", "C"], "Pupils": [12, 3, 9], "EHCP": [6, 0, 7]})
    out = suppress_counts(frame, ("Pupils", "EHCP"))
    assert out.loc[1, "Pupils"] == SUPPRESSED
    # a lone hidden cell in a column could be recovered from the total: the next smallest is hidden too
    assert out.loc[2, "Pupils"] == SUPPRESSED and out.loc[0, "Pupils"] == 12
    assert out.loc[1, "EHCP"] == 0  # zeros are not disclosive


def test_published_provider_summary(setup):
    reg, cal, book = setup
    s = provider_summary(reg, cal, default_policy(), "2024-25-autumn", book=book, publish=True)
    t = s.table("apxlProviders")
    assert (t.frame["Pupils supported"] == SUPPRESSED).all()
    assert t.total_row["Pupils supported"] == 9  # the total itself is 5 or more and stays
    assert s.notes and "<5" in s.notes[0]


def test_attendance_rate_and_persistent_absence_by_provider(setup):
    from apxl.core.attendance import placement_measures
    from apxl.io.attendance import load_code_set

    reg0, cal, book = setup
    # U1 (A1 at PRV1): Mon 9 and Tue 10 Sep 2024, 4 sessions: 3 present, 1 unauthorised (O) -> 75%, persistent.
    # U9 (A9 at PRV4): 4 sessions all present -> 100%.
    marks = [("U1", "09/09/2024", "AM", "/"), ("U1", "09/09/2024", "PM", "\\"), ("U1", "10/09/2024", "AM", "/"), ("U1", "10/09/2024", "PM", "O"),
             ("U9", "09/09/2024", "AM", "/"), ("U9", "09/09/2024", "PM", "\\"), ("U9", "10/09/2024", "AM", "/"), ("U9", "10/09/2024", "PM", "\\")]
    reg = register_from_records(placements=PLACEMENTS, providers=PROVIDERS, terms=TERMS,
                                attendance=[{"UPN": u, "Date": d, "Session": s, "Code": c, "Source": "School"} for u, d, s, c in marks])
    measures = placement_measures(reg.attendance, reg.placements, load_code_set(), cal, providers=reg.providers, as_of="2025-01-31", by_term=True)
    s = provider_summary(reg, cal, default_policy(), "2024-25-autumn", attendance=measures, book=book)
    t = s.table("apxlProviders").frame.set_index("Provider ID")
    assert t.loc["PRV1", "Attendance rate"] == 0.75 and t.loc["PRV4", "Attendance rate"] == 1.0
    assert pd.isna(t.loc["PRV2", "Attendance rate"])
    assert t["Persistent absence (pupils)"].to_dict() == {"PRV1": 1, "PRV2": 0, "PRV3": 0, "PRV4": 0}


def test_money_of_rows_with_blank_groups_is_kept(setup):
    reg0, cal, _ = setup
    rows = [dict(r) for r in PLACEMENTS]
    rows[3]["Provider ID"] = None
    rows[3]["Home school URN"] = None
    reg = register_from_records(placements=rows, providers=PROVIDERS, terms=TERMS)
    book = cost_book(reg, cal, default_policy())
    prov = provider_summary(reg, cal, default_policy(), "2024-25-autumn", book=book).table("apxlProviders")
    fund = funding_summary(reg, cal, default_policy(), "2024-25-autumn", book=book)
    assert prov.total_row["Cost (£)"] == 23198.69
    assert prov.frame.set_index("Provider ID").loc["(no Provider ID)", "Cost (£)"] == 2700.00
    for name in ("apxlCostByProvider", "apxlCostByHomeSchool", "apxlCostByRoute"):
        assert fund.table(name).total_row["Total (£)"] == 23198.69


def test_awpu_recovery_listed_per_excluding_school_in_the_period_it_took_effect(setup):
    from apxl.core.policy import Policy
    from apxl.core.recovery import awpu_recoveries

    reg0, cal, _ = setup
    rows = [dict(r) for r in PLACEMENTS]
    # A1 (Oak High, no year group: DOB gives Year 8 = KS3) excluded 09/12/2024: 16 complete weeks to 31/03/2025.
    rows[0].update({"Exclusion start date": "09/12/2024", "Date of birth": "01/03/2012"})
    # A10 (Oak High) excluded 06/01/2025 with no date of birth or year group: counted, not priced.
    rows[9].update({"Exclusion start date": "06/01/2025"})
    reg = register_from_records(placements=rows, providers=PROVIDERS, terms=TERMS)
    policy = default_policy().with_changes(awpu={"KS3": 5200.0})
    rec = awpu_recoveries(reg.placements, policy)
    assert rec.set_index("placement_id").loc["A1", "amount"] == 1600.00  # 5,200 x 16/52
    book = cost_book(reg, cal, policy)
    autumn = funding_summary(reg, cal, policy, "2024-25-autumn", awpu_recovery=rec, book=book).table("apxlAwpuRecovery").frame
    assert autumn.to_dict("records") == [{"Home school URN": "100001", "Home school": "Oak High", "Exclusions": 1, "Priced": 1, "AWPU recovery (£)": 1600.0}]
    fy = funding_summary(reg, cal, policy, "FY 2024-25", awpu_recovery=rec, book=book).table("apxlAwpuRecoveryFY")
    assert fy.frame.iloc[0]["Exclusions"] == 2 and fy.frame.iloc[0]["Priced"] == 1 and fy.total_row["AWPU recovery (£)"] == 1600.0
