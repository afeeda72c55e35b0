"""The register template: the committed workbook matches the code, every sheet is an Excel table with the
contract's headers, drop-downs and date formats, `apxl new` reads back clean, and it opens in LibreOffice."""
from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from apxl.cli import app
from apxl.core.policy import policy_from_profile
from apxl.core.tables import SHEETS, columns, headers
from apxl.io import guide
from apxl.io.profiles import load_profile_data, policy_for
from apxl.io.reader import read_register
from apxl.io.template import (
    DATE_FORMAT,
    PROVIDER_IDS,
    SLOTS,
    build_register_template,
    column_formats,
    new_register,
    template_path,
)

runner = CliRunner()
COMMITTED = Path(__file__).resolve().parents[2] / "workbooks" / "apxl-register.xlsx"


def _contents(wb) -> dict:
    """What a user sees and Excel keeps: cell values, tables, drop-downs, defined names, frozen panes."""
    out = {"sheets": wb.sheetnames, "names": {n: d.attr_text for n, d in wb.defined_names.items()}}
    for ws in wb.worksheets:
        out[ws.title] = {
            "cells": {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None},
            "tables": {t.displayName: (t.ref, [c.name for c in t.tableColumns]) for t in ws.tables.values()},
            "validations": sorted((str(dv.sqref), dv.formula1, dv.errorStyle) for dv in ws.data_validations.dataValidation),
            "freeze": ws.freeze_panes,
            "formats": {k: d.number_format for k, d in ws.column_dimensions.items() if d.number_format != "General"},
        }
    return out


def test_committed_template_is_what_the_code_builds(tmp_path):
    fresh = tmp_path / "fresh.xlsx"
    build_register_template().save(fresh)
    assert _contents(load_workbook(COMMITTED)) == _contents(load_workbook(fresh)), (
        "workbooks/apxl-register.xlsx is out of date: regenerate it with `uv run python -m apxl.io.template`"
    )


@pytest.fixture(scope="module")
def template():
    return build_register_template()


def test_every_contract_table_is_an_excel_table_with_canonical_headers(template):
    for slot in SLOTS:
        ws = template[slot.sheet]
        table = ws.tables[slot.display_name]
        expected = list(headers(SHEETS[slot.table].model).values()) + list(slot.extras)
        assert [c.name for c in table.tableColumns] == expected
        first = ws.cell(row=1, column=slot.first_col).coordinate
        assert table.ref.startswith(first)
        assert [ws.cell(row=1, column=slot.first_col + j).value for j in range(len(expected))] == expected


def _choices(ws, header: str) -> str | None:
    col = next(c for c in range(1, ws.max_column + 1) if ws.cell(row=1, column=c).value == header)
    letter = ws.cell(row=1, column=col).column_letter
    for dv in ws.data_validations.dataValidation:
        if any(str(r).startswith(f"{letter}2:") for r in dv.sqref.ranges):
            return dv.formula1
    return None


@pytest.mark.parametrize(
    "sheet, header, expected",
    [
        ("Placements", "Route", '"PEX,HEALTH,INTERIM,ASSESS,LONGTERM,SUSPENSION,S19OTHER,VOCATIONAL"'),
        ("Placements", "Commissioner", '"LA,School"'),
        ("Placements", "Place funder", '"LA,School"'),
        ("Placements", "Top-up funder", '"LA,School"'),
        ("Placements", "Registration (Dual/Single/Off-site)", '"Dual,Single,Off-site"'),
        ("Placements", "Cost basis (Place/Week/Day/Hour)", '"Place,Week,Day,Hour"'),
        ("Placements", "EHCP (Y/N)", '"Y,N"'),
        ("Placements", "Virtual school consulted (Y/N)", '"Y,N"'),
        ("Placements", "Provider ID", PROVIDER_IDS),
        ("Providers", "Type", '"PRU,AP academy,AP free school,Independent school,Special school,FE college,Hospital school,Unregistered,Online/tuition"'),
        ("Providers", "Registered (Y/N)", '"Y,N"'),
        ("Providers", "QA status", '"Approved,Pending,Not approved"'),
        ("Providers", "Ofsted judgement", '"Outstanding,Good,Requires improvement,Inadequate,Not yet inspected,Not applicable"'),
        ("Attendance", "Session (AM/PM)", '"AM,PM"'),
        ("Attendance", "Source (School/Provider)", '"School,Provider"'),
        ("Calendar", "Term", '"Autumn,Spring,Summer"'),
        ("Rules", "Route", '"PEX,HEALTH,INTERIM,ASSESS,LONGTERM,SUSPENSION,S19OTHER,VOCATIONAL"'),
    ],
)
def test_drop_down_lists(template, sheet, header, expected):
    assert _choices(template[sheet], header) == expected


def test_every_y_n_column_has_a_drop_down(template):
    for slot in SLOTS:
        for col in columns(SHEETS[slot.table].model):
            if col.kind == "yn":
                assert _choices(template[slot.sheet], col.header) == '"Y,N"', col.header


def test_provider_id_list_points_at_the_providers_id_column(template):
    assert template.defined_names[PROVIDER_IDS].attr_text.startswith("Providers!$A$2:$A$")
    assert template["Providers"].cell(row=1, column=1).value == "Provider ID"
    provider_dv = next(dv for dv in template["Placements"].data_validations.dataValidation if dv.formula1 == PROVIDER_IDS)
    assert provider_dv.errorStyle == "warning"  # a new provider may be typed before the directory has it


