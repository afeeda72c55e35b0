"""Shared by the FND and REG rules: placement spans, running totals over time, provider registration, key stages."""
from __future__ import annotations

import pandas as pd

from apxl.core.rules._text import dmy  # noqa: F401  (re-exported for the rule modules)

from apxl.core.pupils import key_stages, year_groups

# An open-ended placement runs on indefinitely; this stands in for "no end" inside datetime64[ns].
NO_END = pd.Timestamp("2200-01-01")
# Provider types that are never registered schools (the Registered column is checked as well).
UNREGISTERED_TYPES = ("Unregistered", "Online/tuition")




def last_day(p: pd.DataFrame) -> pd.Series:
    """The last day each placement runs: end date, else planned end date, else indefinitely."""
    return p["end_date"].fillna(p["planned_end_date"]).fillna(NO_END)


def ids(p: pd.DataFrame) -> pd.Series:
    """Placement IDs for messages; 'row N' where the ID is blank."""
    fallback = pd.Series("row " + p.index.astype(str), index=p.index)
    return p["placement_id"].astype("object").where(p["placement_id"].notna(), fallback).astype(str)


def provider_facts(ctx) -> pd.DataFrame:
    """Per provider ID: name, type, registered flag, whether it is a registered school, and its Excel row."""
    prov = ctx.register.providers
    if prov.empty:
        return pd.DataFrame(columns=["provider_id", "name", "type", "registered", "not_registered", "provider_row"])
    frame = prov.loc[prov["provider_id"].notna(), ["provider_id", "name", "type", "registered"]].copy()
    frame["provider_row"] = frame.index.astype("int64")
    # Not a registered school: Registered = N, or a type that is never a school (REG-002/003, seed 003 3).
    frame["not_registered"] = (frame["registered"].eq(False).fillna(False) | frame["type"].isin(UNREGISTERED_TYPES)).astype(bool)
    return frame.drop_duplicates("provider_id").reset_index(drop=True)


def with_providers(ctx) -> pd.DataFrame:
    """Placements (indexed by Excel row) with their provider's facts; unknown providers have NA facts."""
    p = ctx.register.placements
    facts = provider_facts(ctx).set_index("provider_id")
    out = p.copy()
    for col, target in (("name", "provider_name"), ("type", "provider_type"), ("registered", "provider_registered"),
                        ("not_registered", "provider_not_registered"), ("provider_row", "provider_row")):
        out[target] = p["provider_id"].map(facts[col]) if len(facts) else pd.Series(pd.NA, index=p.index, dtype="object")
    out["provider_not_registered"] = out["provider_not_registered"].astype("boolean").fillna(False).astype(bool)
    return out


def placement_key_stage(p: pd.DataFrame, when: pd.Series | None = None) -> pd.Series:
    """Each placement's key stage: the recorded year group wins (pupils may be taught out of year), else the
    year group from date of birth on ``when`` (default: the start date). DOMAIN.md section 6."""
    when = p["start_date"] if when is None else when
    derived = year_groups(p["date_of_birth"], when) if len(p) else pd.Series(dtype="Int64")
    years = p["year_group"].astype("Int64").fillna(derived)
    return key_stages(years).astype("object").where(lambda s: s.notna(), None)


def running_totals(frame: pd.DataFrame, by: list[str], start: str, end: str, weight: str) -> pd.DataFrame:
    """Piecewise-constant totals of ``weight`` over time per group of ``by``, from spans [start, end].

    Returns by..., ``from`` (first day the total holds), ``to`` (last day) and ``total``; only spans where
    the total is above zero. A sweep over start (+w) and day-after-end (-w) events, one groupby cumsum.
    """
    use = frame[frame[start].notna() & frame[end].notna() & (frame[end] >= frame[start])]
    if use.empty:
        return pd.DataFrame(columns=[*by, "from", "to", "total"])
    events = pd.concat([
        use[by].assign(date=use[start].to_numpy(), delta=use[weight].to_numpy()),
        use[by].assign(date=(use[end] + pd.Timedelta(days=1)).to_numpy(), delta=-use[weight].to_numpy()),
    ], ignore_index=True)
    events = events.groupby([*by, "date"], sort=True, as_index=False)["delta"].sum()
    events["total"] = events.groupby(by, sort=False)["delta"].cumsum().round(9)
    events["to"] = events.groupby(by, sort=False)["date"].shift(-1) - pd.Timedelta(days=1)
    segs = events[events["to"].notna() & (events["total"] > 1e-9)].rename(columns={"date": "from"})
    return segs[[*by, "from", "to", "total"]].reset_index(drop=True)


def overlapping(spans: pd.DataFrame, p: pd.DataFrame, on: list[str], start: str = "start", end: str = "end") -> pd.DataFrame:
    """Pairs of (time span, placement) sharing ``on`` whose dates overlap; placements carry ``start``/``end``."""
    pairs = spans.merge(p, on=on)
    return pairs[(pairs[start] <= pairs["to"]) & (pairs["from"] <= pairs[end])]
