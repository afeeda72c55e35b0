"""Placement costs: a placement's cost from its basis and rate, apportioned to terms or financial years by school days.

Every basis is linear in school days (DOMAIN.md section 8; seed 003_57d480e12197286d.txt §12.8:
providers charge a standard weekly or hourly fee), so a placement's total is worked out once, in
whole pence, and shared across periods by the school days it has in each; the shares always sum
back to the total to the penny.
- Place: the annual place value (the rate, or the policy's place value, £10,000 by default) pro
  rata by school days over a 190-day school year.
- Week: the rate per school week (5 school days).
- Day: the rate per school day the pupil attends (the Days column; every school day when blank).
- Hour: the rate × hours per week per school week.
Who pays: a Place cost is the place element, paid by the place funder; Week/Day/Hour fees are
top-up, paid by the top-up funder; either falls back to the commissioner when blank.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from apxl.core.money import to_pence
from apxl.core.policy import Policy
from apxl.core.vocab import WEEKDAYS

SCHOOL_YEAR_DAYS = 190  # schools meet for 190 days a year (DOMAIN.md section 7)
COST_COLUMNS = [
    "placement_id", "row", "basis", "rate", "rate_source", "start", "end", "school_days", "units",
    "total_pence", "element", "payer",
]


def _days_array(calendar, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    if pd.isna(start) or pd.isna(end) or end < start:
        return np.array([], dtype="datetime64[D]")
    return np.asarray(calendar.school_day_dates(start, end), dtype="datetime64[D]")


class SchoolDayCounter:
    """Counts school days (optionally only certain weekdays) in many date ranges at once."""

    def __init__(self, calendar, first: pd.Timestamp, last: pd.Timestamp):
        days = _days_array(calendar, first, last)
        self.days = days
        weekday = ((days.astype("int64") - 4) % 7) if days.size else np.array([], dtype="int64")  # 1970-01-01 was a Thursday
        self.by_weekday = [days[weekday == w] for w in range(7)]

    def count(self, starts, ends, weekdays: np.ndarray | None = None) -> np.ndarray:
        """Inclusive school-day counts; ``weekdays`` is an (n, 7) boolean mask of the days that count."""
        s = np.asarray(pd.to_datetime(starts), dtype="datetime64[D]")
        e = np.asarray(pd.to_datetime(ends), dtype="datetime64[D]")
        valid = ~(np.isnat(s) | np.isnat(e)) & (e >= s)
        s = np.where(valid, s, np.datetime64("1970-01-01"))
        e = np.where(valid, e, np.datetime64("1970-01-01"))
        if weekdays is None:
            out = np.searchsorted(self.days, e, "right") - np.searchsorted(self.days, s, "left")
        else:
            out = np.zeros(len(s), dtype="int64")
            for w in range(7):
                arr = self.by_weekday[w]
                if arr.size:
                    out += np.where(weekdays[:, w], np.searchsorted(arr, e, "right") - np.searchsorted(arr, s, "left"), 0)
        return np.where(valid, out, 0).astype("int64")


def weekday_mask(days: pd.Series) -> np.ndarray:
    """(n, 7) booleans from 'Mon,Wed' texts; a blank means every weekday."""
    mask = np.zeros((len(days), 7), dtype=bool)
    text = days.fillna("").astype(str).to_numpy()
    for w, name in enumerate(WEEKDAYS):
        mask[:, w] = np.char.find(text.astype("U"), name) >= 0
    mask[text == ""] = [True] * 5 + [False] * 2
    return mask


def placement_costs(placements: pd.DataFrame, providers: pd.DataFrame, calendar, policy: Policy, horizon: Any) -> pd.DataFrame:
    """Each placement's cost from its start to its end (or planned end, or ``horizon`` when open).

    Returns one row per placement (index = Excel row) with total_pence, the school days and the
    basis units used, who pays and which element. Placements with no usable basis/rate cost 0
    (FND-006 reports them).
    """
    p = placements
    horizon = pd.Timestamp(horizon)
    end = p["end_date"].fillna(p["planned_end_date"]).fillna(horizon)
    end = end.where(end <= horizon, horizon)
    start = p["start_date"]
    basis = p["cost_basis"].astype("object")
    rate = p["rate"].astype("float64")
    source = pd.Series(np.where(rate.notna(), "register", None), index=p.index, dtype=object)
    fees = providers.set_index("provider_id") if len(providers) else pd.DataFrame(columns=["weekly_fee", "hourly_fee"])
    fees = fees[~fees.index.duplicated()]
    weekly = p["provider_id"].map(fees["weekly_fee"]) if "weekly_fee" in fees else pd.Series(np.nan, index=p.index)
    hourly = p["provider_id"].map(fees["hourly_fee"]) if "hourly_fee" in fees else pd.Series(np.nan, index=p.index)
    for want, fallback, label in (("Week", weekly, "provider weekly fee"), ("Hour", hourly, "provider hourly fee")):
        use = rate.isna() & (basis == want) & fallback.notna()
        rate = rate.where(~use, fallback)
        source = source.where(~use, label)
    use = rate.isna() & (basis == "Place")
    rate = rate.where(~use, policy.threshold("place_value"))
    source = source.where(~use, "policy place value")

    first, last = start.min(), end.max()
    counter = SchoolDayCounter(calendar, first, last)
    all_days = counter.count(start, end)
    attended = counter.count(start, end, weekday_mask(p["days"]))
    hours = p["hours_per_week"].astype("float64")
    factor = np.select(
        [basis == "Place", basis == "Week", basis == "Day", basis == "Hour"],
        [1 / SCHOOL_YEAR_DAYS, 1 / 5, 1.0, hours.fillna(0).to_numpy() / 5],
        default=0.0,
    )
    units = np.where(basis == "Day", attended, all_days).astype("float64")
    total = rate.fillna(0).to_numpy() * factor * units
    element = np.where(basis == "Place", "place", "top-up")
    payer = pd.Series(np.where(element == "place", p["place_funder"].astype(object), p["topup_funder"].astype(object)), index=p.index)
    payer = payer.where(payer.notna(), p["commissioner"].astype(object))
    return pd.DataFrame(
        {
            "placement_id": p["placement_id"], "row": p.index, "basis": basis, "rate": rate, "rate_source": source,
            "start": start, "end": end, "school_days": all_days, "units": units,
            "total_pence": to_pence(total), "element": element, "payer": payer,
        },
        index=p.index,
    )


def apportion_rows(totals: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row-wise largest-remainder apportioning: ``weights`` (n, k) -> pence (n, k) whose rows sum to ``totals``."""
    totals = np.asarray(totals, dtype="int64")
    w = np.asarray(weights, dtype="float64")
    n, k = w.shape
    out = np.zeros((n, k), dtype="int64")
    if k == 0 or n == 0:
        return out
    wsum = w.sum(axis=1)
    zero = wsum == 0
    sign = np.where(totals < 0, -1, 1)
    mag = np.abs(totals)
    exact = np.where(zero[:, None], 0.0, mag[:, None] * w / np.where(zero, 1, wsum)[:, None])
    base = np.floor(exact + 1e-9).astype("int64")
    short = mag - base.sum(axis=1)
    remainder = exact - base
    # rank each row's parts by remainder (largest first; earlier part wins a tie)
    order = np.lexsort((np.broadcast_to(np.arange(k), (n, k)), -remainder), axis=1)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(k), (n, k)), axis=1)
    base += (rank < short[:, None]).astype("int64")
    base[zero, 0] = mag[zero]  # nothing to share by: keep it all in the first period
    base[zero, 1:] = 0
    return base * sign[:, None]


