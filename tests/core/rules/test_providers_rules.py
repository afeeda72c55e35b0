"""PRV-001..006: provider QA, safeguarding, Ofsted, census capacity and key stages (seed 003 s8, s10, s14; seed 002 s11)."""
from datetime import date

import pandas as pd
import pytest

from apxl.core.check import check_register
from apxl.core.parse import register_from_records
from apxl.core.policy import default_policy

AS_OF = date(2024, 11, 15)


def provider(pid: str, **extra) -> dict:
    """A provider with a clean record: approved, QA'd recently, DBS and safeguarding confirmed, Good."""
    rec = {
        "Provider ID": pid, "Name": f"Provider {pid}", "Type": "AP academy", "Registered (Y/N)": "Y", "URN": "100001",
        "Ofsted judgement": "Good", "Ofsted date": "01/03/2023", "QA status": "Approved", "Last QA visit": "01/02/2024",
        "DBS confirmed (Y/N)": "Y", "Safeguarding confirmation date": "01/02/2024", "Places": 10, "Key stages (e.g. KS3,KS4)": "KS3,KS4",
    }
    rec.update(extra)
    return rec


def placement(pid: str, provider_id: str, *, upn: str | None = None, start: str = "02/09/2024", end: str | None = None, **extra) -> dict:
    rec = {
        "Placement ID": pid, "UPN": upn or f"U-{pid}", "Surname": "Testpupil", "Forename": "Jo", "Date of birth": "15/05/2011",
        "Year group": 8, "Provider ID": provider_id, "Route": "ASSESS", "Commissioner": "School", "Registration": "Dual",
        "Start date": start, "End date": end,
    }
    rec.update(extra)
    return rec


def run(rule_id: str, providers: list[dict], placements: list[dict], *, as_of: date = AS_OF, policy=None) -> pd.DataFrame:
    reg = register_from_records(placements=placements, providers=providers)
    return check_register(reg, policy or default_policy(), as_of=as_of, only=[rule_id]).by_rule(rule_id)


# ---- PRV-001 ---------------------------------------------------------------------------------------

def test_prv_001_active_placements_at_unapproved_providers_only():
    provs = [provider("OK"), provider("PEND", **{"QA status": "Pending"}), provider("NO", **{"QA status": "Not approved"}), provider("BLANK", **{"QA status": None})]
    pls = [
        placement("A", "OK"), placement("B", "PEND"), placement("C", "NO"), placement("D", "BLANK"),
        placement("ENDED", "NO", end="31/10/2024"), placement("FUTURE", "NO", start="06/01/2025"), placement("UNKNOWN", "ZZZ"),
    ]
    found = run("PRV-001", provs, pls)
    assert list(found["key"]) == ["C", "B", "D"]  # errors first, then warnings, each in row order
    by_key = found.set_index("key")
    assert by_key.loc["C", "severity"] == "error" and by_key.loc["B", "severity"] == "warning" and by_key.loc["D", "severity"] == "warning"
    assert (by_key.loc["C", "sheet"], by_key.loc["C", "row"], by_key.loc["C", "column"], by_key.loc["C", "value"]) == ("Placements", 4, "Provider ID", "NO")
    assert "'Not approved'" in by_key.loc["C", "message"] and "not recorded" in by_key.loc["D", "message"]
    assert "Hillingdon AP guidance" in by_key.loc["C", "message"]


# ---- PRV-002 ---------------------------------------------------------------------------------------

def test_prv_002_qa_visit_older_than_12_months_or_never():
    provs = [
        provider("RECENT", **{"Last QA visit": "16/11/2023"}),  # exactly within 12 months of 15/11/2024
        provider("STALE", **{"Last QA visit": "14/11/2023"}),
        provider("NEVER", **{"Last QA visit": None}),
    ]
    found = run("PRV-002", provs, [placement("A", "STALE")])
    assert list(found["key"]) == ["STALE", "NEVER"]
    stale = found.iloc[0]
    assert (stale["sheet"], stale["row"], stale["column"], stale["value"]) == ("Providers", 3, "Last QA visit", "14/11/2023")
    assert "due by 14/11/2024" in stale["message"] and "1 active placement (A)" in stale["message"] and "s10.4" in stale["message"]
    assert "No QA visit is recorded" in found.iloc[1]["message"]


def test_prv_002_validity_follows_the_policy_threshold():
    policy = default_policy().with_changes(thresholds={**default_policy().thresholds, "qa_validity_months": 6.0})
    found = run("PRV-002", [provider("P", **{"Last QA visit": "01/04/2024"})], [], policy=policy)
    assert list(found["key"]) == ["P"] and "every 6 months" in found["message"].iloc[0]
    assert run("PRV-002", [provider("P", **{"Last QA visit": "01/04/2024"})], []).empty


# ---- PRV-003 ---------------------------------------------------------------------------------------

