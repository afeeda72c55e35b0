"""Reconciling school returns with the LA register (pure): matching placements, field differences, who did not return.

Schools commission much AP themselves and the LA only sees it if they return it (seed
003_57d480e12197286d.txt §6.1d, §11.5: one register of every child in AP; seed
002_f01ccf5f4a336bf1.txt action 1; seed 001_1b4d944cfdd0b4c6.txt "Working in partnership with
schools"). A returned placement is the register's placement when it has the same Placement ID, or
the same pupil (UPN), provider and start date: the second test catches returns where the school
did not know the LA's Placement ID.
"""
from __future__ import annotations

import re
from typing import Iterable

import numpy as np
import pandas as pd

from apxl.core.register import Register, Table
from apxl.core.tables import Placements, columns

MATCH_BY_ID = "Placement ID"
MATCH_BY_PUPIL = "UPN + provider + start date"
PUPIL_KEY = ("upn", "provider_id", "start_date")
# Fields that identify a child: compared, but never printed in summaries (DESIGN.md section 5).
PERSONAL_FIELDS = ("upn", "surname", "forename", "date_of_birth")
COMPARED_FIELDS = tuple(c.field for c in columns(Placements) if c.field != "placement_id")
DIFFERENCE_COLUMNS = ["row", "register_row", "placement_id", "field", "register_value", "returned_value"]


def month_bounds(month: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """'2025-03' -> (1 March 2025, 31 March 2025)."""
    m = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", str(month or ""))
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"'{month}' is not a month: use YYYY-MM, e.g. 2025-03.")
    start = pd.Timestamp(int(m.group(1)), int(m.group(2)), 1)
    return start, start + pd.offsets.MonthEnd(0)


