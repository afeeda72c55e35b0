"""FND-001..006: the LA route matrix, double funding, AWPU recovery after exclusion, costing; Solihull vs Herefordshire."""
from datetime import date

import pandas as pd
import pytest

from apxl.core.check import check_register
from apxl.core.parse import register_from_records
from apxl.core.policy import default_policy
from apxl.core.recovery import recovery_weeks
from apxl.core.vocab import ROUTES
from apxl.io.profiles import policy_for

AS_OF = date(2025, 1, 10)
PROVIDERS = [{"Provider ID": "P1", "Name": "County PRU", "Type": "PRU", "Registered (Y/N)": "Y"},
             {"Provider ID": "P2", "Name": "Tutor Co", "Type": "Unregistered", "Registered (Y/N)": "N"}]
FND = ["FND-001", "FND-002", "FND-003", "FND-004", "FND-005", "FND-006"]


def policy(name, settings=None):
    return policy_for(register_from_records(placements=[], settings=settings), name)[0]


SOLIHULL, HEREFORDSHIRE = policy("solihull"), policy("herefordshire")


def placement(pid: str, **extra) -> dict:
    """An ASSESS placement both Solihull and Herefordshire allow (synthetic pupil)."""
    rec = {
        "Placement ID": pid, "UPN": "B801200005001", "Surname": "Testpupil", "Forename": "Alex", "Date of birth": "15/05/2012",
        "Year group": 8, "Home school URN": "100001", "Home school name": "Oak Academy", "Provider ID": "P1", "Route": "ASSESS",
        "Commissioner": "School", "Place funder": "LA", "Top-up funder": "School", "Registration": "Dual",
        "Start date": "02/09/2024", "Planned end date": "20/12/2024", "Hours per week": 10, "Days": "Mon,Tue",
        "Cost basis": "Week", "Rate": 300,
    }
    rec.update(extra)
    return rec


def pex(pid: str, **extra) -> dict:
    base = {"Route": "PEX", "Commissioner": "LA", "Place funder": "LA", "Top-up funder": "LA", "Registration": "Single",
            "Exclusion start date": "14/10/2024", "Start date": "22/10/2024"}
    return placement(pid, **{**base, **extra})


def run(rule_ids, *placements, pol=SOLIHULL, as_of=AS_OF, providers=PROVIDERS):
    ids = [rule_ids] if isinstance(rule_ids, str) else rule_ids
    reg = register_from_records(placements=list(placements), providers=providers)
    return check_register(reg, pol, as_of=as_of, only=ids).frame


def keys(frame, rule_id=None):
    part = frame if rule_id is None else frame[frame["rule_id"] == rule_id]
    return sorted(part["key"])


def test_the_base_placement_passes_every_funding_rule_under_both_profiles():
    for pol in (SOLIHULL, HEREFORDSHIRE):
        assert run(FND[:4] + FND[5:], placement("OK"), pol=pol).empty


# ---- FND-001..003 ---------------------------------------------------------------------------------
def test_fnd_001_commissioner_not_allowed():
    found = run("FND-001", placement("OK"), placement("BAD", Commissioner="LA"))
    assert keys(found) == ["BAD"]
    row = found.iloc[0]
    assert row["column"] == "Commissioner" and row["value"] == "LA" and row["row"] == 3
    assert row["message"].startswith("Solihull route matrix: ASSESS placements are commissioned by School, not LA")


def test_fnd_001_route_missing_from_the_matrix():
    longterm = placement("LT", Route="LONGTERM", Commissioner="School", **{"Place funder": "LA", "Top-up funder": "School"})
    assert run("FND-001", longterm, pol=SOLIHULL).empty
    found = run(["FND-001", "FND-002", "FND-003"], longterm, pol=HEREFORDSHIRE)
    assert found["rule_id"].tolist() == ["FND-001"]  # reported once, not once per column
    assert "LONGTERM is not a route in the Herefordshire route matrix" in found.iloc[0]["message"]


