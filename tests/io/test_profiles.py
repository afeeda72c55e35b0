"""policy_for: a profile plus the workbook's Settings and Rules sheets; malformed input gives POL-001, not a crash."""
import json

import pytest
from typer.testing import CliRunner

from apxl.cli import app
from apxl.core.check import check_register
from apxl.core.parse import register_from_records
from apxl.errors import ApxlError
from apxl.io.profiles import available_profiles, policy_for

FINDING_FIELDS = ["rule_id", "sheet", "row", "column", "key", "value", "message"]


def _register(settings=None, rules=None):
    return register_from_records(placements=[], settings=settings, rules=rules)


def test_the_three_profiles_ship():
    assert {"herefordshire", "solihull", "national"} <= set(available_profiles())


@pytest.mark.parametrize("name", ["herefordshire", "solihull", "national"])
def test_each_profile_loads_cleanly(name):
    policy, findings = policy_for(_register(), name)
    assert policy.name == name
    assert findings.empty


def test_no_profile_means_no_matrix():
    policy, findings = policy_for(_register())
    assert policy.name == "default" and findings.empty


def test_profile_named_on_the_settings_sheet():
    policy, findings = policy_for(_register(settings=[{"Name": "Profile", "Value": "Solihull"}]))
    assert policy.name == "solihull" and "LONGTERM" in policy.routes and findings.empty


def test_cli_profile_wins_over_settings():
    policy, _ = policy_for(_register(settings=[{"Name": "Profile", "Value": "solihull"}]), "herefordshire")
    assert policy.name == "herefordshire"


def test_unknown_profile_on_the_settings_sheet_is_a_finding():
    policy, findings = policy_for(_register(settings=[{"Name": "LA name", "Value": "Testshire"}, {"Name": "Profile", "Value": "solihul"}]))
    assert list(findings.columns) == FINDING_FIELDS
    assert findings["rule_id"].tolist() == ["POL-001"]
    row = findings.iloc[0]
    assert (row["sheet"], row["row"], row["key"], row["value"]) == ("Settings", 3, "Profile", "solihul")
    assert "no policy profile called 'solihul'" in row["message"]
    assert policy.name == "default" and policy.la_name == "Testshire"


def test_unknown_profile_argument_cannot_run():
    with pytest.raises(ApxlError, match="no policy profile called"):
        policy_for(_register(), "nowhere")


def test_malformed_toml_file_is_a_finding(tmp_path):
    bad = tmp_path / "mine.toml"
    bad.write_text("name = 'mine'\n[routes.PEX\ncommissioner = ", encoding="utf-8")
    policy, findings = policy_for(_register(settings=[{"Name": "Profile", "Value": str(bad)}]))
    assert findings["rule_id"].tolist() == ["POL-001"] and "cannot be read" in findings.iloc[0]["message"]
    assert findings.iloc[0]["row"] == 2
    assert policy.name == "default"


def test_an_las_own_profile_file_with_problems(tmp_path):
    own = tmp_path / "testshire.toml"
    own.write_text(
        'name = "testshire"\nla_name = "Testshire"\n[thresholds]\nunregistered_max_weeks = "a term"\n'
        '[routes.PEX.wording]\ncommissioner = "LA"\nplace_funder = "LA"\ntopup_funder = "Nobody knows"\nregistration = "Single"\n',
        encoding="utf-8",
    )
    policy, findings = policy_for(_register(), str(own))
    assert policy.title == "Testshire route matrix"
    assert policy.routes["PEX"].registrations == {"Single"}
    assert policy.routes["PEX"].topup_funders == {"LA", "School"}  # unreadable: allows everything, and says so
    assert len(findings) == 2 and set(findings["rule_id"]) == {"POL-001"}


def test_settings_overrides_apply_on_top_of_the_profile():
    reg = _register(settings=[
        {"Name": "Profile", "Value": "herefordshire"}, {"Name": "Unregistered full-time hours", "Value": "15"},
        {"Name": "LAC day 1", "Value": "Y"}, {"Name": "Severity REG-006", "Value": "error"}, {"Name": "QA validity months", "Value": "soon"},
    ])
    policy, findings = policy_for(reg)
    assert policy.threshold("unregistered_fulltime_hours") == 15
    assert policy.lac_day1 is True
    assert policy.severity_overrides["REG-006"] == "error"
    assert findings["row"].tolist() == [6] and findings["column"].tolist() == ["Value"]


def test_rules_sheet_overrides_the_profile_and_bad_cells_are_findings():
    reg = _register(
        settings=[{"Name": "Profile", "Value": "solihull"}],
        rules=[
            {"Route": "ASSESS", "Commissioner": "School", "Place funder": "LA", "Top-up funder": "LA/School", "Registration": "Dual, school main"},
            {"Route": "PEX", "Commissioner": "LA", "Place funder": "LA", "Top-up funder": "Skool", "Registration": "Dual initially then single"},
        ],
    )
    policy, findings = policy_for(reg)
    assert policy.routes["ASSESS"].topup_funders == {"LA", "School"}
    assert policy.routes["ASSESS"].source == "Solihull route matrix (Rules sheet)"
    assert policy.routes["PEX"].topup_funders == {"LA"}  # the unreadable cell keeps Solihull's value
    assert findings[["sheet", "row", "column", "key", "value"]].values.tolist() == [["Rules", 3, "Top-up funder", "PEX", "Skool"]]


def test_policy_findings_reach_the_report():
    reg = _register(settings=[{"Name": "Profile", "Value": "solihul"}, {"Name": "As of date", "Value": "2025-01-31"}])
    policy, findings = policy_for(reg)
    import pandas as pd

    reg.findings = pd.concat([reg.findings, findings], ignore_index=True)
    report = check_register(reg, policy, only=["POL-001"])
    assert report.by_rule("POL-001")["severity"].tolist() == ["error"]


# ---- apxl rules --profile -----------------------------------------------------------------------------
runner = CliRunner()


def test_rules_profile_json_shows_the_effective_matrix():
    result = runner.invoke(app, ["rules", "--profile", "solihull", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    longterm = next(r for r in data["routes"] if r["route"] == "LONGTERM")
    assert longterm["registration"] == "Dual, Single or Off-site"
    assert data["thresholds"]["Unregistered full-time hours"] == 18


def test_rules_profile_table_names_missing_routes():
    result = runner.invoke(app, ["rules", "--profile", "herefordshire"])
    assert result.exit_code == 0
    assert "Recovery" in result.stdout and "LONGTERM" in result.stdout


def test_rules_unknown_profile_exits_2():
    result = runner.invoke(app, ["rules", "--profile", "atlantis"])
    assert result.exit_code == 2


def test_rules_without_profile_still_lists_the_catalogue():
    result = runner.invoke(app, ["rules", "--format", "json"])
    ids = {r["id"] for r in json.loads(result.stdout)}
    assert {"FND-001", "REG-005", "POL-001"} <= ids
