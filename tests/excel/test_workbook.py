"""workbooks/apxl-register.xlsm: macro-enabled, xlwings VBA and config, buttons; opens in LibreOffice; keeps VBA when apxl writes."""
from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from apxl.excel.workbook import BUTTONS, CONF_SHEET, UDF_MODULES, XLSM_TYPE, build_register_xlsm, xlwings_vba_source

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "workbooks" / "apxl-register.xlsm"
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def test_shipped_workbook_is_current_and_macro_enabled(tmp_path):
    fresh = build_register_xlsm(tmp_path / "fresh.xlsm")
    shipped, rebuilt = parts(SHIPPED), parts(fresh)
    assert XLSM_TYPE in shipped["[Content_Types].xml"].decode()
    # The VBA project is xlwings' own (RunPython, ImportPythonUDFs), byte for byte.
    assert shipped["xl/vbaProject.bin"] == parts(xlwings_vba_source())["xl/vbaProject.bin"]
    assert set(shipped) == set(rebuilt)  # the committed file matches the builder


def test_conf_sheet_and_buttons():
    from openpyxl import load_workbook

    wb = load_workbook(SHIPPED, keep_vba=True)
    conf = wb[CONF_SHEET]
    # xlwings.bas GetUdfModules reads GetConfig("UDF MODULES"): the upper-cased column A text.
    assert (conf["A1"].value.upper(), conf["B1"].value) == ("UDF MODULES", UDF_MODULES)
    assert {"Placements", "Providers", "Attendance", "Calendar", "Settings"} <= set(wb.sheetnames)
    drawing = next(v.decode() for k, v in parts(SHIPPED).items() if k.startswith("xl/drawings/drawing"))
    macros = re.findall(r'macro="([^"]*)"', drawing)
    assert len(macros) == len(BUTTONS) + 1 and "ImportPythonUDFs" in macros
    for _, code in BUTTONS:
        assert any(code in m.replace("&quot;", '"') for m in macros)


def _soffice_opens(path: Path, tmp_path: Path) -> None:
    profile = tmp_path / "lo-profile"
    out = tmp_path / "pdf"
    done = subprocess.run(
        [SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf", "--outdir", str(out), str(path)],
        capture_output=True, text=True, timeout=180,
    )
    pdf = out / (path.stem + ".pdf")
    assert done.returncode == 0 and pdf.exists() and pdf.stat().st_size > 0, done.stderr


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")
def test_opens_in_libreoffice(tmp_path):
    _soffice_opens(SHIPPED, tmp_path)


def test_keeps_vba_after_apxl_writes_findings(tmp_path):
    from apxl.core.check import check_register
    from apxl.io.reader import read_register
    from apxl.io.writer import write_findings

    source = tmp_path / "register.xlsm"
    shutil.copyfile(SHIPPED, source)
    register = read_register(source)
    report = check_register(register, None, __import__("datetime").date(2024, 10, 15))
    out = write_findings(source, register, report, output=tmp_path / "checked.xlsm")
    written = parts(out)
    assert written["xl/vbaProject.bin"] == parts(SHIPPED)["xl/vbaProject.bin"]
    assert XLSM_TYPE in written["[Content_Types].xml"].decode()
    assert any(k.startswith("xl/drawings/") for k in written)  # the buttons survive
    if SOFFICE:
        _soffice_opens(out, tmp_path)


def test_lite_main_exports_every_function_and_script(licensed):
    from apxl.excel import runtime

    namespace: dict = {}
    exec(compile((ROOT / "workbooks" / "lite" / "main.py").read_text(), "main.py", "exec"), namespace)
    functions = runtime.server_module("apxl.excel.functions")
    scripts = runtime.server_module("apxl.excel.scripts")
    declared = {n for n, f in vars(functions).items() if hasattr(f, "__xlfunc__")}
    script_names = {n for n, f in vars(scripts).items() if getattr(f, "__xlscript__", None) is not None}
    assert declared and declared <= set(namespace)
    assert script_names == {"validate_register", "build_termly_summaries", "import_school_returns", "clear_apxl_output"} and script_names <= set(namespace)
    assert functions.__xlwings_func_namespace__ == "APXL"  # Lite shows them as =APXL.NAME(...)
    requirements = (ROOT / "workbooks" / "lite" / "requirements.txt").read_text().splitlines()
    assert any(line.endswith(".whl") and "apxl" in line for line in requirements)
