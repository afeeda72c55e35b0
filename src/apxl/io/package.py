"""Adding or replacing whole sheets in an .xlsx/.xlsm package, leaving every other part as it was.

openpyxl's load-and-save rewrites the whole workbook and drops what it does not model (cached
formula values, charts and images on existing sheets, x14 data validations and conditional
formats, slicers, pivot caches, threaded comments, printer settings...). Here a sheet built with
openpyxl in a *scratch* workbook is copied into the user's package part by part instead:

    >>> from openpyxl import Workbook
    >>> scratch = Workbook(); ws = scratch.active; ws.title = "Provider summary"
    >>> ws.append(["Provider", "Pupils"]); ws.append(["PR1", 12])
    >>> replace_sheets("register.xlsx", scratch, ["Provider summary"], "register-summary.xlsx")

The copied sheet brings everything it links to (tables, hyperlinks, drawings, native charts,
images, comments). Its cell formats are appended to the target's styles.xml (identical entries
reused) and its ``s=`` indexes remapped; table ids and names are kept unique; a sheet of the same
name is replaced in its tab position (its old parts removed) and a new one goes last.
Only workbook.xml, its relationships, [Content_Types].xml and styles.xml change besides the
sheet's own parts (and calcChain.xml when the replaced sheet had formulas); docProps/app.xml's
cached list of sheet titles is left as it was (Excel and LibreOffice rebuild it).

To highlight and comment cells of existing sheets without touching their cells see
``apxl.io.annotate.annotate_cells``; ``Package`` (``apxl.io.opc``) is the lower-level editor both use.
"""
from __future__ import annotations

import io
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from apxl.errors import ApxlError
from apxl.io.opc import (
    CT_TABLE,
    CT_WORKSHEET,
    MAIN_NS,
    R_NS,
    RT_CALC_CHAIN,
    RT_SHARED_STRINGS,
    RT_WORKSHEET,
    Package,
    SheetRef,
)
from apxl.io.sheetxml import split_sheet
from apxl.io.safe_save import atomic_target
from apxl.io.stylesheet import StyleMap, merge_styles
from apxl.io.xmlpart import SubElement, local, parse, qn

__all__ = ["replace_sheets", "put_sheet", "remove_sheet", "open_scratch", "Package"]


def open_scratch(scratch) -> Package:
    """A scratch workbook as a package: an openpyxl ``Workbook``, a path, or the bytes of an .xlsx."""
    if isinstance(scratch, Package):
        return scratch
    if isinstance(scratch, (str, Path)):
        return Package(Path(scratch))
    if isinstance(scratch, (bytes, bytearray)):
        return Package(bytes(scratch), "scratch workbook")
    buffer = io.BytesIO()
    scratch.save(buffer)  # an openpyxl Workbook
    return Package(buffer.getvalue(), "scratch workbook")


def replace_sheets(source, scratch, sheet_names: Iterable[str], out_path, *, remove: Iterable[str] = ()) -> Path:
    """Copy ``sheet_names`` from ``scratch`` into a copy of ``source`` written atomically at ``out_path``.

    ``source``: the user's .xlsx/.xlsm. ``scratch``: an openpyxl Workbook (or a path / bytes of one)
    holding the new sheets. A sheet of the same name in ``source`` is replaced in place; others are
    added after the last sheet. ``remove`` names sheets to delete (e.g. a summary for a term no longer
    wanted). ``out_path`` may equal ``source`` (the caller keeps a backup: see ``apxl.io.safe_save``).
    """
    src = open_scratch(scratch)
    out_path = Path(out_path)
    with atomic_target(out_path) as tmp:
        with Package(Path(source)) as pkg:  # closed before the rename: Windows cannot replace an open file
            apply_sheets(pkg, src, sheet_names, remove=remove)
            pkg.save(tmp)
    return out_path


