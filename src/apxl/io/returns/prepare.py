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


def normalise(raw: RawTable, school_urn: str | None, month: str | None) -> tuple[RawTable, set[int]]:
    """Fill what a school cannot know: a blank Placement ID gets a provisional one (RET-001 says which), a blank
    home school URN is the returning school's. Returns the table and the rows given a provisional ID."""
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

    blank = lambda s: pd.Series([v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and v != v) for v in s],  # noqa: E731
                                index=s.index, dtype=bool)
    pid = column("placement_id")
    missing_id = blank(frame[pid])
    provisional = set(int(r) for r in frame.index[missing_id])
    if missing_id.any():
        ids = pd.Series([provisional_id(school_urn, month, int(r)) for r in frame.index[missing_id]], index=frame.index[missing_id], dtype=object)
        frame.loc[missing_id, pid] = ids
    if school_urn:
        urn = column("home_school_urn")
        frame.loc[blank(frame[urn]), urn] = school_urn
    out = RawTable(sheet=raw.sheet, header_row=raw.header_row, headers=heads, letters=letters, frame=frame.set_axis(heads, axis=1))
    return out, provisional


def _code(value: Any) -> str:
    return re.sub(r"\s+", "", str(value)).upper()


def map_providers(values: pd.Series, providers: pd.DataFrame) -> pd.Series:
    """Provider IDs for values written as a directory name ("Greenfield Farm Skills") or "P004 - Greenfield Farm";
    NA where the value is already an ID, blank or unknown. Each distinct value is looked up once."""
    directory = providers.dropna(subset=["provider_id"])
    ids = set(directory["provider_id"].map(_code))
    by_name = {norm(n): i for n, i in zip(directory["name"].astype("str"), directory["provider_id"]) if isinstance(n, str) and n.strip()}

    def resolve(value: Any) -> str | None:
        text = str(value).strip()
        if not text or _code(text) in ids:
            return None
        if norm(text) in by_name:
            return by_name[norm(text)]
        head = re.split(r"\s*[-–:|]\s*|\s+", text, maxsplit=1)[0]
        return head.upper() if _code(head) in ids else None

    present = values.notna()
    text = values[present].astype("str")
    mapping = {u: resolve(u) for u in text.unique()}
    return text.map(mapping).reindex(values.index)


def _canonical(raw: RawTable, offset: int) -> tuple[pd.DataFrame, dict[str, str]]:
    """The mapped columns under their contract headers, rows renumbered for the batch; and field -> column letter."""
    pos = _positions(raw.headers)
    values = raw.frame.to_numpy(dtype=object)
    data = {HDR[f]: values[:, i] for f, i in pos.items()}
    frame = pd.DataFrame(data, index=raw.frame.index.astype("int64") + offset, dtype=object)
    return frame, {f: raw.letters[i] for f, i in pos.items()}


def _read_one(path: Path, school: str | None, month: str | None, limits: Limits):
    rf = read_return(path, limits=limits, school=school, month=month)
    raw, provisional = normalise(rf.placements, rf.info.school_urn, rf.info.month)
    return rf, raw, provisional


