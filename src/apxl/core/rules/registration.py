"""REG rules: registration type per route, registered schools, and the limits on unregistered providers."""
from __future__ import annotations

import numpy as np
import pandas as pd

from apxl.core.check import Context
from apxl.core.findings import flag, rows
from apxl.core.rules._spans import dmy, ids, last_day, overlapping, placement_key_stage, running_totals, with_providers
from apxl.core.rules.funding import matrix_rule
from apxl.core.rules.registry import rule

_TABLE = "placements"
_MATRIX = ("the LA's route matrix, Registration column: seed 000_8ffcbe330cb47928.txt, seed 002_f01ccf5f4a336bf1.txt §7; "
           "DESIGN.md §2 (reading 'Dual, school main' etc.)")
_ROLL = ("School Attendance (Pupil Registration) (England) Regulations 2024 (only a school keeps an admission register); "
         "seed 003_57d480e12197286d.txt §3; seed 004_3d7af6d2a2601fc8.txt; DOMAIN.md §4-5")
_S463 = "Education Act 1996 s.463; seed 003_57d480e12197286d.txt §3.2-3.5; DOMAIN.md §4"
_SHORT = "seed 003_57d480e12197286d.txt §2.2, §3.5, §9.3 (unregistered AP part-time and short-term); DOMAIN.md §4"


def _policy_name(ctx: Context) -> str:
    p = ctx.policy
    if p.la_name:
        return f"{p.la_name} policy"
    return "apxl default" if p.name == "default" else f"{p.name} profile"


@rule("REG-001", "Registration type not allowed for the route by the LA's route matrix", "error", _MATRIX)
def registration_allowed(ctx: Context) -> pd.DataFrame | None:
    return matrix_rule(ctx, "registration", "registrations", lambda r: f"{r} placements are registered")


def _not_a_school(ctx: Context, registration: str, why: str, fix: str) -> pd.DataFrame | None:
    q = with_providers(ctx)
    hit = q["registration"].eq(registration).fillna(False) & q["provider_not_registered"]
    if not hit.any():
        return None
    what = q["provider_type"].astype("object").where(q["provider_registered"].ne(False).fillna(True), "Registered: N")
    message = (
        registration + " registration " + why + ", but provider " + q["provider_id"].astype(str) + " ("
        + q["provider_name"].astype(str) + ", " + what.astype(str) + ") is not a registered school: " + fix
        + " (School Attendance (Pupil Registration) (England) Regulations 2024; seed 003 §3)."
    )
    return flag(q, hit, sheet=ctx.sheet(_TABLE), column=ctx.header(_TABLE, "registration"), key="placement_id", value="registration", message=message)


@rule("REG-002", "Single registration with a provider that is not a registered school", "error", _ROLL)
def single_needs_school(ctx: Context) -> pd.DataFrame | None:
    return _not_a_school(ctx, "Single", "puts the pupil on the provider's roll only",
                         "place the pupil with a registered school, or keep them on the home school's roll (Off-site)")


@rule("REG-003", "Dual registration with a provider that is not a registered school", "error", _ROLL)
def dual_needs_school(ctx: Context) -> pd.DataFrame | None:
    return _not_a_school(ctx, "Dual", "needs two schools' admission registers",
                         "record the placement as Off-site (the home school codes the sessions B or K)")


# ---- hours at unregistered providers -----------------------------------------------------------------
def _unregistered_spans(ctx: Context) -> pd.DataFrame:
    """Placements at unregistered providers that count towards weekly hours, as spans with their facts."""
    q = with_providers(ctx)
    u = q[q["provider_not_registered"] & q["upn"].notna() & q["start_date"].notna() & q["hours_per_week"].notna()]
    return pd.DataFrame({
        "row": u.index.astype("int64"), "upn": u["upn"], "provider_id": u["provider_id"], "start": u["start_date"],
        "end": last_day(u), "hours": u["hours_per_week"].astype("float64"), "pid": ids(u),
        "ehcp": u["ehcp"].astype("boolean").fillna(False).astype(bool),
        "lac": u["looked_after"].astype("boolean").fillna(False).astype(bool),
        "provider_name": u["provider_name"], "provider_row": u["provider_row"],
    }).reset_index(drop=True)


