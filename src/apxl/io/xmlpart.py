"""XML parts of a workbook package: parsed safely (defusedxml) and written back with their own namespace prefixes.

``xml.etree`` forgets which prefix a document used and drops declarations it thinks unused, but
Office needs both: ``mc:Ignorable="x14ac xr"`` names prefixes that must stay declared, and some
producers bind the main namespace to ``x:``. So ``parse`` records every declaration on the element
that made it and ``serialize`` writes them back in place, inventing prefixes only for new namespaces.
"""
from __future__ import annotations

import io
import re
import weakref
from dataclasses import dataclass, field
from typing import Iterable
from xml.etree.ElementTree import Element, SubElement

from defusedxml.ElementTree import iterparse

from apxl.errors import ApxlError

XML_NS = "http://www.w3.org/XML/1998/namespace"
DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
# Prefixes Office uses, for namespaces a part did not declare before we added an element in them.
KNOWN_PREFIXES = {
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships": "r",
    "http://schemas.openxmlformats.org/markup-compatibility/2006": "mc",
    "http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac": "x14ac",
    "http://schemas.microsoft.com/office/spreadsheetml/2009/9/main": "x14",
    "http://schemas.microsoft.com/office/excel/2006/main": "xm",
    "http://schemas.microsoft.com/office/spreadsheetml/2014/revision": "xr",
}
_PROLOG = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(<\?xml[^>]*\?>\s*)?")

__all__ = ["Element", "SubElement", "XmlDoc", "parse", "qn", "local", "escape_text", "escape_attr"]


def qn(ns: str, name: str) -> str:
    """Clark notation ``{ns}name`` as xml.etree spells qualified names."""
    return f"{{{ns}}}{name}"


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


@dataclass
class XmlDoc:
    """A parsed part: the tree, the bytes before its root, and the namespace declarations of each element.

    ``raw`` maps placeholder elements to bytes written verbatim in their place (a worksheet's
    ``sheetData``, which may be hundreds of megabytes, is never parsed, only carried across).
    """

    root: Element
    prolog: bytes = DECLARATION
    decls: "weakref.WeakKeyDictionary[Element, list[tuple[str, str]]]" = field(default_factory=weakref.WeakKeyDictionary)
    raw: "weakref.WeakKeyDictionary[Element, bytes]" = field(default_factory=weakref.WeakKeyDictionary)

    def prefixes(self) -> dict[str, str]:
        """Namespace URI -> the first prefix the document used for it ('' for a default namespace)."""
        out: dict[str, str] = {}
        for pairs in self.decls.values():
            for prefix, uri in pairs:
                out.setdefault(uri, prefix)
        return out

    def declare(self, prefix: str, uri: str) -> None:
        """Declare a namespace on the root (e.g. for a prefix named only inside an attribute value)."""
        pairs = self.decls.setdefault(self.root, [])
        if (prefix, uri) not in pairs:
            pairs.append((prefix, uri))

    def serialize(self) -> bytes:
        # One join: a sheet's cells can be hundreds of MB, and each concatenation would copy them again.
        return b"".join(self.pieces())

    def pieces(self) -> list[bytes]:
        """The serialized part in pieces, each ``raw`` element's bytes a piece of its own (the same object)."""
        self._hoist()
        return [self.prolog, *_serialized_pieces(self.root, self.decls, self.raw, self.prefixes())]

    def _hoist(self) -> None:
        """Declare on the root any namespace that elements added since parsing use, as Office writes them."""
        known = set(self.prefixes().values())
        bound = set(self.prefixes())
        for el in self.root.iter():
            if not isinstance(el.tag, str):
                continue
            for name in (el.tag, *el.attrib):
                if name[0] == "{":
                    uri = name[1:].split("}", 1)[0]
                    if uri not in bound and uri != XML_NS and uri in KNOWN_PREFIXES and KNOWN_PREFIXES[uri] not in known:
                        self.declare(KNOWN_PREFIXES[uri], uri)
                        bound.add(uri)
                        known.add(KNOWN_PREFIXES[uri])


def parse(data: bytes, what: str = "part") -> XmlDoc:
    """Parse ``data`` with defusedxml (no DTDs, no entity expansion) keeping namespace declarations."""
    data = _as_utf8(data)
    match = _PROLOG.match(data)
    prolog = (match.group(1) or b"").rstrip() if match else b""
    prolog = (prolog + b"\r\n") if prolog else DECLARATION
    decls: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
    pending: list[tuple[str, str]] = []
    root = None
    try:
        for event, item in iterparse(io.BytesIO(data), events=("start-ns", "start"), forbid_dtd=True):
            if event == "start-ns":
                pending.append(item)
            else:
                if root is None:
                    root = item
                if pending:
                    decls[item] = pending
                    pending = []
    except Exception as exc:  # ParseError, DTDForbidden, EntitiesForbidden...
        raise ApxlError(f"The workbook's {what} is not valid XML ({type(exc).__name__}): the file may be corrupt.") from None
    if root is None:
        raise ApxlError(f"The workbook's {what} is empty: the file may be corrupt.")
    return XmlDoc(root=root, prolog=prolog, decls=decls)