def apply_sheets(pkg: Package, src: Package, sheet_names: Iterable[str], *, remove: Iterable[str] = ()) -> list[str]:
    """``replace_sheets`` on open packages; returns the part names written."""
    names = list(sheet_names)
    for name in remove:
        remove_sheet(pkg, name)
    style_map = merge_styles(pkg, src)
    written = []
    for name in names:
        ref = src.sheet(name)
        if ref is None or ref.part is None:
            raise ApxlError(f"The scratch workbook has no sheet named '{name}'.")
        written.append(put_sheet(pkg, name, src, ref.part, style_map, state=ref.state))
    return written


# -- one sheet -----------------------------------------------------------------------------------------


@dataclass
class _Copy:
    src: Package
    dst: Package
    styles: StyleMap | None
    memo: dict[str, str] = field(default_factory=dict)
    table_ids: set[int] = field(default_factory=set)
    names: set[str] = field(default_factory=set)  # table and defined names in use, lower case
    shared: list[bytes] | None = None


def put_sheet(pkg: Package, name: str, src: Package, src_part: str, styles: StyleMap | None = None, *, state: str | None = None) -> str:
    """Add sheet ``name`` to ``pkg`` from ``src_part`` of ``src`` (replacing a sheet of that name).

    ``styles`` maps the source's style indexes into ``pkg`` (from ``merge_styles``); None when the
    sheet XML already uses ``pkg``'s indexes. ``state`` ('visible', 'hidden', 'veryHidden') sets the
    tab's visibility; None keeps a replaced sheet's. Returns the new sheet's part name.
    """
    _check_sheet_name(name)
    wb_part = pkg.workbook_part
    wb = pkg.workbook()
    existing = pkg.sheet(name)
    if existing is not None and existing.part is not None:
        _drop_sheet_parts(pkg, existing)
        dst_part, element = existing.part, existing.element
        if element.get("name") != name:
            element.set("name", name)
            pkg.touch(wb_part)
    else:
        folder = posixpath.dirname(wb_part)
        dst_part = pkg.fresh_name(posixpath.join(folder, "worksheets", "sheet{}.xml"))
        rid = pkg.add_rel(wb_part, RT_WORKSHEET, dst_part)
        sheets_el = wb.root.find(qn(MAIN_NS, "sheets"))
        if sheets_el is None:
            raise ApxlError(f"{pkg.what} has no list of sheets: the file may be corrupt.")
        sheet_id = max([r.sheet_id for r in pkg.sheets()] + [0]) + 1
        element = SubElement(sheets_el, qn(MAIN_NS, "sheet"), {"name": name, "sheetId": str(sheet_id), qn(R_NS, "id"): rid})
        pkg.touch(wb_part)
    if state is not None and state != (element.get("state") or "visible"):
        if state == "visible":
            del element.attrib["state"]
        else:
            element.set("state", state)
        pkg.touch(wb_part)
    ctx = _Copy(src=src, dst=pkg, styles=styles)
    ctx.table_ids, ctx.names = _names_in_use(pkg)
    ctx.shared = _shared_strings(src)
    pkg.write(dst_part, b"")  # reserve the name before children take fresh names
    _copy(ctx, src_part, dst_part)
    return dst_part


def remove_sheet(pkg: Package, name: str) -> bool:
    """Delete sheet ``name`` and the parts only it used; False when there is no such sheet."""
    ref = pkg.sheet(name)
    if ref is None:
        return False
    sheets = pkg.sheets()
    if len([s for s in sheets if s.state in (None, "visible")]) <= 1 and ref.state in (None, "visible"):
        raise ApxlError(f"'{name}' is the only visible sheet: a workbook needs at least one.")
    index = [s.name for s in sheets].index(ref.name)
    wb_part = pkg.workbook_part
    root = pkg.workbook().root
    root.find(qn(MAIN_NS, "sheets")).remove(ref.element)
    _renumber_local_names(root, index)
    if ref.part:
        _drop_sheet_parts(pkg, ref)
        pkg.remove(ref.part)
    pkg.remove_rel(wb_part, ref.rid)
    pkg.touch(wb_part)
    return True


