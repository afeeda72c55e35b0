"""Worksheet XML without parsing its cells: everything but ``sheetData`` as a tree, the cells as bytes.

Cell data can be hundreds of megabytes (a year of attendance); everything else in a sheet
(views, conditional formats, validation, links, drawings, extensions) is small. apxl edits the
small part as XML and carries the cells across untouched, byte for byte.
"""
from __future__ import annotations

import re

from apxl.errors import ApxlError
from apxl.io.xmlpart import Element, XmlDoc, parse, qn

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

_SHEETDATA = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?sheetData\b[^>]*?(/?)>")


def sheet_data_span(data: bytes, what: str = "worksheet") -> tuple[int, int, bytes] | None:
    """Where a worksheet's ``sheetData`` element starts and ends, and its start tag made empty (``<sheetData/>``);
    None when the sheet has none."""
    m = _SHEETDATA.search(data)
    if m is None:
        return None
    if m.group(2) == b"/":
        end = m.end()
    else:
        prefix = (m.group(1) + b":") if m.group(1) else b""
        # A sheet has one sheetData and little after it: find its end from the back of the part. Scanning
        # forwards with a pattern walked every cell (a fifth of a second on a year of attendance).
        close = re.compile(rb"</" + re.escape(prefix) + rb"sheetData\s*>")
        at = data.rfind(b"</" + prefix + b"sheetData")
        cm = close.match(data, at) if at >= m.end() else None
        if cm is None:
            raise ApxlError(f"The workbook's {what} is not valid XML: the file may be corrupt.")
        end = cm.end()
    return m.start(), end, data[m.start() : m.end()].rstrip(b">").rstrip(b"/") + b"/>"


def split_sheet(data: bytes, what: str = "worksheet") -> tuple[XmlDoc, Element | None, bytes]:
    """Parse a worksheet without its ``sheetData`` (kept as bytes and written back verbatim).

    Returns the document, the placeholder ``sheetData`` element (None if the sheet has none) and
    the original sheetData bytes; ``doc.serialize()`` writes those bytes where the placeholder is.
    """
    span = sheet_data_span(data, what)
    if span is None:
        return parse(data, what), None, b""
    start, end, placeholder_tag = span
    doc = parse(data[:start] + placeholder_tag + data[end:], what)
    holder = next((c for c in doc.root if c.tag == qn(MAIN_NS, "sheetData")), None)
    body = data[start:end]
    if holder is not None:
        doc.raw[holder] = body
    return doc, holder, body
