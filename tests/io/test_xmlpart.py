"""apxl.io.xmlpart: parts keep their prefixes and declarations; hostile XML is refused."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apxl.errors import ApxlError
from apxl.io.sheetxml import split_sheet
from apxl.io.xmlpart import SubElement, parse, qn

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SHEET = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" mc:Ignorable="x14ac xr" '
    b'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac" '
    b'xmlns:xr="http://schemas.microsoft.com/office/spreadsheetml/2014/revision" xr:uid="{00000000-0001-0000-0000-000000000000}">'
    b'<sheetData><row r="1" x14ac:dyDescent="0.25"><c r="A1" t="inlineStr"><is><t xml:space="preserve"> a &amp; b </t></is></c></row></sheetData>'
    b'<extLst><ext uri="{78C0D931-6437-407d-A8EE-F0AAD7539E65}" xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
    b'<x14:conditionalFormattings><x14:conditionalFormatting xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
    b'<x14:cfRule type="dataBar" id="{1}"/><xm:sqref>A1:A9</xm:sqref></x14:conditionalFormatting></x14:conditionalFormattings></ext></extLst></worksheet>'
)


def test_round_trip_keeps_prefixes_and_ignorable_declarations():
    out = parse(SHEET).serialize().decode()
    # mc:Ignorable names x14ac and xr: they must stay declared even where no element uses them.
    for decl in ('xmlns:x14ac="', 'xmlns:xr="', 'xmlns:mc="', 'mc:Ignorable="x14ac xr"', "<x14:cfRule", "<xm:sqref>", 'xml:space="preserve"'):
        assert decl in out
    assert "ns0:" not in out and "ns1:" not in out
    assert parse(out.encode()).serialize().decode() == out  # stable


def test_new_elements_get_the_documents_prefixes():
    doc = parse(SHEET)
    el = SubElement(doc.root, qn(MAIN, "legacyDrawing"))
    el.set(qn(R, "id"), "rId3")
    out = doc.serialize().decode()
    assert '<legacyDrawing r:id="rId3"/>' in out and out.count('xmlns:r="') == 1


def test_sheet_data_is_carried_as_bytes():
    body = b'<sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData>'
    data = SHEET.replace(SHEET[SHEET.index(b"<sheetData>") : SHEET.index(b"</sheetData>") + 12], body)
    doc, holder, raw = split_sheet(data)
    assert raw == body and holder is not None and len(holder) == 0
    SubElement(doc.root, qn(MAIN, "legacyDrawing"))
    assert body in doc.serialize()


@pytest.mark.parametrize(
    "hostile",
    [
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>',
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        b"<x><unclosed></x>",
    ],
)
def test_hostile_or_broken_xml_is_one_clear_error(hostile):
    with pytest.raises(ApxlError, match="not valid XML"):
        parse(hostile, "styles")


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufffe\uffff"), max_size=40))
def test_any_text_and_attribute_survives_a_round_trip(text):
    legal = "".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 0x20)
    doc = parse(b'<a xmlns="urn:x"><b/></a>')
    b = doc.root[0]
    b.text = legal
    b.set("v", legal)
    again = parse(doc.serialize()).root[0]
    assert (again.text or "") == legal and again.get("v") == legal