def test_fnd_002_place_funder_not_allowed():
    # Solihull: LA pays the PEX place; Herefordshire: 'School by local agreement'.
    school_pays = pex("SCH", **{"Place funder": "School"})
    la_pays = pex("LA", **{"Place funder": "LA"})
    assert keys(run("FND-002", school_pays, la_pays, pol=SOLIHULL)) == ["SCH"]
    found = run("FND-002", school_pays, la_pays, pol=HEREFORDSHIRE)
    assert keys(found) == ["LA"]
    assert "Herefordshire route matrix: the place (lump sum) for PEX is paid by School ('School by local agreement'), not LA" in found.iloc[0]["message"]


def test_fnd_003_topup_funder_not_allowed():
    found = run("FND-003", placement("OK"), placement("BAD", **{"Top-up funder": "LA"}))
    assert keys(found) == ["BAD"]
    assert found.iloc[0]["message"].startswith("Solihull route matrix: top-up for ASSESS is paid by School, not LA.")
    assert found.iloc[0]["column"] == "Top-up funder"


def test_blank_funders_are_not_judged_and_no_profile_means_no_matrix_findings():
    assert run(["FND-002", "FND-003"], placement("BLANK", **{"Place funder": None, "Top-up funder": None})).empty
    assert run(["FND-001", "FND-002", "FND-003"], placement("X", Commissioner="LA", **{"Top-up funder": "LA"}), pol=default_policy()).empty


# The seed tables, cell by cell, as the parties and registrations they allow (seed 000 and seed 002 §7).
SEED_ALLOWED = {
    "herefordshire": {
        "PEX": ({"LA"}, {"School"}, {"LA", "School"}, {"Dual", "Single"}),
        "HEALTH": ({"LA", "School"}, {"School"}, {"School"}, {"Dual", "Off-site"}),
        "INTERIM": ({"LA"}, {"LA"}, {"LA"}, {"Single"}),
        "ASSESS": ({"School"}, {"LA", "School"}, {"School"}, {"Dual", "Off-site"}),
        "SUSPENSION": ({"School"}, {"School"}, {"School"}, {"Dual", "Off-site"}),
        "S19OTHER": ({"LA"}, {"LA", "School"}, {"LA", "School"}, {"Dual", "Single", "Off-site"}),
        "VOCATIONAL": ({"School"}, {"School"}, {"School"}, {"Dual", "Off-site"}),
    },
    "solihull": {
        "PEX": ({"LA"}, {"LA"}, {"LA"}, {"Dual", "Single"}),
        "HEALTH": ({"LA", "School"}, {"LA", "School"}, {"School"}, {"Dual", "Off-site"}),
        "INTERIM": ({"LA"}, {"LA"}, {"LA"}, {"Single"}),
        "ASSESS": ({"School"}, {"LA", "School"}, {"School"}, {"Dual", "Off-site"}),
        "LONGTERM": ({"LA", "School"}, {"LA"}, {"School"}, {"Dual", "Single", "Off-site"}),
        "SUSPENSION": ({"School"}, {"School"}, {"School"}, {"Dual", "Off-site"}),
        "S19OTHER": ({"LA"}, {"LA", "School"}, {"LA", "School"}, {"Dual", "Single", "Off-site"}),
        "VOCATIONAL": ({"School"}, {"School"}, {"School"}, {"Dual", "Off-site"}),
    },
}
CELLS = [("Commissioner", "FND-001", ["LA", "School"]), ("Place funder", "FND-002", ["LA", "School"]),
         ("Top-up funder", "FND-003", ["LA", "School"]), ("Registration", "REG-001", ["Dual", "Single", "Off-site"])]


def _every_cell():
    """One placement per route, matrix column and value; the other columns blank where they may be."""
    out = []
    for route in ROUTES:
        for c, (header, _rid, values) in enumerate(CELLS):
            for value in values:
                rec = placement(f"{route}-{c}-{value}", Route=route, Commissioner="LA" if header != "Commissioner" else value,
                                **{"Place funder": None, "Top-up funder": None, "Registration": "Dual"})
                rec[header] = value
                out.append(rec)
    return out