def active_between(placements: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Placements running at some point from ``start`` to ``end``: started by the end, not ended before the start.

    A placement past its planned end with no end date is still open: nobody has recorded it ending.
    """
    began = placements["start_date"].notna() & (placements["start_date"] <= end)
    running = placements["end_date"].isna() | (placements["end_date"] >= start)
    return began & running


def expected_in_returns(placements: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Register placements a school should confirm for the month: running in it, pupil still on the school's roll.

    A Single-registered pupil is on the AP's roll only, so the home school no longer records them
    (DESIGN.md section 2); Dual and Off-site pupils stay on the school's roll and in its return.
    """
    return active_between(placements, start, end) & placements["home_school_urn"].notna() & (placements["registration"] != "Single").fillna(True)


def _pupil_key(frame: pd.DataFrame) -> pd.Series:
    parts = [frame[f].astype("str") if f != "start_date" else frame[f].dt.strftime("%Y-%m-%d") for f in PUPIL_KEY]
    key = parts[0].str.cat(parts[1:], sep="|")
    complete = frame[list(PUPIL_KEY)].notna().all(axis=1)
    return key.where(complete)


def match_placements(register: pd.DataFrame, returned: pd.DataFrame, group: pd.Series | None = None) -> pd.DataFrame:
    """For each returned row (same index): the register row it is, how it matched, and any earlier returned row it repeats.

    Columns: ``register_row`` (Int64), ``matched_by`` (MATCH_BY_ID, MATCH_BY_PUPIL or None),
    ``duplicate_of`` (Int64: the first returned row of the same ``group`` (return) with the same
    Placement ID, the same pupil key, or resolving to the same register row).
    """
    reg = register.assign(_row=register.index.astype("int64"))
    by_id = reg.dropna(subset=["placement_id"]).drop_duplicates("placement_id").set_index("placement_id")["_row"]
    reg_key = _pupil_key(reg)
    by_key = reg.assign(_key=reg_key).dropna(subset=["_key"]).drop_duplicates("_key").set_index("_key")["_row"]
    ret_key = _pupil_key(returned)
    id_hit = returned["placement_id"].map(by_id)
    key_hit = ret_key.map(by_key)
    register_row = id_hit.fillna(key_hit).astype("Int64")
    matched_by = pd.Series(np.where(id_hit.notna(), MATCH_BY_ID, np.where(key_hit.notna(), MATCH_BY_PUPIL, None)), index=returned.index, dtype=object)
    # The same placement twice in one return: by ID, by pupil key, or two rows resolving to one register row.
    rows = pd.Series(returned.index.astype("int64"), index=returned.index)
    tag = ("|" + group.astype("str")) if group is not None else ""
    first = pd.Series(pd.NA, index=returned.index, dtype="Int64")
    for key in (returned["placement_id"].astype("str"), ret_key, register_row.astype("str").where(register_row.notna())):
        key = (key + tag).where(key.notna())
        earliest = rows.groupby(key.to_numpy(), dropna=True).transform("min").reindex(returned.index)
        repeat = key.notna() & earliest.notna() & (earliest != rows)
        first = first.where(~(repeat & first.isna()), earliest.astype("Int64"))
    return pd.DataFrame({"register_row": register_row, "matched_by": matched_by, "duplicate_of": first}, index=returned.index)


def _comparable(values: pd.Series) -> pd.Series:
    """Values in a form where equal means 'the same fact': text ignores case and spacing, numbers round to pence."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.normalize()
    if pd.api.types.is_float_dtype(values):
        return values.round(2)
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_integer_dtype(values):
        return values
    return values.astype("str").str.casefold().str.replace(r"\s+", " ", regex=True).str.strip().where(values.notna())


def field_differences(register: pd.DataFrame, returned: pd.DataFrame, matches: pd.DataFrame, fields: Iterable[str] = COMPARED_FIELDS) -> pd.DataFrame:
    """Field-by-field differences between matched returned rows and their register rows.

    Only values the return states are compared: a column the school does not keep, or a cell it
    left blank, is 'not stated', not a disagreement. One row per differing field, in row then
    contract column order; values are the typed values.
    """
    hit = matches[matches["register_row"].notna() & matches["duplicate_of"].isna()]
    if hit.empty:
        return pd.DataFrame(columns=DIFFERENCE_COLUMNS)
    reg_rows = hit["register_row"].astype("int64").to_numpy()
    parts = []
    for order, field in enumerate(fields):
        if field not in returned.columns or field not in register.columns:
            continue
        mine = returned.loc[hit.index, field]
        theirs = register.loc[reg_rows, field].set_axis(hit.index)
        a, b = _comparable(mine), _comparable(theirs)
        differ = mine.notna() & ~(a.eq(b).fillna(False).astype(bool))
        if differ.any():
            idx = hit.index[differ.to_numpy()]
            parts.append(pd.DataFrame({
                "row": idx.astype("int64"), "register_row": hit.loc[idx, "register_row"].astype("int64").to_numpy(),
                "placement_id": register.loc[hit.loc[idx, "register_row"].astype("int64"), "placement_id"].to_numpy(),
                "field": field, "register_value": theirs[differ].astype(object).to_numpy(), "returned_value": mine[differ].astype(object).to_numpy(),
                "_order": order,
            }))
    if not parts:
        return pd.DataFrame(columns=DIFFERENCE_COLUMNS)
    out = pd.concat(parts, ignore_index=True).sort_values(["row", "_order"], kind="stable")
    return out[DIFFERENCE_COLUMNS].reset_index(drop=True)


def missing_from_returns(expected: pd.DataFrame, returned_schools: Iterable[str], matched_rows: Iterable[int]) -> pd.DataFrame:
    """Expected register placements of schools that did return, which their return does not contain."""
    schools = set(returned_schools)
    seen = set(int(r) for r in matched_rows)
    mask = expected["home_school_urn"].isin(schools) & ~expected.index.isin(list(seen))
    return expected.loc[mask]


def schools_not_returned(expected: pd.DataFrame, returned_schools: Iterable[str]) -> pd.DataFrame:
    """Schools with placements expected in a return that sent none: URN, name and how many placements."""
    pending = expected[~expected["home_school_urn"].isin(set(returned_schools))]
    if pending.empty:
        return pd.DataFrame(columns=["school_urn", "school_name", "placements"])
    grouped = pending.groupby("home_school_urn", sort=True).agg(school_name=("home_school_name", "first"), placements=("placement_id", "size"))
    return grouped.reset_index(names="school_urn")[["school_urn", "school_name", "placements"]]


def with_placements(register: Register, blocks: list[pd.DataFrame], attendance: list[pd.DataFrame] | None = None, *, stride: int = 10000,
                    own_attendance: bool = True) -> tuple[Register, list[int], list[int]]:
    """The register with extra placement (and attendance) rows, as if appended, for checks across all schools.

    Block k's rows are renumbered ``offset_k + its own row`` so rule findings can be traced back to
    the return they came from; returns the combined register and each block's placement and
    attendance offsets. The LA's own rows keep their numbers; ``own_attendance=False`` leaves the
    LA's own sessions out (checks of the returns' codes against placements do not need them).
    """
    tables = dict(register.tables)
    offsets: list[int] = []
    frames = [register.placements]
    base = int(register.placements.index.max()) + 1 if len(register.placements) else 2
    for k, block in enumerate(blocks):
        offset = base + k * stride
        offsets.append(offset)
        frames.append(block.set_axis(block.index.astype("int64") + offset))
    placements = tables["placements"] if "placements" in tables else register.table("placements")
    tables["placements"] = Table(name="placements", sheet=placements.sheet, frame=_concat(frames), headers=placements.headers,
                                 letters=placements.letters, header_row=placements.header_row)
    att_offsets: list[int] = []
    if attendance:
        current = register.table("attendance")
        a_frames = [current.frame if own_attendance else current.frame.iloc[0:0]]
        a_base = int(current.frame.index.max()) + 1 if len(current.frame) else 2
        for k, block in enumerate(attendance):
            offset = a_base + k * stride
            att_offsets.append(offset)
            a_frames.append(block.set_axis(block.index.astype("int64") + offset))
        tables["attendance"] = Table(name="attendance", sheet=current.sheet, frame=_concat(a_frames), headers=current.headers,
                                     letters=current.letters, header_row=current.header_row, present=True)
    return Register(tables=tables, findings=register.findings.iloc[0:0], source=register.source), offsets, att_offsets


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)] or frames[:1]
    first = frames[0]
    out = pd.concat(frames) if len(frames) > 1 else first.copy()
    # Keep each column's parsed dtype (concat of an empty block can widen to object).
    for col in first.columns:
        if col in out.columns and out[col].dtype != first[col].dtype:
            try:
                out[col] = out[col].astype(first[col].dtype)
            except (TypeError, ValueError):
                pass
    return out


def trace_row(row: int, offsets: list[int], stride: int = 10000) -> tuple[int | None, int]:
    """A combined register row -> (block number, row in that block), or (None, row) for the LA's own rows."""
    for k in range(len(offsets) - 1, -1, -1):
        if offsets[k] <= row < offsets[k] + stride:
            return k, row - offsets[k]
    return None, row


