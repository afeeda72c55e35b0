"""write_findings on a workbook with everything a lossy save would damage: nothing else changes."""
from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from apxl.core.check import check_register
from apxl.errors import ApxlError
from apxl.io.reader import read_register
from apxl.io.writer import FILLS, write_findings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
import rich_workbook  # noqa: E402

from rich_workbook import AS_OF, parts  # noqa: E402

MARKER = b'ISTEXT(&quot;apxl-highlight&quot;)'


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sheet_parts(path: Path) -> dict[str, str]:
    """Tab name -> worksheet part name, read from workbook.xml and its relationships."""
    p = parts(path)
    wb = p["xl/workbook.xml"].decode()
    rels = dict(re.findall(r'Id="(rId\d+)"[^>]*Target="([^"]+)"', p["xl/_rels/workbook.xml.rels"].decode()))
    rels.update({k: v for v, k in re.findall(r'Target="([^"]+)"[^>]*Id="(rId\d+)"', p["xl/_rels/workbook.xml.rels"].decode())})
    out = {}
    for name, rid in re.findall(r'<sheet [^>]*name="([^"]+)"[^>]*r:id="(rId\d+)"', wb):
        out[name] = "xl/" + rels[rid].lstrip("/").removeprefix("xl/")
    return out


def _sheet_data(xml: bytes) -> bytes:
    return re.search(rb"<sheetData>.*</sheetData>", xml, re.S).group(0)


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """The rich register, checked, and written once (.xlsx); shared by the read-only assertions below."""
    folder = tmp_path_factory.mktemp("writer")
    source = rich_workbook.build(folder / "register.xlsx")
    before = _digest(source)
    register = read_register(source)
    report = check_register(register, None, AS_OF)
    out = write_findings(source, register, report)
    return source, before, register, report, out


def test_default_output_is_beside_the_input_and_the_input_is_untouched(checked):
    source, before, _, _, out = checked
    assert out == source.with_name("register-checked.xlsx")
    assert _digest(source) == before


