"""Highlighting and commenting cells of the user's existing sheets without rewriting their cells.

Highlights are conditional-format rules (one per sheet and colour) whose formula carries a marker,
``ISTEXT("apxl-highlight")``: always true, and recognisable on the next run even after Excel has
re-saved the file or the user has inserted rows. The cells themselves (values, formats, ``s=``)
are never touched, so removing the rule restores exactly what was there. Notes are written with
author ``apxl`` (see ``apxl.io.notes``). Each run first removes the marks of the previous run on
every sheet, then adds the new ones: nothing accumulates, the user's own rules and notes stay.

    >>> annotate_cells("register.xlsx", [Mark("Placements", "C7", "FFC7CE", "PLC-001 (error): ...")], "out.xlsx")
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from apxl.io.notes import cell_position, has_notes_by, update_notes
from apxl.io.opc import CT_WORKSHEET, MAIN_NS, R_NS, Package
from apxl.io.sheetxml import split_sheet
from apxl.io.safe_save import atomic_target
from apxl.io.stylesheet import Styles
from apxl.io.xmlpart import Element, SubElement, local, qn

# CT_Worksheet's child sequence (ECMA-376 part 1, 18.3.1.99).
WORKSHEET_ORDER = [
    "sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData", "sheetCalcPr", "sheetProtection",
    "protectedRanges", "scenarios", "autoFilter", "sortState", "dataConsolidate", "customSheetViews", "mergeCells",
    "phoneticPr", "conditionalFormatting", "dataValidations", "hyperlinks", "printOptions", "pageMargins", "pageSetup",
    "headerFooter", "rowBreaks", "colBreaks", "customProperties", "cellWatches", "ignoredErrors", "smartTags", "drawing",
    "legacyDrawing", "legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls", "webPublishItems", "tableParts",
    "extLst",
]
_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")


@dataclass(frozen=True)
class Mark:
    """A cell of an existing sheet to fill with ``fill`` (RGB hex, e.g. ``FFC7CE``) and/or note with ``comment``."""

    sheet: str
    cell: str
    fill: str | None = None
    comment: str | None = None


@dataclass
class AnnotationResult:
    highlighted: int = 0
    commented: int = 0
    skipped_comments: int = 0  # cells that already had the user's own comment, left as they were
    unknown_sheets: set[str] = field(default_factory=set)
    cleared: set[str] = field(default_factory=set)  # sheets whose previous marks were removed


def annotate_cells(source, marks: Iterable[Mark], out_path, *, tag: str = "apxl") -> AnnotationResult:
    """Copy ``source`` to ``out_path`` with ``marks`` applied and any previous ``tag`` marks removed."""
    with atomic_target(Path(out_path)) as tmp:
        with Package(Path(source)) as pkg:
            result = annotate(pkg, marks, tag=tag)
            pkg.save(tmp)
    return result


def marker(tag: str) -> str:
    return f"{tag}-highlight"


def annotate(pkg: Package, marks: Iterable[Mark], *, tag: str = "apxl") -> AnnotationResult:
    """Apply ``marks`` to an open package (see ``annotate_cells``)."""
    result = AnnotationResult()
    by_sheet: dict[str, list[Mark]] = defaultdict(list)
    for mark in marks:
        by_sheet[mark.sheet.lower()].append(mark)
    sheets = {ref.name.lower(): ref for ref in pkg.sheets()}
    result.unknown_sheets = {m[0].sheet for key, m in by_sheet.items() if key not in sheets}
    token = marker(tag).encode()
    styles: Styles | None = None
    for key, ref in sheets.items():
        if ref.part is None or pkg.content_type(ref.part) != CT_WORKSHEET:
            continue
        todo = by_sheet.get(key, [])
        data = pkg.read(ref.part)
        old_rules = token in data
        old_notes = has_notes_by(pkg, ref.part, tag)
        if not (todo or old_rules or old_notes):
            continue  # untouched: the sheet's parts stay byte for byte as they were
        if styles is None and any(m.fill for m in todo):
            styles = Styles(pkg)
        doc, holder, _ = split_sheet(data, f"sheet '{ref.name}'")
        changed = _clear_rules(doc.root, marker(tag))
        if old_rules or old_notes:
            result.cleared.add(ref.name)
        fills: dict[str, list[str]] = defaultdict(list)
        notes: dict[str, str] = {}
        for m in todo:
            cell = m.cell.upper().replace("$", "")
            if not _REF.match(cell):
                continue
            if m.fill:
                fills[m.fill.upper().lstrip("#")[-6:]].append(cell)
            if m.comment:
                notes[cell] = (notes[cell] + "\n" + m.comment) if cell in notes else m.comment
        if fills:
            _add_rules(doc.root, fills, styles, marker(tag))
            result.highlighted += len({c for cells in fills.values() for c in cells})
            changed = True
        legacy = doc.root.find(qn(MAIN_NS, "legacyDrawing"))
        vml_rid = legacy.get(qn(R_NS, "id")) if legacy is not None else None
        if notes or old_notes:
            outcome, new_rid = update_notes(pkg, ref.part, doc, vml_rid, notes, tag)
            result.commented += outcome.added
            result.skipped_comments += outcome.skipped
            if new_rid != vml_rid:
                if legacy is not None:
                    doc.root.remove(legacy)
                if new_rid is not None:
                    el = Element(qn(MAIN_NS, "legacyDrawing"), {qn(R_NS, "id"): new_rid})
                    _insert(doc.root, el)
                changed = True
        if changed:
            pkg.set_doc(ref.part, doc, CT_WORKSHEET)
    return result


def _rank_name(el: Element) -> str:
    """The schema name that places ``el``: an ``mc:AlternateContent`` sits where its content would."""
    if local(el.tag) == "AlternateContent":
        for choice in el:
            for inner in choice:
                return local(inner.tag)
    return local(el.tag)


def _insert(root: Element, child: Element) -> None:
    rank = {n: i for i, n in enumerate(WORKSHEET_ORDER)}
    mine = rank[local(child.tag)]
    position = len(root)
    for i, existing in enumerate(root):
        r = rank.get(_rank_name(existing))
        if r is not None and r > mine:
            position = i
            break
    root.insert(position, child)


def _clear_rules(root: Element, token: str) -> bool:
    changed = False
    for cf in list(root.findall(qn(MAIN_NS, "conditionalFormatting"))):
        for rule in list(cf.findall(qn(MAIN_NS, "cfRule"))):
            if any(token in (f.text or "") for f in rule.findall(qn(MAIN_NS, "formula"))):
                cf.remove(rule)
                changed = True
        if not cf.findall(qn(MAIN_NS, "cfRule")):
            root.remove(cf)
    return changed


def _max_priority(root: Element) -> int:
    best = 0
    for el in root.iter():
        if local(el.tag) == "cfRule":
            try:
                best = max(best, int(el.get("priority", "0")))
            except ValueError:
                pass
    return best


def sqref(cells: Iterable[str]) -> str:
    """Cells as Excel's compact range list: runs down a column become ``C7:C9``."""
    by_col: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for cell in set(cells):
        row, col = cell_position(cell)
        by_col[col].append((row, cell))
    parts = []
    for col in sorted(by_col):
        items = sorted(by_col[col])
        letters = _REF.match(items[0][1]).group(1)
        start = prev = items[0][0]
        for row, _ in items[1:] + [(None, None)]:
            if row is not None and row == prev + 1:
                prev = row
                continue
            parts.append(f"{letters}{start + 1}" if start == prev else f"{letters}{start + 1}:{letters}{prev + 1}")
            if row is not None:
                start = prev = row
    return " ".join(parts)


def _add_rules(root: Element, fills: dict[str, list[str]], styles: Styles, token: str) -> None:
    # Lowest precedence (highest number): the user's own rules keep priority over our highlights.
    priority = _max_priority(root)
    for colour, cells in fills.items():
        dxf = styles.dxf(
            f'<dxf><fill><patternFill patternType="solid"><fgColor rgb="FF{colour}"/><bgColor rgb="FF{colour}"/></patternFill></fill></dxf>'
        )
        priority += 1
        cf = Element(qn(MAIN_NS, "conditionalFormatting"), {"sqref": sqref(cells)})
        rule = SubElement(cf, qn(MAIN_NS, "cfRule"), {"type": "expression", "dxfId": str(dxf), "priority": str(priority)})
        SubElement(rule, qn(MAIN_NS, "formula")).text = f'ISTEXT("{token}")'
        _insert(root, cf)
