"""The demo end to end: the synthetic register is written, read back and checked; every planted problem is
found by its rule, every rule fires, the background is clean, and the files open in LibreOffice."""
from __future__ import annotations

import csv
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from apxl.cli import app
from apxl.core.rules import catalogue
from apxl.demo import build_demo
from apxl.demo.run import run_demo
from apxl.errors import ApxlError
from apxl.io.reader import read_register

DESIGN_AREAS = {"STR", "PUP", "PLC", "FND", "REG", "S19", "PRV", "CON", "ATT"}
# A demo register cannot lack a sheet or a required column and still show everything else.
NOT_PLANTABLE = {"STR-001", "STR-002"}
# Rules that fire on background rows by nature: AWPU recovery is due for every permanent exclusion,
# absence is common in AP, and every pupil at a provider whose QA is not approved is reported.
BACKGROUND_RULES = {"FND-005", "ATT-011", "ATT-012", "PRV-001"}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    return run_demo(tmp_path_factory.mktemp("demo"))


def _found(report: pd.DataFrame, planted) -> pd.DataFrame:
    same_rule = report[report["rule_id"] == planted.rule_id]
    by_key = same_rule["key"].astype(str) == str(planted.key)
    by_cell = (same_rule["sheet"] == planted.sheet) & (same_rule["row"] == planted.row) if pd.notna(planted.row) else False
    return same_rule[by_key | by_cell]


def test_every_planted_problem_is_found_by_its_rule(demo_run):
    report = demo_run.report.frame
    missed = [(p.rule_id, p.key, p.note) for p in demo_run.demo.manifest.itertuples() if _found(report, p).empty]
    assert missed == []


def test_every_rule_with_a_function_fires_on_the_demo(demo_run):
    fired = set(demo_run.report.frame["rule_id"])
    runnable = {r.id for r in catalogue() if r.func is not None}
    assert runnable, "no rules registered"
    assert runnable - fired == set()


def test_something_is_planted_for_every_rule_in_the_design(demo_run):
    design = {r.id for r in catalogue() if r.area in DESIGN_AREAS} - NOT_PLANTABLE
    assert design - set(demo_run.demo.manifest["rule_id"]) == set()


def test_background_placements_break_no_rules(demo_run):
    """Findings other than the background-by-nature rules fall on planted rows, pupils or providers only."""
    report = demo_run.report.frame
    stray = report[~report["rule_id"].isin(BACKGROUND_RULES) & ~report["key"].astype(str).isin(demo_run.demo.planted_keys)]
    assert stray[["rule_id", "sheet", "row", "key"]].to_dict("records") == []


def test_structure_findings_are_only_the_planted_ones(demo_run):
    register = read_register(demo_run.register_path)
    str_found = register.findings[register.findings["rule_id"].str.startswith("STR")]
    planted = demo_run.demo.manifest[demo_run.demo.manifest["rule_id"].str.startswith("STR")]
    assert set(str_found["key"].astype(str)) == set(planted["key"].astype(str))
    assert set(str_found["rule_id"]) == set(planted["rule_id"])


def test_demo_register_has_every_sheet_and_realistic_volume(demo_run):
    register = read_register(demo_run.register_path)
    demo = demo_run.demo
    assert len(register.placements) == len(demo.placements) >= 300
    assert len(register.providers) == len(demo.providers) >= 27
    assert register.providers["type"].value_counts().min() >= 3  # several providers of every type
    assert set(register.providers["registered"]) == {True, False}
    assert len(register.attendance) == len(demo.attendance) > 20_000
    assert set(register.attendance["source"]) == {"School", "Provider"}
    assert {"/", "\\", "D", "B", "K", "E", "I", "N", "O"} <= set(register.attendance["code"])
    assert list(register.terms["term"]) == ["Autumn", "Spring", "Summer"] and len(register.closures) == 5
    assert register.setting("Profile") == "herefordshire" and register.as_of == date(2025, 7, 11)
    assert set(register.placements["route"].dropna()) >= {"PEX", "HEALTH", "INTERIM", "ASSESS", "SUSPENSION", "S19OTHER", "VOCATIONAL"}


def test_findings_workbook_lists_every_finding(demo_run):
    book = CalamineWorkbook.from_path(str(demo_run.findings_path), load_tables=True)
    assert "Findings" in book.sheet_names
    table = next(book.get_table_by_name(n) for n in book.table_names if book.get_table_by_name(n).sheet == "Findings")
    rows = table.to_python()
    assert len(rows) == len(demo_run.report)
    assert {r[0] for r in rows} == set(demo_run.report.frame["rule_id"])
    # The register itself is untouched by writing findings.
    assert "Findings" not in CalamineWorkbook.from_path(str(demo_run.register_path)).sheet_names


