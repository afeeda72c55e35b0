"""Hostile-file checks for school returns: every zip-level and XML-level test runs before any workbook parser sees the file."""
from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import defusedxml
import defusedxml.ElementTree as SafeET

from apxl.errors import ApxlError

# Returns arrive by email from many schools: treat each as hostile until these checks pass.
# The limits are generous for a school's monthly return (tens of rows) and far below what
# would exhaust memory; `Limits` can be tightened per call.


@dataclass(frozen=True)
class Limits:
    """Caps applied before and while a return is opened."""

    max_file_bytes: int = 20 * 1024 * 1024
    max_entries: int = 250
    max_total_uncompressed: int = 100 * 1024 * 1024
    max_entry_uncompressed: int = 60 * 1024 * 1024
    # Sheet XML of mostly blank cells compresses 20-60:1; a zip bomb is 1000:1. The ratio is only
    # judged on entries big enough to matter, so a tiny, very regular part is not refused.
    max_ratio: float = 100.0
    ratio_floor_bytes: int = 256 * 1024
    max_rows: int = 5000
    max_cols: int = 300


DEFAULT_LIMITS = Limits()


class UnsafeReturnError(ApxlError):
    """A return refused before parsing; ``reason`` is a stable code (e.g. 'macro', 'zip-bomb') for scripts."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass
class Inspection:
    """What the checks saw: the parts of the package and the size of each worksheet."""

    parts: list[str]
    total_uncompressed: int
    sheets: dict[str, tuple[int, int]] = field(default_factory=dict)  # part -> (rows, columns)


_MACRO_SUFFIXES = {".xlsm", ".xltm", ".xlam", ".xlsb", ".xla", ".xlm"}
_OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")

# Parts that are refused outright, with the reason and the sentence the school is sent.
_FORBIDDEN: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"(^|/)vbaProject(Signature\w*)?\.bin$|(^|/)macrosheets/|(^|/)dialogsheets/", re.I), "macro",
     "contains macros (VBA or Excel 4 macro sheets)"),
    (re.compile(r"(^|/)externalLinks/|(^|/)connections\.xml$|(^|/)queryTables/", re.I), "external-link",
     "links to other files or data sources (external links or data connections)"),
    (re.compile(r"(^|/)embeddings/|oleObject", re.I), "embedded-object", "contains embedded objects (OLE packages or other files)"),
    (re.compile(r"(^|/)activeX/|(^|/)ctrlProps/", re.I), "activex", "contains ActiveX or form controls"),
]

# Everything a plain workbook saved by Excel, LibreOffice or openpyxl may hold. Anything else
# (pivot caches, web extensions, custom ribbons...) has no place in a school return.
_ALLOWED = re.compile(
    r"^(\[Content_Types\]\.xml|_rels/\.rels|docProps/[\w.-]+\.xml|docProps/thumbnail\.(jpe?g|png|wmf|emf)|docMetadata/[\w.-]+\.xml|customXml/[\w./-]+"
    r"|xl/workbook\.xml|xl/_rels/workbook\.xml\.rels|xl/styles\.xml|xl/sharedStrings\.xml|xl/calcChain\.xml|xl/metadata\.xml"
    r"|xl/theme/theme\d+\.xml|xl/worksheets/sheet\d+\.xml|xl/worksheets/_rels/sheet\d+\.xml\.rels"
    r"|xl/tables/table\d+\.xml|xl/tables/_rels/table\d+\.xml\.rels|xl/comments\d*\.xml|xl/persons/person\d*\.xml"
    r"|xl/threadedComments/threadedComment\d+\.xml|xl/drawings/(drawing\d+\.xml|vmlDrawing\d+\.vml|_rels/[\w.]+\.rels)"
    r"|xl/charts/[\w./-]+|xl/media/[\w.-]+\.(png|jpe?g|gif|emf|wmf)|xl/printerSettings/printerSettings\d+\.bin"
    r"|xl/richData/[\w./-]+)$",
    re.I,
)
_MACRO_CONTENT = re.compile(r"macroEnabled|vbaProject|ms-office\.activeX|oleObject", re.I)
_XML_PART = re.compile(r"\.(xml|rels)$", re.I)
_SHEET_PART = re.compile(r"^xl/worksheets/sheet\d+\.xml$", re.I)
# The only external relationship a plain workbook needs: a hyperlink in a cell.
_HYPERLINK_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"


def _refuse(path: Path, reason: str, what: str, fix: str) -> UnsafeReturnError:
    return UnsafeReturnError(reason, f"{path.name} was refused: it {what}; {fix}")


_RESAVE = "save it from Excel as 'Excel Workbook (*.xlsx)' and send it again."


def check_return_file(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> Inspection:
    """Refuse anything but a plain, modest .xlsx; raises UnsafeReturnError with one sentence for the school.

    Order matters: nothing is decompressed until the names, counts and declared sizes pass,
    and no workbook library opens the file until every XML part has parsed under defusedxml.
    """
    path = Path(path)
    if not path.is_file():
        raise UnsafeReturnError("missing", f"The file {path} does not exist.")
    suffix = path.suffix.lower()
    if suffix in _MACRO_SUFFIXES:
        raise _refuse(path, "macro", "is a macro-enabled or binary workbook", "only plain .xlsx returns are accepted: " + _RESAVE)
    if suffix != ".xlsx":
        raise _refuse(path, "not-xlsx", f"is a '{suffix or 'no extension'}' file", "only .xlsx returns are accepted: " + _RESAVE)
    size = path.stat().st_size
    if size == 0:
        raise _refuse(path, "empty", "is empty (0 bytes)", "the return was probably not saved before sending: " + _RESAVE)
    if size > limits.max_file_bytes:
        raise _refuse(path, "too-large", f"is {size // (1024 * 1024)} MB, more than the {limits.max_file_bytes // (1024 * 1024)} MB a return may be",
                      "remove pictures and unused sheets and send it again.")
    with path.open("rb") as fh:
        head = fh.read(8)
    if head == _OLE_MAGIC:
        raise _refuse(path, "encrypted", "is password-protected or an old binary workbook", "remove the password and " + _RESAVE)
    if not head.startswith(b"PK"):
        raise _refuse(path, "not-xlsx", "is not an Excel workbook (perhaps a CSV or PDF renamed .xlsx)", _RESAVE)
    try:
        with zipfile.ZipFile(path) as zf:
            return _check_package(path, zf, limits)
    except zipfile.BadZipFile:
        raise _refuse(path, "corrupt", "is truncated or corrupt (the workbook's zip structure cannot be read)",
                      "the file was probably cut short in transfer: " + _RESAVE) from None
    except (EOFError, OSError, NotImplementedError, RuntimeError, zlib.error):
        raise _refuse(path, "corrupt", "is truncated, corrupt or encrypted", _RESAVE) from None


def _check_package(path: Path, zf: zipfile.ZipFile, limits: Limits) -> Inspection:
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise _refuse(path, "zip-bomb", f"holds {len(infos)} parts, more than the {limits.max_entries} a workbook needs", "send a plain workbook.")
    names = [i.filename for i in infos]
    for name in names:
        if name.startswith(("/", "\\")) or "\\" in name or ".." in name.split("/") or re.match(r"^[A-Za-z]:", name) or "\x00" in name:
            raise _refuse(path, "path-traversal", "contains a part with an unsafe name (a path outside the workbook)", "send a workbook saved by Excel.")
    if len(set(n.lower() for n in names)) != len(names):
        raise _refuse(path, "corrupt", "contains the same part twice", _RESAVE)
    total = sum(i.file_size for i in infos)
    if total > limits.max_total_uncompressed:
        raise _refuse(path, "zip-bomb", f"would expand to {total // (1024 * 1024)} MB, more than the {limits.max_total_uncompressed // (1024 * 1024)} MB allowed (a 'zip bomb')",
                      "send the ordinary workbook.")
    for info in infos:
        if info.file_size > limits.max_entry_uncompressed:
            raise _refuse(path, "zip-bomb", f"has a part that would expand to {info.file_size // (1024 * 1024)} MB (a 'zip bomb')", "send the ordinary workbook.")
        if info.file_size > limits.ratio_floor_bytes and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise _refuse(path, "zip-bomb", f"has a part compressed {info.file_size // max(info.compress_size, 1)} to 1, far more than any workbook (a 'zip bomb')",
                          "send the ordinary workbook.")
        if info.flag_bits & 0x1:
            raise _refuse(path, "encrypted", "has encrypted parts", "remove the password and " + _RESAVE)
    for name in names:
        for pattern, reason, what in _FORBIDDEN:
            if pattern.search(name):
                raise _refuse(path, reason, what, "returns must be plain .xlsx without them: " + _RESAVE)
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise _refuse(path, "not-xlsx", "is a zip file but not an Excel workbook", _RESAVE)
    for name in names:
        if not name.endswith("/") and not _ALLOWED.match(name):
            raise _refuse(path, "unexpected-part", f"contains a part a plain workbook does not have ({_safe_name(name)})", "remove it or " + _RESAVE)
    return _check_xml(path, zf, infos, limits, total)


def _safe_name(name: str) -> str:
    return re.sub(r"[^\w./\[\]-]", "?", name)[:80]


def _read_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo, on_exceed) -> bytes:
    """The part's bytes, decompressed in chunks and never beyond its declared size (declared sizes can lie)."""
    parts, seen = [], 0
    with zf.open(info) as fh:
        while chunk := fh.read(1 << 16):
            seen += len(chunk)
            if seen > info.file_size:
                raise on_exceed()
            parts.append(chunk)
    return b"".join(parts)


