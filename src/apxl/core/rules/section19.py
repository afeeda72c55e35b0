"""S19 rules: Section 19 timeliness (provision from the sixth school day) and full-time hours.

School days are counted with the register's calendar (``ctx.calendar``: terms, half-terms, INSET
closures and England bank holidays), from the exclusion start date as day 1 when it is a school day.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from apxl.core.findings import RULE_OUTPUT_COLUMNS, flag
from apxl.core.rules._pupil_facts import blank, dmy, fmt_hours, is_true, placement_key_stage
from apxl.core.rules.registry import rule

_PEX_LAW = "Education Act 1996 s.19; SI 2007/1870 as amended by SI 2014/3216"
_SUSP_LAW = "Education and Inspections Act 2006 s.100; SI 2007/1870 as amended"
_ONE_DAY = pd.Timedelta(days=1)


def _first_per_exclusion(pl: pd.DataFrame) -> pd.Series:
    """True for the earliest-starting placement of each pupil and exclusion start date.

    A later placement for the same exclusion is a follow-on (a move between providers), not the
    first provision, so only the first one is judged against the sixth school day.
    """
    keyed = pl.assign(_row=pl.index).sort_values(["start_date", "_row"], kind="stable")
    first = ~keyed.duplicated(["upn", "exclusion_start_date"], keep="first")
    return first.reindex(pl.index).fillna(False).astype(bool)


def _lateness(ctx, excl: pd.Series, start: pd.Series, day: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(deadline, school days late) per row: the ``day``-th school day of the exclusion, and the school days
    from that deadline up to the day before provision started (a start on the deadline is on time)."""
    deadline = pd.Series(ctx.calendar.nth_school_days(excl, day.to_numpy()), index=excl.index)
    late = ctx.calendar.school_days_between(deadline, start - _ONE_DAY)
    return deadline, pd.Series(np.nan_to_num(late, nan=0.0), index=excl.index).astype(int)


def _late_text(days: pd.Series) -> pd.Series:
    return days.astype(str) + pd.Series(" school days late", index=days.index).where(days != 1, " school day late")


@rule(
    "S19-001",
    "PEX placement starts after the 6th school day of the permanent exclusion (looked-after pupils: day 1 where the LA's policy says so)",
    "error",
    "Education Act 1996 s.19; SI 2007/1870 as amended by SI 2014/3216; seeds 000_8ffcbe330cb47928.txt and 002_f01ccf5f4a336bf1.txt (day 6); "
    "seed 003_57d480e12197286d.txt s5.6 (day 1 for looked-after children, policy switch lac_day1)",
)
def s19_001(ctx) -> pd.DataFrame | None:
    pl = ctx.register.placements
    pex = pl[(pl["route"] == "PEX") & pl["start_date"].notna()]
    if pex.empty:
        return None
    sheet = ctx.sheet("placements")
    no_date = pex["exclusion_start_date"].isna()
    missing = flag(
        pex, no_date, sheet=sheet, column=ctx.header("placements", "exclusion_start_date"), key="placement_id",
        message="Placement " + pex["placement_id"].astype(str) + " is a permanent exclusion (PEX) placement with no exclusion start date, so"
        " apxl cannot check that provision began by the sixth school day of the exclusion. Enter the first day of the exclusion"
        f" ({_PEX_LAW}).",
    ).assign(severity="warning")
    timed = pex[~no_date & _first_per_exclusion(pex[~no_date]).reindex(pex.index).fillna(False).astype(bool)]
    if timed.empty:
        return missing
    day6 = int(ctx.policy.threshold("pex_deadline_day"))
    lac_first = is_true(timed["looked_after"]) & bool(ctx.policy.lac_day1)
    day = pd.Series(day6, index=timed.index).where(~lac_first, 1)
    deadline, late = _lateness(ctx, timed["exclusion_start_date"], timed["start_date"], day)
    la = ctx.policy.la_name or "the LA"
    expectation = pd.Series(
        f"The LA must provide full-time education from the sixth school day of a permanent exclusion, here " , index=timed.index
    ) + dmy(deadline) + f" ({_PEX_LAW})."
    lac_text = (
        f"{la}'s policy is to provide from the first school day of the exclusion for a looked-after child, here " + dmy(deadline)
        + f" (LA policy, as Hillingdon AP guidance 2024/25 s5.6; otherwise day 6 under {_PEX_LAW})."
    )
    message = (
        "Placement " + timed["placement_id"].astype(str) + " starts on " + dmy(timed["start_date"]) + ", " + _late_text(late)
        + ": the permanent exclusion began on " + dmy(timed["exclusion_start_date"]) + ". " + expectation.where(~lac_first, lac_text)
    )
    late_rows = flag(
        timed, late > 0, sheet=sheet, column=ctx.header("placements", "start_date"), key="placement_id", value="start_date", message=message
    )
    return pd.concat([missing, late_rows.assign(severity="error")], ignore_index=True)


