"""FND rules: is each placement commissioned and funded as the LA's route matrix says, without double funding?"""
from __future__ import annotations

import numpy as np
import pandas as pd

from apxl.core.check import Context
from apxl.core.findings import flag
from apxl.core.matrix import describe
from apxl.core.recovery import awpu_recoveries
from apxl.core.rules._spans import dmy, ids, last_day
from apxl.core.rules.registry import rule

_TABLE = "placements"
_MATRIX = ("the LA's route matrix (profile or Rules sheet): seed 000_8ffcbe330cb47928.txt 'Description of routes into "
           "Alternative Provision' (Herefordshire), seed 002_f01ccf5f4a336bf1.txt §7 (Solihull); DOMAIN.md §2")
_DOUBLE = "seed 002_f01ccf5f4a336bf1.txt §9 and its action point (eliminate double funding); DOMAIN.md §2"
_REG27 = ("School and Early Years Finance (England) Regulations, reg 27 (readjustment after a permanent exclusion); "
          "seed 000_8ffcbe330cb47928.txt 'Recovery of AWPU from school'; DOMAIN.md §8")
_COST = "seed 003_57d480e12197286d.txt §12.8 (standard weekly or hourly fee); DOMAIN.md §8"
_WEEKDAY_BITS = {d: 1 << i for i, d in enumerate(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])}
_SCHOOL_WEEK = 0b0011111


# ---- FND-001..003: the route matrix -------------------------------------------------------------------
def _quoted(rr, key: str, allowed: frozenset[str]) -> str:
    """The LA's own wording when it says more than the allowed values, e.g. " ('School by local agreement')"."""
    text = (rr.wording or {}).get(key, "")
    return f" ('{text}')" if text and text.strip().lower() != describe(allowed, key).lower().replace(" or ", "/") else ""


def matrix_rule(ctx: Context, field: str, attr: str, sentence) -> pd.DataFrame | None:
    """Flag placements whose ``field`` is not in the route's allowed set; one message per route and value."""
    p = ctx.register.placements
    routes = ctx.policy.routes
    if p.empty or not routes:
        return None
    route, value = p["route"].astype("object"), p[field].astype("object")
    allowed_pairs = pd.MultiIndex.from_tuples([(r, v) for r, rr in routes.items() for v in getattr(rr, attr)] or [("", "")])
    ok = pd.MultiIndex.from_arrays([route, value]).isin(allowed_pairs)
    bad = route.isin(list(routes)) & value.notna() & ~ok
    if not bad.any():
        return None
    prefix = {r: f"{rr.source or ctx.policy.matrix_name}: {sentence(r)} {describe(getattr(rr, attr), field)}{_quoted(rr, field, getattr(rr, attr))}"
              for r, rr in routes.items()}
    message = route.map(prefix) + ", not " + value.astype(str) + ". Correct the " + ctx.header(_TABLE, field) + " or the route."
    return flag(p, bad, sheet=ctx.sheet(_TABLE), column=ctx.header(_TABLE, field), key="placement_id", value=field, message=message)


@rule("FND-001", "Commissioner not allowed for the route by the LA's route matrix (or the route is not in the matrix)", "error", _MATRIX)
def commissioner_allowed(ctx: Context) -> pd.DataFrame | None:
    p = ctx.register.placements
    routes = ctx.policy.routes
    out = [matrix_rule(ctx, "commissioner", "commissioners", lambda r: f"{r} placements are commissioned by")]
    # A route the LA's matrix does not have (Herefordshire has no LONGTERM): reported once, here.
    missing = p["route"].notna() & ~p["route"].isin(list(routes)) if len(p) else pd.Series(dtype=bool)
    if len(p) and missing.any():
        message = (p["route"].astype(str) + f" is not a route in the {ctx.policy.matrix_name} (its routes: {', '.join(routes)}): "
                   "choose the route that fits this placement, or add the route to the Rules sheet if the LA uses it.")
        out.append(flag(p, missing, sheet=ctx.sheet(_TABLE), column=ctx.header(_TABLE, "route"), key="placement_id", value="route", message=message))
    out = [o for o in out if o is not None and len(o)]
    return pd.concat(out, ignore_index=True) if out else None


@rule("FND-002", "Place (lump sum) funder not allowed for the route by the LA's route matrix", "error", _MATRIX)
def place_funder_allowed(ctx: Context) -> pd.DataFrame | None:
    return matrix_rule(ctx, "place_funder", "place_funders", lambda r: f"the place (lump sum) for {r} is paid by")


