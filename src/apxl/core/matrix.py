"""Reading a route-matrix cell as an LA writes it ('LA/School', 'Dual, school main') into the values it allows."""
from __future__ import annotations

import re
from typing import Any, Iterable

from apxl.core.vocab import PARTIES, REGISTRATIONS

ALL_PARTIES = frozenset(PARTIES)
ALL_REGISTRATIONS = frozenset(REGISTRATIONS)
# The matrix columns: field name -> (what the cell lists, the policy attribute holding the allowed set).
MATRIX_COLUMNS = {
    "commissioner": ("commissioner", "commissioners"),
    "place_funder": ("place funder", "place_funders"),
    "topup_funder": ("top-up funder", "topup_funders"),
    "registration": ("registration", "registrations"),
}

_FILLER = {
    "or", "and", "by", "with", "the", "a", "of", "from", "reg", "registration", "registered", "alternative", "provision",
    "ap", "pru", "initially", "then", "main", "local", "agreement", "only", "either", "funded", "funding", "pays", "paid",
    "commissions", "commissioned", "to", "at", "roll", "on", "pupil", "pupils", "school's", "where", "appropriate",
}


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9'\-]+", text.lower().replace("–", "-")) if w]


def parse_parties(text: Any) -> frozenset[str] | None:
    """'LA', 'School', 'LA/School', 'School by local agreement' -> the parties allowed; None if unreadable.

    'Recovery of AWPU from school' (Herefordshire, PEX top-up) allows either: the LA pays the provider and
    recovers the AWPU from the excluding school (School and Early Years Finance Regulations, reg 27).
    """
    if text is None or not isinstance(text, str) or not text.strip():
        return None
    t = text.strip().lower()
    if "recovery of awpu" in t:
        return ALL_PARTIES
    found: set[str] = set()
    words = _words(t.replace("local authority", " la ").replace("council", " la "))
    unknown = []
    for w in words:
        if w in {"la", "las"}:
            found.add("LA")
        elif w in {"school", "schools", "academy", "academies"}:
            found.add("School")
        elif w in {"any", "both", "either"}:
            found.update(ALL_PARTIES)
        elif w not in _FILLER:
            unknown.append(w)
    if not found or len(unknown) > 2:
        return None
    return frozenset(found)


def parse_registrations(text: Any) -> frozenset[str] | None:
    """A registration cell -> the registrations allowed (DESIGN.md section 2); None if unreadable.

    "Dual, school main" allows Dual or Off-site (the pupil stays on the home school's roll);
    "Single" allows Single; "Dual initially then single" allows Dual or Single; "Dual or single" allows all three.
    """
    if text is None or not isinstance(text, str) or not text.strip():
        return None
    t = re.sub(r"\s+", " ", text.strip().lower().replace("–", "-"))
    found: set[str] = set()
    if re.search(r"\bdual\b\s*(or\s+single)\b", t) and "school main" not in t:
        return ALL_REGISTRATIONS
    if re.search(r"\b(any|all)\b", t):
        return ALL_REGISTRATIONS
    if re.search(r"\bdual\b[\s,]*(?:\(?\s*)school main", t):
        found.update({"Dual", "Off-site"})
        t = re.sub(r"\bdual\b[\s,]*(?:\(?\s*)school main\)?", " ", t)
    if re.search(r"\bdual\b.*\binitially\b.*\bthen\b.*\bsingle\b", t):
        found.update({"Dual", "Single"})
        t = re.sub(r"\bdual\b.*\bsingle\b", " ", t)
    t = re.sub(r"\boff[\s\-]?site\b", " offsite ", t)
    unknown = []
    for w in _words(t):
        if w == "dual":
            found.add("Dual")
        elif w == "single":
            found.add("Single")
        elif w in {"offsite", "none"}:
            found.add("Off-site")
        elif w not in _FILLER and w != "school":
            unknown.append(w)
    if not found or len(unknown) > 2:
        return None
    return frozenset(found)


def parse_cell(column: str, text: Any) -> frozenset[str] | None:
    """Parse one matrix cell of ``column`` (commissioner, place_funder, topup_funder or registration)."""
    return parse_registrations(text) if column == "registration" else parse_parties(text)


def allowed_values(column: str) -> frozenset[str]:
    return ALL_REGISTRATIONS if column == "registration" else ALL_PARTIES


def describe(values: Iterable[str], column: str = "commissioner") -> str:
    """An allowed set as words: 'LA', 'LA or School', 'Dual or Off-site'."""
    order = REGISTRATIONS if column == "registration" else PARTIES
    picked = [v for v in order if v in set(values)]
    if not picked:
        return "nobody"
    return picked[0] if len(picked) == 1 else ", ".join(picked[:-1]) + " or " + picked[-1]