@rule(
    "S19-002",
    "SUSPENSION placement for a suspension of more than 5 school days starts after its 6th school day",
    "error",
    "Education and Inspections Act 2006 s.100; SI 2007/1870 as amended; seeds 000_8ffcbe330cb47928.txt and 002_f01ccf5f4a336bf1.txt "
    "(route table note: full-time education from the sixth day of a suspension)",
)
def s19_002(ctx) -> pd.DataFrame | None:
    pl = ctx.register.placements
    susp = pl[(pl["route"] == "SUSPENSION") & pl["start_date"].notna() & pl["exclusion_start_date"].notna()]
    # A SUSPENSION placement without an exclusion start date is an off-site direction: no day-6 duty.
    if susp.empty:
        return None
    susp = susp[_first_per_exclusion(susp)]
    # The register has no suspension end date. Our reading: the suspension lasts until the placement
    # made for it ends (End date, else Planned end date); with neither, it lasted at least until the
    # placement started (the pupil was still suspended then). The length is in school days, inclusive.
    until = susp["end_date"].fillna(susp["planned_end_date"]).fillna(susp["start_date"])
    until = until.where(until >= susp["start_date"], susp["start_date"])
    until_what = pd.Series("to the placement's end date", index=susp.index).where(
        susp["end_date"].notna(),
        pd.Series("to the placement's planned end date", index=susp.index).where(susp["planned_end_date"].notna(), "at least, to the placement's start"),
    )
    length = pd.Series(ctx.calendar.school_days_between(susp["exclusion_start_date"], until), index=susp.index).fillna(0).astype(int)
    day6 = int(ctx.policy.threshold("suspension_deadline_day"))
    longer = length > day6 - 1  # "more than five school days"
    deadline, late = _lateness(ctx, susp["exclusion_start_date"], susp["start_date"], pd.Series(day6, index=susp.index))
    message = (
        "Placement " + susp["placement_id"].astype(str) + " starts on " + dmy(susp["start_date"]) + ", " + _late_text(late)
        + ": the suspension began on " + dmy(susp["exclusion_start_date"]) + " and lasts " + length.astype(str)
        + " school days (" + until_what + ", " + dmy(until) + "). For a suspension of more than " + str(day6 - 1)
        + " school days the school must arrange suitable full-time education from the sixth school day, here " + dmy(deadline)
        + f" ({_SUSP_LAW})."
    )
    return flag(susp, longer & (late > 0), sheet=ctx.sheet("placements"), column=ctx.header("placements", "start_date"), key="placement_id", value="start_date", message=message)


def _segments(p: pd.DataFrame) -> pd.DataFrame:
    """Per pupil, the periods over which the same placements run, with the placements covering each.

    Boundaries are each placement's start and the day after its end; a period runs from one boundary
    to the day before the next (open-ended after the last). Returns one row per (period, covering
    placement): upn, seg_start, seg_end (NaT = open), and the placement's ``_row``.
    """
    after_end = p["eff_end"] + _ONE_DAY
    bounds = pd.concat(
        [p[["upn"]].assign(seg_start=p["start_date"]), p.loc[after_end.notna(), ["upn"]].assign(seg_start=after_end.dropna())],
        ignore_index=True,
    ).drop_duplicates().sort_values(["upn", "seg_start"], kind="stable")
    bounds["seg_end"] = bounds.groupby("upn")["seg_start"].shift(-1) - _ONE_DAY
    cover = bounds.merge(p[["upn", "_row", "start_date", "eff_end"]], on="upn")
    inside = (cover["start_date"] <= cover["seg_start"]) & (cover["eff_end"].isna() | (cover["eff_end"] >= cover["seg_start"]))
    return cover.loc[inside, ["upn", "seg_start", "seg_end", "_row"]]


