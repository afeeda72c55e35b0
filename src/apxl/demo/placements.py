"""Background placements for the demo: routes, providers, dates, hours, funding and plans consistent with the LA's matrix.

Everything is drawn per route with numpy (no loop per placement) so the benchmarks can ask for 50,000.
The background is meant to be clean: the problems the demo shows are planted afterwards (apxl.demo.plant).
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np
import pandas as pd

from apxl.demo.pupils import make_pupils
from apxl.demo.world import World

FULL_WEEK = "Mon-Fri"
ROUTE_MIX = {"PEX": 14, "HEALTH": 13, "INTERIM": 6, "ASSESS": 17, "SUSPENSION": 12, "S19OTHER": 12, "VOCATIONAL": 18, "LONGTERM": 8}
Y11_LEAVING = pd.Timestamp("2025-06-27")  # last Friday in June 2025: Year 11's compulsory school age ends


@dataclass(frozen=True)
class RouteSpec:
    types: tuple[str, ...]  # provider types the LA uses for the route
    weeks: tuple[int, int]  # planned length in school weeks
    years: tuple[int, int]  # year groups placed on this route


ROUTES = {
    "PEX": RouteSpec(("PRU", "AP academy", "AP free school"), (12, 40), (5, 11)),
    "HEALTH": RouteSpec(("Hospital school", "Online/tuition"), (4, 16), (3, 11)),
    "INTERIM": RouteSpec(("PRU", "AP academy"), (3, 10), (6, 11)),
    "ASSESS": RouteSpec(("PRU", "AP academy", "Unregistered"), (6, 12), (5, 10)),
    "SUSPENSION": RouteSpec(("PRU", "AP academy", "AP free school"), (4, 8), (7, 11)),
    "S19OTHER": RouteSpec(("Online/tuition", "Independent school"), (6, 30), (3, 11)),
    "VOCATIONAL": RouteSpec(("FE college", "Unregistered"), (10, 36), (10, 11)),
    "LONGTERM": RouteSpec(("Independent school", "Special school", "AP academy"), (20, 40), (3, 11)),
}
OBJECTIVES = {
    "PEX": "Full-time education from day 6 of the exclusion; stabilise attendance; GCSE English and maths; plan next school place",
    "HEALTH": "Keep learning during treatment; core subjects; phased return to home school when well",
    "INTERIM": "Full-time education while a school place is found; baseline assessment; transition to new school",
    "ASSESS": "Assess needs and behaviour; targeted SEMH intervention; reintegration to home school",
    "SUSPENSION": "Full-time education during suspension; restorative work; planned return to home school",
    "S19OTHER": "Suitable education while unable to attend school; English, maths and science; re-engagement",
    "VOCATIONAL": "Vocational qualification (Level 1); work-related skills; motivation and attendance",
    "LONGTERM": "Specialist full-time provision; EHCP outcomes; GCSE or entry-level pathway",
}
DESTINATIONS = {
    "PEX": ["New mainstream school place", "Specialist school (EHCP)", "Post-16: FE college"],
    "HEALTH": ["Returned to home school", "Returned to home school (phased)"],
    "INTERIM": ["New school place"],
    "ASSESS": ["Returned to home school", "Returned to home school with support plan"],
    "SUSPENSION": ["Returned to home school"],
    "S19OTHER": ["Returned to home school", "New school place", "Continued tuition (new placement)"],
    "VOCATIONAL": ["Course completed", "Post-16: FE college"],
    "LONGTERM": ["Specialist school (EHCP)", "Post-16: FE college"],
}
_TWO_DAYS = ["Mon,Tue", "Wed,Thu", "Tue,Thu", "Mon,Wed", "Thu,Fri"]
_ONE_DAY = ["Mon", "Tue", "Wed", "Thu", "Fri"]


def route_mix(routes: dict) -> dict[str, float]:
    """The share of each route the LA's matrix has (Herefordshire has no LONGTERM)."""
    mix = {r: w for r, w in ROUTE_MIX.items() if r in routes}
    total = sum(mix.values())
    return {r: w / total for r, w in mix.items()}