def prepare_returns(paths: Iterable[str | Path], register: Register, *, school: str | None = None, month: str | None = None,
                    limits: Limits = DEFAULT_LIMITS, progress: Callable[[Path], None] | None = None) -> tuple[list[Prepared], list[Failure]]:
    """Read every return (a bad one is a Failure, the rest go on), then type, match and compare them in one pass."""
    loaded, failures = [], []
    for path in map(Path, paths):
        if progress:
            progress(path)
        try:
            loaded.append((path, *_read_one(path, school, month, limits)))
        except UnsafeReturnError as exc:
            failures.append(Failure(path, exc.reason, str(exc)))
        except ApxlError as exc:
            failures.append(Failure(path, "unreadable", str(exc)))
        except Exception as exc:  # one broken return must not stop the month's batch
            failures.append(Failure(path, "error", f"{path.name} could not be processed ({type(exc).__name__}): send it to the apxl maintainers."))
    if not loaded:
        return [], failures
    frames, letters = [], []
    for k, (_, _, raw, _) in enumerate(loaded):
        frame, lett = _canonical(raw, (k + 1) * STRIDE)
        frames.append(frame)
        letters.append(lett)
    combined = pd.concat(frames)
    provider_notes = _providers_by_name(combined, register.providers, [item[2].sheet for item in loaded])
    heads = list(combined.columns)
    table, found = parse_table("placements", RawTable(sheet="Placements", header_row=1, headers=heads, letters=[""] * len(heads), frame=combined))
    pl = table.frame
    block = (pl.index // STRIDE - 1).to_numpy()
    matches = match_placements(register.placements, pl, group=pd.Series(block, index=pl.index))
    # A row the school left without an ID, found on the register by pupil, provider and start date, is that placement.
    by_pupil = (matches["matched_by"] == MATCH_BY_PUPIL).to_numpy()
    prov = np.isin(pl.index.to_numpy(), [(k + 1) * STRIDE + r for k, item in enumerate(loaded) for r in item[3]])
    take = by_pupil & prov
    if take.any():
        pl.loc[take, "placement_id"] = register.placements.loc[matches.loc[take, "register_row"].astype("int64"), "placement_id"].to_numpy()
    diffs = field_differences(register.placements, pl, matches, COMPARED_FIELDS)
    expected: dict[str | None, pd.DataFrame] = {}
    prepared = []
    for k, (path, rf, raw, provisional) in enumerate(loaded):
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
        if mon not in expected:
            expected[mon] = _expected_by_school(register, mon)
        notes = provider_notes[k] if k in provider_notes else None
        prepared.append(Prepared(file=rf, school_urn=urn, month=mon, placements=t, attendance=rf.attendance,
                                 findings=_concat([notes, sub_f, rf.attendance_findings, _home_school(t, urn)]),
                                 matches=m, differences=d.reset_index(drop=True), missing=_missing(expected[mon], m, urn),
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


def _expected_by_school(register: Register, month: str | None) -> dict[str, pd.DataFrame]:
    """The register placements each school should return for the month (worked out once per batch)."""
    if not month:
        return {}
    start, end = month_bounds(month)
    reg = register.placements
    expected = reg[expected_in_returns(reg, start, end)]
    return {str(urn): group for urn, group in expected.groupby("home_school_urn", sort=False)}


def _missing(expected: dict[str, pd.DataFrame], matches: pd.DataFrame, school_urn: str | None) -> pd.DataFrame:
    mine = expected.get(str(school_urn)) if school_urn else None
    if mine is None:
        return pd.DataFrame(columns=["placement_id", "provider_id", "start_date"])
    return mine[~mine.index.isin(matches["register_row"].dropna().astype("int64").tolist())]


def _providers_by_name(combined: pd.DataFrame, providers: pd.DataFrame, sheets: list[str]) -> dict[int, pd.DataFrame]:
    """Map providers written by name to their IDs across the whole batch, in place; RET-002 notes per return."""
    head = HDR["provider_id"]
    if head not in combined.columns or not len(providers):
        return {}
    mapped = map_providers(combined[head], providers)
    hit = mapped.notna()
    if not hit.any():
        return {}
    rows = combined.index[hit]
    original = combined.loc[rows, head].to_numpy()
    combined.loc[rows, head] = mapped[hit].to_numpy()
    block = rows // STRIDE - 1
    out = {}
    for k in sorted(set(block)):
        sel = block == k
        r = rows[sel] - (k + 1) * STRIDE
        out[int(k)] = note("RET-002", sheets[k], r.astype("int64"), HDR["provider_id"], mapped[hit].to_numpy()[sel], original[sel],
                           [f"Provider '{v}' was read as Provider ID {i} from the LA's provider directory: choose the ID from the drop-down next time."
                            for v, i in zip(original[sel], mapped[hit].to_numpy()[sel])])
    return out
