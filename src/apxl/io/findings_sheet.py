"""The Findings sheet as worksheet XML: one Excel table, a link per finding, every value written as text.

Generated directly rather than through openpyxl, which needs about a minute for 100,000 findings
(attendance checks produce that many); this builds the same XML in a second or two. Text cells are
inline strings, which Excel never evaluates; text that *looks* like a formula (``=``, ``+``, ``-``,
``@``, tab, CR) also gets a quote-prefix format, so editing the cell in Excel keeps it text.
"""
from __future__ import annotations

import io
from itertools import chain
import re
import zipfile
from dataclasses import dataclass

import numpy as np
import pandas as pd

from apxl.io.xmlpart import escape_attr

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
COLUMNS = ["Rule", "Severity", "Sheet", "Row", "Column", "Key", "Value", "Message", "Link"]
FIELDS = ["rule_id", "severity", "sheet", "row", "column", "key", "value", "message"]
WIDTHS = [10, 10, 16, 7, 26, 16, 24, 110, 22]
LETTERS = "ABCDEFGHI"
HEADER_ROW = 5
MAX_TEXT = 32_767  # Excel's limit for one cell
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\r\ufffe\uffff]")
_ESCAPED = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\r\ufffe\uffff]")
_ODD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\r\ufffe\uffff]|_x[0-9A-Fa-f]{4}_")
_RISKY = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class FindingsStyles:
    """Cell format (``s=``) and differential format (``dxfId``) indexes in the target workbook."""

    title: int
    note: int
    text: int  # quote-prefixed text: formula-like values stay text when edited
    link: int
    dxf: dict[str, int]


def _excel_text(value) -> str | None:
    """A value as cell text: control characters in Excel's ``_xHHHH_`` form, within Excel's length limit."""
    if value is None:
        return None
    if not isinstance(value, str):
        try:
            if pd.isna(value):
                return None
        except (TypeError, ValueError):
            pass
        value = str(value)
    value = _ESCAPED.sub(r"_x005F_\1", value)  # a literal "_x0041_" must not be read back as "A"
    value = _ILLEGAL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", value)
    return value[:MAX_TEXT]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def text_cell(ref: str, value, style: int | None = None, risky_style: int | None = None) -> str:
    text = _excel_text(value)
    if text is None or text == "":
        return ""
    s = risky_style if (risky_style is not None and text.startswith(_RISKY)) else style
    s_attr = f' s="{s}"' if s else ""
    space = ' xml:space="preserve"' if (text != text.strip() or "\n" in text or "\t" in text) else ""
    return f'<c r="{ref}"{s_attr} t="inlineStr"><is><t{space}>{_escape(text)}</t></is></c>'


def _as_text(values: pd.Series) -> pd.Series:
    """A column as cell text (``str`` dtype, missing as NA), vectorised: the rare values with control
    characters or a literal ``_xHHHH_`` go through ``_excel_text`` one by one."""
    text = values.astype("str")  # missing values (None, NaN, NA) stay missing
    # One C-speed search over the whole column first: such values are rare, so usually nothing to fix.
    joined = "".join(text.dropna().tolist())
    if ("_x" in joined and _ODD.search(joined)) or _CONTROL.search(joined):
        odd = text.map(lambda v: isinstance(v, str) and _ODD.search(v) is not None).astype(bool)
        text[odd] = text[odd].map(_excel_text)
    long = text.str.len().fillna(0) > MAX_TEXT
    if long.any():
        text[long] = text[long].str.slice(0, MAX_TEXT)
    return text


def _escaped(text: pd.Series) -> pd.Series:
    return text.str.replace("&", "&amp;", regex=False).str.replace("<", "&lt;", regex=False).str.replace(">", "&gt;", regex=False)


def text_cells(values: pd.Series, letter: str, rows: pd.Series, style: int | None, risky_style: int | None) -> pd.Series:
    """Inline-string cells for a whole column at once ('' where the value is blank)."""
    text = _as_text(values.reset_index(drop=True))
    blank = text.isna() | (text == "")
    risky = text.str.startswith(_RISKY).fillna(False).to_numpy(bool)
    space = ((text != text.str.strip()) | text.str.contains("\n", regex=False) | text.str.contains("\t", regex=False)).fillna(False).to_numpy(bool)
    base = f' s="{style}"' if style else ""
    alt = f' s="{risky_style}"' if risky_style else base
    s_attr = pd.Series(np.where(risky, alt, base), dtype="str")
    t_open = pd.Series(np.where(space, '<t xml:space="preserve">', "<t>"), dtype="str")
    cell = '<c r="' + letter + rows + '"' + s_attr + ' t="inlineStr"><is>' + t_open + _escaped(text.fillna("")) + "</t></is></c>"
    return cell.where(~blank.to_numpy(bool), "")