@rule("FND-003", "Top-up funder not allowed for the route by the LA's route matrix", "error", _MATRIX)
def topup_funder_allowed(ctx: Context) -> pd.DataFrame | None:
    return matrix_rule(ctx, "topup_funder", "topup_funders", lambda r: f"top-up for {r} is paid by")


# ---- FND-004: double funding ------------------------------------------------------------------------
def _day_bits(days: pd.Series) -> np.ndarray:
    """Weekday bitmask per placement (Mon=1 ... Sun=64); blank Days means the whole school week."""
    bits = days.astype("object").map(
        lambda text: sum(_WEEKDAY_BITS.get(d.strip(), 0) for d in text.split(",")) if isinstance(text, str) else _SCHOOL_WEEK
    )
    return bits.astype("int64").to_numpy()


def _range_bits(start: pd.Series, end: pd.Series) -> np.ndarray:
    """Weekdays present in each date range (a week or longer has all seven)."""
    length = ((end - start).dt.days + 1).to_numpy()
    first = start.dt.weekday.to_numpy()
    bits = np.zeros(len(start), dtype="int64")
    for k in range(7):  # seven vectorised steps, not a loop over rows
        bits |= np.where(length > k, 1 << ((first + k) % 7), 0)
    return bits


@rule("FND-004", "Possible double funding: LA pays place and top-up for a pupil kept on a home school roll, or LA funds two placements on the same days", "warning", _DOUBLE)
def double_funding(ctx: Context) -> pd.DataFrame | None:
    p = ctx.register.placements
    if p.empty:
        return None
    parts = []
    # (a) A pupil who keeps a home school (Dual or Off-site) brings AWPU, pupil premium and the first
    # £6,000 of EHCP support to that school: the LA paying both elements outside PEX funds it twice.
    both = (p["route"].ne("PEX") & p["registration"].isin(["Dual", "Off-site"]) & p["place_funder"].eq("LA") & p["topup_funder"].eq("LA")).fillna(False)
    if both.any():
        routes = ctx.policy.routes
        says = {r: f" The {rr.source or ctx.policy.matrix_name} says top-up for {r} is paid by {describe(rr.topup_funders)}." for r, rr in routes.items()}
        message = (
            "The LA pays both the place and the top-up for a pupil who stays on the home school's roll (" + p["registration"].astype(str)
            + "): the home school receives the pupil's AWPU, pupil premium and first £6,000 of EHCP support, so the school is "
            "normally expected to pay the top-up; paying both from the LA is the double funding seed 002 §9 sets out to end."
            + p["route"].map(says).fillna("")
        )
        parts.append(flag(p, both, sheet=ctx.sheet(_TABLE), column=ctx.header(_TABLE, "topup_funder"), key="placement_id", value="topup_funder", message=message))

    # (b) One pupil funded by the LA through two placements that run on the same days.
    funded = p[(p["place_funder"].eq("LA") | p["topup_funder"].eq("LA")).fillna(False) & p["upn"].notna() & p["start_date"].notna()]
    if len(funded) > 1:
        f = pd.DataFrame({"row": funded.index, "upn": funded["upn"], "start": funded["start_date"], "end": last_day(funded),
                          "bits": _day_bits(funded["days"]), "pid": ids(funded), "days": funded["days"].astype("object")})
        pairs = f.merge(f, on="upn", suffixes=("", "_o"))
        pairs = pairs[pairs["row"] != pairs["row_o"]]
        lo = pairs[["start", "start_o"]].max(axis=1)
        hi = pairs[["end", "end_o"]].min(axis=1)
        pairs = pairs.assign(lo=lo, hi=hi)[(lo <= hi).to_numpy()]
        if len(pairs):
            common = pairs["bits"].to_numpy() & pairs["bits_o"].to_numpy() & _range_bits(pairs["lo"], pairs["hi"])
            pairs = pairs[common != 0]
        if len(pairs):
            open_ended = pairs["hi"] >= pd.Timestamp("2199-01-01")
            pairs = pairs.assign(desc=pairs["pid_o"] + " (from " + dmy(pairs["lo"]) + np.where(open_ended, ", open-ended", " to " + dmy(pairs["hi"])) + ")")
            others = pairs.sort_values(["row", "lo"]).groupby("row")["desc"].agg("; ".join)
            hit = pd.Series(p.index.isin(others.index), index=p.index)
            message = pd.Series(
                "The LA also funds this pupil through placement " + others
                + " on the same days of the week: check the pupil is not paid for twice (seed 002 §9: eliminate double funding). "
                "If one placement has ended, enter its end date.",
            ).reindex(p.index)
            parts.append(flag(p, hit, sheet=ctx.sheet(_TABLE), column=ctx.header(_TABLE, "start_date"), key="placement_id", value="start_date", message=message))
    parts = [x for x in parts if len(x)]
    return pd.concat(parts, ignore_index=True) if parts else None


