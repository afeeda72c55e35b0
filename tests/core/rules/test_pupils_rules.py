"""PUP-001..005: UPN, compulsory school age, year group and one-pupil-one-UPN checks on the Placements sheet."""
from datetime import date

import pytest

from apxl.core.check import check_register
from apxl.core.parse import register_from_records
from apxl.core.policy import default_policy

AS_OF = date(2024, 11, 1)
PROVIDERS = [{"Provider ID": "P1", "Name": "Test AP", "Type": "PRU", "Registered (Y/N)": "Y"}]


def placement(pid: str, **extra) -> dict:
    """A placement that passes every PUP and PLC rule at AS_OF (synthetic pupil)."""
    rec = {
        # B801200005001: 8x2+1x4+2x5+5x10+1x13 = 93 = 4x23+1 -> B (DOMAIN.md section 6).
        "Placement ID": pid, "UPN": "B801200005001", "Surname": "Testpupil", "Forename": "Alex",
        # Born 15/05/2011: 13 on 31/08/2024, so Year 9 in 2024-25.
        "Date of birth": "15/05/2011", "Year group": 9, "Provider ID": "P1", "Route": "ASSESS", "Commissioner": "School",
        "Registration": "Dual", "Start date": "02/09/2024", "Planned end date": "20/12/2024", "Hours per week": 25,
        "Objectives": "Re-engage with maths and English", "Review date": "29/11/2024", "Reintegration plan (Y/N)": "Y",
    }
    rec.update(extra)
    return rec


def run(rule_id: str, *placements: dict, as_of: date = AS_OF):
    reg = register_from_records(placements=list(placements), providers=PROVIDERS)
    return check_register(reg, default_policy(), as_of=as_of, only=[rule_id]).by_rule(rule_id)


def test_the_base_placement_passes_every_pupil_rule():
    reg = register_from_records(placements=[placement("OK")], providers=PROVIDERS)
    report = check_register(reg, default_policy(), as_of=AS_OF, only=["PUP-001", "PUP-002", "PUP-003", "PUP-004", "PUP-005"])
    assert len(report) == 0


# --- PUP-001 --------------------------------------------------------------------------------------

def test_pup_001_wrong_check_letter_says_the_right_letter():
    found = run("PUP-001", placement("OK"), placement("BAD", UPN="A801200005001"))
    assert list(found["key"]) == ["BAD"]
    f = found.iloc[0]
    assert (f["severity"], f["sheet"], f["row"], f["column"], f["value"]) == ("error", "Placements", 3, "UPN", "A801200005001")
    assert "check letter is A" in f["message"] and "call for B" in f["message"] and "DfE" in f["message"]


def test_pup_001_malformed_upn_says_what_a_upn_looks_like():
    found = run("PUP-001", placement("SHORT", UPN="B80120000500"), placement("LETTERS", UPN="B80120000A001"))
    assert list(found["key"]) == ["SHORT", "LETTERS"]
    assert "12 characters" in found.iloc[0]["message"] and "LA number (3 digits)" in found.iloc[0]["message"]


def test_pup_001_passes_valid_and_temporary_upns_and_leaves_blanks_to_str_006():
    # M80120000500A: 16+4+10+50 + A(0)x13 = 80 = 3x23+11 -> M.
    assert run("PUP-001", placement("A"), placement("T", UPN="M80120000500A"), placement("LOWER", UPN="b801 2000 05001"),
               placement("BLANK", UPN=None)).empty


# --- PUP-002 --------------------------------------------------------------------------------------

def test_pup_002_flags_temporary_upns_only():
    found = run("PUP-002", placement("PERM"), placement("TEMP", UPN="M80120000500A"))
    assert list(found["key"]) == ["TEMP"]
    f = found.iloc[0]
    assert (f["severity"], f["column"], f["row"]) == ("warning", "UPN", 3)
    assert "temporary UPN" in f["message"] and "permanent UPN" in f["message"]


# --- PUP-003 --------------------------------------------------------------------------------------

def test_pup_003_too_young_and_too_old_at_placement_start():
    found = run(
        "PUP-003",
        placement("OK"),
        # Born 01/09/2020: 5 on 01/09/2025 -> compulsory school age from 31/12/2025.
        placement("YOUNG", **{"Date of birth": "01/09/2020", "Year group": -1}),
        # Born 15/05/2008: 16 on 15/05/2024 (2023-24) -> ended on the last Friday of June 2024, 28/06/2024.
        placement("OLD", **{"Date of birth": "15/05/2008", "Year group": 12}),
    )
    assert list(found["key"]) == ["YOUNG", "OLD"]
    young, old = found.iloc[0], found.iloc[1]
    assert (young["severity"], young["column"], young["value"]) == ("warning", "Date of birth", "01/09/2020")
    assert "before compulsory school age starts" in young["message"] and "31/12/2025" in young["message"]
    assert "after compulsory school age ended" in old["message"] and "28/06/2024" in old["message"]
    assert "Education Act 1996 s.8" in old["message"]


