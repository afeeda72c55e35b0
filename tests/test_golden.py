"""Golden findings: a small register with known problems, validated end to end; the CSV output must match
tests/golden/small_register_findings.csv exactly. After an intended change, regenerate with
``APXL_UPDATE_GOLDEN=1 uv run pytest tests/test_golden.py`` and review the diff."""
import os
import sys
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from apxl.cli import app
from apxl.core.pupils import with_check_letter

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
from summary_fixture import PLACEMENTS, PROVIDERS, TERMS  # noqa: E402

GOLDEN = Path(__file__).resolve().parent / "golden" / "small_register_findings.csv"
GOLDEN_JSON = Path(__file__).resolve().parent / "golden" / "small_register_counts.json"


def _problems():
    rows = [dict(r) for r in PLACEMENTS]
    # Synthetic UPNs with correct check letters (LA 801, school 2000, 2012 cohort): one per pupil of the fixture.
    upns = {u: with_check_letter(f"801200012{int(u[1:]):03d}") for u in {r["UPN"] for r in rows}}
    for r, dob, year in zip(rows, ["05/05/2011", "12/12/2010", "01/03/2012"] * 4, [9, 9, 8] * 4):
        r.update({"UPN": upns[r["UPN"]], "Surname": "Pupil", "Forename": r["UPN"][-3:], "Date of birth": dob, "Year group": year,
                  "Objectives": "Re-engage with learning", "Reintegration plan": "Y", "Review date": "01/12/2024"})
    rows[5]["Year group"] = 11  # two years out (PUP-004)
    rows[0]["UPN"] = "A801200005001"  # wrong check letter (PUP-001)
    rows[1]["Start date"] = "31/02/2024"  # not a date (STR-003)
    rows[2]["Route"] = "HOLIDAY"  # not a route (STR-004)
    rows[3]["Provider ID"] = "PRV9"  # not in the directory (PLC-002)
    rows[4]["End date"] = "01/09/2024"  # before its start (PLC-001)
    rows[7]["Exclusion start date"] = "02/09/2024"
    rows[9]["Exclusion start date"] = "09/12/2024"  # PEX starting 13/01/2025: day 6 was 16/12/2024 (S19-001)
    return rows


def _workbook(path):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, records in (("Placements", _problems()), ("Providers", PROVIDERS), ("Calendar", TERMS),
                           ("Settings", [{"Name": "As of date", "Value": "31/01/2025"}, {"Name": "Profile", "Value": "solihull"}])):
        ws = wb.create_sheet(title)
        headers = list(dict.fromkeys(h for r in records for h in r))
        ws.append(headers)
        for r in records:
            ws.append([r.get(h) for h in headers])
    wb.save(path)


def test_small_register_findings_match_the_golden_csv(tmp_path):
    path = tmp_path / "small.xlsx"
    _workbook(path)
    result = CliRunner().invoke(app, ["validate", str(path), "--format", "csv"])
    assert result.exit_code == 1, result.output
    counts = CliRunner().invoke(app, ["validate", str(path), "--format", "json"]).stdout
    import json

    counts = json.dumps(json.loads(counts)["counts"], indent=2, sort_keys=True) + "\n"
    if os.environ.get("APXL_UPDATE_GOLDEN"):
        GOLDEN.write_text(result.stdout, encoding="utf-8")
        GOLDEN_JSON.write_text(counts, encoding="utf-8")
    assert result.stdout == GOLDEN.read_text(encoding="utf-8")
    assert counts == GOLDEN_JSON.read_text(encoding="utf-8")
