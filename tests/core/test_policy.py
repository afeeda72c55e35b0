"""LA policy as data: the seed route matrices read back exactly, matrix wording, profile/Rules/Settings overrides."""
import re
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apxl.core.matrix import describe, parse_parties, parse_registrations
from apxl.core.policy import DEFAULT_THRESHOLDS, apply_rules_sheet, apply_settings, default_policy, policy_from_profile
from apxl.core.policy_build import matrix_rows

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "schemas" / "profiles"
SEEDS = ROOT.parent / "shared" / "seeds"

# The seed tables as printed: route -> (commissioner, lump sum / place, top-up, registration), cell by cell.
# Herefordshire: seed 000_8ffcbe330cb47928.txt, "Description of routes into Alternative Provision" (no LONGTERM row).
HEREFORDSHIRE = {
    "PEX": ("LA", "School by local agreement", "Recovery of AWPU from school", "Dual initially then single registration alternative provision."),
    "HEALTH": ("LA/School", "School", "School", "Dual, School main"),
    "INTERIM": ("LA", "LA", "LA", "Single registration alternative provision"),
    "ASSESS": ("School", "LA/School", "School", "Dual, School main"),
    "SUSPENSION": ("School", "School", "School", "Dual, School main"),
    "S19OTHER": ("LA", "LA/School", "LA/School", "Dual or single"),
    "VOCATIONAL": ("School", "School", "School", "Dual, school main"),
}
# Solihull: seed 002_f01ccf5f4a336bf1.txt section 7 (a scan; each cell's wrapped lines joined).
SOLIHULL = {
    "PEX": ("LA", "LA", "LA", "Dual initially then single registration alternative provision."),
    "HEALTH": ("LA/School", "LA/School", "School", "Dual, School main"),
    "INTERIM": ("LA", "LA", "LA", "Single reg alternative provision"),
    "ASSESS": ("School", "LA/School", "School", "Dual, School main"),
    "LONGTERM": ("LA/School", "LA", "School", "Dual, School main or single reg with alternative provision"),
    "SUSPENSION": ("School", "School", "School", "Dual, School main"),
    "S19OTHER": ("LA", "LA/School", "LA/School", "Dual or single"),
    "VOCATIONAL": ("School", "School", "School", "Dual, school main"),
}
# What each cell allows (DESIGN.md section 2; Herefordshire's AWPU recovery: the LA pays and recovers from the school).
PARTY = {"LA": {"LA"}, "School": {"School"}, "LA/School": {"LA", "School"}, "School by local agreement": {"School"},
         "Recovery of AWPU from school": {"LA", "School"}}
REGISTRATION = {
    "Dual, School main": {"Dual", "Off-site"}, "Dual, school main": {"Dual", "Off-site"},
    "Dual initially then single registration alternative provision.": {"Dual", "Single"},
    "Single registration alternative provision": {"Single"}, "Single reg alternative provision": {"Single"},
    "Dual or single": {"Dual", "Single", "Off-site"},
    "Dual, School main or single reg with alternative provision": {"Dual", "Single", "Off-site"},
}
COLUMNS = ("commissioner", "place_funder", "topup_funder", "registration")


def _load(name):
    with (PROFILES / f"{name}.toml").open("rb") as fh:
        return tomllib.load(fh)


@pytest.mark.parametrize("name, table", [("herefordshire", HEREFORDSHIRE), ("solihull", SOLIHULL)])
def test_seed_profiles_reproduce_the_seed_tables(name, table):
    policy, problems = policy_from_profile(_load(name))
    assert problems == []
    assert list(policy.routes) == list(table)
    for route, cells in table.items():
        rr = policy.routes[route]
        assert tuple(rr.wording[c] for c in COLUMNS) == cells, route
        assert rr.commissioners == PARTY[cells[0]]
        assert rr.place_funders == PARTY[cells[1]]
        assert rr.topup_funders == PARTY[cells[2]]
        assert rr.registrations == REGISTRATION[cells[3]]


@pytest.mark.parametrize("name", ["herefordshire", "solihull", "national"])
def test_profile_allowed_sets_agree_with_their_own_wording(name):
    data = _load(name)
    for route, entry in data["routes"].items():
        assert frozenset(entry["allowed"]["registration"]) == parse_registrations(entry["wording"]["registration"]), route
        for col in COLUMNS[:3]:
            assert frozenset(entry["allowed"][col]) == parse_parties(entry["wording"][col]), (route, col)