def _renumber_local_names(root, removed_index: int) -> None:
    """Sheet-scoped defined names point at sheets by position: drop the removed sheet's, shift later ones."""
    names = root.find(qn(MAIN_NS, "definedNames"))
    if names is None:
        return
    for dn in list(names):
        lid = dn.get("localSheetId")
        if lid is None:
            continue
        if int(lid) == removed_index:
            names.remove(dn)
        elif int(lid) > removed_index:
            dn.set("localSheetId", str(int(lid) - 1))
    if not len(names):
        root.remove(names)
    views = root.find(qn(MAIN_NS, "bookViews"))
    for view in views if views is not None else []:
        for attr in ("activeTab", "firstSheet"):
            v = view.get(attr)
            if v is not None and int(v) >= removed_index and int(v) > 0:
                view.set(attr, str(int(v) - 1))


_INVALID_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def _check_sheet_name(name: str) -> None:
    if not name or len(name) > 31 or _INVALID_SHEET_CHARS.search(name) or name.startswith("'") or name.endswith("'"):
        raise ApxlError(f"'{name}' cannot be a sheet name: Excel allows up to 31 characters, none of []:*?/\\.")


def _drop_sheet_parts(pkg: Package, ref: SheetRef) -> None:
    """Remove a sheet's own parts (tables, drawings, comments...) that nothing else uses; keep its workbook entry."""
    keep = pkg.reachable("", skip={ref.part})
    for part in pkg.reachable(ref.part) - keep - {ref.part}:
        pkg.remove(part)
    rp = ref.part
    pkg.remove(rp)
    _prune_calc_chain(pkg, ref.sheet_id)


def _prune_calc_chain(pkg: Package, sheet_id: int) -> None:
    """calcChain.xml lists formula cells by sheetId; entries for a replaced sheet would make Excel repair the file."""
    wb_part = pkg.workbook_part
    for rel, part in pkg.targets(wb_part, RT_CALC_CHAIN):
        if not pkg.exists(part):
            continue
        root = pkg.doc(part).root
        current, changed = None, False
        kept = []
        for c in list(root):
            current = c.get("i", current)
            if current == str(sheet_id):
                root.remove(c)
                changed = True
            else:
                kept.append((c, current))
        if not changed:
            continue
        for c, i in kept:  # 'i' may be left out when equal to the previous cell's: make it explicit
            if i is not None:
                c.set("i", i)
        if len(root):
            pkg.touch(part)
        else:
            pkg.remove(part)
            pkg.remove_rel(wb_part, rel.id)


def _names_in_use(pkg: Package) -> tuple[set[int], set[str]]:
    ids: set[int] = set()
    names: set[str] = set()
    for part in pkg.parts():
        if part.endswith(".xml") and pkg.content_type(part) == CT_TABLE and pkg.size(part):
            root = pkg.doc(part).root
            ids.add(int(root.get("id", "0") or 0))
            for attr in ("name", "displayName"):
                if root.get(attr):
                    names.add(root.get(attr).lower())
    dn = pkg.workbook().root.find(qn(MAIN_NS, "definedNames"))
    for d in dn if dn is not None else []:
        names.add(d.get("name", "").lower())
    return ids, names


def _shared_strings(src: Package) -> list[bytes] | None:
    """The source's shared strings as raw ``<si>`` contents (for re-writing its cells as inline strings)."""
    for _, part in src.targets(src.workbook_part, RT_SHARED_STRINGS):
        if src.exists(part):
            data = src.read(part)
            parse(data, "shared strings")  # validate with defusedxml before slicing it as text
            return [m.group(1) or b"" for m in re.finditer(rb"<(?:[\w.-]+:)?si(?:\s[^>]*)?(?:/>|>(.*?)</(?:[\w.-]+:)?si>)", data, re.S)]
    return None


def _pattern(part: str) -> str:
    folder, name = posixpath.split(part)
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    base = stem.rstrip("0123456789") or stem
    return posixpath.join(folder, base + "{}" + (f".{ext}" if ext else ""))


