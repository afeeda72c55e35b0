"""The findings workbook opens in LibreOffice headless: converted to CSV and PDF without error."""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from apxl.core.check import check_register
from apxl.io.reader import read_register
from apxl.io.writer import write_findings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
import rich_workbook  # noqa: E402

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed here; .ci/run installs it in CI")
# Comma-separated, UTF-8 (76), every sheet to its own file (the last token, LibreOffice 7.2+).
ALL_SHEETS_CSV = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"


def convert(path: Path, target: str, workdir: Path) -> Path:
    """Convert with a private profile and HOME, so parallel test runs do not share LibreOffice's lock."""
    outdir = workdir / "converted"
    outdir.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(workdir / "home")}
    done = subprocess.run(
        [SOFFICE, f"-env:UserInstallation={(workdir / 'lo-profile').as_uri()}", "--headless", "--norestore",
         "--convert-to", target, "--outdir", str(outdir), str(path)],
        capture_output=True, text=True, timeout=240, env=env,
    )
    assert done.returncode == 0, done.stderr
    return outdir


def _written(folder: Path, xlsm: bool = False, preload_cells: bool = False) -> Path:
    source = rich_workbook.build(folder / ("register.xlsm" if xlsm else "register.xlsx"), xlsm=xlsm)
    register = read_register(source)
    preloaded = None
    if preload_cells:  # as ``apxl validate -o`` does: sheet cells deflated ahead, on another thread
        from apxl.io.opc import PartPreload

        preloaded = PartPreload(source, min_bytes=256, deflate_cells=True)
        preloaded.wait()
        assert preloaded._cells, "the preload deflated no sheet's cells: the test would not take that path"
    return write_findings(source, register, check_register(register, None, rich_workbook.AS_OF), preloaded=preloaded)


def test_findings_workbook_converts_to_csv_with_the_findings_and_the_register_intact(tmp_path):
    out = _written(tmp_path)
    folder = convert(out, ALL_SHEETS_CSV, tmp_path)
    findings = folder / f"{out.stem}-Findings.csv"
    assert findings.exists(), sorted(p.name for p in folder.iterdir())
    rows = list(csv.reader(findings.open(encoding="utf-8")))
    assert rows[0][0] == "apxl findings"
    assert rows[4] == ["Rule", "Severity", "Sheet", "Row", "Column", "Key", "Value", "Message", "Link"]
    body = rows[5:]
    assert any(r[0] == "PUP-001" and r[8] == "Placements!B3" for r in body)
    # Formula-like values arrive as the text they were, not evaluated (=1+1 would show as 2).
    assert any(r[0] == "STR-004" and r[6] == "=1+1" for r in body)
    assert any(r[5] == "@AP-004" for r in body)
    placements = list(csv.reader((folder / f"{out.stem}-Placements.csv").open(encoding="utf-8")))
    assert placements[1][16] == "10000"  # the user's formula column, intact
    assert placements[3][2].startswith("=HYPERLINK")  # the user's hostile text is still their text


def test_macro_enabled_findings_workbook_converts_to_pdf(tmp_path):
    out = _written(tmp_path, xlsm=True)
    folder = convert(out, "pdf", tmp_path)
    pdf = folder / f"{out.stem}.pdf"
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 2000


@pytest.mark.parametrize("preload_cells", [False, True], ids=["deflated-at-save", "cells-deflated-ahead"])
def test_sheets_deflated_in_pieces_on_threads_open_in_libreoffice(tmp_path, monkeypatch, preload_cells):
    """The parallel deflate path (a year of attendance in a real register) taken for every part apxl rewrites,
    and with each sheet's cells deflated ahead by the preload: LibreOffice reads the pieces as one stream and
    the sheets come out whole."""
    from apxl.io import opc

    monkeypatch.setattr(opc, "PARALLEL_DEFLATE_BYTES", 512)
    monkeypatch.setattr(opc, "_PIECE_BYTES", 1024)  # several pieces per part
    out = _written(tmp_path, preload_cells=preload_cells)
    import zipfile

    with zipfile.ZipFile(out) as z:
        assert z.testzip() is None
    folder = convert(out, ALL_SHEETS_CSV, tmp_path)
    rows = list(csv.reader((folder / f"{out.stem}-Findings.csv").open(encoding="utf-8")))
    assert rows[0][0] == "apxl findings" and any(r[0] == "PUP-001" and r[8] == "Placements!B3" for r in rows[5:])
    placements = list(csv.reader((folder / f"{out.stem}-Placements.csv").open(encoding="utf-8")))
    assert placements[1][16] == "10000"
