"""REG-001..007: registration per route, registered schools, and the limits on unregistered providers."""
from datetime import date

import pytest

from apxl.core.check import check_register
from apxl.core.parse import register_from_records
from apxl.io.profiles import policy_for

AS_OF = date(2025, 1, 10)
PROVIDERS = [
    {"Provider ID": "P1", "Name": "County PRU", "Type": "PRU", "Registered (Y/N)": "Y"},
    {"Provider ID": "P2", "Name": "Tutor Co", "Type": "Unregistered", "Registered (Y/N)": "N"},
    {"Provider ID": "P3", "Name": "Screen Learning", "Type": "Online/tuition", "Registered (Y/N)": None},
    {"Provider ID": "P4", "Name": "Farm Project", "Type": "Unregistered", "Registered (Y/N)": "N"},
]
REG = [f"REG-00{n}" for n in range(1, 8)]
UPNS = ["B801200005001", "A801200005002", "C801200005003", "D801200005004", "E801200005005", "F801200005006"]


def policy(name, settings=None):
    return policy_for(register_from_records(placements=[], settings=settings), name)[0]


SOLIHULL = policy("solihull")


def placement(pid: str, **extra) -> dict:
    """A registered-provider ASSESS placement every REG rule accepts (synthetic pupil, Year 8)."""
    rec = {
        "Placement ID": pid, "UPN": UPNS[0], "Surname": "Testpupil", "Forename": "Sam", "Date of birth": "15/05/2012", "Year group": 8,
        "Home school URN": "100001", "Provider ID": "P1", "Route": "ASSESS", "Commissioner": "School", "Place funder": "LA",
        "Top-up funder": "School", "Registration": "Dual", "Start date": "02/09/2024", "Planned end date": "29/11/2024",
        "Hours per week": 10, "Days": "Mon,Tue",
    }
    rec.update(extra)
    return rec


def tutor(pid: str, hours: float, upn: str = UPNS[0], **extra) -> dict:
    """An Off-site placement at the unregistered tutor P2, 12 weeks and a bit."""
    return placement(pid, **{"Provider ID": "P2", "Registration": "Off-site", "Hours per week": hours, "UPN": upn, **extra})


def run(rule_ids, *placements, pol=SOLIHULL, as_of=AS_OF):
    ids = [rule_ids] if isinstance(rule_ids, str) else rule_ids
    reg = register_from_records(placements=list(placements), providers=PROVIDERS)
    return check_register(reg, pol, as_of=as_of, only=ids).frame


def keys(frame):
    return sorted(frame["key"])


def test_the_base_placements_pass_every_registration_rule():
    assert run(REG, placement("OK"), tutor("TUT", 8, upn=UPNS[1])).empty


# ---- REG-001 ------------------------------------------------------------------------------------
def test_reg_001_registration_not_allowed_for_the_route():
    found = run("REG-001",
                placement("HEALTH-OFFSITE", Route="HEALTH", Registration="Off-site"),  # 'Dual, School main' allows Off-site
                placement("INTERIM-DUAL", Route="INTERIM", Commissioner="LA", **{"Top-up funder": "LA"}),
                placement("PEX-OFFSITE", Route="PEX", Commissioner="LA", Registration="Off-site"),
                placement("LONGTERM-SINGLE", Route="LONGTERM", Registration="Single"))  # Solihull: 'or single reg'
    assert keys(found) == ["INTERIM-DUAL", "PEX-OFFSITE"]
    msg = found.set_index("key").loc["INTERIM-DUAL", "message"]
    assert msg.startswith("Solihull route matrix: INTERIM placements are registered Single ('Single reg alternative provision'), not Dual.")


def test_reg_001_longterm_single_differs_between_profiles():
    longterm = placement("LT", Route="LONGTERM", Registration="Single")
    assert run("REG-001", longterm).empty
    assert run("REG-001", longterm, pol=policy("herefordshire")).empty  # no LONGTERM row there: FND-001 reports it