def _hours_rule(ctx: Context, limit_by_upn: pd.Series, strict: bool, explain) -> pd.DataFrame | None:
    """Flag unregistered placements running while the pupil's unregistered hours reach the pupil's limit."""
    p = ctx.register.placements
    spans = _unregistered_spans(ctx)
    if spans.empty:
        return None
    totals = running_totals(spans, ["upn"], "start", "end", "hours")
    totals["limit"] = totals["upn"].map(limit_by_upn)
    over = totals["total"] > totals["limit"] + 1e-9 if strict else totals["total"] >= totals["limit"] - 1e-9
    hot = totals[over.fillna(False).astype(bool)]
    if hot.empty:
        return None
    on = overlapping(hot, spans[["upn", "row", "start", "end", "pid"]], on=["upn"])
    on = on.assign(day=on[["from", "start"]].max(axis=1))
    first = on.sort_values(["row", "day"]).drop_duplicates("row")  # each placement's first day at or over the limit
    # The placements running together on that first day, for the message.
    peers = first[["row", "upn", "day"]].merge(spans[["upn", "start", "end", "pid"]], on="upn")
    peers = peers[(peers["start"] <= peers["day"]) & (peers["day"] <= peers["end"])]
    together = peers.groupby("row")["pid"].agg(lambda s: ", ".join(sorted(set(s))))
    first = first.set_index("row")
    total_then = first["total"]
    message = pd.Series(
        "From " + dmy(first["day"]) + " this pupil has " + total_then.map("{:g}".format) + " hours a week at unregistered providers ("
        + together.reindex(first.index).fillna("") + "): " + explain(first),
    ).reindex(p.index)
    hit = pd.Series(p.index.isin(first.index), index=p.index)
    return flag(p, hit, sheet=ctx.sheet(_TABLE), column=ctx.header(_TABLE, "hours_per_week"), key="placement_id", value="hours_per_week", message=message)


@rule("REG-004", "Pupil receives more than 18 hours a week at unregistered providers", "error", _S463)
def unregistered_full_time(ctx: Context) -> pd.DataFrame | None:
    limit = ctx.policy.threshold("unregistered_fulltime_hours")
    upns = ctx.register.placements["upn"].dropna().unique()
    explain = lambda f: (  # noqa: E731
        f"more than {limit:g} hours a week is full-time education, which only a registered school may give "
        "(DfE, seed 003 §3.3; Education Act 1996 s.463). Reduce the hours or use a registered provider."
    )
    return _hours_rule(ctx, pd.Series(limit, index=upns, dtype="float64"), True, explain)


@rule("REG-007", "Unregistered hours are half or more of the pupil's full-time week", "warning", _SHORT)
def unregistered_half_week(ctx: Context) -> pd.DataFrame | None:
    p = ctx.register.placements
    if p.empty:
        return None
    stage = placement_key_stage(p, pd.Series(ctx.as_of_ts, index=p.index))
    bench = {ks: ctx.policy.threshold(f"fulltime_hours_{ks.lower()}") for ks in ("KS1", "KS2", "KS3", "KS4")}
    # Pupils below Year 1 use the KS1 week; beyond Year 11 the KS4 week.
    stage = stage.where(~stage.isin(["EYFS"]), "KS1").where(~stage.isin(["KS5"]), "KS4")
    per_upn = pd.DataFrame({"upn": p["upn"], "stage": stage}).dropna().drop_duplicates("upn").set_index("upn")["stage"]
    limit = per_upn.map(bench).astype("float64") / 2
    explain = lambda f: (  # noqa: E731
        "that is half or more of a full-time week for " + f["upn"].map(per_upn).astype(str) + " ("
        + f["upn"].map(per_upn).map(bench).map("{:g}".format) + " hours, Local Government Ombudsman benchmark). Most of the "
        "pupil's education should come from a registered school or provider for at least half the week (seed 003 §2.2, §3.5, §9.3)."
    )
    return _hours_rule(ctx, limit, False, explain)


