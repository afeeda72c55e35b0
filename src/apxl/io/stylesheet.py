"""Merging cell formats into a workbook's styles.xml without disturbing the formats already there.

A sheet copied from another workbook carries style indexes (``s="3"``) into *that* workbook's
styles. We append what it uses (number formats, fonts, fills, borders, cell formats, differential
formats) to the target's lists, reusing identical entries so re-running adds nothing, and return
old-index -> new-index maps. Existing entries never move, so the user's cells keep their look.
"""
from __future__ import annotations

import copy
import io
from dataclasses import dataclass, field

from apxl.io.opc import CT_STYLES, MAIN_NS, RT_STYLES, Package
from apxl.io.xmlpart import Element, SubElement, XmlDoc, canonical, insert_in_order, parse, qn

# CT_Stylesheet's child sequence (ECMA-376 part 1, 18.8.39).
ORDER = ["numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs", "tableStyles", "colors", "extLst"]
FIRST_CUSTOM_NUMFMT = 164
_MINIMAL = (
    f'<styleSheet xmlns="{MAIN_NS}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
).encode()


@dataclass
class StyleMap:
    """Where a source workbook's cell formats (``s=``) and differential formats (``dxfId=``) landed."""

    xf: list[int] = field(default_factory=list)
    dxf: list[int] = field(default_factory=list)

    def cell(self, index: int) -> int:
        return self.xf[index] if 0 <= index < len(self.xf) else 0

    def diff(self, index: int) -> int:
        return self.dxf[index] if 0 <= index < len(self.dxf) else index


def styles_part(pkg: Package, create: bool = True) -> str | None:
    wb = pkg.workbook_part
    for _, target in pkg.targets(wb, RT_STYLES):
        if pkg.exists(target):
            return pkg.name(target)
    if not create:
        return None
    part = "xl/styles.xml" if not pkg.exists("xl/styles.xml") else pkg.fresh_name("xl/styles{}.xml")
    pkg.set_doc(part, parse(_MINIMAL, part), CT_STYLES)
    pkg.add_rel(wb, RT_STYLES, part)
    return part


def _list(root: Element, name: str, create: bool = True) -> Element | None:
    el = root.find(qn(MAIN_NS, name))
    if el is None and create:
        el = Element(qn(MAIN_NS, name), {"count": "0"})
        insert_in_order(root, el, ORDER)
    return el


class Styles:
    """The target's styles.xml, with an index of existing entries for de-duplication."""

    def __init__(self, pkg: Package):
        self.pkg = pkg
        self.part = styles_part(pkg)
        self.doc: XmlDoc = pkg.doc(self.part)
        self.root = self.doc.root
        self._index: dict[str, dict[tuple, int]] = {}

    def _entries(self, name: str) -> list[Element]:
        container = _list(self.root, name, create=False)
        return [] if container is None else [c for c in container if isinstance(c.tag, str)]

    def add(self, name: str, element: Element) -> int:
        """Index of an entry equal to ``element`` in list ``name`` (fonts, fills, cellXfs...), appending it if new."""
        container = _list(self.root, name)
        if name not in self._index:
            self._index[name] = {}
            for i, existing in enumerate(c for c in container if isinstance(c.tag, str)):
                self._index[name].setdefault(canonical(existing), i)
        key = canonical(element)
        if key in self._index[name]:
            return self._index[name][key]
        element = copy.deepcopy(element)
        element.tail = None
        container.append(element)
        index = len([c for c in container if isinstance(c.tag, str)]) - 1
        container.set("count", str(index + 1))
        self._index[name][key] = index
        self.pkg.touch(self.part)
        return index

    def numfmt(self, code: str) -> int:
        """The id of custom number format ``code``, adding it when new."""
        fmts = self._entries("numFmts")
        for f in fmts:
            if f.get("formatCode") == code:
                return int(f.get("numFmtId"))
        used = [int(f.get("numFmtId", "0")) for f in fmts]
        new_id = max([FIRST_CUSTOM_NUMFMT - 1, *used]) + 1
        container = _list(self.root, "numFmts")
        SubElement(container, qn(MAIN_NS, "numFmt"), {"numFmtId": str(new_id), "formatCode": code})
        container.set("count", str(len(fmts) + 1))
        self.pkg.touch(self.part)
        return new_id

    def named_style_xf(self, name: str | None) -> int:
        """The cellStyleXfs index of the named style ``name`` (e.g. Normal, Hyperlink), 0 when absent."""
        for cs in self._entries("cellStyles"):
            if name is not None and cs.get("name", "").lower() == name.lower():
                return int(cs.get("xfId", "0"))
        return 0

    def dxf(self, xml: str | bytes | Element) -> int:
        """Index of a differential format (for conditional formatting), e.g. ``<dxf><fill>...</fill></dxf>``."""
        if not isinstance(xml, Element):
            text = xml.decode() if isinstance(xml, bytes) else xml
            if "xmlns" not in text.split(">", 1)[0]:
                text = text.replace("<dxf", f'<dxf xmlns="{MAIN_NS}"', 1)
            xml = parse(text.encode(), "differential format").root
        return self.add("dxfs", xml)


