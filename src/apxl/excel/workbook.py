"""Build workbooks/apxl-register.xlsm: the register template made macro-enabled for desktop Excel with xlwings.

It carries xlwings' own VBA project (BSD-licensed, taken from the xlwings package's
quickstart_standalone.xlsm: the xlwings module with RunPython and ImportPythonUDFs), an
``xlwings.conf`` sheet pointing UDF_MODULES at apxl.excel.functions, and an ``apxl`` sheet whose
buttons run the macros. Rebuild with:  uv run python -m apxl.excel.workbook workbooks/apxl-register.xlsm
"""
from __future__ import annotations

import re
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

CONF_SHEET = "xlwings.conf"
BUTTON_SHEET = "apxl"
UDF_MODULES = "apxl.excel.functions"
UDF_KEY = "UDF Modules"
# (label, the button's macro). A button's macro may carry arguments in quotes: Excel runs
# 'RunPython "code"' exactly as a VBA call, so no VBA of our own is needed.
BUTTONS = (
    ("Validate register", "from apxl.excel.scripts import validate_register_macro; validate_register_macro()"),
    ("Build termly summaries", "from apxl.excel.scripts import build_termly_summaries_macro; build_termly_summaries_macro()"),
    ("Import school returns", "from apxl.excel.scripts import import_school_returns_macro; import_school_returns_macro()"),
    ("Clear apxl output", "from apxl.excel.scripts import clear_apxl_output_macro; clear_apxl_output_macro()"),
)
IMPORT_BUTTON = ("Import APXL functions", "ImportPythonUDFs")
XLSM_TYPE = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"


def xlwings_vba_source() -> Path:
    import xlwings

    path = Path(xlwings.__file__).parent / "quickstart_standalone.xlsm"
    if not path.exists():
        raise FileNotFoundError("xlwings' quickstart_standalone.xlsm is missing: reinstall xlwings.")
    return path


def _base_workbook():
    """The register template (apxl.io.template) when available, else one sheet per contract table."""
    try:
        from apxl.io.template import build_register_template

        return build_register_template()
    except ImportError:
        from openpyxl import Workbook

        from apxl.core.tables import SHEETS, headers

        wb = Workbook()
        wb.remove(wb.active)
        for spec in SHEETS.values():
            ws = wb[spec.sheet] if spec.sheet in wb.sheetnames else wb.create_sheet(spec.sheet)
            if ws.max_row == 1 and ws["A1"].value is None:
                ws.append(list(headers(spec.model).values()))
        return wb


def _button_sheet(wb) -> None:
    from openpyxl.styles import Font

    ws = wb.create_sheet(BUTTON_SHEET, 0)
    ws["A1"] = "apxl for desktop Excel"
    ws["A1"].font = Font(bold=True, size=14)
    lines = [
        "Needs Python with apxl installed on this computer (see the README, 'Using apxl in Excel').",
        "Buttons on the right: Validate register writes a Findings sheet and highlights the cells it is about;",
        "Build termly summaries writes the Provider and Funding summary sheets.",
        "Import school returns checks every return in the folder named 'Returns folder' on the Settings sheet (month: 'Returns month')",
        "and writes the School returns and Return findings sheets; Clear apxl output removes apxl's sheets and highlights.",
        "Import APXL functions once (and after upgrading apxl) to use =UPN_VALID(...), =SCHOOL_DAYS(...), =CHECK(...) and the rest.",
        f"The {CONF_SHEET} sheet tells xlwings where the functions are ({UDF_KEY} = {UDF_MODULES}).",
    ]
    for i, line in enumerate(lines, start=3):
        ws.cell(i, 1, line)
    ws.column_dimensions["A"].width = 110


def _conf_sheet(wb) -> None:
    ws = wb.create_sheet(CONF_SHEET)
    # xlwings' VBA looks settings up by the upper-cased text in column A: UDF_MODULES is "UDF Modules".
    ws["A1"], ws["B1"] = UDF_KEY, UDF_MODULES


