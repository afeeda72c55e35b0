"""The apxl command: exit codes, output formats and one-sentence errors (DESIGN.md section 4)."""
import csv
import io
import json

import openpyxl
import pytest
from typer.testing import CliRunner

from apxl.cli import app

runner = CliRunner()
HEAD = ["Placement ID", "UPN", "Surname", "Forename", "Date of birth", "Provider ID", "Route", "Commissioner", "Registration", "Start date"]


def _register(tmp_path, rows, settings=None):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Placements"
    ws.append(HEAD)
    for r in rows:
        ws.append(r)
    if settings:
        s = wb.create_sheet("Settings")
        s.append(["Name", "Value"])
        for kv in settings:
            s.append(list(kv))
    path = tmp_path / "register.xlsx"
    wb.save(path)
    return path


GOOD = ["P1", "B801200005001", "Test", "Pupil", "01/09/2011", "PRV1", "PEX", "LA", "Dual", "02/09/2024"]


def test_json_output_has_the_documented_fields(tmp_path):
    path = _register(tmp_path, [GOOD, [*GOOD[:9], "not a date"]])
    result = runner.invoke(app, ["validate", str(path), "--as-of", "2025-01-31", "--format", "json"])
    data = json.loads(result.stdout)
    assert set(data) == {"findings", "counts"}
    assert all(set(f) == {"rule_id", "severity", "sheet", "row", "column", "key", "value", "message"} for f in data["findings"])
    bad = [f for f in data["findings"] if f["rule_id"] == "STR-003"]
    assert bad and bad[0]["row"] == 3 and bad[0]["column"] == "Start date"
    assert result.exit_code == 1


def test_csv_output_parses(tmp_path):
    path = _register(tmp_path, [GOOD, ["P1", *GOOD[1:]]])
    result = runner.invoke(app, ["validate", str(path), "--as-of", "2025-01-31", "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {r["rule_id"] for r in rows} >= {"STR-005"}
    assert result.exit_code == 1


def test_as_of_option_overrides_the_settings_sheet(tmp_path):
    path = _register(tmp_path, [GOOD], settings=[("As of date", "not a date at all")])
    result = runner.invoke(app, ["validate", str(path), "--as-of", "31/01/2025", "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output


def test_unreadable_as_of_setting_without_option_still_runs(tmp_path):
    path = _register(tmp_path, [GOOD], settings=[("As of date", "not a date at all")])
    result = runner.invoke(app, ["validate", str(path), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    json.loads(result.stdout)


@pytest.mark.parametrize("content,name", [(b"not a workbook", "x.xlsx"), (b"", "empty.xlsx"), (b"hello", "notes.txt")])
def test_files_that_cannot_be_read_exit_2_with_one_sentence(tmp_path, content, name):
    path = tmp_path / name
    path.write_bytes(content)
    result = runner.invoke(app, ["validate", str(path), "--as-of", "2025-01-31"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "apxl:" in result.output


def test_missing_file_exit_2(tmp_path):
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.xlsx")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_bad_as_of_date_is_a_usage_error(tmp_path):
    path = _register(tmp_path, [GOOD])
    result = runner.invoke(app, ["validate", str(path), "--as-of", "someday"])
    assert result.exit_code == 2


def test_rules_lists_every_catalogue_entry_as_json():
    from apxl.core.rules import catalogue

    result = runner.invoke(app, ["rules", "--format", "json"])
    ids = [r["id"] for r in json.loads(result.stdout)]
    assert ids == [r.id for r in catalogue()]
    assert "STR-001" in ids


def test_help_lists_commands_with_examples():
    result = runner.invoke(app, ["validate", "--help"])
    assert result.exit_code == 0 and "Example" in result.output