def merge_styles(pkg: Package, source: Package) -> StyleMap:
    """Add every cell format and differential format of ``source`` to ``pkg``; returns the index maps."""
    src_part = styles_part(source, create=False)
    if src_part is None:
        return StyleMap(xf=[0], dxf=[])
    src = source.doc(src_part).root
    styles = Styles(pkg)

    def entries(name: str) -> list[Element]:
        container = src.find(qn(MAIN_NS, name))
        return [] if container is None else [c for c in container if isinstance(c.tag, str)]

    numfmt = {int(f.get("numFmtId")): styles.numfmt(f.get("formatCode", "General")) for f in entries("numFmts")}
    fonts = [styles.add("fonts", f) for f in entries("fonts")]
    fills = [styles.add("fills", f) for f in entries("fills")]
    borders = [styles.add("borders", b) for b in entries("borders")]
    style_names = {int(cs.get("xfId", "0")): cs.get("name") for cs in entries("cellStyles")}
    named = {i: styles.named_style_xf(style_names.get(i)) for i in range(len(entries("cellStyleXfs")))}

    def remap(xf: Element) -> Element:
        xf = copy.deepcopy(xf)
        for attr, table in (("fontId", fonts), ("fillId", fills), ("borderId", borders)):
            i = int(xf.get(attr, "0"))
            xf.set(attr, str(table[i] if i < len(table) else 0))
        n = int(xf.get("numFmtId", "0"))
        xf.set("numFmtId", str(numfmt.get(n, n)))
        if "xfId" in xf.attrib:
            xf.set("xfId", str(named.get(int(xf.get("xfId")), 0)))
        for attr in ("pivotButton", "quotePrefix"):  # openpyxl writes explicit zeros: drop them so equal formats match
            if xf.get(attr) == "0":
                del xf.attrib[attr]
        return xf

    xfs = [styles.add("cellXfs", remap(xf)) for xf in entries("cellXfs")]
    dxfs = []
    for d in entries("dxfs"):
        d = copy.deepcopy(d)
        for nf in d.findall(qn(MAIN_NS, "numFmt")):
            nf.set("numFmtId", str(styles.numfmt(nf.get("formatCode", "General"))))
        dxfs.append(styles.add("dxfs", d))
    return StyleMap(xf=xfs or [0], dxf=dxfs)


def cell_styles(pkg: Package, specs: dict[str, dict]) -> dict[str, int]:
    """Add named cell formats given as openpyxl style objects and return their ``s=`` indexes in ``pkg``.

    ``specs`` maps a name to keyword styles, e.g. ``{"title": {"font": Font(bold=True, size=14)},
    "text": {"quotePrefix": True}, "money": {"number_format": "£#,##0.00"}}``. Built with openpyxl in a
    scratch workbook, then merged, so any style openpyxl can express is available.
    """
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    names = list(specs)
    for i, name in enumerate(names, start=1):
        cell = ws.cell(i, 1, "x")
        for attr, value in specs[name].items():
            setattr(cell, attr, value)
    buffer = io.BytesIO()
    wb.save(buffer)
    scratch = Package(buffer.getvalue(), "scratch styles")
    mapping = merge_styles(pkg, scratch)
    doc = scratch.doc(scratch.sheets()[0].part).root
    out: dict[str, int] = {}
    for row in doc.iter(qn(MAIN_NS, "c")):
        r = int("".join(ch for ch in row.get("r", "") if ch.isdigit()) or 0)
        if 1 <= r <= len(names):
            out[names[r - 1]] = mapping.cell(int(row.get("s", "0")))
    for name in names:
        out.setdefault(name, 0)
    return out