def test_attendance_code_drop_down_offers_the_national_codes(template):
    codes = _choices(template["Attendance"], "Code").strip('"').split(",")
    assert {"/", "\\", "B", "D", "K", "E", "C2", "N", "O", "X", "#"} <= set(codes)


def test_dates_are_formatted_and_headers_frozen(template):
    for slot in SLOTS:
        ws = template[slot.sheet]
        for j, cf in enumerate(column_formats(slot.table)):
            if cf.field and next(c for c in columns(SHEETS[slot.table].model) if c.field == cf.field).kind == "date":
                letter = ws.cell(row=1, column=slot.first_col + j).column_letter
                assert ws.column_dimensions[letter].number_format == DATE_FORMAT, (slot.sheet, cf.header)
        if slot.first_col == 1:
            assert ws.freeze_panes in {"A2", "C2"}
    assert template.sheetnames[0] == "Instructions"


def test_instructions_explain_every_contract_column(template):
    for slot in SLOTS:
        fields = {c.field for c in columns(SHEETS[slot.table].model)}
        assert fields == set(guide.COLUMN_NOTES[slot.table]), slot.table
    text = {c.value for row in template["Instructions"].iter_rows() for c in row if c.value}
    assert "Registration (Dual/Single/Off-site)" in text


def test_blank_template_has_settings_rows_and_no_route_matrix(template):
    settings = {template["Settings"].cell(row=r, column=1).value: template["Settings"].cell(row=r, column=2).value
                for r in range(2, template["Settings"].max_row + 1)}
    assert {"LA name", "Profile", "As of date", "Unregistered full-time hours", "AWPU KS4"} <= set(settings)
    assert settings["Profile"] is None and settings["As of date"] is None
    assert template["Rules"].cell(row=2, column=1).value is None


@pytest.mark.parametrize("profile", [None, "herefordshire", "solihull"])
def test_new_register_reads_back_with_no_findings(tmp_path, profile):
    path = new_register(tmp_path / "register.xlsx", profile=profile)
    register = read_register(path)
    assert register.findings.empty
    assert register.placements.empty and register.providers.empty
    policy, problems = policy_for(register)
    assert problems.empty
    if profile:
        assert register.setting("Profile") == profile
        # The Rules sheet holds the profile's matrix in the LA's words; read back, it allows exactly what the profile does.
        expected, _ = policy_from_profile(load_profile_data(profile))
        assert set(policy.routes) == set(expected.routes)
        for route, rule in expected.routes.items():
            got = policy.routes[route]
            assert (got.commissioners, got.place_funders, got.topup_funders, got.registrations) == (
                rule.commissioners, rule.place_funders, rule.topup_funders, rule.registrations), route
        assert len(register.rules) == len(load_profile_data(profile)["routes"])
    else:
        assert register.rules.empty


def test_apxl_new_cli_refuses_to_overwrite_unless_forced(tmp_path):
    target = tmp_path / "register.xlsx"
    first = runner.invoke(app, ["new", str(target), "--profile", "herefordshire"])
    assert first.exit_code == 0, first.output
    assert str(target) in first.stdout
    before = target.read_bytes()
    again = runner.invoke(app, ["new", str(target)])
    assert again.exit_code == 2 and "already exists" in " ".join(again.output.split())
    assert target.read_bytes() == before
    forced = runner.invoke(app, ["new", str(target), "--force"])
    assert forced.exit_code == 0
    assert read_register(target).setting("Profile") is None


@pytest.mark.parametrize("args, message", [(["new", "{d}/r.csv"], ".xlsx"), (["new", "{d}/r.xlsx", "--profile", "atlantis"], "no policy profile"),
                                           (["new", "{d}/missing/r.xlsx"], "does not exist")])
def test_apxl_new_cli_bad_requests_are_one_sentence(tmp_path, args, message):
    result = runner.invoke(app, [a.format(d=tmp_path) for a in args])
    assert result.exit_code == 2
    said = " ".join(result.output.split())  # rich wraps long lines
    assert message in said and "Traceback" not in said
    assert not list(tmp_path.glob("*.xlsx"))


@pytest.mark.parametrize("profile", [None, "solihull"])
def test_apxl_new_xlsm_uses_the_macro_enabled_template(tmp_path, profile):
    shipped = template_path(macro=True)
    target = new_register(tmp_path / "register.xlsm", profile=profile)
    with zipfile.ZipFile(target) as z, zipfile.ZipFile(shipped) as original:
        assert z.read("xl/vbaProject.bin") == original.read("xl/vbaProject.bin")
    register = read_register(target)
    assert register.findings.empty
    assert register.setting("Profile") == profile
    assert len(register.rules) == (len(load_profile_data(profile)["routes"]) if profile else 0)


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def libreoffice_convert(path: Path, outdir: Path, target: str, profile_dir: Path) -> subprocess.CompletedProcess:
    """Run LibreOffice headless on ``path`` with its own user profile (so parallel runs do not collide)."""
    return subprocess.run(
        [soffice(), f"-env:UserInstallation=file://{profile_dir}", "--headless", "--convert-to", target, "--outdir", str(outdir), str(path)],
        capture_output=True, text=True, timeout=300,
    )


@pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed; .ci/run installs it")
def test_new_register_opens_in_libreoffice(tmp_path):
    path = new_register(tmp_path / "register.xlsx", profile="herefordshire")
    result = libreoffice_convert(path, tmp_path / "pdf", "pdf", tmp_path / "lo-profile")
    assert result.returncode == 0, result.stderr
    pdf = tmp_path / "pdf" / "register.pdf"
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF")
