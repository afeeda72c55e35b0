"""The workbook as a package of parts (OPC zip): read, add, replace and remove parts; untouched parts are copied unchanged.

Part names are zip member names without a leading slash (``xl/worksheets/sheet1.xml``). Parts that
are parsed with ``doc`` and marked with ``touch`` are written back from their tree; parts set with
``write`` are written as given; every other member is copied byte for byte, in its original order.
"""
from __future__ import annotations

import io
import os
import posixpath
import shutil
import struct
import threading
import time
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import quote, unquote

from apxl.errors import ApxlError
from apxl.io.sheetxml import sheet_data_span, split_sheet  # noqa: F401  (split_sheet re-exported for apxl.io.returns)
from apxl.io.xmlpart import Element, SubElement, XmlDoc, parse, qn

CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = R_NS + "/"
RT_OFFICE_DOCUMENT = REL + "officeDocument"
RT_WORKSHEET = REL + "worksheet"
RT_STYLES = REL + "styles"
RT_CALC_CHAIN = REL + "calcChain"
RT_SHARED_STRINGS = REL + "sharedStrings"
RT_TABLE = REL + "table"
RT_COMMENTS = REL + "comments"
RT_VML = REL + "vmlDrawing"
CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_TABLE = "application/vnd.openxmlformats-officedocument.spreadsheetml.table+xml"
CT_COMMENTS = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
CT_VML = "application/vnd.openxmlformats-officedocument.vmlDrawing"
CT_STYLES = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
CONTENT_TYPES = "[Content_Types].xml"
# A zip that expands past this is refused rather than read into memory (a "zip bomb" or not a register).
MAX_UNCOMPRESSED = 4 * 1024**3


@dataclass(frozen=True)
class Rel:
    id: str
    type: str
    target: str
    external: bool


@dataclass(frozen=True)
class SheetRef:
    """A sheet as listed in workbook.xml: its tab name, sheetId, relationship id, part name and visibility."""

    name: str
    sheet_id: int
    rid: str
    part: str | None
    state: str | None
    element: Element


def rels_part(part: str) -> str:
    """``xl/worksheets/sheet1.xml`` -> ``xl/worksheets/_rels/sheet1.xml.rels`` (``''`` is the package root)."""
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{name}.rels")


def relative(source_part: str, target_part: str) -> str:
    """The relationship Target from ``source_part`` to ``target_part``."""
    return quote(posixpath.relpath(target_part, posixpath.dirname(source_part) or "."), safe="/._-~")


