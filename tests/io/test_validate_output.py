"""`apxl validate -o OUT` / `--in-place` end to end: the findings workbook, exit codes and one-sentence errors."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook
from typer.testing import CliRunner

from apxl.cli import app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
import rich_workbook  # noqa: E402

runner = CliRunner()


def test_validate_writes_the_findings_workbook(tmp_path):
    source = rich_workbook.build(tmp_path / "register.xlsx")
    before = source.read_bytes()
    out = tmp_path / "checked.xlsx"
    result = runner.invoke(app, ["validate", str(source), "--as-of", "2025-01-31", "--format", "json", "-o", str(out)])
    assert result.exit_code == 1, result.output  # the register has error findings
    findings = json.loads(result.stdout)["findings"]
    ws = load_workbook(out)["Findings"]
    assert [r[0] for r in ws.iter_rows(min_row=6, values_only=True)] == [f["rule_id"] for f in findings]
    assert source.read_bytes() == before
    assert "Findings written to" in result.stderr


def test_validate_in_place_keeps_a_backup(tmp_path):
    source = rich_workbook.build(tmp_path / "register.xlsx")
    before = source.read_bytes()
    result = runner.invoke(app, ["validate", str(source), "--as-of", "2025-01-31", "--in-place"])
    assert result.exit_code == 1
    assert "Findings" in load_workbook(source).sheetnames
    assert [p.read_bytes() for p in tmp_path.glob("register.backup-*.xlsx")] == [before]


def test_validate_refuses_an_output_that_would_lose_the_vba(tmp_path):
    """Run as a real process: one sentence on stderr, exit code 2, no traceback."""
    source = rich_workbook.build(tmp_path / "register.xlsm", xlsm=True)
    done = subprocess.run(
        [sys.executable, "-c", "from apxl.cli import main; main()", "validate", str(source), "--as-of", "2025-01-31", "-o", str(tmp_path / "out.xlsx")],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and ".xlsm file" in done.stderr
    assert not (tmp_path / "out.xlsx").exists()
