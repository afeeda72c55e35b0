"""Hostile returns are refused before any parser sees them, each with a clear sentence; ordinary workbooks pass."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import openpyxl
import pytest

from apxl.io.returns.safety import Limits, UnsafeReturnError, check_return_file

from .conftest import EXPECTED, FIXTURES, MONTH_DIR

OUTCOMES = json.loads((EXPECTED / "outcomes.json").read_text())
REFUSED = sorted(name for name, o in OUTCOMES.items() if not name.startswith("_") and o["outcome"] == "refused")
READ = sorted(name for name, o in OUTCOMES.items() if not name.startswith("_") and o["outcome"] == "read")


def test_every_fixture_has_an_expected_outcome():
    assert sorted(p.name for p in MONTH_DIR.iterdir()) == sorted(REFUSED + READ)


@pytest.mark.parametrize("name", REFUSED)
def test_hostile_fixture_is_refused_with_its_reason(name):
    with pytest.raises(UnsafeReturnError) as caught:
        check_return_file(MONTH_DIR / name)
    err = caught.value
    assert err.reason == OUTCOMES[name]["reason"]
    text = str(err)
    # One sentence naming the file, saying why and what to do; never a traceback or a library's words.
    assert text.startswith(f"{name} was refused: it ") and text.endswith(".") and "\n" not in text
    assert "Error" not in text and "Traceback" not in text


@pytest.mark.parametrize("name", READ)
def test_school_fixtures_pass_the_checks(name):
    inspection = check_return_file(MONTH_DIR / name)
    assert inspection.sheets and all(rows > 0 for rows, _ in inspection.sheets.values())


def test_the_zip_bombs_stay_tiny_on_disk():
    for name in ("hostile_zip_bomb_declared.xlsx", "hostile_zip_bomb_ratio.xlsx"):
        on_disk = (MONTH_DIR / name).stat().st_size
        declared = sum(i.file_size for i in zipfile.ZipFile(MONTH_DIR / name).infolist())
        assert on_disk < 32 * 1024 and declared > 10 * 1024 * 1024, name


def _workbook(rows: int = 3, cols: int = 3) -> bytes:
    wb = openpyxl.Workbook()
    for r in range(1, rows + 1):
        for c in range(1, cols + 1):
            wb.active.cell(r, c, f"r{r}c{c}")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _with(base: bytes, add: dict[str, bytes] | None = None, replace: dict[str, bytes] | None = None) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(base))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, (replace or {}).get(info.filename, src.read(info.filename)))
        for name, body in (add or {}).items():
            dst.writestr(name, body)
    return out.getvalue()


def _refusal(tmp_path: Path, data: bytes, name: str = "r.xlsx", limits: Limits = Limits()) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(UnsafeReturnError) as caught:
        check_return_file(path, limits)
    return caught.value.reason


def test_row_and_column_caps(tmp_path):
    path = tmp_path / "wide.xlsx"
    path.write_bytes(_workbook(rows=12, cols=4))
    assert check_return_file(path, Limits(max_rows=12, max_cols=4)).sheets["xl/worksheets/sheet1.xml"] == (12, 4)
    assert _refusal(tmp_path, _workbook(rows=12, cols=4), limits=Limits(max_rows=11)) == "too-many-rows"
    assert _refusal(tmp_path, _workbook(rows=12, cols=4), limits=Limits(max_cols=3)) == "too-many-columns"


def test_entry_count_cap(tmp_path):
    media = {f"xl/media/image{i}.png": b"\x89PNG" for i in range(30)}
    assert _refusal(tmp_path, _with(_workbook(), media), limits=Limits(max_entries=20)) == "zip-bomb"


def test_a_part_larger_than_it_declares_is_caught_while_reading(tmp_path):
    """Declared sizes can lie: the real decompressed size is capped at the declared one."""
    data = bytearray(_workbook())
    sheet = b"xl/worksheets/sheet1.xml"
    pos = data.find(b"PK\x01\x02")
    while pos != -1:  # shrink the declared size of the sheet in both headers
        n = int.from_bytes(data[pos + 28: pos + 30], "little")
        if bytes(data[pos + 46: pos + 46 + n]) == sheet:
            data[pos + 24: pos + 28] = (10).to_bytes(4, "little")
            local = int.from_bytes(data[pos + 42: pos + 46], "little")
            data[local + 22: local + 26] = (10).to_bytes(4, "little")
        pos = data.find(b"PK\x01\x02", pos + 4)
    assert _refusal(tmp_path, bytes(data)) in {"zip-bomb", "corrupt"}


def test_small_regular_parts_are_not_mistaken_for_bombs(tmp_path):
    """Blank padding compresses very well; under the size floor that is ordinary, not a bomb."""
    base = _workbook()
    sheet = zipfile.ZipFile(io.BytesIO(base)).read("xl/worksheets/sheet1.xml")
    padded = sheet.replace(b"<sheetData>", b"<sheetData>" + b" " * 100_000, 1)
    path = tmp_path / "padded.xlsx"
    path.write_bytes(_with(base, replace={"xl/worksheets/sheet1.xml": padded}))
    check_return_file(path)


@pytest.mark.parametrize("name,reason", [
    ("xl/vbaProject.bin", "macro"),
    ("xl/macrosheets/sheet1.xml", "macro"),
    ("xl/dialogsheets/sheet1.xml", "macro"),
    ("xl/externalLinks/externalLink1.xml", "external-link"),
    ("xl/connections.xml", "external-link"),
    ("xl/embeddings/Microsoft_Word_Document.docx", "embedded-object"),
    ("xl/activeX/activeX1.xml", "activex"),
    ("xl/ctrlProps/ctrlProp1.xml", "activex"),
    ("xl/pivotCache/pivotCacheDefinition1.xml", "unexpected-part"),
    ("customUI/customUI14.xml", "unexpected-part"),
    ("/etc/passwd", "path-traversal"),
    ("xl\\..\\evil.txt", "path-traversal"),
    ("C:/temp/evil.txt", "path-traversal"),
])
def test_forbidden_and_unexpected_parts(tmp_path, name, reason):
    assert _refusal(tmp_path, _with(_workbook(), {name: b"<x/>"})) == reason


def test_a_saved_thumbnail_is_an_ordinary_part(tmp_path):
    path = tmp_path / "thumb.xlsx"
    path.write_bytes(_with(_workbook(), {"docProps/thumbnail.jpeg": b"\xff\xd8\xff\xe0 jpeg"}))
    check_return_file(path)


def test_external_relationship_refused_but_a_cell_hyperlink_is_fine(tmp_path):
    wb = openpyxl.Workbook()
    wb.active["A1"] = "LA guidance"
    wb.active["A1"].hyperlink = "https://www.gov.uk/government/publications/alternative-provision"
    buf = io.BytesIO()
    wb.save(buf)
    ok = tmp_path / "link.xlsx"
    ok.write_bytes(buf.getvalue())
    check_return_file(ok)
    rels = zipfile.ZipFile(ok).read("xl/worksheets/_rels/sheet1.xml.rels")
    sneaky = rels.replace(b"relationships/hyperlink", b"relationships/oleObject")
    assert _refusal(tmp_path, _with(buf.getvalue(), replace={"xl/worksheets/_rels/sheet1.xml.rels": sneaky}), "sneaky.xlsx") == "external-link"


def test_macro_content_type_alone_is_enough(tmp_path):
    base = _workbook()
    types = zipfile.ZipFile(io.BytesIO(base)).read("[Content_Types].xml").replace(
        b"spreadsheetml.sheet.main+xml", b"spreadsheetml.sheet.main+xml").replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
    assert _refusal(tmp_path, _with(base, replace={"[Content_Types].xml": types})) == "macro"


def test_external_entities_are_refused(tmp_path):
    base = _workbook()
    xxe = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><Properties>&x;</Properties>'
    assert _refusal(tmp_path, _with(base, replace={"docProps/app.xml": xxe})) == "xml-attack"


@pytest.mark.parametrize("name,data,reason", [
    ("r.csv", b"UPN,Provider\n", "not-xlsx"),
    ("r.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "not-xlsx"),
    ("r.xlsb", b"PK\x03\x04", "macro"),
    ("r.xltm", b"PK\x03\x04", "macro"),
    ("r.xlsx", b"PK\x03\x04 not really a zip", "corrupt"),
    ("r.xlsx", b"%PDF-1.7", "not-xlsx"),
])
def test_only_plain_xlsx(tmp_path, name, data, reason):
    assert _refusal(tmp_path, data, name) == reason


def test_file_size_cap(tmp_path):
    assert _refusal(tmp_path, _workbook(), limits=Limits(max_file_bytes=1000)) == "too-large"


def test_a_missing_file():
    with pytest.raises(UnsafeReturnError) as caught:
        check_return_file(FIXTURES / "no-such-return.xlsx")
    assert caught.value.reason == "missing"


@pytest.mark.parametrize("part", ["xl/sharedStrings.xml", "xl/styles.xml", "xl/worksheets/sheet1.xml"])
def test_a_dtd_after_comments_and_instructions_is_still_found(tmp_path, part):
    """The prolog check reads up to the root element however long the prolog is."""
    base = _with(_workbook(), {"xl/sharedStrings.xml": b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'})
    padding = b"<!-- " + b"x" * 70_000 + b" -->\n<?pi data?>\n"
    body = zipfile.ZipFile(io.BytesIO(base)).read(part)
    bomb = b'<?xml version="1.0"?>\n' + padding + b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">]>' + body
    assert _refusal(tmp_path, _with(base, replace={part: bomb})) == "xml-attack"


def test_utf16_parts_are_checked_too(tmp_path):
    base = _workbook()
    xml = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY a "a">]><Properties>&a;</Properties>'.encode("utf-16")
    assert _refusal(tmp_path, _with(base, replace={"docProps/app.xml": xml})) == "xml-attack"


def test_the_cell_reader_never_sees_an_unchecked_file(monkeypatch):
    from apxl.io.returns import read

    opened = []
    monkeypatch.setattr(read, "read_grids", lambda *a, **k: opened.append(a))
    with pytest.raises(UnsafeReturnError):
        read.read_return(MONTH_DIR / "hostile_xml_entities.xlsx")
    assert opened == []
