"""PLC rules: does each placement have a coherent plan (dates, provider, end arrangements, reviews, next steps)?"""
from __future__ import annotations

import numpy as np
import pandas as pd

from apxl.core.check import Context
from apxl.core.findings import flag
from apxl.core.rules.registry import rule
from apxl.core.rules._text import dmy, placement_cell

_TABLE = "placements"
_HILLINGDON = "Hillingdon AP guidance 2024/25"  # seed 003_57d480e12197286d.txt
_BUCKS = "Buckinghamshire AP guidance to schools"  # seed 004_3d7af6d2a2601fc8.txt
# Each rule cites its guidance twice: in plain words in messages, and with seed file names in metadata.
_PLAN = f"{_HILLINGDON} s13.11a: clear start and end arrangements"
_PLAN_SRC = f"{_HILLINGDON} s13.11a, s9.2 (seed 003_57d480e12197286d.txt); DOMAIN.md section 9"
_REVIEW = f"{_BUCKS}, 'Responsibilities': appropriate reviews should be built in; {_HILLINGDON} s6.1e"
_REVIEW_SRC = f"{_BUCKS} 'Responsibilities' (seed 004_3d7af6d2a2601fc8.txt); {_HILLINGDON} s6.1e (seed 003_57d480e12197286d.txt); DOMAIN.md section 9"
_NEXT = f"{_HILLINGDON} s6.1e-f and s12.1d: clearly defined objectives and next steps; {_BUCKS}, 'Responsibilities'"
_NEXT_SRC = f"{_HILLINGDON} s6.1a, s6.1e-f, s12.1d (seed 003_57d480e12197286d.txt); {_BUCKS} 'Responsibilities' (seed 004_3d7af6d2a2601fc8.txt); DOMAIN.md section 9"
_DEST = f"{_HILLINGDON} s6.1d and s6.1j: record the pupil's destination"
_DEST_SRC = f"{_HILLINGDON} s6.1d, s6.1j (seed 003_57d480e12197286d.txt); DOMAIN.md section 9"
_DIRECTORY = f"{_HILLINGDON} s10: the directory of quality-assured providers"
_DIRECTORY_SRC = f"{_HILLINGDON} s10 (seed 003_57d480e12197286d.txt); DOMAIN.md section 9"
_WEEK = "the LA's setting 'school_week_hours'"
_WEEK_SRC = f"DOMAIN.md section 7 (the school week); {_HILLINGDON} s12.4-12.5 (seed 003_57d480e12197286d.txt); policy threshold 'school_week_hours'"
# An open-ended placement runs on indefinitely; this stands in for "no end" inside datetime64[ns].
_NO_END = pd.Timestamp("2200-01-01")