class Package:
    """An .xlsx/.xlsm opened for part-level editing."""

    def __init__(self, source: str | Path | bytes | io.BytesIO, what: str | None = None, *, preloaded: "PartPreload | None" = None):
        """``preloaded``: big parts of this same file already being read on another thread (``PartPreload``)."""
        self.what = what or (Path(source).name if isinstance(source, (str, Path)) else "workbook")
        self._preloaded = preloaded
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ApxlError(f"{self.what} cannot be opened as an Excel workbook ({type(exc).__name__}): it may be corrupt or password-protected.") from None
        infos = self._zip.infolist()
        if sum(i.file_size for i in infos) > MAX_UNCOMPRESSED:
            raise ApxlError(f"{self.what} expands to more than {MAX_UNCOMPRESSED // 1024**3} GB: apxl will not write into it.")
        self._infos = {i.filename: i for i in infos if not i.is_dir()}
        if len(self._infos) != len([i for i in infos if not i.is_dir()]):
            raise ApxlError(f"{self.what} has duplicate parts: it may be corrupt.")
        self._order = list(self._infos)
        self._lower = {n.lower(): n for n in self._order}
        self._written: dict[str, bytes] = {}
        self._docs: dict[str, XmlDoc] = {}
        self._touched: set[str] = set()
        self._removed: set[str] = set()
        if CONTENT_TYPES not in self._infos:
            raise ApxlError(f"{self.what} is not an Office Open XML workbook (no [Content_Types].xml).")

    # -- parts -------------------------------------------------------------------------------------
    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> "Package":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def name(self, part: str) -> str | None:
        """The part's name as stored (OPC part names are case-insensitive), or None if absent."""
        part = part.lstrip("/")
        if part in self._removed:
            return None
        if part in self._written or part in self._infos:
            return part
        found = self._lower.get(part.lower())
        return found if found and found not in self._removed else None

    def exists(self, part: str) -> bool:
        return self.name(part) is not None

    def parts(self) -> list[str]:
        return [p for p in self._order if p not in self._removed]

    def read(self, part: str) -> bytes:
        name = self.name(part)
        if name is None:
            raise KeyError(part)
        if name in self._touched:
            return self._docs[name].serialize()
        if name in self._written:
            return self._written[name]
        if self._preloaded is not None:
            data = self._preloaded.get(name, self._infos[name])
            if data is not None:
                return data
        return self._zip.read(self._infos[name])

    def size(self, part: str) -> int:
        name = self.name(part)
        if name in self._written:
            return len(self._written[name])
        return self._infos[name].file_size if name in self._infos else 0

    def write(self, part: str, data: bytes, content_type: str | None = None) -> None:
        """Add or replace a part with ``data``; ``content_type`` registers an Override for it."""
        part = self.name(part) or part.lstrip("/")
        self._removed.discard(part)
        self._docs.pop(part, None)
        self._touched.discard(part)
        self._written[part] = data
        if part not in self._order:
            self._order.append(part)
            self._lower[part.lower()] = part
        if content_type:
            self.set_content_type(part, content_type)

    def remove(self, part: str) -> None:
        """Remove a part, its relationships part and its content-type Override."""
        name = self.name(part)
        if name is None:
            return
        self._removed.add(name)
        self._written.pop(name, None)
        self._docs.pop(name, None)
        self._touched.discard(name)
        if name != CONTENT_TYPES:
            self._remove_override(name)
        rp = rels_part(name)
        if self.exists(rp):
            self.remove(rp)

    def doc(self, part: str) -> XmlDoc:
        """The part parsed (cached); call ``touch`` after changing it so it is written back."""
        name = self.name(part)
        if name is None:
            raise KeyError(part)
        if name not in self._docs:
            self._docs[name] = parse(self.read(name), f"part {name}")
        return self._docs[name]

    def set_doc(self, part: str, doc: XmlDoc, content_type: str | None = None) -> None:
        self.write(part, b"", content_type)
        name = self.name(part)
        self._written.pop(name, None)
        self._docs[name] = doc
        self._touched.add(name)

    def touch(self, part: str) -> None:
        name = self.name(part)
        self._written.pop(name, None)
        self._touched.add(name)

    def fresh_name(self, pattern: str, start: int = 1) -> str:
        """The first free part name for ``pattern`` with ``{}`` as a number, e.g. ``xl/tables/table{}.xml``."""
        n = start
        while self.name(pattern.format(n)) is not None:
            n += 1
        return pattern.format(n)

    # -- content types -------------------------------------------------------------------------------
    def content_type(self, part: str) -> str | None:
        name = self.name(part) or part
        root = self.doc(CONTENT_TYPES).root
        for o in root.findall(qn(CT_NS, "Override")):
            if o.get("PartName", "").lstrip("/").lower() == name.lower():
                return o.get("ContentType")
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        for d in root.findall(qn(CT_NS, "Default")):
            if d.get("Extension", "").lower() == ext:
                return d.get("ContentType")
        return None

    def set_content_type(self, part: str, content_type: str) -> None:
        """Register ``content_type`` for the part: nothing when its extension's Default gives it, else an Override."""
        if self.content_type(part) == content_type:
            return
        self._remove_override(part)
        if self.content_type(part) != content_type:
            root = self.doc(CONTENT_TYPES).root
            SubElement(root, qn(CT_NS, "Override"), {"PartName": "/" + part.lstrip("/"), "ContentType": content_type})
            self.touch(CONTENT_TYPES)

    def ensure_default(self, ext: str, content_type: str) -> None:
        root = self.doc(CONTENT_TYPES).root
        if any(d.get("Extension", "").lower() == ext.lower() for d in root.findall(qn(CT_NS, "Default"))):
            return
        root.insert(0, Element(qn(CT_NS, "Default"), {"Extension": ext, "ContentType": content_type}))
        self.touch(CONTENT_TYPES)

    def _remove_override(self, part: str) -> None:
        root = self.doc(CONTENT_TYPES).root
        hit = [o for o in root.findall(qn(CT_NS, "Override")) if o.get("PartName", "").lstrip("/").lower() == part.lower()]
        for o in hit:
            root.remove(o)
        if hit:
            self.touch(CONTENT_TYPES)

    # -- relationships -------------------------------------------------------------------------------
    def rels(self, part: str) -> list[Rel]:
        """The relationships of ``part`` ('' for the package root)."""
        rp = rels_part(part) if part else "_rels/.rels"
        if not self.exists(rp):
            return []
        return [
            Rel(r.get("Id", ""), r.get("Type", ""), r.get("Target", ""), r.get("TargetMode") == "External")
            for r in self.doc(rp).root.findall(qn(PKG_REL_NS, "Relationship"))
        ]

    def resolve(self, part: str, target: str) -> str:
        """The part a relationship of ``part`` points at."""
        target = unquote(target)
        if target.startswith("/"):
            return posixpath.normpath(target.lstrip("/"))
        return posixpath.normpath(posixpath.join(posixpath.dirname(part), target))

    def targets(self, part: str, rel_type: str | None = None) -> Iterator[tuple[Rel, str]]:
        for rel in self.rels(part):
            if not rel.external and (rel_type is None or rel.type == rel_type):
                yield rel, self.resolve(part, rel.target)

    def add_rel(self, part: str, rel_type: str, target_part: str | None = None, *, external_target: str | None = None, rid: str | None = None) -> str:
        """Add a relationship from ``part`` and return its id (``rId<n>``, the first free number)."""
        rp = rels_part(part) if part else "_rels/.rels"
        if not self.exists(rp):
            self.set_doc(rp, parse(f'<Relationships xmlns="{PKG_REL_NS}"/>'.encode(), rp))
        root = self.doc(rp).root
        used = {r.get("Id") for r in root}
        if rid is None:
            n = 1
            while f"rId{n}" in used:
                n += 1
            rid = f"rId{n}"
        attrs = {"Id": rid, "Type": rel_type}
        if external_target is not None:
            attrs.update(Target=external_target, TargetMode="External")
        else:
            attrs["Target"] = relative(part, target_part) if part else target_part
        SubElement(root, qn(PKG_REL_NS, "Relationship"), attrs)
        self.touch(rp)
        return rid

    def remove_rel(self, part: str, rid: str) -> None:
        rp = rels_part(part) if part else "_rels/.rels"
        if not self.exists(rp):
            return
        root = self.doc(rp).root
        for r in list(root):
            if r.get("Id") == rid:
                root.remove(r)
        if len(root):
            self.touch(rp)
        else:
            self.remove(rp)

    def reachable(self, start: str = "", skip: set[str] | None = None) -> set[str]:
        """Every part reachable from ``start`` through internal relationships, not walking through ``skip``."""
        skip = {s.lower() for s in (skip or set())}
        seen: set[str] = set()
        todo = [start]
        while todo:
            part = todo.pop()
            for _, target in self.targets(part):
                name = self.name(target)
                if name is None or name.lower() in skip or name in seen:
                    continue
                seen.add(name)
                todo.append(name)
        return seen

    # -- workbook ------------------------------------------------------------------------------------
    @property
    def workbook_part(self) -> str:
        for rel, target in self.targets("", RT_OFFICE_DOCUMENT):
            if self.exists(target):
                return self.name(target)
        raise ApxlError(f"{self.what} is saved as Strict Open XML or is not an Excel workbook: save it as an Excel Workbook (.xlsx) and try again.")

    def workbook(self) -> XmlDoc:
        doc = self.doc(self.workbook_part)
        if doc.root.tag != qn(MAIN_NS, "workbook"):
            raise ApxlError(f"{self.what} is saved as Strict Open XML or is not an Excel workbook: save it as an Excel Workbook (.xlsx) and try again.")
        return doc

    def sheets(self) -> list[SheetRef]:
        wb_part = self.workbook_part
        targets = {rel.id: target for rel, target in self.targets(wb_part)}
        sheets_el = self.workbook().root.find(qn(MAIN_NS, "sheets"))
        out = []
        for el in sheets_el if sheets_el is not None else []:
            rid = el.get(qn(R_NS, "id"), "")
            part = self.name(targets[rid]) if rid in targets else None
            out.append(SheetRef(el.get("name", ""), int(el.get("sheetId", "0") or 0), rid, part, el.get("state"), el))
        return out

    def sheet(self, name: str) -> SheetRef | None:
        """A sheet by tab name (Excel compares sheet names without regard to case)."""
        for ref in self.sheets():
            if ref.name.lower() == name.lower():
                return ref
        return None

    # -- saving --------------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self._save(buffer)
        return buffer.getvalue()

    def save(self, path: str | Path) -> None:
        with open(path, "wb") as fh:
            self._save(fh)

    def _save(self, fh) -> None:
        order = [p for p in self._order if p not in self._removed]
        order.sort(key=lambda p: p != CONTENT_TYPES)  # stable: [Content_Types].xml first, others as they were
        with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as out:
            for part in order:
                info = self._infos.get(part)
                zi = zipfile.ZipInfo(part, date_time=info.date_time if info else time.localtime()[:6])
                zi.compress_type = zipfile.ZIP_DEFLATED
                if info is not None:
                    zi.external_attr = info.external_attr
                if part in self._touched or part in self._written:
                    pieces = self._docs[part].pieces() if part in self._touched else [self.read(part)]
                    size = sum(map(len, pieces))
                    if size >= PARALLEL_DEFLATE_BYTES:
                        ready = self._preloaded.deflated_cells if self._preloaded is not None else None
                        _write_deflated(out, zi, pieces, _level(size), ready)
                    else:
                        out.writestr(zi, b"".join(pieces), compresslevel=_level(size))
                    continue
                if _copy_compressed(self._zip, info, out, zi):
                    continue
                _set_level(zi, _level(info.file_size))
                large = info.file_size > 0x7FFF0000
                with self._zip.open(info) as src, out.open(zi, "w", force_zip64=large) as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)