def costs_by_period(costs: pd.DataFrame, placements: pd.DataFrame, calendar, periods: pd.DataFrame) -> pd.DataFrame:
    """Share each placement's total across ``periods`` (label, start, end) by its basis units in each.

    Returns a long frame: one row per placement and period with school_days, units and pence. When
    the periods cover the whole placement the pence sum back to its total exactly.
    """
    if costs.empty or periods.empty:
        return pd.DataFrame(columns=["placement_id", "row", "period", "school_days", "units", "pence", "element", "payer"])
    counter = SchoolDayCounter(calendar, min(costs["start"].min(), periods["start"].min()), max(costs["end"].max(), periods["end"].max()))
    mask = weekday_mask(placements.loc[costs.index, "days"])
    is_day = (costs["basis"] == "Day").to_numpy()
    days_cols, units_cols = [], []
    for _, period in periods.iterrows():  # a handful of periods; each is vectorised over placements
        s = costs["start"].where(costs["start"] > period["start"], period["start"])
        e = costs["end"].where(costs["end"] < period["end"], period["end"])
        days = counter.count(s, e)
        days_cols.append(days)
        units_cols.append(np.where(is_day, counter.count(s, e, mask), days))
    days_m, units_m = np.column_stack(days_cols), np.column_stack(units_cols).astype("float64")
    covered = units_m.sum(axis=1)
    whole = costs["units"].to_numpy()
    # Periods may cover only part of the placement: share the part of the total they cover.
    part = np.where(whole > 0, np.minimum(covered, whole) / np.where(whole > 0, whole, 1), 0)
    in_periods = to_pence(costs["total_pence"].to_numpy() * part / 100)
    pence = apportion_rows(in_periods, units_m)
    k = len(periods)
    return pd.DataFrame(
        {
            "placement_id": np.repeat(costs["placement_id"].to_numpy(), k),
            "row": np.repeat(costs["row"].to_numpy(), k),
            "period": np.tile(periods["label"].to_numpy(), len(costs)),
            "school_days": days_m.ravel(),
            "units": units_m.ravel(),
            "pence": pence.ravel(),
            "element": np.repeat(costs["element"].to_numpy(), k),
            "payer": np.repeat(costs["payer"].to_numpy(), k),
        }
    )