@pytest.mark.skipif(not SEEDS.is_dir(), reason="seed documents are not beside this checkout")
def test_herefordshire_wording_is_verbatim_from_the_seed():
    text = re.sub(r"\s+", " ", (SEEDS / "000_8ffcbe330cb47928.txt").read_text(encoding="utf-8"))
    for route, cells in HEREFORDSHIRE.items():
        for cell in cells:
            assert cell in text, (route, cell)


def test_national_is_the_least_restrictive_reading():
    national, problems = policy_from_profile(_load("national"))
    assert problems == []
    here, _ = policy_from_profile(_load("herefordshire"))
    soli, _ = policy_from_profile(_load("solihull"))
    for route, rr in national.routes.items():
        for attr in ("commissioners", "place_funders", "topup_funders", "registrations"):
            for local in (here, soli):
                if route in local.routes:
                    assert getattr(local.routes[route], attr) <= getattr(rr, attr), (route, attr)


@pytest.mark.parametrize("name", ["herefordshire", "solihull", "national"])
def test_profile_thresholds(name):
    policy, _ = policy_from_profile(_load(name))
    assert policy.threshold("unregistered_fulltime_hours") == 18
    assert policy.threshold("unregistered_max_weeks") == 13
    assert policy.threshold("qa_validity_months") == 12
    assert [policy.threshold(f"fulltime_hours_ks{n}") for n in (1, 2, 3, 4)] == [21, 23.5, 24, 25]
    assert policy.threshold("place_value") == 10000
    assert set(policy.awpu) == {"KS1", "KS2", "KS3", "KS4"}
    assert policy.lac_day1 is False


def test_design_registration_phrases():
    assert parse_registrations("Dual, school main") == {"Dual", "Off-site"}
    assert parse_registrations("Single") == {"Single"}
    assert parse_registrations("Dual initially then single") == {"Dual", "Single"}
    assert parse_registrations("Dual or single") == {"Dual", "Single", "Off-site"}
    assert parse_registrations("Off-site") == {"Off-site"}
    assert parse_registrations("banana split") is None
    assert parse_registrations("") is None


def test_party_phrases():
    assert parse_parties("LA/School") == {"LA", "School"}
    assert parse_parties("Local authority") == {"LA"}
    assert parse_parties("School by local agreement") == {"School"}
    assert parse_parties("Skool") is None
    assert describe({"School", "LA"}) == "LA or School"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_matrix_cells_never_raise(text):
    for parse in (parse_parties, parse_registrations):
        got = parse(text)
        assert got is None or got <= {"LA", "School", "Dual", "Single", "Off-site"}


# ---- malformed profiles are problems, never exceptions ------------------------------------------------
def _messages(problems):
    return " | ".join(p["message"] for p in problems)


def test_not_a_table_falls_back_to_no_matrix():
    policy, problems = policy_from_profile(["not", "a", "table"])
    assert problems and policy.routes == default_policy().routes


def test_malformed_profile_parts_are_reported_and_fall_back():
    data = _load("solihull")
    data["routes"]["ASSESS"]["allowed"]["topup_funder"] = ["Skool"]  # invalid list: the wording is used instead
    data["routes"]["HEALTH"]["allowed"].pop("registration")
    data["routes"]["HEALTH"]["wording"]["registration"] = "???"  # neither: allow everything
    data["routes"]["WIBBLE"] = {}
    data["thresholds"]["unregistered_fulltime_hours"] = "eighteen"
    data["thresholds"]["made_up"] = 3
    data["severity"] = {"FND-004": "catastrophic", "XYZ-999": "info", "REG-006": "info"}
    data["lac_day1"] = "sometimes"
    data["disabled"] = ["NOPE-1"]
    policy, problems = policy_from_profile(data)
    text = _messages(problems)
    assert len(problems) == 9, text
    assert policy.routes["ASSESS"].topup_funders == {"School"}
    assert policy.routes["HEALTH"].registrations == {"Dual", "Single", "Off-site"}
    assert "WIBBLE" not in policy.routes
    assert policy.threshold("unregistered_fulltime_hours") == 18
    assert policy.severity_overrides == {"REG-006": "info"}
    assert policy.lac_day1 is False
    assert all(p["sheet"] == "Settings" and p["key"] == "Profile" for p in problems)


def test_profile_without_routes_is_reported():
    policy, problems = policy_from_profile({"name": "empty"})
    assert len(problems) == 1 and "no [routes]" in problems[0]["message"]
    assert set(policy.routes) == set(default_policy().routes)


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=15,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["name", "title", "routes", "thresholds", "awpu", "severity", "disabled", "lac_day1", "la_name"]), json_like))
def test_any_profile_shape_gives_a_policy(data):
    policy, problems = policy_from_profile(data)
    assert policy.routes
    assert isinstance(problems, list)