def _expected(profile):
    table = SEED_ALLOWED[profile]
    found = set()
    for route in ROUTES:
        for c, (header, rid, values) in enumerate(CELLS):
            for value in values:
                pid = f"{route}-{c}-{value}"
                if route not in table:
                    found.add(("FND-001", pid))  # the route itself is not in the matrix: FND-001 only
                    continue
                if value not in table[route][c]:
                    found.add((rid, pid))
                if header != "Commissioner" and "LA" not in table[route][0]:
                    found.add(("FND-001", pid))  # the fixed Commissioner LA is itself wrong here
                if header != "Registration" and "Dual" not in table[route][3]:
                    found.add(("REG-001", pid))  # the fixed Registration Dual is itself wrong here
    return found


def test_solihull_and_herefordshire_differ_exactly_as_their_seed_tables_do():
    ids = ["FND-001", "FND-002", "FND-003", "REG-001"]
    got = {}
    for name, pol in (("solihull", SOLIHULL), ("herefordshire", HEREFORDSHIRE)):
        frame = run(ids, *_every_cell(), pol=pol)
        got[name] = set(zip(frame["rule_id"], frame["key"]))
        assert got[name] == _expected(name), name
    only_here = got["herefordshire"] - got["solihull"]
    only_soli = got["solihull"] - got["herefordshire"]
    # The seed tables differ on PEX place and top-up, HEALTH place, and Solihull's LONGTERM row.
    assert ("FND-002", "PEX-1-LA") in only_here and ("FND-002", "PEX-1-School") in only_soli
    assert ("FND-003", "PEX-2-School") in only_soli
    assert ("FND-002", "HEALTH-1-LA") in only_here
    # Herefordshire has no LONGTERM row: every LONGTERM placement is FND-001 there, and nothing else.
    longterm_here = {(rid, pid) for rid, pid in got["herefordshire"] if pid.startswith("LONGTERM")}
    assert {rid for rid, _ in longterm_here} == {"FND-001"} and len(longterm_here) == 9
    assert {pid for rid, pid in only_soli if pid.startswith("LONGTERM")} == {"LONGTERM-1-School", "LONGTERM-2-LA"}
    assert {pid.split("-")[0] for _, pid in only_here | only_soli} == {"PEX", "HEALTH", "LONGTERM"}


# ---- FND-004 ------------------------------------------------------------------------------------
def test_fnd_004_la_pays_place_and_topup_for_a_pupil_kept_on_roll():
    both = {"Place funder": "LA", "Top-up funder": "LA"}
    found = run("FND-004",
                placement("DUAL", Route="S19OTHER", Commissioner="LA", **both),
                placement("OFFSITE", UPN="A801200005002", Route="S19OTHER", Commissioner="LA", Registration="Off-site", **both),
                placement("SINGLE", UPN="C801200005003", Route="S19OTHER", Commissioner="LA", Registration="Single", **both),
                pex("PEX", UPN="D801200005004", Registration="Dual"),
                placement("SPLIT", UPN="E801200005005"))
    assert keys(found) == ["DUAL", "OFFSITE"]
    assert "double funding" in found.iloc[0]["message"] and "Solihull route matrix says top-up for S19OTHER" in found.iloc[0]["message"]


def test_fnd_004_one_pupil_funded_by_the_la_twice_on_the_same_days():
    la = {"Route": "S19OTHER", "Commissioner": "LA", "Place funder": "LA", "Top-up funder": "School"}
    found = run("FND-004", placement("A", **la), placement("B", **la, **{"Provider ID": "P2", "Days": "Tue,Thu", "Start date": "01/10/2024"}))
    assert keys(found) == ["A", "B"]
    assert "placement B (from 01/10/2024 to 20/12/2024)" in found[found["key"] == "A"].iloc[0]["message"]


@pytest.mark.parametrize("other", [
    {"Days": "Wed,Thu"},  # different days of the week
    {"Start date": "06/01/2025", "Planned end date": "28/03/2025"},  # different dates
    {"Place funder": "School", "Top-up funder": "School", "Commissioner": "School", "Route": "ASSESS"},  # school-funded
])
def test_fnd_004_no_double_funding(other):
    la = {"Route": "S19OTHER", "Commissioner": "LA", "Place funder": "LA", "Top-up funder": "School"}
    first = placement("A", **la)
    second = placement("B", **{**la, **other})
    assert run("FND-004", first, second).empty


