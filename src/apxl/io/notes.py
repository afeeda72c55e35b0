"""Cell comments (notes) in a package: the comments part and the legacy VML drawing that shows them.

Excel stores a note twice: its text in ``xl/commentsN.xml`` and its yellow box as a VML shape
(``xl/drawings/vmlDrawingN.vml``) anchored by row and column. The VML may also hold the user's form
controls (macro buttons in an .xlsm), and Excel's VML is not always well-formed XML, so it is edited
as text: whole ``<v:shape>`` blocks are removed or appended, nothing else is touched.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from apxl.io.opc import CT_COMMENTS, CT_VML, MAIN_NS, RT_COMMENTS, Package
from apxl.io.xmlpart import XML_NS, Element, SubElement, escape_text, parse, qn

_SHAPE = re.compile(rb"<v:shape\b(?:(?!<v:shape\b).)*?</v:shape>\s*", re.S)
_NOTE_ROW = re.compile(rb"<x:Row>\s*(\d+)\s*</x:Row>")
_NOTE_COL = re.compile(rb"<x:Column>\s*(\d+)\s*</x:Column>")
_ANY_SHAPE = re.compile(rb"<v:(?:shape|rect|oval|line|group|roundrect|polyline|image|arc|curve)\b")
_IDMAP = re.compile(rb'<o:idmap\b[^>]*\bdata="([^"]*)"')
_SHAPE_ID = re.compile(rb'\bid="_x0000_s(\d+)"')
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CELL = re.compile(r"^([A-Z]{1,3})(\d+)$")

VML_HEAD = (
    b'<xml xmlns:v="urn:schemas-microsoft-com:vml"\r\n xmlns:o="urn:schemas-microsoft-com:office:office"\r\n'
    b' xmlns:x="urn:schemas-microsoft-com:office:excel">\r\n'
    b' <o:shapelayout v:ext="edit">\r\n  <o:idmap v:ext="edit" data="%s"/>\r\n </o:shapelayout>'
)
SHAPETYPE = (
    b'<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202"\r\n  path="m,l,21600r21600,l21600,xe">\r\n'
    b'  <v:stroke joinstyle="miter"/>\r\n  <v:path gradientshapeok="t" o:connecttype="rect"/>\r\n </v:shapetype>'
)


def cell_position(ref: str) -> tuple[int, int]:
    """``C7`` -> (row 6, column 2), zero-based as VML anchors count."""
    m = _CELL.match(ref.upper().replace("$", ""))
    if not m:
        raise ValueError(ref)
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)) - 1, col - 1


def clean(text: str) -> str:
    """Text safe for XML (control characters dropped)."""
    return _ILLEGAL.sub("", text)


@dataclass
class NoteResult:
    added: int = 0
    removed: int = 0
    skipped: int = 0  # cells that already carry the user's own comment
    changed_sheet: bool = False  # the worksheet XML needs a new or removed <legacyDrawing>


def _shape(shape_id: int, row: int, col: int, lines: int) -> bytes:
    height = min(max(lines, 3), 12)
    return (
        f'<v:shape id="_x0000_s{shape_id}" type="#_x0000_t202" style=\'position:absolute;margin-left:59.25pt;'
        f"margin-top:1.5pt;width:320pt;height:{15 * height}pt;z-index:{shape_id % 1024 or 1};visibility:hidden' fillcolor=\"#ffffe1\" o:insetmode=\"auto\">\r\n"
        '  <v:fill color2="#ffffe1"/>\r\n  <v:shadow on="t" color="black" obscured="t"/>\r\n  <v:path o:connecttype="none"/>\r\n'
        "  <v:textbox style='mso-direction-alt:auto'><div style='text-align:left'></div></v:textbox>\r\n"
        '  <x:ClientData ObjectType="Note">\r\n   <x:MoveWithCells/>\r\n   <x:SizeWithCells/>\r\n'
        f"   <x:Anchor>{col + 1}, 15, {max(row - 1, 0)}, 10, {col + 6}, 15, {max(row - 1, 0) + height + 1}, 4</x:Anchor>\r\n"
        f"   <x:AutoFill>False</x:AutoFill>\r\n   <x:Row>{row}</x:Row>\r\n   <x:Column>{col}</x:Column>\r\n  </x:ClientData>\r\n </v:shape>"
    ).encode()


def _blocks(data: bytes) -> list[int]:
    m = _IDMAP.search(data)
    if not m:
        return []
    return [int(x) for x in re.findall(rb"\d+", m.group(1))]


def used_vml_blocks(pkg: Package) -> set[int]:
    """Shape-id blocks (``o:idmap``) already claimed by any VML drawing in the workbook."""
    out: set[int] = set()
    for part in pkg.parts():
        if part.lower().endswith(".vml") and pkg.size(part):
            out.update(_blocks(pkg.read(part)))
    return out


def _comment_element(ref: str, author_id: int, text: str, author: str) -> Element:
    """One note as plain text headed by the author, as Excel shows a note's author in bold above it."""
    c = Element(qn(MAIN_NS, "comment"), {"ref": ref, "authorId": str(author_id), "shapeId": "0"})
    t = SubElement(SubElement(c, qn(MAIN_NS, "text")), qn(MAIN_NS, "t"))
    t.text = f"{author}:\n{clean(text)}"
    t.set(qn(XML_NS, "space"), "preserve")
    return c