# ---- the Rules sheet ---------------------------------------------------------------------------------
def _rules(*rows):
    frame = pd.DataFrame(rows, columns=["route", "commissioner", "place_funder", "topup_funder", "registration"])
    frame.index = range(2, 2 + len(frame))
    return frame


def test_rules_sheet_replaces_listed_routes_only():
    base, _ = policy_from_profile(_load("herefordshire"))
    policy, problems = apply_rules_sheet(base.with_changes(la_name="Herefordshire"), _rules(("LONGTERM", "LA/School", "LA", "School", "Dual or single"), ("PEX", "LA", "LA", "LA", "Single")))
    assert problems == []
    assert policy.routes["LONGTERM"].place_funders == {"LA"}
    assert policy.routes["PEX"].registrations == {"Single"}
    assert policy.routes["PEX"].source == "Herefordshire route matrix (Rules sheet)"
    assert policy.routes["HEALTH"] == base.routes["HEALTH"]


def test_malformed_rules_cell_keeps_the_profile_value_and_is_reported():
    base, _ = policy_from_profile(_load("solihull"))
    policy, problems = apply_rules_sheet(base, _rules(("ASSESS", "School", "LA", "Skool", "Dual, school main")),
                                         headers={"topup_funder": "Top-up funder"})
    assert len(problems) == 1
    p = problems[0]
    assert (p["sheet"], p["row"], p["column"], p["key"], p["value"]) == ("Rules", 2, "Top-up funder", "ASSESS", "Skool")
    assert policy.routes["ASSESS"].topup_funders == base.routes["ASSESS"].topup_funders
    assert policy.routes["ASSESS"].place_funders == {"LA"}


def test_empty_rules_sheet_changes_nothing():
    base, _ = policy_from_profile(_load("solihull"))
    assert apply_rules_sheet(base, None) == (base, [])
    assert apply_rules_sheet(base, _rules()) == (base, [])


# ---- the Settings sheet ---------------------------------------------------------------------------------
def _settings(*pairs):
    frame = pd.DataFrame(pairs, columns=["name", "value"])
    frame.index = range(2, 2 + len(frame))
    return frame


def test_settings_override_thresholds_switches_and_severities():
    base, _ = policy_from_profile(_load("solihull"))
    policy, problems = apply_settings(base, _settings(
        ("Unregistered full-time hours", "16"), ("QA validity months", "6"), ("place_value", "£9,500"),
        ("LAC day 1", "Yes"), ("AWPU KS3", "4800"), ("Severity FND-004", "error"),
        ("Severity overrides", "REG-006=info; REG-007=error"), ("Disabled rules", "FND-006"), ("Something else", "kept for others"),
    ))
    assert problems == []
    assert policy.threshold("unregistered_fulltime_hours") == 16
    assert policy.threshold("qa_validity_months") == 6
    assert policy.threshold("place_value") == 9500
    assert policy.lac_day1 is True
    assert policy.awpu["KS3"] == 4800
    assert policy.severity_overrides == {"FND-004": "error", "REG-006": "info", "REG-007": "error"}
    assert policy.disabled_rules == {"FND-006"}


def test_bad_settings_values_are_reported_with_their_row():
    base, _ = policy_from_profile(_load("solihull"))
    policy, problems = apply_settings(base, _settings(("Unregistered max weeks", "a term"), ("LAC day 1", "perhaps"), ("Severity FND-004", "loud"), ("Disabled rules", "ZZZ-000")))
    assert [p["row"] for p in problems] == [2, 3, 4, 5]
    assert policy.threshold("unregistered_max_weeks") == DEFAULT_THRESHOLDS["unregistered_max_weeks"]
    assert policy.lac_day1 is False and policy.severity_overrides == {} and policy.disabled_rules == frozenset()


def test_settings_as_a_plain_mapping():
    policy, problems = apply_settings(default_policy(), {"Unregistered pupils limit": 4, "LA name": "Testshire"})
    assert problems == [] and policy.threshold("unregistered_pupils_limit") == 4 and policy.la_name == "Testshire"


def test_matrix_rows_show_wording_and_allowed_values():
    policy, _ = policy_from_profile(_load("herefordshire"))
    pex = matrix_rows(policy)[0]
    assert pex["route"] == "PEX" and pex["place_funder"] == "School" and pex["place_funder_wording"] == "School by local agreement"
