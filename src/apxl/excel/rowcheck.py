"""CHECK for many placement rows at once, each judged as if it were the only row.

Excel asks for CHECK once per row, often for thousands of rows in one recalculation. Checking
each row through ``check_register`` separately is correct but slow, so the rows are checked
together in one register. Rules that compare rows (same UPN in two placements, duplicate IDs,
pupils per provider) must not see the other rows: in that run every row gets its own synthetic
Placement ID, UPN and Provider ID, and the findings are mapped back to the real ones. The UPN's
own checks (PUP-001/002) run on the real UPNs.
"""
from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from apxl.core.tables import Placements, header_lookup, norm_header

UPN_RULES = {"PUP-001", "PUP-002"}
_SEVERITY = {"error": 0, "warning": 1, "info": 2}
NO_FINDINGS = [["OK", "No problems found by the row checks."]]


def _synthetic_upns(n: int) -> list[str]:
    """n distinct well-formed UPNs (check letters worked out together: one at a time is slow)."""
    from apxl.core.pupils import upn_check_letters

    bodies = [f"{990000000000 + i:012d}" for i in range(n)]
    letters = upn_check_letters(pd.Series(["A" + b for b in bodies], dtype=object))
    return [str(letter) + body for letter, body in zip(letters, bodies)]


def _synthetic_upn(i: int) -> str:
    return _synthetic_upns(i + 1)[-1]


def _records(headers: list[str | None], rows: list[list[Any]]) -> list[dict[str, Any]]:
    width = len(headers)
    out = []
    for row in rows:
        values = (list(row) + [None] * width)[:width]
        out.append({h: v for h, v in zip(headers, values) if h})
    return out


_CACHE: dict[tuple, list[list[str]]] = {}
_CACHE_SIZE = 50_000


def _key(headers, row, policy, as_of) -> tuple:
    return (tuple(map(str, headers)), tuple(map(repr, row)), id(policy), as_of)


def check_placement_rows(headers: list[str | None], rows: list[list[Any]], policy, as_of: date) -> list[list[list[str]]]:
    """For each row: [[rule id, message], ...] (or one 'OK' line), in the report's order.

    A row's answer depends only on the row, the headers, the policy and the date, so answers are
    remembered: Excel recalculates every CHECK cell when any cell changes, and only new or edited
    rows are checked again.
    """
    keys = [_key(headers, row, policy, as_of) for row in rows]
    todo = [i for i, k in enumerate(keys) if k not in _CACHE]
    if todo:
        fresh = _check_rows(headers, [rows[i] for i in todo], policy, as_of)
        if len(_CACHE) + len(todo) > _CACHE_SIZE:
            _CACHE.clear()
        for i, value in zip(todo, fresh):
            _CACHE[keys[i]] = value
    return [[list(line) for line in _CACHE[k]] for k in keys]


def _check_rows(headers: list[str | None], rows: list[list[Any]], policy, as_of: date) -> list[list[list[str]]]:
    from apxl.core.check import check_register
    from apxl.core.parse import register_from_records
    from apxl.core.rules.registry import catalogue

    if not rows:
        return []
    lookup = header_lookup(Placements)
    field_of = {h: lookup.get(norm_header(h)) for h in headers if h}
    real = _records(headers, rows)
    upns = _synthetic_upns(len(real))
    masked: list[dict[str, Any]] = []
    swaps: list[dict[str, str]] = []  # per row: synthetic text -> real text
    for i, rec in enumerate(real):
        copy, swap = dict(rec), {}
        for header, value in rec.items():
            field = field_of.get(header)
            blank = value is None or (isinstance(value, str) and not value.strip())
            if field not in {"placement_id", "upn", "provider_id"} or blank:
                continue
            fake = {"placement_id": f"APXLROW{i:07d}", "upn": upns[i], "provider_id": f"APXLPRV{i:07d}"}[field]
            copy[header] = fake
            swap[fake] = str(value).strip() if not isinstance(value, float) or not value.is_integer() else str(int(value))
        masked.append(copy)
        swaps.append(swap)

    upn_rules = {r.id for r in catalogue()} & UPN_RULES
    isolated = check_register(register_from_records(placements=masked), policy, as_of).frame
    isolated = isolated[~isolated["rule_id"].isin(upn_rules)]
    # Only the identifying columns are needed for the UPN's own checks: parsing the rest again is slow.
    ids = [{h: rec.get(h) for h in rec if field_of.get(h) in {"placement_id", "upn"}} for rec in real]
    own_upn = check_register(register_from_records(placements=ids), policy, as_of, only=upn_rules).frame if upn_rules else isolated.iloc[:0]
    # Findings from parsing the real rows on the UPN column (e.g. blank UPN) are already in ``isolated``.
    own_upn = own_upn[own_upn["rule_id"].isin(upn_rules)]
    frame = pd.concat([isolated, own_upn], ignore_index=True)
    frame = frame[frame["row"].notna()]
    out: list[list[tuple[int, str, str]]] = [[] for _ in rows]
    for rec in frame.to_dict("records"):
        i = int(rec["row"]) - 2  # register_from_records numbers rows from Excel row 2
        if not 0 <= i < len(rows):
            continue
        text = str(rec["message"])
        for fake, value in swaps[i].items():
            text = text.replace(fake, value)
        out[i].append((_SEVERITY.get(rec["severity"], 9), str(rec["rule_id"]), text))
    return [[[rid, text] for _, rid, text in sorted(found)] or [list(x) for x in NO_FINDINGS] for found in out]