def funding_choices(allowed: dict, route: str, registration: str) -> list[tuple[str, str, str]]:
    """Commissioner, place funder and top-up funder combinations the matrix allows, without LA paying both
    elements for a pupil who keeps a home school (FND-004), LA-first for LA routes."""
    combos = list(product(allowed["commissioner"], allowed["place_funder"], allowed["topup_funder"]))
    if route != "PEX" and registration in ("Dual", "Off-site"):
        combos = [c for c in combos if not (c[1] == "LA" and c[2] == "LA")] or combos
    return combos


def _choose(rng: np.random.Generator, options: list, n: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    idx = rng.integers(0, len(options), n)
    for i, opt in enumerate(options):
        out[idx == i] = [opt] * int((idx == i).sum())
    return out


def _snap(days: np.ndarray, dates: np.ndarray) -> np.ndarray:
    """Each date moved back to the school day on or before it."""
    pos = np.searchsorted(days, dates.astype("datetime64[D]"), side="right") - 1
    return days[np.clip(pos, 0, len(days) - 1)]


def build_placements(rng: np.random.Generator, world: World, n: int, as_of: pd.Timestamp, routes: dict) -> pd.DataFrame:
    """``n`` placements (field-named columns, typed) for about n/1.2 pupils, plus the pupil's absence rate."""
    mix = route_mix(routes)
    n_pupils = max(1, int(round(n / 1.2)))
    route = rng.choice(list(mix), size=n_pupils, p=list(mix.values()))
    lo = np.array([ROUTES[r].years[0] for r in route])
    hi = np.array([ROUTES[r].years[1] for r in route])
    years = lo + np.floor(rng.random(n_pupils) ** 0.7 * (hi - lo + 1)).astype(int)  # older pupils are commoner in AP
    pupils = make_pupils(rng, world, np.minimum(years, hi))
    days = world.school_days
    last_start = np.searchsorted(days, np.datetime64(as_of - pd.Timedelta(days=21), "D"))
    start_idx = rng.integers(5, max(6, last_start), n_pupils)
    primary = draw(rng, world, pupils, np.arange(n_pupils), route, start_idx, as_of, routes)
    extra = n - n_pupils
    parts = [primary]
    if extra > 0:
        parts.append(second_placements(rng, world, pupils, primary, extra, as_of, routes))
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["start_date", "upn"], kind="stable").reset_index(drop=True)