def test_fnd_004_a_short_overlap_counts_only_weekdays_it_contains():
    la = {"Route": "S19OTHER", "Commissioner": "LA", "Place funder": "LA", "Top-up funder": "School"}
    first = placement("A", **la, **{"Days": "Mon,Tue,Wed,Thu,Fri", "Planned end date": "17/09/2024"})
    # Overlap Sat 14/09 - Tue 17/09: a Wednesday-only placement shares no day; a Monday one does.
    assert run("FND-004", first, placement("B", **la, **{"Days": "Wed", "Start date": "14/09/2024"})).empty
    assert keys(run("FND-004", first, placement("B", **la, **{"Days": "Mon", "Start date": "14/09/2024"}))) == ["A", "B"]


# ---- FND-005 ------------------------------------------------------------------------------------
def test_recovery_weeks_to_the_end_of_the_financial_or_school_year():
    weeks, end = recovery_weeks(pd.Series(pd.to_datetime(["2024-10-14", "2025-04-22", "2025-04-22", "2025-03-31"])), pd.Series([8, 11, 10, 9]))
    assert weeks.tolist() == [24, 18, 49, 0]
    assert end.dt.strftime("%Y-%m-%d").tolist() == ["2025-03-31", "2025-08-31", "2026-03-31", "2025-03-31"]


def test_fnd_005_states_the_awpu_recovery_amount():
    found = run(FND, pex("PX"), placement("OTHER", UPN="A801200005002"))
    rec = found[found["rule_id"] == "FND-005"]
    assert keys(rec) == ["PX"]
    row = rec.iloc[0]
    assert row["severity"] == "info" and row["column"] == "Exclusion start date" and row["value"] == "14/10/2024"
    assert "recover the AWPU from Oak Academy: A x B/52 = £5,022.00 x 24/52 = £2,317.85 (KS3 AWPU; 24 complete weeks to 31/03/2025)" in row["message"]
    assert "reg 27" in row["message"]


def test_fnd_005_cites_herefordshire_recovery_and_uses_settings_awpu():
    pol = policy("herefordshire", settings=[{"Name": "AWPU KS3", "Value": "5200"}])
    msg = run("FND-005", pex("PX", **{"Place funder": "School"}), pol=pol).iloc[0]["message"]
    assert "£5,200.00 x 24/52 = £2,400.00" in msg
    assert "Herefordshire route matrix: top-up for PEX is 'Recovery of AWPU from school'" in msg


def test_fnd_005_one_recovery_per_exclusion_and_unknowns_explained():
    found = run("FND-005", pex("P1"), pex("P2", **{"Start date": "04/11/2024", "Provider ID": "P2"}), pex("NODATE", UPN="A801200005002", **{"Exclusion start date": None}))
    assert keys(found) == ["NODATE", "P1"]
    assert "enter the exclusion start date" in found[found["key"] == "NODATE"].iloc[0]["message"]
    nothing = run("FND-005", pex("P1"), pol=default_policy())
    assert "A is unknown" in nothing.iloc[0]["message"] and "B = 24 complete weeks" in nothing.iloc[0]["message"]


def test_fnd_005_not_for_other_routes():
    assert run("FND-005", placement("A", **{"Exclusion start date": "14/10/2024"})).empty


# ---- FND-006 ------------------------------------------------------------------------------------
def test_fnd_006_no_cost_basis_or_rate():
    found = run("FND-006", placement("OK"), placement("NOBASIS", **{"Cost basis": None}), placement("NORATE", Rate=None),
                placement("NEITHER", **{"Cost basis": None, "Rate": None}))
    assert keys(found) == ["NEITHER", "NOBASIS", "NORATE"]
    by_key = found.set_index("key")
    assert by_key.loc["NORATE", "column"] == "Rate (£)"
    assert by_key.loc["NEITHER", "message"].startswith("No cost basis or rate is recorded")


def test_funding_rules_survive_a_register_of_blanks():
    blank = {"Placement ID": "X", "UPN": None, "Surname": None, "Forename": None, "Date of birth": "not a date", "Provider ID": None,
             "Route": "WIBBLE", "Commissioner": None, "Registration": None, "Start date": None}
    found = run(FND, blank, pol=SOLIHULL)
    assert set(found["rule_id"]) <= {"FND-006"}
    assert run(FND, pol=SOLIHULL).empty
