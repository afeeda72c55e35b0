"""Preparing school returns in a batch: read each safely, map it to the contract, then type and match them all at once."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter

from apxl.core.parse import parse_table
from apxl.core.reconcile import COMPARED_FIELDS, MATCH_BY_PUPIL, expected_in_returns, field_differences, match_placements, month_bounds
from apxl.core.register import RawTable, Register, Table
from apxl.core.tables import SHEETS, columns, header_lookup, headers, norm_header
from apxl.core.vocab import norm
from apxl.errors import ApxlError
from apxl.io.returns.read import ReturnFile, read_return
from apxl.io.returns.safety import DEFAULT_LIMITS, Limits, UnsafeReturnError

_MODEL = SHEETS["placements"].model
HDR = headers(_MODEL)
_FIELD_OF = {h: f for f, h in HDR.items()}
_LOOKUP = header_lookup(_MODEL)
_REQUIRED_COLUMNS = [c for c in columns(_MODEL) if c.required_column]
NOTE_COLUMNS = ["rule_id", "sheet", "row", "column", "key", "value", "message"]
# Each return's rows are numbered (k + 1) * STRIDE + its Excel row in the combined frame, so one
# parse and one match serve the whole batch and every finding can be traced back to its file.
STRIDE = 10_000


@dataclass
class Failure:
    """A return that could not be used at all, with a stable reason code and one sentence for the school."""

    path: Path
    reason: str
    message: str


@dataclass
class Prepared:
    """A return read, mapped and typed, with each row matched against the register."""

    file: ReturnFile
    school_urn: str | None
    month: str | None
    placements: Table  # index = the return's Excel rows
    attendance: Table | None
    findings: pd.DataFrame  # STR findings and RET notes raised while mapping (NOTE_COLUMNS)
    matches: pd.DataFrame
    differences: pd.DataFrame
    missing: pd.DataFrame  # register placements this school should have returned and did not
    provisional: set[int]  # rows whose Placement ID was made up because the school left it blank


def provisional_id(school_urn: str | None, month: str | None, row: int) -> str:
    """The ID a returned row without a Placement ID is given until the LA assigns its own."""
    return f"RET-{school_urn or 'UNKNOWN'}-{month or 'NOMONTH'}-R{row}"


def note(rule_id: str, sheet: str, row: Any, column: Any, key: Any, value: Any, message: Any) -> pd.DataFrame:
    frame = pd.DataFrame({"sheet": sheet, "row": row, "column": column, "key": key, "value": value, "message": message})
    return frame.assign(rule_id=rule_id)[NOTE_COLUMNS]


def _concat(parts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if p is not None and len(p)]
    return pd.concat(parts, ignore_index=True)[NOTE_COLUMNS] if parts else pd.DataFrame(columns=NOTE_COLUMNS)


def _positions(raw_headers: list[str]) -> dict[str, int]:
    pos: dict[str, int] = {}
    for i, h in enumerate(raw_headers):
        f = _LOOKUP.get(norm_header(h))
        if f and f not in pos:
            pos[f] = i
    return pos


def normalise(raw: RawTable, school_urn: str | None, month: str | None, providers: pd.DataFrame) -> tuple[RawTable, pd.DataFrame, set[int]]:
    """Fill what a school cannot know and map what it wrote its own way, noting each change (RET-001, RET-002).

    - a blank Placement ID gets a provisional one; a blank home school URN is the returning school's;
    - a provider written by name ("Greenfield Farm") or as "P004 - Greenfield Farm" becomes its Provider ID.
    Returns the mapped table, the notes and the rows given a provisional ID.
    """
    frame = raw.frame.copy()
    frame.columns = range(frame.shape[1])  # headers as written may repeat (merged header cells)
    heads, letters = list(raw.headers), list(raw.letters)
    pos = _positions(heads)

    def column(field_name: str) -> int:
        if field_name not in pos:  # the school's sheet lacks it: add it, as the register would have it
            pos[field_name] = len(heads)
            heads.append(HDR[field_name])
            letters.append(get_column_letter(len(heads)))
            frame[pos[field_name]] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
        return pos[field_name]

    notes = []
    blank = lambda s: s.isna() | s.astype("str").str.strip().eq("")  # noqa: E731
    pid = column("placement_id")
    missing_id = blank(frame[pid])
    provisional = set(int(r) for r in frame.index[missing_id])
    if missing_id.any():
        ids = pd.Series([provisional_id(school_urn, month, int(r)) for r in frame.index[missing_id]], index=frame.index[missing_id], dtype=object)
        frame.loc[missing_id, pid] = ids
    if school_urn:
        urn = column("home_school_urn")
        frame.loc[blank(frame[urn]), urn] = school_urn
    if "provider_id" in pos and len(providers):
        notes.extend(_map_providers(frame, pos["provider_id"], raw.sheet, providers))
    out = RawTable(sheet=raw.sheet, header_row=raw.header_row, headers=heads, letters=letters, frame=frame.set_axis(heads, axis=1))
    return out, _concat(notes), provisional


def _code(value: Any) -> str:
    return re.sub(r"\s+", "", str(value)).upper()


def _map_providers(frame: pd.DataFrame, col: int, sheet: str, providers: pd.DataFrame) -> list[pd.DataFrame]:
    directory = providers.dropna(subset=["provider_id"])
    ids = set(directory["provider_id"].map(_code))
    by_name = {norm(n): i for n, i in zip(directory["name"].astype("str"), directory["provider_id"]) if isinstance(n, str) and n.strip()}

    def resolve(value: Any) -> str | None:
        text = str(value).strip()
        if _code(text) in ids:
            return None  # already an ID
        if norm(text) in by_name:
            return by_name[norm(text)]
        head = re.split(r"\s*[-–:|]\s*|\s+", text, maxsplit=1)[0]
        return head.upper() if _code(head) in ids else None

    values = frame[col]
    present = values.notna() & values.astype("str").str.strip().ne("")
    mapping = {u: resolve(u) for u in values[present].astype("str").unique()}  # once per distinct value
    mapped = values[present].astype("str").map(mapping)
    hit = mapped.notna()
    if not hit.any():
        return []
    rows = mapped.index[hit]
    original = values[rows].to_numpy()
    frame.loc[rows, col] = mapped[hit]
    return [note("RET-002", sheet, rows.astype("int64"), HDR["provider_id"], mapped[hit].to_numpy(), original,
                 [f"Provider '{v}' was read as Provider ID {i} from the LA's provider directory: choose the ID from the drop-down next time."
                  for v, i in zip(original, mapped[hit])])]


def _canonical(raw: RawTable, offset: int) -> tuple[pd.DataFrame, dict[str, str]]:
    """The mapped columns under their contract headers, rows renumbered for the batch; and field -> column letter."""
    pos = _positions(raw.headers)
    data = {HDR[f]: raw.frame.iloc[:, i].to_numpy(dtype=object) for f, i in pos.items()}
    frame = pd.DataFrame(data, index=raw.frame.index.astype("int64") + offset, dtype=object)
    return frame, {f: raw.letters[i] for f, i in pos.items()}


def _read_one(path: Path, register: Register, school: str | None, month: str | None, limits: Limits):
    rf = read_return(path, limits=limits, school=school, month=month)
    raw, notes, provisional = normalise(rf.placements, rf.info.school_urn, rf.info.month, register.providers)
    return rf, raw, notes, provisional


def prepare_returns(paths: Iterable[str | Path], register: Register, *, school: str | None = None, month: str | None = None,
                    limits: Limits = DEFAULT_LIMITS, progress: Callable[[Path], None] | None = None) -> tuple[list[Prepared], list[Failure]]:
    """Read every return (a bad one is a Failure, the rest go on), then type, match and compare them in one pass."""
    loaded, failures = [], []
    for path in map(Path, paths):
        if progress:
            progress(path)
        try:
            loaded.append((path, *_read_one(path, register, school, month, limits)))
        except UnsafeReturnError as exc:
            failures.append(Failure(path, exc.reason, str(exc)))
        except ApxlError as exc:
            failures.append(Failure(path, "unreadable", str(exc)))
        except Exception as exc:  # one broken return must not stop the month's batch
            failures.append(Failure(path, "error", f"{path.name} could not be processed ({type(exc).__name__}): send it to the apxl maintainers."))
    if not loaded:
        return [], failures
    frames, letters = [], []
    for k, (_, _, raw, _, _) in enumerate(loaded):
        frame, lett = _canonical(raw, (k + 1) * STRIDE)
        frames.append(frame)
        letters.append(lett)
    combined = pd.concat(frames)
    heads = list(combined.columns)
    table, found = parse_table("placements", RawTable(sheet="Placements", header_row=1, headers=heads, letters=[""] * len(heads), frame=combined))
    pl = table.frame
    block = (pl.index // STRIDE - 1).to_numpy()
    matches = match_placements(register.placements, pl, group=pd.Series(block, index=pl.index))
    # A row the school left without an ID, found on the register by pupil, provider and start date, is that placement.
    by_pupil = (matches["matched_by"] == MATCH_BY_PUPIL).to_numpy()
    prov = np.isin(pl.index.to_numpy(), [(k + 1) * STRIDE + r for k, item in enumerate(loaded) for r in item[4]])
    take = by_pupil & prov
    if take.any():
        pl.loc[take, "placement_id"] = register.placements.loc[matches.loc[take, "register_row"].astype("int64"), "placement_id"].to_numpy()
    diffs = field_differences(register.placements, pl, matches, COMPARED_FIELDS)
    prepared = []
    for k, (path, rf, raw, notes, provisional) in enumerate(loaded):
        offset = (k + 1) * STRIDE
        mine = block == k
        rows = pl.index[mine]
        typed = pl.loc[rows].set_axis(rows - offset)
        sub_f = found[(found["row"] >= offset) & (found["row"] < offset + STRIDE)] if len(found) else found
        sub_f = _own_findings(sub_f, offset, raw, letters[k])
        m = matches.loc[rows].set_axis(rows - offset)
        m["duplicate_of"] = (m["duplicate_of"] - offset).astype("Int64")
        d = diffs[(diffs["row"] >= offset) & (diffs["row"] < offset + STRIDE)].copy() if len(diffs) else diffs.copy()
        d["row"] = d["row"] - offset
        t = Table(name="placements", sheet=raw.sheet, frame=typed, headers=HDR, letters=letters[k], header_row=raw.header_row)
        urn, mon = rf.info.school_urn, rf.info.month
        prepared.append(Prepared(file=rf, school_urn=urn, month=mon, placements=t, attendance=rf.attendance,
                                 findings=_concat([notes, sub_f, rf.attendance_findings, _home_school(t, urn)]),
                                 matches=m, differences=d.reset_index(drop=True), missing=_missing(register, m, urn, mon),
                                 provisional=provisional))
    return prepared, failures


def _own_findings(found: pd.DataFrame, offset: int, raw: RawTable, letters: dict[str, str]) -> pd.DataFrame:
    """STR findings of one return from the batch parse: its own rows and sheet, and its own missing columns (STR-002)."""
    absent = [c for c in _REQUIRED_COLUMNS if c.field not in letters]
    out = found.copy()
    if len(out):
        out["row"] = out["row"] - offset
        out["sheet"] = raw.sheet
        # Duplicate IDs are judged per return (RET-004); a blank required value in a column the
        # school's sheet does not have at all is the one STR-002 below, not one STR-006 per row.
        out = out[out["rule_id"] != "STR-005"]
        lacking = {HDR[c.field] for c in absent}
        out = out[~((out["rule_id"] == "STR-006") & out["column"].isin(lacking))]
    str002 = pd.DataFrame([{"rule_id": "STR-002", "sheet": raw.sheet, "row": raw.header_row, "column": c.header, "key": None, "value": None,
                            "message": f"Your sheet has no '{c.header}' column (also accepted: {', '.join(c.aliases[:3]) or 'none'}): add it so the row can be checked."}
                           for c in absent])
    return _concat([str002, out[NOTE_COLUMNS] if len(out) else None])


def _home_school(table: Table, school_urn: str | None) -> pd.DataFrame | None:
    if not school_urn:
        return None
    pl = table.frame
    other = pl["home_school_urn"].notna() & (pl["home_school_urn"] != school_urn)
    if not other.any():
        return None
    urns = pl.loc[other, "home_school_urn"]
    return note("RET-003", table.sheet, pl.index[other].astype("int64"), HDR["home_school_urn"], pl.loc[other, "placement_id"].to_numpy(),
                urns.to_numpy(), [f"This return is from school {school_urn} but the row names home school {u}: check the pupil is yours, "
                                  "or leave the row for that school's return." for u in urns])


def _missing(register: Register, matches: pd.DataFrame, school_urn: str | None, month: str | None) -> pd.DataFrame:
    reg = register.placements
    if not (school_urn and month):
        return reg.iloc[0:0]
    start, end = month_bounds(month)
    expected = reg[expected_in_returns(reg, start, end) & (reg["home_school_urn"] == school_urn)]
    return expected[~expected.index.isin(matches["register_row"].dropna().astype("int64").tolist())]
