"""Write a register holding data (demo, benchmarks, tests) in the template's layout; large tables are streamed.

openpyxl builds the workbook (tables, drop-downs, formats, small sheets); the rows of the big tables
(Placements, Providers, Attendance) are then streamed straight into their sheet XML, column by column
with vectorised string operations: a year of attendance is hundreds of thousands of cells, which
openpyxl alone (without lxml) writes at tens of microseconds a cell. Text goes into the shared strings
table, as Excel saves it: a register repeats a few hundred values (codes, UPNs, provider names)
hundreds of thousands of times, and readers (Excel, calamine) parse a shared index faster than inline text.
"""
from __future__ import annotations

import os
import re
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter

from apxl.io.template import DATE_FORMAT, SLOT, build_register_workbook, column_formats

STREAMED = ("placements", "providers", "attendance")
_CHUNK_ROWS = 50_000
_EPOCH = np.datetime64("1899-12-30", "D")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # characters XML 1.0 does not allow


def write_register(path: str | Path, data: dict[str, pd.DataFrame], *, profile: str | None = None) -> Path:
    """Write ``data`` (frames by table name; columns named by contract field, or extra header) to ``path``.

    The file is written next to ``path`` and moved into place, so a failed write leaves nothing half-done.
    """
    path = Path(path)
    streamed = {t: data[t] for t in STREAMED if t in data and data[t] is not None}
    small = {t: f for t, f in data.items() if t not in streamed}
    wb = build_register_workbook(small, profile=profile, sizes={t: len(f) for t, f in streamed.items()})
    sheet_paths: dict[str, str] = {}
    for table in streamed:
        slot = SLOT[table]
        ws = wb[slot.sheet]
        _write_probe(ws, table)
    fd, tmp_name = tempfile.mkstemp(suffix=".xlsx", dir=path.parent)
    os.close(fd)
    staged = Path(tmp_name)
    try:
        wb.save(staged)
        for table in streamed:
            sheet_paths[table] = wb[SLOT[table].sheet].path.lstrip("/")
        final_tmp = staged.with_suffix(".stream.xlsx")
        _stream_tables(staged, final_tmp, {sheet_paths[t]: (t, f) for t, f in streamed.items()})
        os.replace(final_tmp, path)
    finally:
        for leftover in (staged, staged.with_suffix(".stream.xlsx")):
            if leftover.exists():
                leftover.unlink()
    return path


def _write_probe(ws, table: str) -> None:
    """Row 2 gets one value per column in that column's format, so the saved file holds each style's index."""
    for j, cf in enumerate(column_formats(table)):
        if cf.number_format == DATE_FORMAT:
            value: object = datetime(2000, 1, 1)
        elif cf.number_format and cf.number_format != "@":
            value = 0
        else:
            value = "x"
        cell = ws.cell(row=2, column=SLOT[table].first_col + j, value=value)
        if cf.number_format:
            cell.number_format = cf.number_format


_SST_PART = "xl/sharedStrings.xml"
_SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


class SharedStrings:
    """The workbook's shared strings table: text -> index, in first-seen order (openpyxl's own strings first)."""

    def __init__(self, existing: list[str] | None = None) -> None:
        self.texts: list[str] = []
        self._index: dict[str, int] = {}
        self.existing = 0
        for text in existing or []:
            self.index(text)
        self.existing = len(self.texts)

    def index(self, text: str) -> int:
        found = self._index.get(text)
        if found is None:
            found = self._index[text] = len(self.texts)
            self.texts.append(text)
        return found

    def xml(self) -> bytes:
        items = "".join(f'<si><t xml:space="preserve">{_escape_text(t)}</t></si>' for t in self.texts)
        return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{_MAIN_NS}" '
                f'count="{len(self.texts)}" uniqueCount="{len(self.texts)}">{items}</sst>').encode("utf-8")


def _existing_strings(xml: bytes) -> list[str]:
    """openpyxl's shared strings (plain or rich text runs), in order, so their indices stay valid."""
    from defusedxml import ElementTree

    ns = {"m": _MAIN_NS}
    return ["".join(t.text or "" for t in si.iter(f"{{{_MAIN_NS}}}t")) for si in ElementTree.fromstring(xml).findall("m:si", ns)]


def _with_shared_strings_declared(name: str, data: bytes) -> bytes:
    """[Content_Types].xml and the workbook's relationships name the shared strings part (openpyxl leaves them out
    when its own cells hold no text)."""
    if name == "[Content_Types].xml" and b"sharedStrings" not in data:
        return data.replace(b"</Types>", f'<Override PartName="/{_SST_PART}" ContentType="{_SST_TYPE}"/></Types>'.encode())
    if name == "xl/_rels/workbook.xml.rels" and b"sharedStrings" not in data:
        return data.replace(b"</Relationships>", f'<Relationship Id="rIdApxlSst" Type="{_SST_REL}" Target="sharedStrings.xml"/></Relationships>'.encode())
    return data