def test_pup_003_starts_on_the_prescribed_day_inclusive():
    # Born 15/05/2019: 5 on 15/05/2024 -> compulsory school age from 31/08/2024.
    found = run("PUP-003",
                placement("ON", **{"Date of birth": "15/05/2019", "Year group": 0, "Start date": "31/08/2024"}),
                placement("BEFORE", **{"Date of birth": "15/05/2019", "Year group": 0, "Start date": "30/08/2024"}))
    assert list(found["key"]) == ["BEFORE"]


# --- PUP-004 --------------------------------------------------------------------------------------

def test_pup_004_year_group_not_matching_date_of_birth_is_a_warning_that_allows_out_of_year():
    found = run("PUP-004", placement("OK"), placement("Y8", **{"Year group": 8}), placement("REC", **{"Year group": "R"}))
    assert list(found["key"]) == ["Y8", "REC"]
    f = found.iloc[0]
    assert (f["severity"], f["column"], f["value"], f["row"]) == ("warning", "Year group", "8", 3)
    assert "Year 9 in 2024-25" in f["message"] and "taught out of their year group" in f["message"]
    assert "Year group Reception" in found.iloc[1]["message"]


def test_pup_004_accepts_either_year_a_placement_spans():
    # Started 03/06/2024 (Year 8 in 2023-24), still open on 01/11/2024 (Year 9 in 2024-25).
    spans = {"Start date": "03/06/2024", "Planned end date": "20/12/2024"}
    found = run("PUP-004", *(placement(f"Y{y}", **spans, **{"Year group": y}) for y in (7, 8, 9, 10)))
    assert list(found["key"]) == ["Y7", "Y10"]
    assert "Year 8 to Year 9 over the placement" in found.iloc[0]["message"]
    # An ended placement is judged on the years it ran: 01/02/2024 to 01/06/2024 is Year 8 only.
    ended = {"Start date": "01/02/2024", "End date": "01/06/2024", "Planned end date": "01/06/2024"}
    assert list(run("PUP-004", placement("E8", **ended, **{"Year group": 8}), placement("E9", **ended))["key"]) == ["E9"]


# --- PUP-005 --------------------------------------------------------------------------------------

def test_pup_005_same_upn_different_date_of_birth_flags_every_row():
    found = run("PUP-005", placement("A"), placement("B", **{"Date of birth": "16/05/2011"}), placement("C"))
    assert sorted(found["key"]) == ["A", "B", "C"]
    assert set(found["column"]) == {"Date of birth"} and set(found["severity"]) == {"error"}
    assert "rows 2, 3, 4" in found.iloc[0]["message"] and "2 different dates of birth" in found.iloc[0]["message"]
    assert "Testpupil" not in " ".join(found["message"]) and "B801200005001" not in " ".join(found["message"])


def test_pup_005_name_spelling_differences_that_are_only_case_or_punctuation_pass():
    same = run("PUP-005", placement("A", Surname="O'Brien"), placement("B", Surname="o brien "), placement("C", Surname="OBRIEN"))
    assert same.empty


def test_pup_005_different_forename_is_flagged_on_the_forename_column():
    found = run("PUP-005", placement("A"), placement("B", Forename="Sam"))
    assert sorted(found["key"]) == ["A", "B"] and set(found["column"]) == {"Forename"}
    assert dict(zip(found["key"], found["value"])) == {"A": "Alex", "B": "Sam"}


def test_pup_005_different_pupils_with_different_upns_pass():
    # X935201624017: 18+9+20+10+0+7+48+18+40+0+12+91 = 273 = 11x23+20 -> X.
    other = placement("B", UPN="X935201624017", Forename="Sam", **{"Date of birth": "01/01/2012", "Year group": 7})
    assert run("PUP-005", placement("A"), other).empty


@pytest.mark.parametrize("rule_id", ["PUP-001", "PUP-002", "PUP-003", "PUP-004", "PUP-005"])
def test_pupil_rules_never_raise_on_an_empty_or_blank_register(rule_id):
    assert run(rule_id).empty
    blank = {"Placement ID": "X", "UPN": None, "Surname": None, "Forename": None, "Date of birth": None, "Start date": "not a date"}
    assert run(rule_id, blank).empty


def test_pup_005_lists_a_few_rows_then_counts_the_rest():
    rows = [placement(f"P{i}") for i in range(8)] + [placement("ODD", **{"Date of birth": "16/05/2011"})]
    found = run("PUP-005", *rows)
    assert len(found) == 9
    assert "rows 2, 3, 4, 5, 6, 7 and 3 more with 2 different dates of birth" in found.iloc[0]["message"]
