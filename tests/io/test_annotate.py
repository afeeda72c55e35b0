"""apxl.io.annotate: marked conditional formats and apxl's notes on existing sheets, cleared on the next run."""
from __future__ import annotations

import re
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from apxl.io.annotate import Mark, annotate_cells, sqref

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
import rich_workbook  # noqa: E402
from rich_workbook import parts  # noqa: E402

BUTTON_VML = b"""<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:x="urn:schemas-microsoft-com:office:excel">
 <o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="7"/></o:shapelayout>
 <v:shapetype id="_x0000_t201" coordsize="21600,21600" o:spt="201" path="m,l,21600r21600,l21600,xe"><v:path shadowok="f" o:extrusionok="f" strokeok="f" fillok="f" o:connecttype="rect"/></v:shapetype>
 <v:shape id="_x0000_s7169" type="#_x0000_t201" style='position:absolute;width:80pt;height:20pt' o:button="t" fillcolor="buttonFace [67]">
  <v:textbox><div style='text-align:center'><font face="Calibri" size="220">Validate<br></font></div></v:textbox>
  <x:ClientData ObjectType="Button"><x:Anchor>12, 0, 1, 0, 14, 0, 3, 0</x:Anchor><x:FmlaMacro>[0]!Validate</x:FmlaMacro></x:ClientData>
 </v:shape>
</xml>"""


def _with_button(path: Path) -> Path:
    """Give the Providers sheet a macro button (a VML form control, like an .xlsm's) and no comments."""
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    sheet = "xl/worksheets/sheet3.xml"
    assert b"Hillside PRU" in members[sheet]
    members[sheet] = members[sheet].replace(b"<tableParts", b'<legacyDrawing xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:id="rIdB"/><tableParts')
    rels = "xl/worksheets/_rels/sheet3.xml.rels"
    members[rels] = members[rels].replace(
        b"</Relationships>", b'<Relationship Id="rIdB" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/vmlDrawing" Target="../drawings/vmlDrawing9.vml"/></Relationships>'
    )
    members["xl/drawings/vmlDrawing9.vml"] = BUTTON_VML
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


@pytest.fixture
def register(tmp_path):
    return _with_button(rich_workbook.build(tmp_path / "register.xlsx"))


def test_sqref_joins_runs_down_a_column():
    assert sqref(["C7", "C8", "C9", "A2", "C11", "AA3"]) == "A2 C7:C9 C11 AA3"
    assert sqref(["B3", "B3"]) == "B3"


def test_notes_share_the_sheets_vml_with_its_buttons_and_leave_with_the_next_run(register, tmp_path):
    marks = [Mark("Providers", "A2", "FFC7CE", "PRV-003 (error): no DBS confirmation"), Mark("Providers", "B3", None, "a note without a fill")]
    once = tmp_path / "once.xlsx"
    result = annotate_cells(register, marks, once)
    assert (result.highlighted, result.commented, result.skipped_comments) == (1, 2, 0)
    p = parts(once)
    vml = p["xl/drawings/vmlDrawing9.vml"]
    assert b"<x:FmlaMacro>[0]!Validate</x:FmlaMacro>" in vml and b"<br>" in vml  # the button, as it was
    assert vml.count(b'ObjectType="Note"') == 2
    ids = [int(i) for i in re.findall(rb'id="_x0000_s(\d+)"', vml)]
    assert len(ids) == len(set(ids)) and all(7 * 1024 < i < 8 * 1024 for i in ids)  # inside the sheet's idmap block
    ws = load_workbook(once)["Providers"]
    assert ws["A2"].comment.author == "apxl" and "DBS" in ws["A2"].comment.text
    assert ws["B3"].comment.text.startswith("apxl:")

    twice = tmp_path / "twice.xlsx"
    result = annotate_cells(once, [], twice)
    assert "Providers" in result.cleared
    p2, p0 = parts(twice), parts(register)
    assert p2["xl/drawings/vmlDrawing9.vml"].count(b'ObjectType="Note"') == 0
    assert b"[0]!Validate" in p2["xl/drawings/vmlDrawing9.vml"]
    assert b"legacyDrawing" in p2["xl/worksheets/sheet3.xml"]  # still needed for the button
    assert not any(k.startswith("xl/comments") and k not in p0 for k in p2)  # our comments part went away
    assert b"apxl-highlight" not in p2["xl/worksheets/sheet3.xml"]


def test_untouched_sheets_stay_byte_identical_and_unknown_sheets_are_reported(register, tmp_path):
    out = tmp_path / "out.xlsx"
    result = annotate_cells(register, [Mark("Lookups", "A3", "FFEB9C", None), Mark("No such sheet", "A1", "FFEB9C", "x")], out)
    assert result.unknown_sheets == {"No such sheet"}
    old, new = parts(register), parts(out)
    changed = {k for k in old if old[k] != new[k]}
    assert changed == {"xl/worksheets/sheet4.xml", "xl/styles.xml"}  # Lookups and the one new fill


def test_users_own_comment_is_never_replaced(register, tmp_path):
    out = tmp_path / "out.xlsx"
    result = annotate_cells(register, [Mark("Placements", "B3", "FFC7CE", "PUP-001 (error): check letter"), Mark("Placements", "D3", "FFC7CE", "x")], out)
    assert result.skipped_comments == 1 and result.commented == 1
    ws = load_workbook(out)["Placements"]
    assert ws["B3"].comment.author == "Finance officer" and ws["D3"].comment.author == "apxl"
    p = parts(out)
    vml = next(v for k, v in p.items() if k.endswith(".vml") and b"Note" in v)
    assert vml.count(b'ObjectType="Note"') == 3  # the user's two notes and ours


def test_prefixed_main_namespace(tmp_path):
    """Some producers bind SpreadsheetML to 'x:'; new elements must use the same prefix."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    members = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<x:workbook xmlns:x="{main}" xmlns:r="{rel}"><x:sheets><x:sheet name="Placements" sheetId="1" r:id="rId1"/></x:sheets></x:workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<x:worksheet xmlns:x="{main}"><x:sheetData><x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>Placement ID</x:t></x:is></x:c></x:row></x:sheetData></x:worksheet>',
    }
    source = tmp_path / "prefixed.xlsx"
    with zipfile.ZipFile(source, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    out = tmp_path / "out.xlsx"
    annotate_cells(source, [Mark("Placements", "A1", "FFC7CE", "hello")], out)
    sheet = parts(out)["xl/worksheets/sheet1.xml"].decode()
    assert "<x:conditionalFormatting" in sheet and "<x:legacyDrawing" in sheet and 'xmlns:r="' in sheet.split(">", 2)[1]
    ws = load_workbook(out)["Placements"]
    assert ws["A1"].comment.text == "apxl:\nhello"