# ---- REG-002 / REG-003 --------------------------------------------------------------------------
def test_reg_002_single_registration_needs_a_registered_school():
    found = run("REG-002", placement("PRU", Registration="Single"), placement("TUT", **{"Provider ID": "P2", "Registration": "Single"}),
                placement("ONLINE", **{"Provider ID": "P3", "Registration": "Single"}), placement("UNKNOWN", **{"Provider ID": "NOPE", "Registration": "Single"}))
    assert keys(found) == ["ONLINE", "TUT"]
    assert "provider P2 (Tutor Co, Registered: N) is not a registered school" in found.set_index("key").loc["TUT", "message"]
    assert "(Screen Learning, Online/tuition)" in found.set_index("key").loc["ONLINE", "message"]


def test_reg_003_dual_registration_needs_a_registered_school():
    found = run("REG-003", placement("PRU"), placement("TUT", **{"Provider ID": "P2"}), tutor("OFFSITE", 5))
    assert keys(found) == ["TUT"]
    assert found.iloc[0]["column"] == "Registration (Dual/Single/Off-site)" and "Off-site" in found.iloc[0]["message"]


# ---- REG-004 ------------------------------------------------------------------------------------
def test_reg_004_more_than_18_hours_at_unregistered_providers():
    found = run("REG-004", tutor("A", 10), tutor("B", 10, **{"Provider ID": "P4", "Start date": "07/10/2024"}), placement("PRU", **{"Hours per week": 15}))
    assert keys(found) == ["A", "B"]
    msg = found.set_index("key").loc["A", "message"]
    assert msg.startswith("From 07/10/2024 this pupil has 20 hours a week at unregistered providers (A, B)")
    assert "Education Act 1996 s.463" in msg


@pytest.mark.parametrize("second", [
    {"Start date": "02/12/2024", "Planned end date": "20/12/2024"},  # one after the other, never together
    {"Hours per week": 8},  # together exactly 18: not more than 18
    {"Provider ID": "P1"},  # a registered provider's hours do not count
    {"UPN": UPNS[2]},  # another pupil
])
def test_reg_004_passes(second):
    assert run("REG-004", tutor("A", 10), tutor("B", 10, **second)).empty


def test_reg_004_threshold_from_settings():
    pol = policy("solihull", settings=[{"Name": "Unregistered full-time hours", "Value": "12"}])
    assert keys(run("REG-004", tutor("A", 15), pol=pol)) == ["A"]
    assert run("REG-004", tutor("A", 15)).empty


# ---- REG-005 ------------------------------------------------------------------------------------
def _five_full_time(n=5, **extra):
    # Commissioned by schools and the LA alike: the count is across all commissioners.
    return [tutor(f"FT{i}", 20, upn=UPNS[i], Commissioner="LA" if i % 2 else "School", **extra) for i in range(n)]


def test_reg_005_five_pupils_full_time_on_one_day():
    found = run("REG-005", *_five_full_time())
    assert len(found) == 1
    row = found.iloc[0]
    assert (row["sheet"], row["row"], row["key"], row["column"]) == ("Providers", 3, "P2", "Registered (Y/N)")
    assert "to 5 pupils from 02/09/2024" in row["message"] and "placements FT0, FT1, FT2, FT3, FT4" in row["message"]
    assert "Education Act 1996 s.463" in row["message"] and "every commissioner" in row["message"]


def test_reg_005_four_pupils_or_different_days_pass():
    assert run("REG-005", *_five_full_time(4)).empty
    staggered = _five_full_time(4) + [tutor("LATE", 20, upn=UPNS[5], **{"Start date": "02/12/2024", "Planned end date": "20/12/2024"})]
    assert run("REG-005", *staggered).empty
    part_time = _five_full_time(4) + [tutor("PT", 18, upn=UPNS[5])]
    assert run("REG-005", *part_time).empty