class PartPreload:
    """Big parts of a workbook read (and inflated) on a thread of its own while the caller works on something else.

    ``apxl validate -o`` starts one as the rules begin: inflating a year of attendance's sheet XML (hundreds
    of MB) runs in zlib without the GIL, so it overlaps the rules instead of following them. The thread has
    its own handle on the file; a part it could not read is read again by the package, as usual.

    With ``deflate_cells`` it also compresses each big sheet's cells (``sheetData``) again, ready for the
    save: apxl writes highlights and notes around the cells and never into them, so a sheet it rewrites
    only needs its small head and tail compressed when it is saved (``deflated_cells``).
    """

    def __init__(self, path: str | Path, min_bytes: int = 4 * 1024**2, *, after: Callable[[], None] | None = None,
                 deflate_cells: bool = False):
        """``after``: wait for this first (another thread still reading the file: two are all two cores can run)."""
        self.path = str(path)
        self.min_bytes = min_bytes
        self._after = after
        self._deflate_cells = deflate_cells
        self._parts: dict[str, tuple[int, int, bytes]] = {}  # name -> (CRC, size, data): the same member, checked
        self._cells: list[tuple[bytes, bytes]] = []  # (a sheet's sheetData bytes, the same deflated, not final)
        self._thread = threading.Thread(target=self._load, name="apxl-part-preload", daemon=True)
        self._thread.start()

    def _load(self) -> None:
        try:
            if self._after is not None:
                self._after()
            with zipfile.ZipFile(self.path) as z:
                infos = [i for i in z.infolist() if i.file_size >= self.min_bytes and i.filename.startswith("xl/worksheets/")]
                if sum(i.file_size for i in infos) > MAX_UNCOMPRESSED:
                    return
                for info in infos:
                    self._parts[info.filename] = (info.CRC, info.file_size, z.read(info))
            if self._deflate_cells:
                for _, size, data in self._parts.values():
                    self._deflate(data, size)
        except Exception:  # noqa: BLE001 - the package reads the file itself and reports any problem
            pass

    def _deflate(self, data: bytes, size: int) -> None:
        span = sheet_data_span(data)
        if span is None or span[1] - span[0] < PARALLEL_DEFLATE_BYTES:
            return
        cells = data[span[0] : span[1]]
        self._cells.append((cells, deflate_parallel(cells, _level(size), workers=1, final=False)))

    def deflated_cells(self, piece: bytes) -> bytes | None:
        """``piece`` deflated (ending in a full flush, so more may follow) when it is a big sheet's cells as read."""
        if len(piece) < PARALLEL_DEFLATE_BYTES:
            return None
        self._thread.join()
        for cells, deflated in self._cells:
            if len(cells) == len(piece) and cells == piece:
                return deflated
        return None

    def wait(self) -> None:
        """Until the thread has finished with the file (it must be closed before the file is replaced in place)."""
        self._thread.join()

    def get(self, name: str, info: zipfile.ZipInfo) -> bytes | None:
        """The part's bytes when preloaded from the same member (CRC and size agree), else None."""
        if info.file_size < self.min_bytes:
            return None
        self._thread.join()
        found = self._parts.get(name)
        return found[2] if found and found[:2] == (info.CRC, info.file_size) else None