def _copy(ctx: _Copy, src_part: str, dst_part: str) -> None:
    ctx.memo[src_part] = dst_part
    data = ctx.src.read(src_part)
    content_type = ctx.src.content_type(src_part)
    if content_type == CT_WORKSHEET and (ctx.styles is not None or ctx.shared is not None or b"tabSelected" in data):
        data = _sheet_xml(ctx, data)
    elif content_type == CT_TABLE:
        data = _table_xml(ctx, data)
    for rel in ctx.src.rels(src_part):
        if rel.external:
            ctx.dst.add_rel(dst_part, rel.type, external_target=rel.target, rid=rel.id)
            continue
        child = ctx.src.name(ctx.src.resolve(src_part, rel.target))
        if child is None:
            continue  # a dangling relationship in the scratch workbook: nothing to copy
        if child not in ctx.memo:
            child_dst = ctx.dst.fresh_name(_pattern(child))
            ctx.dst.write(child_dst, b"")
            _copy(ctx, child, child_dst)
        ctx.dst.add_rel(dst_part, rel.type, ctx.memo[child], rid=rel.id)
    ctx.dst.write(dst_part, data, content_type)


_STYLE_ATTR = re.compile(rb'(<(?:[A-Za-z_][\w.-]*:)?(?:c|row)\b[^>]*?\ss=")(\d+)(")')
_SHARED_CELL = re.compile(rb'<((?:[A-Za-z_][\w.-]*:)?)c\b([^>]*?)\st="s"([^>]*)>\s*<(?:[\w.-]+:)?v>\s*(\d+)\s*</(?:[\w.-]+:)?v>\s*</(?:[\w.-]+:)?c>')


def _sheet_xml(ctx: _Copy, data: bytes) -> bytes:
    """A scratch worksheet made fit for the target: styles remapped, shared strings inlined, not tab-selected."""
    doc, holder, body = split_sheet(data, "scratch worksheet")
    root = doc.root
    if ctx.styles is not None:
        table = ctx.styles.xf
        body = _STYLE_ATTR.sub(lambda m: m.group(1) + str(table[int(m.group(2))] if int(m.group(2)) < len(table) else 0).encode() + m.group(3), body)
        cols = root.find(qn(MAIN_NS, "cols"))
        for col in cols if cols is not None else []:
            if col.get("style") is not None:
                col.set("style", str(ctx.styles.cell(int(col.get("style")))))
        for el in root.iter():
            if "dxfId" in el.attrib:
                el.set("dxfId", str(ctx.styles.diff(int(el.get("dxfId")))))
    if ctx.shared is not None:
        shared = ctx.shared

        def inline(m: re.Match) -> bytes:
            i = int(m.group(4))
            text = shared[i] if i < len(shared) else b""
            p = m.group(1)
            return b"<" + p + b"c" + m.group(2) + b' t="inlineStr"' + m.group(3) + b"><" + p + b"is>" + text + b"</" + p + b"is></" + p + b"c>"

        body = _SHARED_CELL.sub(inline, body)
    views = root.find(qn(MAIN_NS, "sheetViews"))
    for view in views if views is not None else []:
        # Two selected tabs would group the sheets in Excel, and edits would go to both.
        view.attrib.pop("tabSelected", None)
    if holder is not None:
        doc.raw[holder] = body
    return doc.serialize()


def _table_xml(ctx: _Copy, data: bytes) -> bytes:
    """Give a copied table a workbook-unique id and name (Excel refuses duplicates)."""
    doc = parse(data, "scratch table")
    root = doc.root
    new_id = max(ctx.table_ids | {0}) + 1
    ctx.table_ids.add(new_id)
    root.set("id", str(new_id))
    wanted = root.get("displayName") or root.get("name") or f"Table{new_id}"
    name, n = wanted, 2
    while name.lower() in ctx.names:
        name = f"{wanted}_{n}"
        n += 1
    ctx.names.add(name.lower())
    root.set("displayName", name)
    if root.get("name") is not None:
        root.set("name", name)
    if ctx.styles is not None:
        for el in root.iter():
            for attr in list(el.attrib):
                if local(attr).endswith("DxfId") or local(attr) == "dxfId":
                    el.set(attr, str(ctx.styles.diff(int(el.get(attr)))))
    return doc.serialize()