def test_every_part_apxl_does_not_write_is_byte_identical(checked):
    source, _, _, report, out = checked
    old, new = parts(source), parts(out)
    sheets = _sheet_parts(out)
    annotated = {sheets[s] for s in set(report.frame["sheet"]) if s in sheets}
    allowed = {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml"}
    allowed |= annotated | {p.replace("worksheets/", "worksheets/_rels/") + ".rels" for p in annotated}
    allowed |= {p for p in old if p.startswith("xl/comments") or p.endswith(".vml")}  # notes are merged into the user's
    changed = {p for p in old if old[p] != new.get(p)}
    assert changed <= allowed, changed - allowed
    assert set(old) <= set(new)  # nothing dropped
    # Even in the sheets apxl annotates, the cells (values, formulas, cached values, formats) are the same bytes.
    for part in annotated:
        assert _sheet_data(old[part]) == _sheet_data(new[part])
    placements = new[sheets["Placements"]]
    for kept in (b"<f>N2*P2</f><v>10000</v>", b"x14:dataValidation", b"Lookups!$B$2:$B$3", b"<tablePart", b'operator="greaterThan"', b"RouteList"):
        assert kept in placements or kept in new["xl/workbook.xml"], kept


def test_findings_sheet_lists_every_finding_with_links_to_the_cells(checked):
    _, _, register, report, out = checked
    wb = load_workbook(out)
    ws = wb["Findings"]
    header = [c.value for c in ws[5]]
    assert header == ["Rule", "Severity", "Sheet", "Row", "Column", "Key", "Value", "Message", "Link"]
    rows = list(ws.iter_rows(min_row=6, values_only=True))
    assert len(rows) == len(report)
    assert [r[0] for r in rows] == report.frame["rule_id"].tolist()
    assert "tblPlacements" not in ws.tables and list(ws.tables) == ["Findings"]
    assert ws.tables["Findings"].ref == f"A5:I{5 + len(report)}"
    assert ws.freeze_panes == "A6"
    assert "as of 31/01/2025" in ws["A2"].value
    links = {c.row: c.hyperlink.location for c in ws["I"] if c.hyperlink is not None}
    frame = report.frame.reset_index(drop=True)
    upn = frame[(frame["rule_id"] == "PUP-001") & (frame["row"] == 3)].index[0]
    assert links[6 + upn] == "'Placements'!B3"  # UPN is column B of Placements
    rate = frame[(frame["rule_id"] == "STR-004") & (frame["column"] == "Rate (£)")].index[0]
    assert links[6 + rate] == "'Placements'!P5"
    assert ws.cell(6 + rate, 9).value == "Placements!P5"
    # Each link names a sheet that exists and a cell on it.
    for target in links.values():
        sheet, cell = re.fullmatch(r"'(.+)'!([A-Z]+\d+)", target).groups()
        assert sheet in wb.sheetnames


def test_formula_like_text_stays_text(checked):
    _, _, _, report, out = checked
    xml = parts(out)[_sheet_parts(out)["Findings"]].decode()
    route = report.frame[report.frame["value"] == "=1+1"]
    assert len(route) >= 1  # STR-004: the hostile route value is reported...
    # ...and written as an inline string with a quote prefix: never a formula.
    assert "<f>" not in xml
    assert re.search(r'<c r="G\d+" s="\d+" t="inlineStr"><is><t>=1\+1</t></is></c>', xml)
    key = re.search(r'<c r="F\d+" s="(\d+)" t="inlineStr"><is><t>@AP-004</t></is></c>', xml)
    assert key is not None
    styles = parts(out)["xl/styles.xml"].decode()
    xfs = re.search(r"<cellXfs[^>]*>(.*)</cellXfs>", styles, re.S).group(1)
    xf = re.findall(r"<xf [^>]*?(?:/>|>.*?</xf>)", xfs, re.S)[int(key.group(1))]
    assert 'quotePrefix="1"' in xf
    wb = load_workbook(out)
    cells = [c for row in wb["Findings"].iter_rows(min_row=6) for c in row if c.value == "=1+1"]
    assert cells and all(c.data_type == "s" for c in cells)


def test_offending_cells_are_filled_and_noted_and_the_users_own_are_kept(checked):
    _, _, _, report, out = checked
    wb = load_workbook(out)
    ws = wb["Placements"]
    notes = {c.coordinate: c.comment for row in ws.iter_rows() for c in row if c.comment is not None}
    assert notes["A2"].author == "Finance officer" and notes["B3"].author == "Finance officer"
    assert "Checked with the school" in notes["B3"].text  # B3 has PUP-001 but keeps the user's note
    ours = {k: v for k, v in notes.items() if v.author == "apxl"}
    assert "G4" in ours and "STR-004 (error)" in ours["G4"].text
    assert "P5" in ours and "negative" in ours["P5"].text
    rules = [(str(r.sqref), rule) for r in ws.conditional_formatting for rule in r.rules]
    assert any("P2:P50" in s and rule.operator == "greaterThan" for s, rule in rules)  # the user's rule
    marked = {rule.dxf.fill.bgColor.rgb[-6:]: s.split() for s, rule in rules if rule.formula and "apxl-highlight" in rule.formula[0]}
    assert {"B3", "G4", "P5"} <= set(marked[FILLS["error"]])  # errors in Excel's light red
    assert "A2:A5" in marked[FILLS["warning"]]  # warnings about absent columns mark the row's first cell
    assert ws["C2"].fill.start_color.rgb.endswith("FFFF00")  # the user's own fill untouched


def test_rerun_replaces_rather_than_duplicates(checked, tmp_path):
    _, _, register, report, out = checked
    again = write_findings(out, register, report, output=tmp_path / "again.xlsx")
    first, second = parts(out), parts(again)
    assert set(first) == set(second)
    findings = _sheet_parts(again)["Findings"]
    # Byte for byte the same workbook, apart from the 'written at' time on the Findings sheet.
    assert {p for p in first if first[p] != second[p]} <= {findings}
    assert _sheet_data(first[findings]).count(b"<row ") == _sheet_data(second[findings]).count(b"<row ")
    wb = load_workbook(again)
    assert wb.sheetnames.count("Findings") == 1
    ours = [c for row in wb["Placements"].iter_rows() for c in row if c.comment and c.comment.author == "apxl"]
    assert len(ours) == len({c.coordinate for c in ours}) == len([c for row in load_workbook(out)["Placements"].iter_rows() for c in row if c.comment and c.comment.author == "apxl"])


def test_rerun_with_no_findings_removes_the_marks(checked, tmp_path):
    from apxl.core.findings import Report

    _, _, register, report, out = checked
    clean = write_findings(out, register, Report(None, as_of=AS_OF, policy_name="national"), output=tmp_path / "clean.xlsx")
    p = parts(clean)
    assert not any(MARKER in v for k, v in p.items() if k.startswith("xl/worksheets/sheet"))
    wb = load_workbook(clean)
    assert [c.comment.author for row in wb["Placements"].iter_rows() for c in row if c.comment] == ["Finance officer", "Finance officer"]
    assert wb["Findings"].tables["Findings"].ref == "A5:I6"
    assert "0 findings" in wb["Findings"]["A3"].value


def test_xlsm_keeps_its_vba_project_and_stays_macro_enabled(tmp_path):
    source = rich_workbook.build(tmp_path / "register.xlsm", xlsm=True)
    register = read_register(source)
    out = write_findings(source, register, check_register(register, None, AS_OF))
    assert out.name == "register-checked.xlsm"
    old, new = parts(source), parts(out)
    assert new["xl/vbaProject.bin"] == old["xl/vbaProject.bin"]
    assert "application/vnd.ms-excel.sheet.macroEnabled.main+xml" in new["[Content_Types].xml"].decode()
    assert "vbaProject" in new["xl/_rels/workbook.xml.rels"].decode()
    assert "Findings" in load_workbook(out, keep_vba=True).sheetnames


def test_in_place_keeps_a_backup_and_replaces_the_file(tmp_path):
    source = rich_workbook.build(tmp_path / "register.xlsx")
    original = source.read_bytes()
    register = read_register(source)
    out = write_findings(source, register, check_register(register, None, AS_OF), in_place=True)
    assert out == source
    backups = list(tmp_path.glob("register.backup-*.xlsx"))
    assert len(backups) == 1 and backups[0].read_bytes() == original
    assert "Findings" in load_workbook(source).sheetnames
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]  # no temp files left