def test_prv_003_dbs_and_safeguarding_confirmation_each_reported_on_their_own_cell():
    provs = [
        provider("GOOD"),
        provider("NODBS", **{"DBS confirmed (Y/N)": "N"}),
        provider("BLANKDBS", **{"DBS confirmed (Y/N)": None}),
        provider("NOSG", **{"Safeguarding confirmation date": None}),
    ]
    found = run("PRV-003", provs, [])
    assert sorted(zip(found["key"], found["column"])) == [
        ("BLANKDBS", "DBS confirmed (Y/N)"), ("NODBS", "DBS confirmed (Y/N)"), ("NOSG", "Safeguarding confirmation date"),
    ]
    nodbs = found[found["key"] == "NODBS"].iloc[0]
    assert nodbs["value"] == "N" and "NOT confirmed" in nodbs["message"] and "s8.4" in nodbs["message"]
    assert "written confirmation" in found[found["key"] == "NOSG"].iloc[0]["message"]


# ---- PRV-004 ---------------------------------------------------------------------------------------

def test_prv_004_ri_or_inadequate_registered_provider_with_active_placements():
    provs = [
        provider("RI", **{"Ofsted judgement": "Requires improvement"}),
        provider("INAD", **{"Ofsted judgement": "Inadequate"}),
        provider("INAD-EMPTY", **{"Ofsted judgement": "Inadequate"}),
        provider("GOOD"),
        provider("UNREG", **{"Registered (Y/N)": "N", "Type": "Unregistered", "Ofsted judgement": "Inadequate"}),
    ]
    pls = [placement("A", "RI"), placement("B", "INAD"), placement("C", "INAD"), placement("D", "GOOD"), placement("E", "UNREG"),
           placement("OLD", "INAD-EMPTY", end="01/10/2024")]
    found = run("PRV-004", provs, pls)
    assert list(found["key"]) == ["RI", "INAD"]
    inad = found.iloc[1]
    assert (inad["sheet"], inad["column"], inad["value"]) == ("Providers", "Ofsted judgement", "Inadequate")
    assert "2 active placements (B, C)" in inad["message"] and "s14.15" in inad["message"]


# ---- PRV-005 ---------------------------------------------------------------------------------------

def test_prv_005_pupils_on_roll_on_a_census_day_over_places():
    # First Thursday of October 2024 is 03/10/2024; the January census (16/01/2025) is after as_of.
    provs = [provider("FULL", Places=2), provider("ROOM", Places=3), provider("NOPLACES", Places=None)]
    pls = [
        placement("F1", "FULL"), placement("F2", "FULL"), placement("F3", "FULL", start="01/10/2024"),
        placement("F4", "FULL", start="04/10/2024"),  # after the census day
        placement("F5", "FULL", end="02/10/2024"),  # left before it
        placement("R1", "ROOM"), placement("R2", "ROOM"), placement("R3", "ROOM", upn="U-R2"),  # one pupil twice counts once
        placement("N1", "NOPLACES"), placement("N2", "NOPLACES"),
    ]
    found = run("PRV-005", provs, pls)
    assert list(found["key"]) == ["FULL"]
    hit = found.iloc[0]
    assert (hit["sheet"], hit["row"], hit["column"], hit["value"]) == ("Providers", 2, "Places", "2")
    assert "03/10/2024" in hit["message"] and "3 pupils placed but 2 places" in hit["message"] and "Solihull" in hit["message"]


def test_prv_005_each_census_day_in_range_is_checked_up_to_as_of():
    provs = [provider("P", Places=1)]
    pls = [placement("A", "P"), placement("B", "P", start="06/01/2025")]
    assert run("PRV-005", provs, pls, as_of=date(2025, 1, 15)).empty  # census 16/01/2025 has not happened yet
    found = run("PRV-005", provs, pls, as_of=date(2025, 6, 1))
    # Two pupils on 16/01/2025 and 15/05/2025 (third Thursdays of January and May).
    assert [m.split(" provider")[0] for m in found["message"]] == ["On the census day 16/01/2025", "On the census day 15/05/2025"]


# ---- PRV-006 ---------------------------------------------------------------------------------------

def test_prv_006_key_stage_not_offered():
    provs = [provider("SEC", **{"Key stages (e.g. KS3,KS4)": "KS3,KS4"}), provider("ANY", **{"Key stages (e.g. KS3,KS4)": None})]
    pls = [
        placement("Y8", "SEC"),
        placement("Y5", "SEC", **{"Year group": 5}),
        placement("DOB-KS2", "SEC", **{"Year group": None, "Date of birth": "10/03/2015"}),
        placement("NOTLISTED", "ANY", **{"Year group": 5}),
    ]
    found = run("PRV-006", provs, pls)
    assert list(found["key"]) == ["Y5", "DOB-KS2"]
    y5 = found.iloc[0]
    assert (y5["sheet"], y5["row"], y5["column"], y5["value"]) == ("Placements", 3, "Provider ID", "SEC")
    assert "KS2 (Year 5)" in y5["message"] and "KS3, KS4" in y5["message"]
    assert "year group from date of birth" in found.iloc[1]["message"]


@pytest.mark.parametrize("rule_id", ["PRV-001", "PRV-002", "PRV-003", "PRV-004", "PRV-005", "PRV-006"])
def test_no_providers_sheet_means_no_prv_findings(rule_id):
    reg = register_from_records(placements=[placement("A", "P")])
    assert check_register(reg, default_policy(), as_of=AS_OF, only=[rule_id]).by_rule(rule_id).empty