def has_notes_by(pkg: Package, sheet_part: str, author: str) -> bool:
    for _, part in pkg.targets(sheet_part, RT_COMMENTS):
        if pkg.exists(part) and f">{escape_text(author)}<".encode() in pkg.read(part):
            return True
    return False


def update_notes(pkg: Package, sheet_part: str, sheet_doc, vml_rid: str | None, notes: dict[str, str], author: str) -> tuple[NoteResult, str | None]:
    """Replace ``author``'s comments on a sheet with ``notes`` (cell -> text), keeping everyone else's.

    ``vml_rid`` is the sheet's ``<legacyDrawing r:id>`` (None if it has none). Returns what changed and
    the legacy drawing's relationship id afterwards (None when the sheet no longer needs one).
    """
    result = NoteResult()
    comments_part = next((p for _, p in pkg.targets(sheet_part, RT_COMMENTS) if pkg.exists(p)), None)
    comments_rel = next((r.id for r, p in pkg.targets(sheet_part, RT_COMMENTS)), None)
    others: set[str] = set()
    doc = None
    if comments_part is not None:
        doc = pkg.doc(comments_part)
        root = doc.root
        authors_el = root.find(qn(MAIN_NS, "authors"))
        authors = [a.text or "" for a in authors_el] if authors_el is not None else []
        mine = {str(i) for i, a in enumerate(authors) if a == author}
        clist = root.find(qn(MAIN_NS, "commentList"))
        for c in list(clist) if clist is not None else []:
            if c.get("authorId") in mine:
                clist.remove(c)
                result.removed += 1
            else:
                others.add(c.get("ref", "").upper())
        if result.removed:
            pkg.touch(comments_part)
    wanted = {ref: text for ref, text in notes.items() if ref.upper() not in others}
    result.skipped = len(notes) - len(wanted)
    if wanted:
        if doc is None:
            folder = sheet_part.rsplit("/", 2)[0] if sheet_part.count("/") >= 2 else "xl"
            comments_part = pkg.fresh_name(f"{folder}/comments{{}}.xml")
            doc = parse(f'<comments xmlns="{MAIN_NS}"><authors/><commentList/></comments>'.encode(), comments_part)
            pkg.set_doc(comments_part, doc, CT_COMMENTS)
            comments_rel = pkg.add_rel(sheet_part, RT_COMMENTS, comments_part)
        root = doc.root
        authors_el = root.find(qn(MAIN_NS, "authors"))
        if authors_el is None:
            authors_el = Element(qn(MAIN_NS, "authors"))
            root.insert(0, authors_el)
        names = [a.text or "" for a in authors_el]
        if author in names:
            author_id = names.index(author)
        else:
            SubElement(authors_el, qn(MAIN_NS, "author")).text = author
            author_id = len(names)
        clist = root.find(qn(MAIN_NS, "commentList"))
        if clist is None:
            clist = SubElement(root, qn(MAIN_NS, "commentList"))
        for ref, text in wanted.items():
            clist.append(_comment_element(ref, author_id, text, author))
        result.added = len(wanted)
        pkg.touch(comments_part)
    elif comments_part is not None and doc is not None:
        clist = doc.root.find(qn(MAIN_NS, "commentList"))
        if clist is None or not len(clist):
            pkg.remove(comments_part)
            pkg.remove_rel(sheet_part, comments_rel)
    if not (result.added or result.removed):
        return result, vml_rid
    return result, _update_vml(pkg, sheet_part, vml_rid, others, wanted, result)