@rule("REG-005", "Unregistered provider gives full-time education to 5+ pupils, or to any EHCP or looked-after pupil, on some day", "error", _S463)
def unregistered_school(ctx: Context) -> pd.DataFrame | None:
    spans = _unregistered_spans(ctx)
    spans = spans[spans["provider_row"].notna()]
    if spans.empty:
        return None
    hours = ctx.policy.threshold("unregistered_fulltime_hours")
    pupils = ctx.policy.threshold("unregistered_pupils_limit")
    # Each pupil's hours at each provider over time (all commissioners together); above 18 is full-time.
    per_pupil = running_totals(spans, ["provider_id", "upn"], "start", "end", "hours")
    ft = per_pupil[per_pupil["total"] > hours + 1e-9].copy()
    if ft.empty:
        return None
    flags = spans.groupby("upn")[["ehcp", "lac"]].any()
    ft = ft.join(flags, on="upn")
    counts = running_totals(ft.assign(one=1.0), ["provider_id"], "from", "to", "one")
    crowded = counts[counts["total"] >= pupils - 1e-9].sort_values("from").drop_duplicates("provider_id")
    special = ft[ft["ehcp"] | ft["lac"]].sort_values("from").drop_duplicates("provider_id")

    def involved(when: pd.DataFrame, only_special: bool) -> pd.Series:
        """Placement IDs of pupils full-time at the provider on the given first day."""
        w = when[["provider_id", "from"]].rename(columns={"from": "day"})
        spells = ft.merge(w, on="provider_id")
        spells = spells[(spells["from"] <= spells["day"]) & (spells["day"] <= spells["to"])]
        if only_special:
            spells = spells[spells["ehcp"] | spells["lac"]]
        pl = spells[["provider_id", "upn", "day"]].merge(spans[["provider_id", "upn", "start", "end", "pid"]], on=["provider_id", "upn"])
        pl = pl[(pl["start"] <= pl["day"]) & (pl["day"] <= pl["end"])]
        return pl.groupby("provider_id")["pid"].agg(lambda s: ", ".join(sorted(set(s))))

    facts = spans.drop_duplicates("provider_id").set_index("provider_id")[["provider_name", "provider_row"]]
    out = []
    if len(crowded):
        who = involved(crowded, False)
        for rec in crowded.to_dict("records"):  # one finding per provider, not per placement
            out.append({"provider_id": rec["provider_id"], "day": rec["from"], "what": f"{int(rec['total'])} pupils",
                        "ids": who.get(rec["provider_id"], "")})
    if len(special):
        who = involved(special, True)
        for rec in special.to_dict("records"):
            kind = "an EHCP pupil" if rec["ehcp"] else "a looked-after pupil"
            out.append({"provider_id": rec["provider_id"], "day": rec["from"], "what": kind, "ids": who.get(rec["provider_id"], "")})
    if not out:
        return None
    found = pd.DataFrame(out).sort_values("day").groupby("provider_id", sort=False).agg(
        day=("day", "first"), what=("what", lambda s: " and ".join(dict.fromkeys(s))), ids=("ids", lambda s: ", ".join(sorted(set(", ".join(s).split(", ")) - {""}))))
    sheet = ctx.register.table("providers").sheet
    records = []
    for pid, rec in found.iterrows():
        name = facts.at[pid, "provider_name"]
        records.append({
            "sheet": sheet, "row": int(facts.at[pid, "provider_row"]), "column": ctx.header("providers", "registered"), "key": pid, "value": "N",
            "message": (f"Unregistered provider {pid} ({name}) gives full-time education (more than {hours:g} hours a week) to {rec['what']} "
                        f"from {rec['day']:%d/%m/%Y}, counting placements from every commissioner (placements {rec['ids']}): an institution "
                        f"that does so for {pupils:g} or more pupils, or for any pupil with an EHC plan or looked after, must register as an "
                        "independent school, and running one unregistered is an offence (Education Act 1996 s.463; seed 003 §3.2-3.5). "
                        "Reduce hours below the threshold, move pupils to a registered provider, or confirm the provider's registration."),
        })
    return rows(records)


@rule("REG-006", "Unregistered placement planned longer than the policy maximum (default one term, 13 weeks)", "warning", _SHORT)
def unregistered_too_long(ctx: Context) -> pd.DataFrame | None:
    q = with_providers(ctx)
    max_weeks = ctx.policy.threshold("unregistered_max_weeks")
    planned = q["planned_end_date"].fillna(q["end_date"])
    open_ended = planned.isna() & q["start_date"].notna()
    # With no planned or actual end, judge the time it has run by the as-of date.
    until = planned.where(~open_ended, ctx.as_of_ts)
    weeks = ((until - q["start_date"]).dt.days + 1) / 7
    hit = q["provider_not_registered"] & (weeks > max_weeks + 1e-9).fillna(False)
    if not hit.any():
        return None
    span = np.where(open_ended, "has run for " + weeks.map(lambda w: f"{w:.0f}" if pd.notna(w) else "").astype(str)
                    + " weeks since " + dmy(q["start_date"]) + " with no planned end date",
                    "is planned for " + weeks.map(lambda w: f"{w:.0f}" if pd.notna(w) else "").astype(str) + " weeks ("
                    + dmy(q["start_date"]) + " to " + dmy(until) + ")")
    message = (
        "This placement at unregistered provider " + q["provider_id"].astype(str) + " (" + q["provider_name"].astype(str) + ") "
        + pd.Series(span, index=q.index) + f", longer than the {_policy_name(ctx)} maximum of {max_weeks:g} weeks: an unregistered "
        "setting should be part-time and short-term (seed 003 §2.2, §3.5, §9.3). Plan an end date or move the pupil to a registered provider."
    )
    # An open placement is flagged on its start date; a planned one on the planned end it should not reach.
    column = pd.Series(np.where(open_ended, ctx.header(_TABLE, "start_date"), ctx.header(_TABLE, "planned_end_date")), index=q.index)
    value = q["start_date"].where(open_ended, until)
    out = flag(q, hit, sheet=ctx.sheet(_TABLE), column=None, key="placement_id", value=value, message=message)
    out["column"] = column[hit].to_numpy()
    return out