def test_demo_writes_both_summaries_for_every_term_and_they_reconcile(demo_run):
    book = CalamineWorkbook.from_path(str(demo_run.findings_path), load_tables=True)
    terms = ("autumn", "spring", "summer")
    expected = [f"Provider summary 2024-25 {t}" for t in terms] + [f"Funding summary 2024-25 {t}" for t in terms]
    assert set(expected) <= set(book.sheet_names) and demo_run.summary_sheets[: len(expected)] == expected
    assert any(name.startswith("Funding summary FY") for name in book.sheet_names)

    def total(sheet: str, table_prefix: str, column: str) -> float:
        name = next(n for n in book.table_names if n.startswith(table_prefix) and book.get_table_by_name(n).sheet == sheet)
        table = book.get_table_by_name(name)
        j = list(table.columns).index(column)
        return round(sum(float(r[j] or 0) for r in table.to_python()), 2)

    for t in terms:
        by_provider = total(f"Provider summary 2024-25 {t}", "apxlProviders_", "Cost (£)")
        by_payer = total(f"Funding summary 2024-25 {t}", "apxlCostByPayer_", "Amount (£)")
        assert by_provider == by_payer and by_provider > 0


def test_manifest_file_matches_the_manifest(demo_run):
    written = pd.read_csv(demo_run.manifest_path, dtype={"key": str})
    assert list(written["rule_id"]) == list(demo_run.demo.manifest["rule_id"])
    assert list(written["key"]) == list(demo_run.demo.manifest["key"].astype(str))


def test_same_seed_same_register_other_seed_other_register():
    a, b = build_demo(placements=30, seed=7), build_demo(placements=30, seed=7)
    for name, frame in a.tables().items():
        pd.testing.assert_frame_equal(frame, b.tables()[name], obj=name)
    pd.testing.assert_frame_equal(a.manifest, b.manifest)
    c = build_demo(placements=30, seed=8)
    assert not a.placements["upn"].equals(c.placements["upn"])


def test_background_pupils_have_valid_upns_and_matching_year_groups():
    from apxl.core.pupils import check_upns, year_groups

    demo = build_demo(placements=200, seed=3)
    p = demo.placements[~demo.placements["placement_id"].isin(demo.planted_keys)]
    assert (check_upns(p["upn"])["status"] == "valid").all()
    born = pd.to_datetime(p["date_of_birth"])
    assert (year_groups(born, pd.Series(pd.Timestamp("2024-09-01"), index=p.index)).astype(int) == p["year_group"].astype(int)).all()


def test_as_of_outside_the_demo_year_is_refused(tmp_path):
    with pytest.raises(ApxlError, match="2024-25 school year"):
        build_demo(as_of=date(2023, 5, 1))
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--as-of", "2026-01-01"])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_apxl_demo_command_exits_0_prints_paths_and_no_pupil_data(tmp_path):
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "d"), "--placements", "20", "--seed", "11"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    for name in ("apxl-demo-register.xlsx", "apxl-demo-findings.xlsx", "apxl-demo-planted.csv"):
        assert (tmp_path / "d" / name).is_file()
        assert name in said
    assert "errors" in said and "Most frequent rules" in said
    register = read_register(tmp_path / "d" / "apxl-demo-register.xlsx")
    people = set(register.placements["upn"].dropna()) | set(register.placements["surname"].dropna())
    assert not any(p in result.output for p in people if len(p) > 3)


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _csv_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        return list(csv.reader(fh))


@pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed; .ci/run installs it")
@pytest.mark.parametrize("which", ["register_path", "findings_path"])
def test_libreoffice_opens_the_demo_workbooks(demo_run, tmp_path, which):
    """LibreOffice headless loads the workbook and exports every sheet (CSV, all sheets: a PDF of a year of
    attendance runs to thousands of pages and minutes; the blank template's PDF is tested in tests/io)."""
    path = getattr(demo_run, which)
    outdir = tmp_path / "out"
    result = subprocess.run(
        [soffice(), f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}", "--headless", "--convert-to",
         "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1", "--outdir", str(outdir), str(path)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    sheets = {p.stem.split("-")[-1]: p for p in outdir.glob("*.csv")}
    assert {"Instructions", "Placements", "Providers", "Attendance", "Calendar", "Rules", "Settings"} <= set(sheets)
    attendance = _csv_rows(sheets["Attendance"])
    assert len(attendance) == len(demo_run.demo.attendance) + 1
    assert attendance[0][:2] == ["UPN", "Date"] and attendance[1][1].count("/") == 2  # dates shown as dd/mm/yyyy
    assert len(_csv_rows(sheets["Placements"])) == len(demo_run.demo.placements) + 1
    if which == "findings_path":
        findings = _csv_rows(sheets["Findings"])
        header = next(i for i, r in enumerate(findings) if r[:2] == ["Rule", "Severity"])
        assert len([r for r in findings[header + 1:] if r and r[0]]) == len(demo_run.report)


def test_no_rule_fails_on_the_demo(demo_run):
    assert demo_run.report.by_rule("SYS-001").empty, demo_run.report.by_rule("SYS-001")["message"].tolist()