def _text(values: pd.Series, fmt: str) -> pd.Series:
    """Numbers as text for messages ('' where missing), safe on empty and nullable series."""
    return values.astype("object").map(lambda v: "" if v is None or pd.isna(v) else fmt.format(int(v) if "d" in fmt else v)).astype("object")


# ---- FND-005: AWPU recovery after a permanent exclusion ------------------------------------------------
@rule("FND-005", "PEX placement: AWPU recovery due from the excluding school (amount A x B/52)", "info", _REG27)
def awpu_recovery(ctx: Context) -> pd.DataFrame | None:
    p = ctx.register.placements
    first = awpu_recoveries(p, ctx.policy)  # one per exclusion, amounts worked out in apxl.core.recovery
    if first.empty:
        return None
    when, weeks, end, awpu, amount, stage = (first[c] for c in ("excluded_on", "weeks", "end", "awpu", "amount", "key_stage"))
    school = first["home_school_name"].astype("object").where(first["home_school_name"].notna(),
                                                              "URN " + first["home_school_urn"].astype(str)).where(
        first["home_school_name"].notna() | first["home_school_urn"].notna(), "the excluding school")
    rr = ctx.policy.route("PEX")
    local = ""
    if rr is not None and "awpu" in (rr.wording or {}).get("topup_funder", "").lower():
        local = f"; {rr.source or ctx.policy.matrix_name}: top-up for PEX is '{rr.wording['topup_funder']}'"
    known = when.notna().to_numpy()
    priced = known & amount.notna().to_numpy()
    money = lambda x: _text(x, "£{:,.2f}")  # noqa: E731
    head = "Permanent exclusion from " + dmy(when) + ": recover the AWPU from " + school.astype(str)
    weeks_text = _text(weeks, "{:d}") + " complete weeks to " + dmy(end)
    text = np.select(
        [priced, known],
        [
            head + ": A x B/52 = " + money(awpu) + " x " + _text(weeks, "{:d}") + "/52 = " + money(amount)
            + " (" + stage.fillna("").astype(str) + " AWPU; " + weeks_text + ")",
            head + ": A x B/52 with B = " + weeks_text + "; A is unknown: set the year group, and 'AWPU "
            + stage.fillna("KS?").astype(str) + "' on the Settings sheet",
        ],
        "PEX placement: recover the AWPU from " + school.astype(str) + "; enter the exclusion start date to work out A x B/52",
    )
    text = pd.Series(text, index=first.index, dtype="object")
    message = text + " (School and Early Years Finance Regulations, reg 27" + local + ")."
    hit = pd.Series(p.index.isin(first.index), index=p.index)
    return flag(p, hit, sheet=ctx.sheet(_TABLE), column=ctx.header(_TABLE, "exclusion_start_date"), key="placement_id",
                value="exclusion_start_date", message=message.reindex(p.index))


# ---- FND-006: costing -------------------------------------------------------------------------------
@rule("FND-006", "Commissioned placement with no cost basis or rate", "warning", _COST)
def no_cost(ctx: Context) -> pd.DataFrame | None:
    p = ctx.register.placements
    no_basis = p["cost_basis"].isna()
    no_rate = p["rate"].isna()
    parts = []
    if no_basis.any():
        parts.append(flag(p, no_basis, sheet=ctx.sheet(_TABLE), column=ctx.header(_TABLE, "cost_basis"), key="placement_id", value="cost_basis",
                          message=pd.Series(np.where(no_rate, "No cost basis or rate is recorded", "No cost basis is recorded"), index=p.index)
                          + ": enter Place, Week, Day or Hour and the rate in £ so the placement can be costed and the provider paid "
                          "(seed 003 §12.8: providers charge a standard weekly or hourly fee)."))
    rate_only = no_rate & ~no_basis
    if rate_only.any():
        parts.append(flag(p, rate_only, sheet=ctx.sheet(_TABLE), column=ctx.header(_TABLE, "rate"), key="placement_id", value="rate",
                          message="No rate is recorded for this " + p["cost_basis"].astype(str).str.lower() + "-based placement: enter the "
                          "provider's rate in £ so the placement can be costed (seed 003 §12.8)."))
    parts = [x for x in parts if len(x)]
    return pd.concat(parts, ignore_index=True) if parts else None
