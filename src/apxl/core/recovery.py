"""AWPU recovery after a permanent exclusion: A x B/52 per exclusion, for FND-005 and the funding summaries.

School and Early Years Finance Regulations, reg 27 (DOMAIN.md §8): the excluding maintained school
loses A x (B/52), A being the formula amount (AWPU) for a pupil of that age and B the complete weeks
left in the financial year from the day the exclusion takes effect (to the end of the school year for
a pupil in a leaving year excluded on or after 1 April). Herefordshire's route matrix calls this the
"recovery of AWPU from school" (seed 000_8ffcbe330cb47928.txt).
"""
from __future__ import annotations

import pandas as pd

from apxl.core.policy import Policy
from apxl.core.pupils import key_stages, year_groups

RECOVERY_COLUMNS = ["placement_id", "home_school_urn", "home_school_name", "excluded_on", "key_stage", "weeks", "end", "awpu", "amount"]


def recovery_weeks(excluded_on: pd.Series, year_group: pd.Series) -> tuple[pd.Series, pd.Series]:
    """B in A x B/52: complete weeks from the day the exclusion takes effect to the end of the financial year
    (31 March), or to the end of the school year (31 August) for a Year 11 pupil excluded on or after 1 April.
    Returns (weeks, the end date used)."""
    d = pd.to_datetime(excluded_on)
    fy_end_year = d.dt.year + (d.dt.month >= 4).astype("int64")
    fy_end = pd.to_datetime(pd.DataFrame({"year": fy_end_year, "month": 3, "day": 31}), errors="coerce")
    leaving = year_group.astype("Int64").eq(11).fillna(False).astype(bool) & (d.dt.month.between(4, 8)).fillna(False).astype(bool)
    school_end = pd.to_datetime(pd.DataFrame({"year": d.dt.year, "month": 8, "day": 31}), errors="coerce")
    end = fy_end.where(~leaving, school_end)
    weeks = ((end - d).dt.days + 1) // 7
    return weeks.astype("Int64"), end


def awpu_recoveries(placements: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """One row per permanent exclusion (the pupil's first PEX placement for each exclusion date), indexed by
    the placement's Excel row. ``amount`` is blank where the exclusion date or the AWPU (A) is unknown."""
    p = placements
    pex = p[p["route"].eq("PEX").fillna(False)]
    if pex.empty:
        return pd.DataFrame(columns=RECOVERY_COLUMNS)
    first = pex.sort_values(["start_date"], kind="stable")
    first = first[~first.duplicated(["upn", "exclusion_start_date"], keep="first") | first["upn"].isna()]
    when = first["exclusion_start_date"]
    on = when.fillna(first["start_date"])
    years = first["year_group"].astype("Int64").fillna(year_groups(first["date_of_birth"], on))
    stage = key_stages(years)
    weeks, end = recovery_weeks(when, years)
    awpu = stage.map(lambda ks: policy.awpu_for(ks) if isinstance(ks, str) else None).astype("float64")
    amount = (awpu * weeks.astype("float64") / 52).round(2)
    return pd.DataFrame({
        "placement_id": first["placement_id"], "home_school_urn": first["home_school_urn"], "home_school_name": first["home_school_name"],
        "excluded_on": when, "key_stage": stage, "weeks": weeks, "end": end, "awpu": awpu, "amount": amount,
    }, index=first.index)