def _ids_per_segment(cover: pd.DataFrame, wanted: pd.DataFrame) -> pd.Series:
    """'PL1, PL2' per (upn, seg_start) in ``wanted``, built column-wise (no Python call per group)."""
    keys = wanted[["upn", "seg_start"]].drop_duplicates()
    c = cover.merge(keys, on=["upn", "seg_start"]).sort_values(["upn", "seg_start", "_row"], kind="stable")
    c["_k"] = c.groupby(["upn", "seg_start"]).cumcount()
    wide = c.pivot(index=["upn", "seg_start"], columns="_k", values="placement_id").astype("object")
    ids = wide[0].astype(str)
    for k in wide.columns[1:]:
        ids = ids + (", " + wide[k].astype("object")).fillna("")
    return ids.rename("_ids")


@rule(
    "S19-003",
    "Pupil's total weekly hours across concurrent placements are below the full-time benchmark for their key stage (placements that are the pupil's whole education)",
    "warning",
    "Education Act 1996 s.19 (full-time education); Local Government Ombudsman full-time benchmarks KS1 21, KS2 23.5, KS3 24, KS4 25 hours (DOMAIN.md section 8); "
    "policy thresholds fulltime_hours_ks1..4",
)
def s19_003(ctx) -> pd.DataFrame | None:
    pl = ctx.register.placements
    ok = pl["upn"].notna() & pl["start_date"].notna()
    if not ok.any():
        return None
    p = pl.loc[ok].copy()
    p["_row"] = p.index
    p["eff_end"] = p["end_date"].fillna(p["planned_end_date"])
    # Only where AP is the pupil's whole education: single registration at the provider, or no home school.
    # A pupil who stays on a school roll gets the rest of the week there (s.19 scope, issue 3).
    p["_whole"] = (p["registration"] == "Single") | (blank(p["home_school_urn"]) & blank(p["home_school_name"]))
    cover = _segments(p).merge(p[["_row", "placement_id", "hours_per_week", "_whole"]], on="_row")
    cover["_hours_na"] = cover["hours_per_week"].isna()
    per_seg = cover.groupby(["upn", "seg_start"], sort=False).agg(
        total=("hours_per_week", "sum"),
        hours_na=("_hours_na", "any"),
        all_whole=("_whole", "all"),
        n=("placement_id", "size"),
    )
    # A period is judged only when every placement in it is whole-education and has its hours recorded.
    judged = cover.join(per_seg, on=["upn", "seg_start"])
    judged = judged[judged["all_whole"] & ~judged["hours_na"]]
    stage = placement_key_stage(p)
    bench_by_stage = {f"KS{k}": ctx.policy.threshold(f"fulltime_hours_ks{k}") for k in range(1, 5)}
    p["_stage"] = stage
    p["_bench"] = stage.map(bench_by_stage).astype(float)
    judged = judged.join(p[["_stage", "_bench"]], on="_row")
    low = judged[judged["_bench"].notna() & (judged["total"] < judged["_bench"])].sort_values(["_row", "seg_start"], kind="stable")
    if low.empty:
        return pd.DataFrame(columns=RULE_OUTPUT_COLUMNS)
    first = low.drop_duplicates("_row", keep="first").set_index("_row")
    first["ids"] = first.join(_ids_per_segment(cover, first), on=["upn", "seg_start"])["_ids"]
    others = low.groupby("_row").size().reindex(first.index) - 1
    period = "from " + dmy(first["seg_start"]) + (" to " + dmy(first["seg_end"])).where(first["seg_end"].notna(), " onwards")
    which = ("the pupil's placements " + first["ids"] + " together give ").where(first["n"] > 1, "the pupil's only placement (this one) gives ")
    more = others.map(lambda k: f" (and in {k} other period(s))" if k else "")
    rows = pl.loc[first.index]
    message = (
        "Placement " + rows["placement_id"].astype(str) + ": " + period + " " + which
        + fmt_hours(first["total"]) + " hours a week" + more + ". A " + first["_stage"].astype(str)
        + " pupil whose whole education is arranged through AP (single registration or no home school) should get full-time education:"
        + " the benchmark is " + fmt_hours(first["_bench"]) + " hours a week (Local Government Ombudsman benchmark; Education Act 1996 s.19"
        + " requires full-time education unless the child's health means part-time is in their best interests)."
    )
    return flag(rows, pd.Series(True, index=rows.index), sheet=ctx.sheet("placements"), column=ctx.header("placements", "hours_per_week"), key="placement_id", value="hours_per_week", message=message)