def _stream_tables(source: Path, target: Path, tables: dict[str, tuple[str, pd.DataFrame]]) -> None:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        names = set(zin.namelist())
        strings = SharedStrings(_existing_strings(zin.read(_SST_PART)) if _SST_PART in names else None)
        for info in zin.infolist():
            if info.filename == _SST_PART:
                continue  # written last, when every streamed text is in it
            if info.filename not in tables:
                zout.writestr(info, _with_shared_strings_declared(info.filename, zin.read(info.filename)))
                continue
            table, frame = tables[info.filename]
            xml = zin.read(info.filename).decode("utf-8")
            head, rest = xml.split("<sheetData>", 1)
            body, tail = rest.split("</sheetData>", 1)
            header_row = re.search(r'<row r="1"[^>]*>.*?</row>', body, re.S).group(0)
            styles = _probe_styles(body)
            formats = column_formats(table)
            first = SLOT[table].first_col
            last_col = get_column_letter(first + len(formats) - 1)
            # openpyxl writes '<dimension ref="A1:E2" />': readers that trust it (openpyxl read-only) stop at its last row.
            head = re.sub(r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{get_column_letter(first)}1:{last_col}{max(len(frame), 1) + 1}"/>', head)
            part = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            part.compress_type = zipfile.ZIP_DEFLATED
            with zout.open(part, "w", force_zip64=True) as fh:
                fh.write((head + "<sheetData>" + header_row).encode("utf-8"))
                for chunk in _rows_xml(frame, table, styles, strings):
                    fh.write(chunk.encode("utf-8"))
                fh.write(("</sheetData>" + tail).encode("utf-8"))
        zout.writestr(zipfile.ZipInfo(_SST_PART, date_time=zin.infolist()[0].date_time), strings.xml(), zipfile.ZIP_DEFLATED)


def _probe_styles(body: str) -> dict[str, str]:
    """Column letter -> ' s="N"' (or '') from the probe row."""
    row = re.search(r'<row r="2"[^>]*>(.*?)</row>', body, re.S)
    out: dict[str, str] = {}
    for attrs in re.findall(r"<c\s([^>]*?)/?>", row.group(1) if row else ""):
        found = dict(re.findall(r'(\w+)="([^"]*)"', attrs))
        letter = re.match(r"[A-Z]+", found.get("r", "")).group(0)
        out[letter] = f' s="{found["s"]}"' if "s" in found else ""
    return out


def _rows_xml(frame: pd.DataFrame, table: str, styles: dict[str, str], strings: SharedStrings) -> Iterator[str]:
    formats = column_formats(table)
    keys = [cf.field if cf.field is not None else cf.header for cf in formats]
    frame = frame.reindex(columns=keys)
    first = SLOT[table].first_col
    for lo in range(0, len(frame), _CHUNK_ROWS):
        part = frame.iloc[lo : lo + _CHUNK_ROWS]
        rows = pd.Series(np.arange(lo + 2, lo + 2 + len(part)).astype(str), dtype="str")
        cells = pd.Series([""] * len(part), dtype="str")
        for j, key in enumerate(keys):
            letter = get_column_letter(first + j)
            cells = cells + column_cells(part[key].reset_index(drop=True), letter, rows, styles.get(letter, ""), strings)
        yield "".join(('<row r="' + rows + '">' + cells + "</row>").tolist())


def _escape_text(text: str) -> str:
    return _CONTROL.sub("", text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def column_cells(values: pd.Series, letter: str, rows: pd.Series, style: str, strings: SharedStrings) -> pd.Series:
    """One column's cells as XML text ('' for blanks), typed by the values: dates, numbers, booleans or text
    (an index into ``strings``)."""
    ref = '<c r="' + letter + rows + '"'
    blank = pd.Series([""] * len(values), dtype="str")
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    if pd.api.types.is_datetime64_any_dtype(values):
        days = values.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
        ok = ~np.isnat(days)
        serial = pd.Series(np.where(ok, (days - _EPOCH).astype("int64"), 0).astype(str), dtype="str")
        return (ref + style + "><v>" + serial + "</v></c>").where(ok, blank)
    if pd.api.types.is_bool_dtype(values):
        ok = values.notna().to_numpy()
        flag = pd.Series(np.where(values.fillna(False).to_numpy(dtype=bool), "1", "0"), dtype="str")
        return (ref + style + ' t="b"><v>' + flag + "</v></c>").where(ok, blank)
    if pd.api.types.is_numeric_dtype(values):
        nums = values.astype("float64")
        ok = np.isfinite(nums.to_numpy())
        text = pd.Series([_number(x) for x in nums.to_numpy()], dtype="str")
        return (ref + style + "><v>" + text + "</v></c>").where(ok, blank)
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    if all(isinstance(u, str) for u in uniques):
        # Text: look each distinct value up once, then pick per row (registers repeat values a lot).
        tails = [f'{style} t="s"><v>{strings.index(u)}</v></c>' if _escape_text(u) else "" for u in uniques]
        tail = pd.Series(np.asarray(tails + [""], dtype=object)[codes], dtype="str")
        ok = (codes >= 0) & (tail.str.len() > 0).to_numpy()
        return (ref + tail).where(ok, blank)
    # Mixed values (e.g. a date column holding a planted 'TBC'): type each cell on its own.
    return pd.Series([_mixed(v, f"{letter}{r}", style, strings) for v, r in zip(values.tolist(), rows.tolist())], dtype="str")


def _number(x: float) -> str:
    return str(int(x)) if np.isfinite(x) and float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


def _mixed(value: object, ref: str, style: str, strings: SharedStrings) -> str:
    if value is None:
        return ""
    if isinstance(value, (pd.Timestamp, datetime, np.datetime64)) or (hasattr(value, "year") and hasattr(value, "month")):
        ts = pd.Timestamp(value)
        if pd.isna(ts):
            return ""
        return f'<c r="{ref}"{style}><v>{(np.datetime64(ts.normalize(), "D") - _EPOCH).astype("int64")}</v></c>'
    if isinstance(value, (bool, np.bool_)):
        return f'<c r="{ref}"{style} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float, np.integer, np.floating)):
        if not np.isfinite(float(value)):
            return ""
        return f'<c r="{ref}"{style}><v>{_number(float(value))}</v></c>'
    text = str(value)
    if not _escape_text(text):
        return ""
    return f'<c r="{ref}"{style} t="s"><v>{strings.index(text)}</v></c>'