def sheet_xml(frame: pd.DataFrame, cells: pd.Series, links: pd.Series, lines: list[str], st: FindingsStyles) -> bytes:
    """The worksheet: title lines, then a header row and one row per finding (frame in report order)."""
    n = len(frame)
    first = HEADER_ROW + 1
    last = HEADER_ROW + max(n, 1)
    rows = [str(i) for i in range(first, first + n)]
    out = io.StringIO()
    w = out.write
    w(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<worksheet xmlns="{MAIN}" xmlns:r="{RELS}">')
    w('<sheetPr><tabColor rgb="FFC00000"/></sheetPr>')
    w(f'<dimension ref="A1:I{last}"/>')
    w(f'<sheetViews><sheetView workbookViewId="0"><pane ySplit="{HEADER_ROW}" topLeftCell="A{first}" activePane="bottomLeft" state="frozen"/>'
      f'<selection pane="bottomLeft" activeCell="A{first}" sqref="A{first}"/></sheetView></sheetViews>')
    w('<sheetFormatPr defaultRowHeight="15"/><cols>')
    for i, width in enumerate(WIDTHS, start=1):
        w(f'<col min="{i}" max="{i}" width="{width}" customWidth="1"/>')
    w("</cols><sheetData>")
    for i, line in enumerate(lines[: HEADER_ROW - 1], start=1):
        if line:
            w(f'<row r="{i}">{text_cell(f"A{i}", line, st.title if i == 1 else st.note)}</row>')
    w(f'<row r="{HEADER_ROW}">' + "".join(text_cell(f"{LETTERS[j]}{HEADER_ROW}", name) for j, name in enumerate(COLUMNS)) + "</row>")
    frame = frame.reset_index(drop=True)
    links = links.reset_index(drop=True)
    display = (frame["sheet"].astype(str) + "!" + cells.reset_index(drop=True).fillna("A1").astype(str)).where(links.notna(), None)
    if n:
        row_text = pd.Series(rows, dtype="str")
        columns = [[f'<row r="{r}">' for r in rows]]
        for j, field in enumerate(FIELDS):
            if field == "row":
                nums = pd.to_numeric(frame[field], errors="coerce")
                columns.append(["" if pd.isna(v) else f'<c r="D{r}"><v>{int(v)}</v></c>' for v, r in zip(nums.tolist(), rows)])
            else:
                columns.append(text_cells(frame[field], LETTERS[j], row_text, None, st.text).tolist())
        columns.append(text_cells(display, "I", row_text, st.link, st.link).tolist())
        columns.append(["</row>"] * n)
        w("".join(chain.from_iterable(zip(*columns))))
    w("</sheetData>")
    w(f'<conditionalFormatting sqref="B{first}:B{last}">')
    for p, (severity, dxf) in enumerate(st.dxf.items(), start=1):
        w(f'<cfRule type="cellIs" dxfId="{dxf}" priority="{p}" operator="equal"><formula>"{severity}"</formula></cfRule>')
    w("</conditionalFormatting>")
    has_link = links.notna().to_numpy(bool)
    if n and has_link.any():
        row_text = pd.Series(rows, dtype="str")[has_link]
        target = _attr(_as_text(links[has_link]))
        shown = _attr(_as_text(display[has_link]).fillna(""))
        w("<hyperlinks>" + "".join(('<hyperlink ref="I' + row_text + '" location="' + target + '" display="' + shown + '"/>').tolist()) + "</hyperlinks>")
    w('<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>')
    w('<tableParts count="1"><tablePart r:id="rId1"/></tableParts></worksheet>')
    return out.getvalue().encode("utf-8")


def _attr(text: pd.Series) -> pd.Series:
    return _escaped(text).str.replace('"', "&quot;", regex=False).str.replace("\n", "&#10;", regex=False).str.replace("\t", "&#9;", regex=False)


def table_xml(n_findings: int, name: str = "Findings") -> bytes:
    last = HEADER_ROW + max(n_findings, 1)
    ref = f"A{HEADER_ROW}:I{last}"
    columns = "".join(f'<tableColumn id="{i}" name="{c}"/>' for i, c in enumerate(COLUMNS, start=1))
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<table xmlns="{MAIN}" id="1" name="{name}" displayName="{name}" '
        f'ref="{ref}" totalsRowShown="0"><autoFilter ref="{ref}"/><tableColumns count="{len(COLUMNS)}">{columns}</tableColumns>'
        '<tableStyleInfo name="TableStyleMedium2" showFirstColumn="0" showLastColumn="0" showRowStripes="1" showColumnStripes="0"/></table>'
    ).encode()


def scratch_package(sheet: bytes, table: bytes, sheet_name: str = "Findings") -> bytes:
    """A minimal package holding just this sheet and its table, for ``apxl.io.package.put_sheet``."""
    ct_ws = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    ct_tb = "application/vnd.openxmlformats-officedocument.spreadsheetml.table+xml"
    ct_wb = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    rel = "http://schemas.openxmlformats.org/package/2006/relationships"
    parts = {
        "[Content_Types].xml": f'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{ct_wb}"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct_ws}"/>'
        f'<Override PartName="/xl/tables/table1.xml" ContentType="{ct_tb}"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="{rel}"><Relationship Id="rId1" Type="{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets><sheet name="{escape_attr(sheet_name)}" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{rel}"><Relationship Id="rId1" Type="{RELS}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/_rels/sheet1.xml.rels": f'<Relationships xmlns="{rel}"><Relationship Id="rId1" Type="{RELS}/table" Target="../tables/table1.xml"/></Relationships>',
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
        z.writestr("xl/tables/table1.xml", table)
    return buffer.getvalue()