def _drawing_xml(buttons: list[tuple[str, str]]) -> str:
    shapes = []
    for i, (label, macro) in enumerate(buttons):
        top = 2 + i * 3
        shapes.append(
            f"""<xdr:twoCellAnchor editAs="absolute"><xdr:from><xdr:col>2</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>{top}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to><xdr:col>5</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>{top + 2}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>"""
            f"""<xdr:sp macro={quoteattr(macro)} textlink=""><xdr:nvSpPr><xdr:cNvPr id="{i + 2}" name="apxl button {i + 1}"/><xdr:cNvSpPr/></xdr:nvSpPr>"""
            """<xdr:spPr><a:prstGeom prst="roundRect"><a:avLst/></a:prstGeom><a:solidFill><a:srgbClr val="007A7A"/></a:solidFill></xdr:spPr>"""
            f"""<xdr:txBody><a:bodyPr anchor="ctr"/><a:lstStyle/><a:p><a:pPr algn="ctr"/><a:r><a:rPr lang="en-GB" sz="1200" b="1"><a:solidFill><a:srgbClr val="FFFFFF"/></a:solidFill></a:rPr><a:t>{escape(label)}</a:t></a:r></a:p></xdr:txBody></xdr:sp><xdr:clientData/></xdr:twoCellAnchor>"""
        )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">' + "".join(shapes) + "</xdr:wsDr>"
    )


def _add_buttons(path: Path) -> None:
    """Add a drawing with the button shapes to the apxl sheet (openpyxl does not write shape macros)."""
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    workbook = parts["xl/workbook.xml"].decode()
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    rid = re.search(r'<sheet[^>]*name="%s"[^>]*r:id="(rId\d+)"' % re.escape(BUTTON_SHEET), workbook).group(1)
    target = re.search(r'<Relationship[^>]*Id="%s"[^>]*Target="([^"]+)"' % rid, rels) or re.search(r'<Relationship[^>]*Target="([^"]+)"[^>]*Id="%s"' % rid, rels)
    sheet_part = "xl/" + target.group(1).lstrip("/").removeprefix("xl/")
    n = 1
    while f"xl/drawings/drawing{n}.xml" in parts:
        n += 1
    drawing = f"xl/drawings/drawing{n}.xml"
    parts[drawing] = _drawing_xml([(label, f"'RunPython \"{code}\"'") for label, code in BUTTONS] + [IMPORT_BUTTON]).encode()
    sheet_rels = sheet_part.replace("worksheets/", "worksheets/_rels/") + ".rels"
    rel = f'<Relationship Id="rIdApxlButtons" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/drawing" Target="../drawings/drawing{n}.xml"/>'
    if sheet_rels in parts:
        parts[sheet_rels] = parts[sheet_rels].decode().replace("</Relationships>", rel + "</Relationships>").encode()
    else:
        parts[sheet_rels] = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' + rel + "</Relationships>").encode()
    sheet_xml = parts[sheet_part].decode()
    if 'xmlns:r="' not in sheet_xml.split(">", 2)[1]:
        sheet_xml = sheet_xml.replace("<worksheet ", '<worksheet xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" ', 1)
    parts[sheet_part] = sheet_xml.replace("</worksheet>", '<drawing r:id="rIdApxlButtons"/></worksheet>').encode()
    types = parts["[Content_Types].xml"].decode()
    parts["[Content_Types].xml"] = types.replace(
        "</Types>", f'<Override PartName="/{drawing}" ContentType="application/vnd.openxmlformats-officedocument.drawing+xml"/></Types>'
    ).encode()
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name in ["[Content_Types].xml", *[p for p in parts if p != "[Content_Types].xml"]]:
            z.writestr(name, parts[name])
    tmp.replace(path)


def build_register_xlsm(out: str | Path) -> Path:
    """Write the macro-enabled register to ``out``."""
    from openpyxl import load_workbook

    out = Path(out)
    wb = _base_workbook()
    _button_sheet(wb)
    _conf_sheet(wb)
    wb.active = 0
    wb.vba_archive = load_workbook(xlwings_vba_source(), keep_vba=True).vba_archive
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "register.xlsm"
        wb.save(staged)
        _add_buttons(staged)
        with zipfile.ZipFile(staged) as z:
            if "xl/vbaProject.bin" not in z.namelist() or XLSM_TYPE not in z.read("[Content_Types].xml").decode():
                raise RuntimeError("the workbook lost its VBA project while being built")
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(staged, out)
    return out


if __name__ == "__main__":
    print(build_register_xlsm(sys.argv[1] if len(sys.argv) > 1 else "workbooks/apxl-register.xlsm"))
