"""CON-001/002: SEND officer and virtual school consultation before AP is commissioned (seed 003 s6.2-6.3)."""
from datetime import date

import pandas as pd
import pytest

from apxl.core.check import check_register
from apxl.core.parse import register_from_records
from apxl.core.policy import default_policy

AS_OF = date(2024, 11, 1)


def placement(pid: str, **extra) -> dict:
    rec = {
        "Placement ID": pid, "UPN": "B801200005001", "Surname": "Testpupil", "Forename": "Alex", "Date of birth": "15/05/2011",
        "Year group": 8, "Provider ID": "P1", "Route": "ASSESS", "Commissioner": "School", "Registration": "Dual",
        "Start date": "02/09/2024", "EHCP (Y/N)": "N", "Looked after (Y/N)": "N",
    }
    rec.update(extra)
    return rec


def run(rule_id: str, *placements: dict):
    reg = register_from_records(placements=list(placements))
    return check_register(reg, default_policy(), as_of=AS_OF, only=[rule_id]).by_rule(rule_id)


@pytest.mark.parametrize(
    ("rule_id", "flag_header", "consulted_header"),
    [("CON-001", "EHCP (Y/N)", "SEND officer consulted (Y/N)"), ("CON-002", "Looked after (Y/N)", "Virtual school consulted (Y/N)")],
)
def test_consulted_pupil_passes_and_unconsulted_fail_with_severity_by_what_is_recorded(rule_id, flag_header, consulted_header):
    found = run(
        rule_id,
        placement("OK", **{flag_header: "Y", consulted_header: "Y"}),
        placement("NO", **{flag_header: "Y", consulted_header: "N"}),
        placement("BLANK", **{flag_header: "Yes"}),
        placement("NOTNEEDED", **{flag_header: "N", consulted_header: "N"}),
    )
    assert sorted(found["key"]) == ["BLANK", "NO"]
    no = found[found["key"] == "NO"].iloc[0]
    blank = found[found["key"] == "BLANK"].iloc[0]
    assert (no["severity"], blank["severity"]) == ("error", "warning")
    assert no["sheet"] == "Placements" and no["row"] == 3 and no["column"] == consulted_header and no["value"] == "N"
    assert blank["row"] == 4 and pd.isna(blank["value"])
    assert "recorded as NOT consulted" in no["message"] and "blank" in blank["message"]
    assert "Hillingdon AP guidance" in no["message"]


def test_con_001_message_names_the_send_officer_and_cites_6_2():
    msg = run("CON-001", placement("A", **{"EHCP (Y/N)": "Y"}))["message"].iloc[0]
    assert "SEND officer" in msg and "s6.2" in msg and "EHC plan" in msg


def test_con_002_message_names_the_virtual_school_and_cites_6_3():
    msg = run("CON-002", placement("A", **{"Looked after (Y/N)": "Y", "Virtual school consulted (Y/N)": "no"}))["message"].iloc[0]
    assert "Virtual School" in msg and "s6.3" in msg and "social worker" in msg


def test_unknown_ehcp_or_looked_after_status_is_not_flagged_by_these_rules():
    # A blank EHCP/LAC flag is a data gap, not evidence of a plan; other rules deal with blanks.
    reg = register_from_records(placements=[placement("A", **{"EHCP (Y/N)": None, "Looked after (Y/N)": None})])
    assert len(check_register(reg, default_policy(), as_of=AS_OF, only=["CON-001", "CON-002"])) == 0