def _as_utf8(data: bytes) -> bytes:
    """Office writes UTF-8; a UTF-16 part (allowed by OPC) is re-encoded so the rest of the code sees one encoding."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = data.decode("utf-16")
        text = re.sub(r'^\s*<\?xml[^>]*\?>', "", text, count=1)
        return DECLARATION + text.lstrip().encode("utf-8")
    return data


_TEXT_ESC = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTR_ESC = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def escape_text(text: str) -> str:
    return text.translate(_TEXT_ESC)


def escape_attr(text: str) -> str:
    return text.translate(_ATTR_ESC)


def serialize_element(root: Element, decls, raw, preferred: dict[str, str]) -> bytes:
    """Write ``root`` with each element's original declarations; new namespaces get a declared prefix."""
    return b"".join(_serialized_pieces(root, decls, raw, preferred))


def _serialized_pieces(root: Element, decls, raw, preferred: dict[str, str]) -> list[bytes]:
    parts: list[str] = []
    out: list[bytes] = []
    counter = [0]

    def flush() -> None:
        if parts:
            out.append("".join(parts).encode("utf-8"))
            parts.clear()

    def prefix_for(uri: str, scope: dict[str, str], new: list[tuple[str, str]], attribute: bool) -> str:
        if uri == XML_NS:
            return "xml"
        if not attribute and scope.get("") == uri:
            return ""
        for p, u in scope.items():
            if p and u == uri:
                return p
        p = preferred.get(uri, KNOWN_PREFIXES.get(uri))
        if p is None or (p == "" and attribute) or (p and p in scope):
            while True:  # no usable prefix: invent one that is free here
                counter[0] += 1
                p = f"ns{counter[0]}"
                if p not in scope:
                    break
        scope[p] = uri
        new.append((p, uri))
        return p

    def name(tag: str, scope: dict[str, str], new: list[tuple[str, str]], attribute: bool) -> str:
        if tag[0] != "{":
            if not attribute and scope.get(""):
                scope[""] = ""
                new.append(("", ""))
            return tag
        uri, loc = tag[1:].split("}", 1)
        p = prefix_for(uri, scope, new, attribute)
        return f"{p}:{loc}" if p else loc

    def write(elem: Element, scope: dict[str, str]) -> None:
        if elem in raw:
            flush()
            out.append(raw[elem])
            if elem.tail:
                parts.append(escape_text(elem.tail))
            return
        tag = elem.tag
        if not isinstance(tag, str):  # comments and processing instructions are not kept
            if elem.tail:
                parts.append(escape_text(elem.tail))
            return
        scope = dict(scope)
        own = list(decls.get(elem, ()))
        for p, u in own:
            scope[p] = u
        new: list[tuple[str, str]] = []
        tname = name(tag, scope, new, False)
        attrs = [(name(k, scope, new, True), v) for k, v in elem.attrib.items()]
        parts.append("<" + tname)
        for p, u in own + new:
            parts.append(f' xmlns:{p}="{escape_attr(u)}"' if p else f' xmlns="{escape_attr(u)}"')
        for k, v in attrs:
            parts.append(f' {k}="{escape_attr(v)}"')
        if len(elem) or elem.text:
            parts.append(">")
            if elem.text:
                parts.append(escape_text(elem.text))
            for child in elem:
                write(child, scope)
            parts.append(f"</{tname}>")
        else:
            parts.append("/>")
        if elem.tail:
            parts.append(escape_text(elem.tail))
        if len(parts) > 4096:
            flush()

    write(root, {})
    flush()
    return out


def children(elem: Element, ns: str, name: str) -> list[Element]:
    return elem.findall(qn(ns, name))


def canonical(elem: Element) -> tuple:
    """A comparable form of an element (tag, attributes, stripped text, children) for de-duplicating styles."""
    return (
        elem.tag,
        tuple(sorted(elem.attrib.items())),
        (elem.text or "").strip(),
        tuple(canonical(c) for c in elem if isinstance(c.tag, str)),
    )


def insert_in_order(parent: Element, child: Element, order: Iterable[str]) -> None:
    """Insert ``child`` among ``parent``'s children where the schema's sequence ``order`` (local names) puts it."""
    order = list(order)
    rank = {n: i for i, n in enumerate(order)}
    mine = rank[local(child.tag)]
    position = len(parent)
    for i, existing in enumerate(parent):
        r = rank.get(local(existing.tag))
        if r is not None and r > mine:
            position = i
            break
    parent.insert(position, child)