def test_refuses_to_overwrite_the_input_or_lose_the_vba(tmp_path):
    source = rich_workbook.build(tmp_path / "register.xlsx")
    register = read_register(source)
    report = check_register(register, None, AS_OF)
    with pytest.raises(ApxlError, match="in-place"):
        write_findings(source, register, report, output=source)
    with pytest.raises(ApxlError, match=".xlsx file"):
        write_findings(source, register, report, output=tmp_path / "out.xlsm")
    ods = tmp_path / "register.ods"
    ods.write_bytes(b"not really")
    with pytest.raises(ApxlError, match="only into .xlsx or .xlsm"):
        write_findings(ods, register, report)


def test_highlights_are_capped_and_the_findings_sheet_says_so(tmp_path):
    source = rich_workbook.build(tmp_path / "register.xlsx")
    register = read_register(source)
    report = check_register(register, None, AS_OF)
    out = write_findings(source, register, report, max_marks=2)
    wb = load_workbook(out)
    assert "Only the 2 worst" in wb["Findings"]["A4"].value
    assert len(list(wb["Findings"].iter_rows(min_row=6))) == len(report)  # the table still lists everything
    ours = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.comment and c.comment.author == "apxl"]
    assert len(ours) <= 2


def test_findings_beyond_excels_row_limit_are_left_to_csv(tmp_path, monkeypatch):
    import apxl.io.writer as writer

    monkeypatch.setattr(writer, "MAX_FINDINGS_ROWS", 3)
    source = rich_workbook.build(tmp_path / "register.xlsx")
    register = read_register(source)
    report = check_register(register, None, AS_OF)
    ws = load_workbook(write_findings(source, register, report))["Findings"]
    assert ws.tables["Findings"].ref == "A5:I8"
    assert ws["A4"].value.startswith(f"The sheet lists the first 3 of {len(report)} findings")