def test_reg_005_one_ehcp_or_looked_after_pupil_full_time():
    found = run("REG-005", tutor("EHCP", 12, **{"EHCP (Y/N)": "Y"}), tutor("EHCP2", 8, **{"EHCP (Y/N)": "Y"}),
                tutor("LAC", 20, upn=UPNS[1], **{"Provider ID": "P4", "Looked after (Y/N)": "Y"}))
    assert keys(found) == ["P2", "P4"]
    by_key = found.set_index("key")
    assert "an EHCP pupil" in by_key.loc["P2", "message"] and "placements EHCP, EHCP2" in by_key.loc["P2", "message"]
    assert "a looked-after pupil" in by_key.loc["P4", "message"]
    assert run("REG-005", tutor("EHCP", 12, **{"EHCP (Y/N)": "Y"})).empty  # part-time is allowed


# ---- REG-006 ------------------------------------------------------------------------------------
def test_reg_006_unregistered_placement_planned_too_long():
    found = run("REG-006", tutor("LONG", 5, **{"Planned end date": "20/12/2024"}), tutor("SHORT", 5, upn=UPNS[1]),
                placement("PRU", **{"Planned end date": "31/07/2025"}))
    assert keys(found) == ["LONG"]
    row = found.iloc[0]
    assert row["column"] == "Planned end date" and row["value"] == "20/12/2024"
    assert "planned for 16 weeks (02/09/2024 to 20/12/2024), longer than the Solihull policy maximum of 13 weeks" in row["message"]


def test_reg_006_open_ended_judged_by_time_run():
    open_since_sept = tutor("OPEN", 5, **{"Planned end date": None})
    found = run("REG-006", open_since_sept, tutor("RECENT", 5, upn=UPNS[1], **{"Start date": "02/12/2024", "Planned end date": None}))
    assert keys(found) == ["OPEN"]
    assert found.iloc[0]["column"] == "Start date" and "with no planned end date" in found.iloc[0]["message"]


def test_reg_006_maximum_from_settings():
    pol = policy("solihull", settings=[{"Name": "Unregistered max weeks", "Value": "20"}])
    assert run("REG-006", tutor("LONG", 5, **{"Planned end date": "20/12/2024"}), pol=pol).empty


# ---- REG-007 ------------------------------------------------------------------------------------
def test_reg_007_half_or_more_of_a_full_time_week():
    found = run("REG-007", tutor("KS3-HALF", 12), tutor("KS3-LESS", 11.5, upn=UPNS[1]),
                tutor("KS1-HALF", 10.5, upn=UPNS[2], **{"Year group": 2, "Date of birth": "15/05/2017"}))
    assert keys(found) == ["KS1-HALF", "KS3-HALF"]
    by_key = found.set_index("key")
    assert "half or more of a full-time week for KS3 (24 hours" in by_key.loc["KS3-HALF", "message"]
    assert "KS1 (21 hours" in by_key.loc["KS1-HALF", "message"]


def test_reg_007_counts_concurrent_unregistered_placements():
    found = run("REG-007", tutor("A", 6), tutor("B", 6, **{"Provider ID": "P4", "Start date": "04/11/2024"}))
    assert keys(found) == ["A", "B"]
    assert run("REG-007", tutor("A", 6), tutor("B", 6, **{"Provider ID": "P4", "Start date": "02/12/2024", "Planned end date": "20/12/2024"})).empty


def test_registration_rules_survive_blanks_and_missing_providers():
    blank = {"Placement ID": "X", "UPN": None, "Surname": None, "Forename": None, "Date of birth": None, "Provider ID": "P2",
             "Route": None, "Commissioner": None, "Registration": None, "Start date": "garbage", "Hours per week": "lots"}
    assert run(REG, blank).empty
    reg = register_from_records(placements=[tutor("A", 25)])  # no Providers sheet at all: nothing is known unregistered
    assert check_register(reg, SOLIHULL, as_of=AS_OF, only=REG).frame.empty