# ---- provider invoices against the month's expected cost ------------------------------------------

INVOICE_COLUMNS = ["provider_id", "expected_pence", "invoiced_pence", "difference_pence", "status", "invoice_refs"]
MATCHES, OVER, UNDER, NO_INVOICE, NOT_EXPECTED = "matches", "over-invoiced", "under-invoiced", "no invoice", "not expected"


def month_costs(placements: pd.DataFrame, providers: pd.DataFrame, calendar, policy, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Each placement's cost in the month, in pence, with its provider and who pays (apxl.core.costing, by school days)."""
    from apxl.core.costing import costs_by_period, placement_costs

    cols = ["placement_id", "row", "provider_id", "payer", "element", "pence"]
    running = placements[active_between(placements, start, end) & placements["start_date"].notna()]
    if running.empty:
        return pd.DataFrame(columns=cols)
    costs = placement_costs(running, providers, calendar, policy, end)
    period = pd.DataFrame({"label": [start.strftime("%Y-%m")], "start": [start], "end": [end]})
    per = costs_by_period(costs, running, calendar, period)
    per["provider_id"] = running.loc[per["row"].astype("int64"), "provider_id"].to_numpy()
    return per[cols].reset_index(drop=True)


def compare_invoices(expected: pd.DataFrame, invoices: pd.DataFrame, tolerance_pence: int = 100) -> pd.DataFrame:
    """Invoiced against expected per provider: ``expected`` (provider_id, pence), ``invoices`` (provider_id, pence, ref).

    A difference within ``tolerance_pence`` (default £1, rounding of part weeks) matches. Providers
    with an expected cost and no invoice, and invoices with no expected cost, are listed too.
    """
    exp = expected.groupby("provider_id", sort=True)["pence"].sum().astype("int64")
    exp = exp[exp != 0]
    inv = invoices.groupby("provider_id", sort=True).agg(pence=("pence", "sum"), refs=("ref", lambda s: ", ".join(sorted({str(x) for x in s if pd.notna(x) and str(x)}))))
    ids = sorted(set(exp.index) | set(inv.index))
    e = exp.reindex(ids)
    i = inv["pence"].reindex(ids)
    diff = i.fillna(0) - e.fillna(0)
    status = np.select(
        [i.isna().to_numpy(), e.isna().to_numpy(), (diff.abs() <= tolerance_pence).to_numpy(), (diff > 0).to_numpy()],
        [NO_INVOICE, NOT_EXPECTED, MATCHES, OVER], default=UNDER)
    return pd.DataFrame({
        "provider_id": ids, "expected_pence": e.fillna(0).astype("int64").to_numpy(), "invoiced_pence": i.fillna(0).astype("int64").to_numpy(),
        "difference_pence": diff.astype("int64").to_numpy(), "status": status, "invoice_refs": inv["refs"].reindex(ids).fillna("").to_numpy(),
    })[INVOICE_COLUMNS]