# Parts this big are deflated in pieces on several threads (zlib runs without the GIL): a year of attendance
# with highlighted cells is a few hundred MB of sheet XML to compress again.
PARALLEL_DEFLATE_BYTES = 32 * 1024**2
_PIECE_BYTES = 8 * 1024**2


def deflate_parallel(data: bytes, level: int, workers: int | None = None, piece_bytes: int | None = None, *, final: bool = True) -> bytes:
    """Raw deflate of ``data`` compressed in pieces on threads, as pigz does: each piece but the last ends with a
    full flush (byte-aligned, not final), so the pieces joined are one valid deflate stream. ``final=False``
    ends the last piece with a full flush too, so that more compressed data can follow."""
    workers = workers or min(4, os.cpu_count() or 1)
    step = piece_bytes or _PIECE_BYTES
    view = memoryview(data)
    starts = list(range(0, len(data), step)) or [0]

    def piece(k: int) -> bytes:
        c = zlib.compressobj(level, zlib.DEFLATED, -15)
        last = final and k == len(starts) - 1
        return c.compress(view[starts[k] : starts[k] + step]) + c.flush(zlib.Z_FINISH if last else zlib.Z_FULL_FLUSH)

    if workers <= 1 or len(starts) == 1:
        return b"".join(piece(k) for k in range(len(starts)))
    with ThreadPoolExecutor(workers, thread_name_prefix="apxl-deflate") as pool:
        return b"".join(pool.map(piece, range(len(starts))))