def _update_vml(pkg: Package, sheet_part: str, vml_rid: str | None, keep: set[str], add: dict[str, str], result: NoteResult) -> str | None:
    """Make the sheet's VML hold a Note shape for exactly the user's kept comments plus ours."""
    from apxl.io.opc import RT_VML

    vml_part = None
    if vml_rid is not None:
        vml_part = next((p for r, p in pkg.targets(sheet_part, RT_VML) if r.id == vml_rid and pkg.exists(p)), None)
    keep_pos = {cell_position(ref) for ref in keep if _CELL.match(ref)}
    if vml_part is None:
        if not add:
            return vml_rid
        taken = used_vml_blocks(pkg)
        needed = len(add) // 1023 + 1
        blocks, b = [], 1
        while len(blocks) < needed:
            if b not in taken:
                blocks.append(b)
            b += 1
        data = VML_HEAD % ",".join(map(str, blocks)).encode() + SHAPETYPE + b"</xml>"
        folder = sheet_part.rsplit("/", 2)[0] if sheet_part.count("/") >= 2 else "xl"
        vml_part = pkg.fresh_name(f"{folder}/drawings/vmlDrawing{{}}.vml")
        pkg.ensure_default("vml", CT_VML)
        pkg.write(vml_part, data)
        vml_rid = pkg.add_rel(sheet_part, RT_VML, vml_part)
        result.changed_sheet = True
    data = pkg.read(vml_part)

    def drop(m: re.Match) -> bytes:
        block = m.group(0)
        if b'ObjectType="Note"' not in block:
            return block
        row, col = _NOTE_ROW.search(block), _NOTE_COL.search(block)
        if row and col and (int(row.group(1)), int(col.group(1))) in keep_pos:
            return block
        return b""

    data = _SHAPE.sub(drop, data)
    if add:
        if b'id="_x0000_t202"' not in data:
            data = _insert_before_close(data, SHAPETYPE)
        blocks = _blocks(data)
        used = [int(x) for x in _SHAPE_ID.findall(data)]
        next_id = max(used + [min(blocks or [1]) * 1024]) + 1
        capacity_end = (max(blocks or [1]) + 1) * 1024
        if next_id + len(add) >= capacity_end:  # claim more 1024-id blocks so ids stay inside the idmap
            taken = used_vml_blocks(pkg) | set(blocks)
            extra, b = [], max(blocks or [1]) + 1
            while next_id + len(add) >= (max(blocks + extra + [0]) + 1) * 1024:
                if b not in taken:
                    extra.append(b)
                b += 1
            all_blocks = ",".join(map(str, blocks + extra)).encode()
            data = _IDMAP.sub(lambda m: m.group(0).replace(b'data="' + m.group(1) + b'"', b'data="' + all_blocks + b'"'), data, count=1)
        shapes = []
        for i, (ref, text) in enumerate(add.items()):
            row, col = cell_position(ref)
            shapes.append(_shape(next_id + i, row, col, text.count("\n") + 2 + len(text) // 60))
        data = _insert_before_close(data, b"".join(shapes))
    if not _ANY_SHAPE.search(data):  # nothing left to draw: the sheet no longer needs a legacy drawing
        pkg.remove(vml_part)
        pkg.remove_rel(sheet_part, vml_rid)
        result.changed_sheet = True
        return None
    pkg.write(vml_part, data)
    return vml_rid


def _insert_before_close(data: bytes, piece: bytes) -> bytes:
    end = data.rfind(b"</xml>")
    if end < 0:
        return data + piece
    return data[:end] + piece + b"\r\n" + data[end:]