def _open(p: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Not ended by as_of: no end date, or an end date still to come."""
    return (p["end_date"].isna() | (p["end_date"] > as_of)).astype(bool)


def _blank(text: pd.Series) -> pd.Series:
    return (text.isna() | (text.astype("string").str.strip() == "")).fillna(True).astype(bool)


def _out(parts: list[pd.DataFrame]) -> pd.DataFrame | None:
    parts = [x for x in parts if len(x)]
    return pd.concat(parts, ignore_index=True) if parts else None


@rule("PLC-001", "End date or planned end date before the start date", "error", _PLAN_SRC)
def ends_before_start(ctx: Context) -> pd.DataFrame | None:
    p = ctx.register.placements
    parts = []
    for field, label in (("end_date", "End date"), ("planned_end_date", "Planned end date")):
        bad = (p[field] < p["start_date"]).fillna(False).astype(bool)
        message = (
            label + " " + dmy(p.loc[bad, field]) + " is before the start date " + dmy(p.loc[bad, "start_date"]) + ": a placement cannot end "
            "before it starts. Correct whichever date is wrong (" + _PLAN + ")."
        )
        parts.append(placement_cell(ctx, bad, field, message))
    return _out(parts)


@rule("PLC-002", "Provider ID not in the Providers sheet", "error", _DIRECTORY_SRC)
def unknown_provider(ctx: Context) -> pd.DataFrame | None:
    providers = ctx.register.table("providers")
    if not providers.present:
        return None  # no directory in this workbook (e.g. a school return): nothing to match against
    p = ctx.register.placements
    known = providers.frame["provider_id"].dropna().unique()
    bad = p["provider_id"].notna() & ~p["provider_id"].isin(known)
    message = (
        "Provider ID '" + p.loc[bad, "provider_id"].astype("string") + "' is not on the " + providers.sheet + " sheet, so its QA, "
        "registration and fees cannot be checked. Correct the ID or add the provider to the directory (" + _DIRECTORY + ")."
    )
    return placement_cell(ctx, bad, "provider_id", message)


@rule("PLC-003", "Open placement with no planned end date", "warning", _PLAN_SRC)
def no_planned_end(ctx: Context) -> pd.DataFrame:
    p = ctx.register.placements
    as_of = ctx.as_of_ts
    bad = _open(p, as_of) & p["planned_end_date"].isna()
    end = p.loc[bad, "end_date"]
    message = pd.Series(
        "The placement has no end date and no planned end date: record when it is planned to end, so the pupil, "
        "school and provider know how long it lasts (" + _PLAN + ").",
        index=end.index,
    ).where(
        end.isna(),
        "End date " + dmy(end) + " is after the as-of date " + as_of.strftime("%d/%m/%Y") + ", so the placement "
        "is still open, and there is no planned end date. Put the expected end in Planned end date and keep End date for "
        "when it has actually ended (" + _PLAN + ").",
    )
    return placement_cell(ctx, bad, "planned_end_date", message)


@rule("PLC-004", "Open placement with no review date, or review overdue", "warning", _REVIEW_SRC)
def review_missing_or_overdue(ctx: Context) -> pd.DataFrame:
    p = ctx.register.placements
    as_of = ctx.as_of_ts
    live = _open(p, as_of)
    review = p.loc[live, "review_date"]
    message = pd.Series(
        "The placement is open and has no review date: set the next review of progress, attendance and safeguarding "
        "(" + _REVIEW + ").",
        index=review.index,
    ).where(
        review.isna(),
        "Review date " + dmy(review) + " has passed (as of " + as_of.strftime("%d/%m/%Y") + ") and the placement "
        "is still open: hold the review and record the next review date (" + _REVIEW + ").",
    )
    bad = live & (p["review_date"].isna() | (p["review_date"] < as_of))
    return placement_cell(ctx, bad, "review_date", message)


@rule("PLC-005", "No objectives, or no reintegration or next-step plan", "warning", _NEXT_SRC)
def no_plan(ctx: Context) -> pd.DataFrame | None:
    p = ctx.register.placements
    no_objectives = _blank(p["objectives"])
    no_next_step = (p["reintegration_plan"] != True).fillna(True).astype(bool) & _blank(p["destination"])  # noqa: E712 (NA-aware)
    shown = p["reintegration_plan"].map({True: "Y", False: "N"})
    return _out([
        placement_cell(ctx, no_objectives, "objectives",
              "No objectives are recorded: every placement needs clearly defined objectives agreed with the provider, "
              "with a timeline (" + _NEXT + ")."),
        placement_cell(ctx, no_next_step, "reintegration_plan",
              "No reintegration plan (Reintegration plan is not Y) and no planned destination: record how the pupil will "
              "return to school or move on to their next step (" + _NEXT + ").", value=shown),
    ])


@rule("PLC-006", "Ended placement with no destination", "warning", _DEST_SRC)
def no_destination(ctx: Context) -> pd.DataFrame:
    p = ctx.register.placements
    as_of = ctx.as_of_ts
    bad = (p["end_date"] <= as_of).fillna(False).astype(bool) & _blank(p["destination"])
    message = (
        "The placement ended on " + dmy(p.loc[bad, "end_date"]) + " but no destination is recorded: enter where the pupil went next "
        "(back to the home school, a new school, further education, training or employment) (" + _DEST + ")."
    )
    return placement_cell(ctx, bad, "destination", message)


def _spans(p: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Placements that count towards weekly hours, and the last day each runs."""
    ends = p["end_date"].fillna(p["planned_end_date"]).fillna(_NO_END)
    use = p["upn"].notna() & p["start_date"].notna() & p["hours_per_week"].notna() & (ends >= p["start_date"]).fillna(False)
    return p.loc[use], ends[use]


def concurrent_hours(p: pd.DataFrame) -> pd.DataFrame:
    """Each pupil's total weekly hours from each date on which their set of running placements changes.

    A placement runs from its start date to its end date, else its planned end date, else indefinitely.
    Returns columns upn, date (from when the total holds), hours. Placements with no UPN, start or hours,
    or that end before they start, are left out. Used by PLC-007 and useful for weekly-hours rules.
    """
    q, ends = _spans(p)
    # A sweep over start (+hours) and day-after-end (-hours) events; at one date, ends come first.
    events = pd.concat([
        pd.DataFrame({"upn": q["upn"], "date": q["start_date"], "delta": q["hours_per_week"]}),
        pd.DataFrame({"upn": q["upn"], "date": ends + pd.Timedelta(days=1), "delta": -q["hours_per_week"]}),
    ], ignore_index=True).sort_values(["upn", "date", "delta"], kind="stable")
    # Rounded so that adding and removing e.g. 12.3 hours leaves exactly 0, not a float residue.
    events["hours"] = events.groupby("upn", sort=False)["delta"].cumsum().round(6)
    # The total from a date onwards is the running sum after that date's last event.
    return events.drop_duplicates(["upn", "date"], keep="last")[["upn", "date", "hours"]].reset_index(drop=True)


@rule("PLC-007", "Overlapping placements for one pupil total more hours than a school week", "error", _WEEK_SRC)
def overlapping_hours(ctx: Context) -> pd.DataFrame | None:
    p = ctx.register.placements
    limit = ctx.policy.threshold("school_week_hours")
    totals = concurrent_hours(p)
    hot = totals[totals["hours"] > limit + 1e-9]
    if hot.empty:
        return None
    q, ends = _spans(p)
    running = pd.DataFrame({"row": q.index, "upn": q["upn"], "start": q["start_date"], "end": ends,
                            "pid": q["placement_id"].astype("string").fillna("row " + pd.Series(q.index.astype(str), index=q.index))})
    # Which placements run on each over-limit date: a join on UPN, then a date filter.
    on = hot.merge(running, on="upn")
    on = on[(on["start"] <= on["date"]) & (on["date"] <= on["end"])]
    first = on.sort_values(["row", "date"]).drop_duplicates("row")  # each placement's first over-limit date
    peers = on.merge(first[["upn", "date"]], on=["upn", "date"]).drop_duplicates(["upn", "date", "pid"])
    together = peers.groupby(["upn", "date"])["pid"].agg(lambda ids: ", ".join(sorted(ids)))
    first = first.assign(ids=pd.MultiIndex.from_frame(first[["upn", "date"]]).map(together))
    peak = on.groupby("row")["hours"].max()
    first = first.set_index("row")
    hit = pd.Series(False, index=p.index)
    hit[first.index] = True
    message = (
        "From " + dmy(first["date"]) + " placements " + first["ids"] + " for the same pupil run at the same time and "
        "together come to " + first["hours"].map("{:g}".format) + " hours a week"
        + np.where(peak[first.index] > first["hours"], " (rising to " + peak[first.index].map("{:g}".format) + " later)", "")
        + ", more than a school week of " + f"{limit:g}" + " hours (" + _WEEK + "). Check whether an earlier placement "
        "should have ended (enter its end date) or correct the hours per week."
    )
    return placement_cell(ctx, hit, "hours_per_week", message)