class _RootSeen(Exception):
    """Raised by the prolog check once the root element starts: no DTD can follow it."""


class _RootTarget:
    def start(self, tag, attrib):
        raise _RootSeen

    def end(self, tag):
        pass

    def data(self, data):
        pass

    def close(self):
        return None


def _check_prolog(data: bytes) -> None:
    """Feed the part to a defusedxml parser up to its root element.

    A document type declaration (the only place entities, external references and "billion laughs"
    can be declared) may appear only before the root element, so once the root starts with no DTD
    the rest of the part cannot hold one: reading it in full with defusedxml would add nothing but time.
    """
    parser = SafeET.XMLParser(target=_RootTarget(), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        for i in range(0, len(data), 1 << 14):
            parser.feed(data[i:i + (1 << 14)])
    except _RootSeen:
        return


_ROW = re.compile(rb"<(?:\w+:)?row[\s>/]")
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\b[^>]*?\bref=\"[A-Za-z]{1,3}[0-9]+:([A-Za-z]{1,3})[0-9]+")
_FULL_PARSE = re.compile(r"^(\[Content_Types\]\.xml|.*\.rels|xl/workbook\.xml)$", re.I)


def _check_xml(path: Path, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limits: Limits, total: int) -> Inspection:
    """Every part decompressed under its declared size; every XML part through defusedxml (no DTDs, entities or
    external references); the package's structure parts read in full; sheet rows and columns counted."""
    inspection = Inspection(parts=[i.filename for i in infos], total_uncompressed=total)
    bomb = lambda: _refuse(path, "zip-bomb", "expands to more than its declared size (a 'zip bomb')", "send the ordinary workbook.")  # noqa: E731
    attack = lambda: _refuse(path, "xml-attack", "contains XML document type declarations or entities (a known attack on XML readers)", _RESAVE)  # noqa: E731
    for info in infos:
        name = info.filename
        try:
            data = _read_part(zf, info, bomb)
        except zipfile.BadZipFile:
            raise _refuse(path, "corrupt", f"has a damaged part ({_safe_name(name)}) that fails its checksum", _RESAVE) from None
        if name.lower().endswith(".vml"):
            # Legacy VML (comment boxes) is not well-formed XML; it must still carry no DTD.
            if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
                raise attack()
            continue
        if not _XML_PART.search(name):
            continue
        try:
            if _FULL_PARSE.match(name):
                _check_structure(path, name, SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True))
            else:
                _check_prolog(data)
        except (defusedxml.DTDForbidden, defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden):
            raise attack() from None
        except SafeET.ParseError:
            raise _refuse(path, "corrupt", f"has a damaged part ({_safe_name(name)})", _RESAVE) from None
        if _SHEET_PART.match(name):
            rows = len(_ROW.findall(data))
            if rows > limits.max_rows:
                raise _refuse(path, "too-many-rows", f"has more than {limits.max_rows} rows on one sheet", "send only the return's rows.")
            # The declared used range; the cell reader checks the width it really finds as well (read.read_grids).
            found = _DIMENSION.search(data[:4096])
            cols = _column_number(found.group(1).decode()) if found else 0
            if cols > limits.max_cols:
                raise _refuse(path, "too-many-columns", f"has more than {limits.max_cols} columns on one sheet", "send only the return's columns.")
            inspection.sheets[name] = (rows, cols)
    return inspection


def _check_structure(path: Path, name: str, root) -> None:
    """Content types and relationships: no macro or embedded content, no external target but a cell hyperlink."""
    for elem in root.iter():
        if name == "[Content_Types].xml" and _MACRO_CONTENT.search(elem.get("ContentType", "")):
            raise _refuse(path, "macro", "declares macro or embedded content (a macro-enabled workbook renamed .xlsx)", "returns must be plain .xlsx: " + _RESAVE)
        if name.endswith(".rels") and elem.get("TargetMode", "").lower() == "external" and elem.get("Type") != _HYPERLINK_REL:
            raise _refuse(path, "external-link", "links to an external file or web resource", "remove the links (Data > Edit Links > Break Link) and send it again.")


def _column_number(ref: str | None) -> int:
    if not ref:
        return 0
    n = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            n = n * 26 + ord(ch) - 64
        elif "a" <= ch <= "z":
            n = n * 26 + ord(ch) - 96
        else:
            break
    return n
