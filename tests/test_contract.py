"""The checked-in catalogue, schema and README rule table match the code (regenerate: uv run python -m apxl.contract)."""
from pathlib import Path

from apxl.contract import expected_files, rule_catalogue

ROOT = Path(__file__).resolve().parents[1]


def test_generated_contract_files_are_in_sync():
    stale = [str(p.relative_to(ROOT)) for p, text in expected_files(ROOT).items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    assert stale == [], f"run `uv run python -m apxl.contract` to refresh {stale}"


def test_every_rule_has_a_title_severity_and_source():
    for r in rule_catalogue():
        assert r["title"] and r["source"], r["id"]
        assert r["severity"] in {"error", "warning", "info"}


def test_rule_ids_follow_the_public_pattern():
    import re

    assert all(re.fullmatch(r"[A-Z0-9]{3}-\d{3}", r["id"]) for r in rule_catalogue())
