"""Adding accepted returned placements to the register workbook: new rows with provenance, nothing else touched.

The rows are written into the Placements sheet's XML inside the user's package (apxl.io.opc), not by
loading and re-saving the workbook: every other part (other sheets, formulas and cached values,
charts, x14 data validations, pivot tables, VBA) stays byte for byte. Only the Placements sheet, its
table's range and, when a new cell format is needed (a date format, Excel's quote prefix for text
that looks like a formula), styles.xml change. Text is written as inline strings, never formulas.
"""
from __future__ import annotations

import copy
import re
import shutil
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils import column_index_from_string, get_column_letter, range_boundaries

from apxl.core.parse import parse_register
from apxl.core.reconcile import match_placements
from apxl.core.tables import SHEETS, columns, header_lookup, norm_header
from apxl.errors import ApxlError
from apxl.io.opc import MAIN_NS, RT_TABLE, Package, split_sheet
from apxl.io.reader import read_raw_tables
from apxl.io.returns.cells import DATE_FORMAT, clean_text, is_formula_like, plain
from apxl.io.safe_save import atomic_target, make_backup, resolve_output
from apxl.io.stylesheet import Styles
from apxl.io.xmlpart import SubElement, escape_text, qn

# Where each added row came from (seed 003_57d480e12197286d.txt §11.5: one register the LA can
# trust needs to show which school told it about a placement, in which return, and when).
PROVENANCE = {"school": "Returned by school (URN)", "file": "Return file", "received": "Date received"}
_KINDS = {c.field: c.kind for c in columns(SHEETS["placements"].model)}
_EPOCH = datetime(1899, 12, 30)
_ROW = re.compile(rb"<(?:[\w.-]+:)?row\b[^>]*?\br=\"(\d+)\"[^>]*?(?:/>|>.*?</(?:[\w.-]+:)?row\s*>)", re.S)
_CELL = re.compile(rb"<(?:[\w.-]+:)?c\b[^>]*?\br=\"([A-Z]{1,3})(\d+)\"[^>]*?(?:/>|>.*?</(?:[\w.-]+:)?c\s*>)", re.S)
_STYLE = re.compile(rb"\bs=\"(\d+)\"")


@dataclass
class Addition:
    """Rows of one return to add: typed placements (contract fields) and where they came from."""

    placements: pd.DataFrame
    school_urn: str | None
    file_name: str
    received: date


def merge_into_register(register_path: str | Path, additions: list[Addition], *, output: str | Path | None = None,
                        in_place: bool = False) -> tuple[Path, pd.DataFrame]:
    """Append the additions to the register's Placements table; returns the path written and the rows added.

    Writes ``<register>-merged.xlsx`` unless ``output`` or ``in_place`` (a timestamped backup first).
    A placement already on the register (same Placement ID, or same UPN + provider + start date) is
    never added again, so merging the same return twice changes nothing the second time. Only the new
    rows and, when absent, the three provenance columns are written.
    """
    source = Path(register_path)
    target = resolve_output(source, output, in_place, tag="merged")
    raws, missing = read_raw_tables(source)
    raw = raws["placements"]
    new = _new_rows(parse_register(raws, source=str(source), missing=missing).placements, additions)
    if in_place:
        make_backup(source)
    if not len(new):  # nothing new: the copy is the register, byte for byte
        if target != source:
            with atomic_target(target) as tmp:
                shutil.copyfile(source, tmp)
        return target, new
    with atomic_target(target) as tmp:
        with Package(source) as pkg:
            _Writer(pkg, raw).append(new)
            pkg.save(tmp)
    return target, new