def _write_deflated(out: zipfile.ZipFile, zi: zipfile.ZipInfo, pieces: list[bytes], level: int,
                    ready: Callable[[bytes], bytes | None] | None = None) -> None:
    """Add a member made of ``pieces``, compressed by ``deflate_parallel``; a piece that ``ready`` has already
    compressed (a sheet's cells, deflated by ``PartPreload``) is taken as it is."""
    crc = 0
    for piece in pieces:
        crc = zlib.crc32(piece, crc)
    chunks: list[bytes] = []
    plain: list[bytes] = []
    for piece in pieces:
        done = ready(piece) if ready is not None else None
        if done is None:
            plain.append(piece)
            continue
        if plain:
            chunks.append(deflate_parallel(b"".join(plain), level, final=False))
            plain = []
        chunks.append(done)
    chunks.append(deflate_parallel(b"".join(plain), level))  # the final block (empty when nothing follows)
    raw = b"".join(chunks)
    zi.compress_type = zipfile.ZIP_DEFLATED
    zi.file_size, zi.compress_size, zi.CRC = sum(map(len, pieces)), len(raw), crc
    _add_member(out, zi, lambda fp: fp.write(raw))


def _copy_compressed(src: zipfile.ZipFile, info: zipfile.ZipInfo, out: zipfile.ZipFile, zi: zipfile.ZipInfo) -> bool:
    """Copy an untouched part's compressed bytes as they are: no inflating and deflating again (a year of attendance
    is hundreds of MB of XML). False, and nothing written, for a member this cannot copy (encrypted, unusual method)."""
    if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return False
    with src._lock:
        src.fp.seek(info.header_offset)
        header = src.fp.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        return False
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    start = info.header_offset + 30 + name_len + extra_len
    zi.compress_type = info.compress_type
    zi.file_size, zi.compress_size, zi.CRC = info.file_size, info.compress_size, info.CRC

    def copy(fp) -> None:
        left = info.compress_size
        with src._lock:
            src.fp.seek(start)
            while left:
                chunk = src.fp.read(min(left, 1 << 20))
                if not chunk:
                    raise ApxlError(f"A part of the workbook ({info.filename}) is cut short: the file may be corrupt.")
                fp.write(chunk)
                left -= len(chunk)

    _add_member(out, zi, copy)
    return True


def _add_member(out: zipfile.ZipFile, zi: zipfile.ZipInfo, write_data) -> None:
    """Add a member whose compressed data ``write_data(fp)`` writes and whose sizes and CRC ``zi`` already holds:
    the local header and the bookkeeping are what ``zipfile`` itself does (``ZipFile.write`` for directories)."""
    zip64 = zi.file_size > zipfile.ZIP64_LIMIT or zi.compress_size > zipfile.ZIP64_LIMIT
    with out._lock:
        if out._seekable:
            out.fp.seek(out.start_dir)
        zi.header_offset = out.fp.tell()
        out._writecheck(zi)
        out._didModify = True
        out.fp.write(zi.FileHeader(zip64))
        write_data(out.fp)
        out.filelist.append(zi)
        out.NameToInfo[zi.filename] = zi
        out.start_dir = out.fp.tell()


def _level(size: int) -> int:
    """Deflate level: fast for big parts (attendance sheets, long Findings), Excel-like for the rest."""
    return 1 if size > 4 * 1024**2 else 6


def _set_level(info: zipfile.ZipInfo, level: int) -> None:
    for attr in ("compress_level", "_compresslevel"):  # renamed in Python 3.13
        try:
            setattr(info, attr, level)
        except AttributeError:
            pass