def draw(rng, world: World, pupils: pd.DataFrame, who: np.ndarray, route: np.ndarray, start_idx: np.ndarray,
         as_of: pd.Timestamp, routes: dict, *, hours: np.ndarray | None = None, days_text: np.ndarray | None = None,
         types: np.ndarray | None = None) -> pd.DataFrame:
    """Placements for pupils ``who`` on ``route`` starting on school day ``start_idx`` (vectorised by route)."""
    n = len(who)
    days = world.school_days
    p = pupils.iloc[who].reset_index(drop=True)
    prov = world.providers
    stage = np.where(p["year_group"] <= 6, "KS2", np.where(p["year_group"] <= 9, "KS3", "KS4"))
    provider = np.empty(n, dtype=object)
    ptype = np.empty(n, dtype=object)
    for r in np.unique(route):
        allowed_regs = set(routes[r]["registration"])
        kinds = [t for t in ROUTES[r].types if allowed_regs & ({"Dual", "Single"} if t not in ("Unregistered", "Online/tuition") else {"Off-site"})]
        for ks in np.unique(stage):
            sel = (route == r) & (stage == ks)
            want = types[sel] if types is not None else _choose(rng, kinds, int(sel.sum()))
            for t in np.unique(want.astype(str)):
                ok = prov[(prov["type"] == t) & prov["key_stages"].str.contains(ks)]
                if ok.empty:
                    ok = prov[prov["type"].isin(kinds) & prov["key_stages"].str.contains(ks)]
                hit = np.flatnonzero(sel)[want == t]
                pick = ok.iloc[rng.integers(0, len(ok), len(hit))]
                provider[hit] = pick["provider_id"].to_numpy()
                ptype[hit] = pick["type"].to_numpy()
    facts = prov.set_index("provider_id")
    registered = facts.loc[provider, "registered"].to_numpy() == "Y"
    weekly = facts.loc[provider, "weekly_fee"].to_numpy()
    hourly = facts.loc[provider, "hourly_fee"].to_numpy()

    # Registration: a registered provider is Dual (Single where the route calls for it), else Off-site.
    registration = np.where(registered, "Dual", "Off-site").astype(object)
    single_first = np.isin(route, ["INTERIM"]) | (np.isin(route, ["S19OTHER", "LONGTERM"]) & (rng.random(n) < 0.5))
    registration[registered & single_first] = "Single"
    registration[route == "VOCATIONAL"] = "Off-site"  # the pupil stays on the school roll and goes to college or a centre
    for r in np.unique(route):
        allowed_regs = routes[r]["registration"]
        sel = (route == r) & ~np.isin(registration, allowed_regs)
        registration[sel] = allowed_regs[0]

    # Hours and days: full time at registered providers, part time elsewhere and for vocational courses.
    part = ~registered | (route == "VOCATIONAL") | ((route == "ASSESS") & (rng.random(n) < 0.5)) | ((route == "HEALTH") & (rng.random(n) < 0.5))
    part &= registration != "Single"
    h = np.where(part, np.where(registered, rng.choice([10.0, 12.0, 15.0], n), rng.choice([4.0, 6.0, 8.0, 10.0], n)), 25.0)
    d = np.where(part, np.where(h <= 6, _choose(rng, _ONE_DAY, n), _choose(rng, _TWO_DAYS, n)), FULL_WEEK).astype(object)
    if hours is not None:
        h, d = hours, days_text

    # Dates: planned length by route; unregistered placements stay within 12 calendar weeks (REG-006).
    wk_lo = np.array([ROUTES[r].weeks[0] for r in route])
    wk_hi = np.array([ROUTES[r].weeks[1] for r in route])
    length = (wk_lo + rng.integers(0, 1 + wk_hi - wk_lo)) * 5
    # A PEX starts on the sixth school day of the exclusion; so does provision for a suspension of more
    # than five days (the other SUSPENSION placements are off-site directions, with no exclusion date).
    excluded = (route == "PEX") | ((route == "SUSPENSION") & (rng.random(n) < 0.6))
    suspended = excluded & (route == "SUSPENSION")
    length = np.where(suspended, rng.integers(5, 11, n), length)  # the rest of a 10 to 15 day suspension
    start_idx = np.clip(start_idx, 0, len(days) - 1)
    start = days[start_idx]
    planned = days[np.clip(start_idx + length - 1, 0, len(days) - 1)]
    beyond = start_idx + length - 1 >= len(days)
    planned = np.where(beyond, planned + np.timedelta64(7 * 8, "D"), planned)  # runs on into next year
    planned = np.where(~registered, np.minimum(planned, _snap(days, start + np.timedelta64(83, "D"))), planned)
    y11 = p["year_group"].to_numpy() >= 11
    planned = np.where(y11, np.minimum(planned, np.datetime64(Y11_LEAVING, "D")), planned)
    early = (rng.random(n) < 0.2) & ~suspended
    actual = np.where(early, _snap(days, planned - np.timedelta64(14, "D")), planned)
    actual = np.maximum(actual, start)
    ended = actual <= np.datetime64(as_of, "D")
    end = np.where(ended, actual, np.datetime64("NaT"))
    review = np.where(ended, np.minimum(start + np.timedelta64(42, "D"), actual),
                      np.datetime64(as_of, "D") + rng.integers(7, 43, n).astype("timedelta64[D]"))

    # Provision starts on day 6 at the latest; often a few days sooner, which shortens the run of E codes.
    lead = rng.choice([2, 3, 4, 5], size=n, p=[0.15, 0.15, 0.2, 0.5])
    exclusion = np.where(excluded, days[np.clip(start_idx - lead, 0, None)], np.datetime64("NaT"))

    funders = np.empty((n, 3), dtype=object)
    for (r, reg), sel in pd.Series(np.arange(n)).groupby([route, registration]):
        combos = funding_choices(routes[r], r, reg)
        pick = rng.integers(0, len(combos), len(sel))
        funders[sel.to_numpy()] = np.array(combos, dtype=object)[pick]

    basis = np.where(np.isin(route, ["PEX", "INTERIM"]) & registered, "Place",
                     np.where(np.isnan(weekly) | part, "Hour", "Week")).astype(object)
    rate = np.where(basis == "Place", 10000.0, np.where(basis == "Week", weekly, np.where(np.isnan(hourly), 35.0, hourly)))
    dest = np.array([DESTINATIONS[r][i % len(DESTINATIONS[r])] for i, r in enumerate(route)], dtype=object)
    interim = route == "INTERIM"
    return pd.DataFrame({
        "upn": p["upn"], "surname": p["surname"], "forename": p["forename"], "date_of_birth": p["date_of_birth"],
        "year_group": p["year_group"], "ehcp": p["ehcp"], "looked_after": p["looked_after"],
        "home_school_urn": p["home_school_urn"].where(~interim, None), "home_school_name": p["home_school_name"].where(~interim, None),
        "provider_id": provider, "route": route, "commissioner": funders[:, 0], "place_funder": funders[:, 1], "topup_funder": funders[:, 2],
        "registration": registration, "start_date": pd.to_datetime(start), "planned_end_date": pd.to_datetime(planned),
        "end_date": pd.to_datetime(end), "exclusion_start_date": pd.to_datetime(exclusion), "hours_per_week": h, "days": d,
        "cost_basis": basis, "rate": rate, "objectives": [OBJECTIVES[r] for r in route], "review_date": pd.to_datetime(review),
        "reintegration_plan": True, "send_officer_consulted": np.where(p["ehcp"], True, None),
        "virtual_school_consulted": np.where(p["looked_after"], True, None), "destination": np.where(ended, dest, None),
        "_pupil": who, "_absence": p["absence"].to_numpy(), "_type": ptype, "_registered": registered, "_att": True,
    })