def _new_rows(current: pd.DataFrame, additions: list[Addition]) -> pd.DataFrame:
    """The additions not already on the register, nor repeated among themselves, with provenance columns."""
    parts = [a.placements.assign(_school=a.school_urn, _file=a.file_name, _received=pd.Timestamp(a.received)) for a in additions if len(a.placements)]
    if not parts:
        return pd.DataFrame(columns=[*current.columns, "_school", "_file", "_received"])
    frame = pd.concat(parts, ignore_index=True)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    m = match_placements(current, frame)
    return frame[m["register_row"].isna().to_numpy() & m["duplicate_of"].isna().to_numpy()]


class _Writer:
    """Rows appended to one sheet of an open package, cell by cell in the sheet's own XML."""

    def __init__(self, pkg: Package, raw):
        self.pkg, self.raw = pkg, raw
        ref = pkg.sheet(raw.sheet)
        if ref is None or ref.part is None:
            raise ApxlError(f"The register has no sheet '{raw.sheet}' to add placements to.")
        self.part = ref.part
        self.doc, self.holder, self.body = split_sheet(pkg.read(self.part), f"{raw.sheet} sheet")
        if self.holder is None:
            raise ApxlError(f"The {raw.sheet} sheet has no cell data to add rows to.")
        opening = re.match(rb"<([\w.-]+:)?sheetData", self.body)
        self.prefix = (opening.group(1) or b"").decode()
        self.styles: Styles | None = None
        self.xf_cache: dict[tuple[int, str], int] = {}
        lookup = header_lookup(SHEETS["placements"].model)
        self.letters: dict[str, str] = {}
        for h, letter in zip(raw.headers, raw.letters):
            f = lookup.get(norm_header(h))
            if f and f not in self.letters:
                self.letters[f] = letter
        self.table_part, self.table = self._table()

    # -- the pieces of the sheet ----------------------------------------------------------------------
    def _table(self):
        col = column_index_from_string(next(iter(self.letters.values())))
        for _, part in self.pkg.targets(self.part, RT_TABLE):
            root = self.pkg.doc(part).root
            min_col, min_row, max_col, _ = range_boundaries(root.get("ref"))
            if min_row == self.raw.header_row and min_col <= col <= max_col:
                if int(root.get("totalsRowCount", "0") or 0):
                    raise ApxlError(f"The Placements table '{root.get('displayName')}' has a totals row: remove it so returned placements can be added below the last row.")
                return part, root
        return None, None

    def _rows(self) -> dict[int, tuple[int, int]]:
        return {int(m.group(1)): (m.start(), m.end()) for m in _ROW.finditer(self.body)}

    def _cells(self, chunk: bytes) -> dict[str, tuple[int, int, bytes]]:
        return {m.group(1).decode(): (m.start(), m.end(), m.group(0)) for m in _CELL.finditer(chunk)}

    # -- styles ----------------------------------------------------------------------------------------
    def _xf(self, base: int, need: str) -> int:
        """The cell format ``base`` with a date number format (need='date') or Excel's quote prefix (need='text')."""
        key = (base, need)
        if key in self.xf_cache:
            return self.xf_cache[key]
        if self.styles is None:
            self.styles = Styles(self.pkg)
        xfs = self.styles._entries("cellXfs")
        xf = copy.deepcopy(xfs[base] if base < len(xfs) else xfs[0])
        if need == "date":
            fmt_id = int(xf.get("numFmtId", "0"))
            code = BUILTIN_FORMATS.get(fmt_id) or next((f.get("formatCode") for f in self.styles._entries("numFmts") if int(f.get("numFmtId")) == fmt_id), "General")
            if is_date_format(code):
                self.xf_cache[key] = base
                return base
            xf.set("numFmtId", str(self.styles.numfmt(DATE_FORMAT)))
            xf.set("applyNumberFormat", "1")
        else:
            xf.set("quotePrefix", "1")
        self.xf_cache[key] = self.styles.add("cellXfs", xf)
        return self.xf_cache[key]

    def _cell(self, letter: str, row: int, value: Any, style: int, yn: bool = False) -> bytes:
        """One cell's XML: numbers and dates as values, everything else as an inline string (never a formula)."""
        value = plain(value)
        ref, p = f"{letter}{row}", self.prefix
        if isinstance(value, bool):
            value = ("Y" if value else "N") if yn else ("TRUE" if value else "FALSE")
        if isinstance(value, (datetime, date)):
            serial = (datetime(value.year, value.month, value.day) - _EPOCH).days
            return f'<{p}c r="{ref}" s="{self._xf(style, "date")}"><{p}v>{serial}</{p}v></{p}c>'.encode()
        if isinstance(value, (int, float)):
            text = str(int(value)) if float(value).is_integer() else repr(float(value))
            return f'<{p}c r="{ref}"{_s(style)}><{p}v>{text}</{p}v></{p}c>'.encode()
        text = clean_text(str(value))
        s = self._xf(style, "text") if is_formula_like(text) else style
        return f'<{p}c r="{ref}"{_s(s)} t="inlineStr"><{p}is><{p}t xml:space="preserve">{escape_text(text)}</{p}t></{p}is></{p}c>'.encode()

    # -- writing ---------------------------------------------------------------------------------------
    def append(self, new: pd.DataFrame) -> None:
        raw = self.raw
        header_row = raw.header_row
        first = (int(raw.frame.index.max()) if len(raw.frame) else header_row) + 1
        last = first + len(new) - 1
        prov = self._provenance()
        plan: dict[int, dict[str, tuple[Any, bool]]] = {}
        for i, rec in enumerate(new.to_dict("records")):
            cells = {letter: (rec.get(f), _KINDS.get(f) == "yn") for f, letter in self.letters.items()}
            cells.update({letter: (rec[f"_{key}"], False) for key, letter in prov["letters"].items()})
            plan[first + i] = cells
        if prov["added"]:
            plan[header_row] = {letter: (header, False) for letter, header in prov["added"].items()}
        self._write_rows(plan, template_row=first - 1 if first - 1 > header_row else None, header_row=header_row)
        self._dimension(last, prov["last_col"])
        if self.table is not None:
            self._extend_table(last, prov)
        self.doc.raw[self.holder] = self.body
        self.pkg.set_doc(self.part, self.doc)

    def _provenance(self) -> dict:
        raw = self.raw
        found: dict[str, str] = {}
        wanted = {norm_header(v): k for k, v in PROVENANCE.items()}
        for h, letter in zip(raw.headers, raw.letters):
            key = wanted.get(norm_header(h))
            if key and key not in found:
                found[key] = letter
        next_col = column_index_from_string(raw.letters[-1]) + 1
        if self.table is not None:
            next_col = max(next_col, range_boundaries(self.table.get("ref"))[2] + 1)
        header_cells = self._cells(self._row_chunk(raw.header_row) or b"")
        added: dict[str, str] = {}
        for key, header in PROVENANCE.items():
            if key in found:
                continue
            letter = get_column_letter(next_col)
            next_col += 1
            if letter in header_cells and b"<v>" in header_cells[letter][2] or (letter in header_cells and b"<is>" in header_cells[letter][2]):
                raise ApxlError(f"Cannot add the '{header}' column to {raw.sheet}: cell {letter}{raw.header_row} is already used.")
            found[key] = letter
            added[letter] = header
        last_col = max(column_index_from_string(x) for x in [*self.letters.values(), *found.values(), raw.letters[-1]])
        return {"letters": found, "added": added, "last_col": last_col}

    def _row_chunk(self, row: int) -> bytes | None:
        span = self._rows().get(row)
        return self.body[span[0]:span[1]] if span else None

    def _write_rows(self, plan: dict[int, dict[str, tuple[Any, bool]]], template_row: int | None, header_row: int) -> None:
        rows = self._rows()
        template = self._cells(self._row_chunk(template_row) or b"") if template_row else {}
        header = self._cells(self._row_chunk(header_row) or b"")
        pieces = []
        body = self.body
        if re.fullmatch(rb"<[^>]*/>\s*", body):  # an empty <sheetData/>: open it up
            body = body.rstrip()[:-2].rstrip() + b"></" + self.prefix.encode() + b"sheetData>"
            rows = {}
        end_tag = body.rindex(b"</")
        for r in sorted(plan):
            existing = rows.get(r)
            base_cells = self._cells(body[existing[0]:existing[1]]) if existing else {}
            xml = {}
            for letter, (value, yn) in plan[r].items():
                if value is None or (not isinstance(value, str) and pd.isna(value)):
                    continue
                style_src = base_cells.get(letter) or (header.get(self.raw.letters[-1]) if r == header_row else template.get(letter))
                style = int(_STYLE.search(style_src[2]).group(1)) if style_src and _STYLE.search(style_src[2]) else 0
                xml[letter] = self._cell(letter, r, value, style, yn)
            if existing:
                chunk = _merge_cells(body[existing[0]:existing[1]], base_cells, xml, self.prefix)
                pieces.append((existing[0], existing[1], chunk))
            else:
                position = min((s for rr, (s, _) in rows.items() if rr > r), default=end_tag)
                cells = b"".join(xml[k] for k in sorted(xml, key=column_index_from_string))
                pieces.append((position, position, f'<{self.prefix}row r="{r}">'.encode() + cells + f"</{self.prefix}row>".encode()))
        out, cursor = [], 0
        for start, end, chunk in sorted(pieces, key=lambda p: (p[0], p[1])):
            out.append(body[cursor:start])
            out.append(chunk)
            cursor = end
        out.append(body[cursor:])
        self.body = b"".join(out)

    def _dimension(self, last_row: int, last_col: int) -> None:
        dim = self.doc.root.find(qn(MAIN_NS, "dimension"))
        if dim is None or ":" not in dim.get("ref", ""):
            return
        min_col, min_row, max_col, max_row = range_boundaries(dim.get("ref"))
        dim.set("ref", f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max(max_col, last_col))}{max(max_row, last_row)}")

    def _extend_table(self, last_row: int, prov: dict) -> None:
        root = self.table
        min_col, min_row, max_col, max_row = range_boundaries(root.get("ref"))
        cols = root.find(qn(MAIN_NS, "tableColumns"))
        for letter, header in sorted(prov["added"].items(), key=lambda kv: column_index_from_string(kv[0])):
            ids = [int(c.get("id", "0")) for c in cols] or [0]
            SubElement(cols, qn(MAIN_NS, "tableColumn"), {"id": str(max(ids) + 1), "name": header})
            max_col = max(max_col, column_index_from_string(letter))
        cols.set("count", str(len(cols)))
        ref = f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{max(max_row, last_row)}"
        root.set("ref", ref)
        auto = root.find(qn(MAIN_NS, "autoFilter"))
        if auto is not None:
            auto.set("ref", ref)
        self.pkg.touch(self.table_part)


def _s(style: int) -> str:
    return f' s="{style}"' if style else ""


def _merge_cells(chunk: bytes, existing: dict[str, tuple[int, int, bytes]], new: dict[str, bytes], prefix: str) -> bytes:
    """A row with our cells put in column order, replacing the empty (styled) cells already there."""
    keep = {k: v[2] for k, v in existing.items() if k not in new}
    cells = {**keep, **new}
    head = re.match(rb"<(?:[\w.-]+:)?row\b[^>]*?(/?)>", chunk)
    opening = chunk[: head.end()]
    if head.group(1) == b"/":
        opening = opening[:-2].rstrip() + b">"
    opening = re.sub(rb'\s+spans="[^"]*"', b"", opening)  # the row's span hint would be stale
    body = b"".join(cells[k] for k in sorted(cells, key=column_index_from_string))
    return opening + body + f"</{prefix}row>".encode()


__all__ = ["Addition", "PROVENANCE", "merge_into_register"]
