"""Shared fixtures for the school-return tests: the hand-built fixture set (tests/fixtures/returns) and results computed once."""
from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "returns"
MONTH_DIR = FIXTURES / "2025-03"
REGISTER = FIXTURES / "register.xlsx"
INVOICES = FIXTURES / "invoices.csv"
EXPECTED = FIXTURES / "expected"
MONTH = "2025-03"
RECEIVED = date(2025, 4, 2)
SCHOOL_RETURNS = ["100001_ashford.xlsx", "100002_brookside.xlsx", "100003_castle_hill.xlsx", "100005_eastfield.xlsx"]


@pytest.fixture(scope="session")
def la():
    """The fixture register and its policy (with the national attendance codes)."""
    from apxl.io.returns.api import open_register

    return open_register(REGISTER)


@pytest.fixture(scope="session")
def ingested(la):
    """Each school's fixture return ingested once (full rule check), keyed by file name."""
    from apxl.io.returns.ingest import ingest_return

    register, policy = la
    return {name: ingest_return(MONTH_DIR / name, register, policy, received=RECEIVED, month=MONTH) for name in SCHOOL_RETURNS}


@pytest.fixture
def work(tmp_path):
    """A scratch folder holding a copy of the register (tests never write into tests/fixtures)."""
    shutil.copy(REGISTER, tmp_path / "register.xlsx")
    return tmp_path


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def lo_convert(src: Path, outdir: Path, fmt: str, profile: Path) -> Path:
    """Open ``src`` in LibreOffice headless and save it as ``fmt`` (e.g. 'xlsx', 'csv'); fails the test if LibreOffice cannot open it."""
    outdir.mkdir(parents=True, exist_ok=True)
    filt = {"xlsx": "xlsx:Calc MS Excel 2007 XML", "csv": "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"}.get(fmt, fmt)
    run = subprocess.run([soffice(), "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}", "--convert-to", filt,
                          "--outdir", str(outdir), str(src)], capture_output=True, text=True, timeout=180)
    stem = src.stem
    found = sorted(outdir.glob(f"{stem}*.{fmt}"))
    assert run.returncode == 0 and found, f"LibreOffice could not open {src.name}: {run.stdout} {run.stderr}"
    return found[0] if fmt != "csv" else outdir