def second_placements(rng, world: World, pupils: pd.DataFrame, primary: pd.DataFrame, n: int, as_of: pd.Timestamp, routes: dict) -> pd.DataFrame:
    """Pupils' later placements: PEX pupils moving from dual to single registration, part-time pupils with a
    second part-time placement on other days, and pupils placed again after a placement ended."""
    days = world.school_days
    parts = []
    # 1. Dual initially then single (PEX): the dual placement ends after six weeks and a single one follows.
    pex = primary.index[(primary["route"] == "PEX") & (primary["registration"] == "Dual") & primary["end_date"].isna()].to_numpy()
    pex = pex[: n // 3]
    if len(pex) and "Single" in routes["PEX"]["registration"]:
        s_idx = np.searchsorted(days, primary.loc[pex, "start_date"].to_numpy().astype("datetime64[D]"))
        switch = np.minimum(s_idx + 30, np.searchsorted(days, np.datetime64(as_of, "D")) - 1)
        keep = switch > s_idx + 5
        pex, switch = pex[keep], switch[keep]
        first_end = days[switch - 1]
        planned = primary.loc[pex, "planned_end_date"].to_numpy()  # the single placement keeps the original plan
        primary.loc[pex, "end_date"] = pd.to_datetime(first_end)
        primary.loc[pex, "planned_end_date"] = pd.to_datetime(first_end)
        primary.loc[pex, "destination"] = "Single registration at the same provider"
        primary.loc[pex, "review_date"] = pd.to_datetime(first_end)
        follow = primary.loc[pex].copy()
        follow["registration"] = "Single"
        follow["start_date"] = pd.to_datetime(days[switch])
        follow["end_date"] = pd.NaT
        follow["planned_end_date"] = planned
        follow["destination"] = None
        follow["review_date"] = as_of + pd.to_timedelta(rng.integers(7, 43, len(follow)), unit="D")
        follow["hours_per_week"] = 25.0
        follow["days"] = FULL_WEEK
        parts.append(follow)
    left = n - sum(len(x) for x in parts)
    # 2. A part-time pupil also spends one other day a week at a registered provider (ASSESS, dual).
    pt = primary.index[(primary["days"] != FULL_WEEK) & (primary["hours_per_week"] <= 12) & (primary["route"] != "ASSESS")
                       & (primary["year_group"] >= 5)].to_numpy()
    pt = pt[: max(0, left // 2)]
    if len(pt) and "ASSESS" in routes and "Dual" in routes["ASSESS"]["registration"]:
        used = primary.loc[pt, "days"].astype(str).to_numpy()
        other = np.array([next(d for d in ["Fri", "Wed", "Mon", "Thu", "Tue"] if d not in u) for u in used], dtype=object)
        s_idx = np.searchsorted(days, primary.loc[pt, "start_date"].to_numpy().astype("datetime64[D]")) + 10
        conc = draw(rng, world, pupils, primary.loc[pt, "_pupil"].to_numpy(), np.full(len(pt), "ASSESS"), s_idx, as_of, routes,
                    hours=np.full(len(pt), 5.0), days_text=other, types=np.full(len(pt), "PRU"))
        # It must not outlast the part-time placement it complements.
        outer = primary.loc[pt, "end_date"].fillna(primary.loc[pt, "planned_end_date"]).to_numpy()
        conc["planned_end_date"] = np.minimum(conc["planned_end_date"].to_numpy(), outer)
        conc["end_date"] = conc["end_date"].where(conc["end_date"].isna(), np.minimum(conc["end_date"].to_numpy(), outer))
        ended = conc["planned_end_date"] <= as_of
        conc["end_date"] = conc["planned_end_date"].where(ended)
        conc["destination"] = np.where(ended, "Returned to home school full time", None)
        conc["review_date"] = conc["review_date"].where(~ended, np.minimum(conc["start_date"] + pd.Timedelta(days=42), conc["planned_end_date"]))
        conc = conc[conc["planned_end_date"] > conc["start_date"]]
        parts.append(conc)
    left = n - sum(len(x) for x in parts)
    # 3. Placed again: a new placement a few weeks after one ended.
    busy = set(pex) | set(pt)  # pupils who already have a second placement
    done = primary.index[primary["end_date"].notna() & (primary["end_date"] < as_of - pd.Timedelta(days=60))
                         & (primary["year_group"] < 11) & ~primary.index.isin(list(busy))].to_numpy()
    if left > 0 and len(done):
        who = done[rng.permutation(len(done))[:left]]
        again = [r for r in ("ASSESS", "HEALTH", "S19OTHER", "LONGTERM") if r in routes]
        route = rng.choice(again, len(who))
        s_idx = np.searchsorted(days, primary.loc[who, "end_date"].to_numpy().astype("datetime64[D]")) + rng.integers(5, 15, len(who))
        parts.append(draw(rng, world, pupils, primary.loc[who, "_pupil"].to_numpy(), route, s_idx, as_of, routes))
    return pd.concat(parts, ignore_index=True) if parts else primary.iloc[:0]
