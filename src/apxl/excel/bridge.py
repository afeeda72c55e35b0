"""The calls behind the APXL functions that take more than one core step: policy routes, attendance, cost, row checks."""
from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

import pandas as pd

from apxl.excel.convert import CellError, to_text
from apxl.excel.results import Noted

DEFAULT_PROFILE = "national"


@lru_cache(maxsize=16)
def policy_named(profile: str | None):
    """The Policy of a profile (national when none is given and it exists; else no LA matrix)."""
    from apxl.core.parse import register_from_records
    from apxl.io.profiles import available_profiles, policy_for

    name = profile or (DEFAULT_PROFILE if DEFAULT_PROFILE in available_profiles() else None)
    policy, _ = policy_for(register_from_records(placements=[]), name)
    return policy


def route_rule(route: str | None, profile: str | None):
    """The route matrix entry for ``route`` under ``profile``."""
    from apxl.core.vocab import ROUTES, spelling_map, norm

    if not route:
        raise CellError(f"route is blank: give one of {', '.join(ROUTES)}")
    code = spelling_map("route", ROUTES).get(norm(route)) or spelling_map("route", ROUTES).get(norm(route.split()[0]))
    if code is None:
        raise CellError(f"'{route}' is not a route: use one of {', '.join(ROUTES)}")
    policy = policy_named(profile.strip().lower() if profile else None)
    rule = policy.route(code)
    if rule is None:
        raise CellError(f"the {policy.title or policy.name} profile has no {code} route")
    return rule, policy


def _either(parties) -> str:
    order = ["LA", "School"]
    return "/".join(p for p in order if p in parties) or "-"


def route_cells(rule) -> list[str]:
    """Commissioner, place funder, top-up funder, registrations: the LA's own wording where it has one."""
    wording = dict(rule.wording or {})
    regs = ", ".join(r for r in ("Dual", "Single", "Off-site") if r in rule.registrations) or "-"
    return [
        wording.get("commissioner") or _either(rule.commissioners),
        wording.get("place_funder") or _either(rule.place_funders),
        wording.get("topup_funder") or _either(rule.topup_funders),
        regs,
    ]


def attendance_rate(codes: list[Any], dates: list[Any] | None) -> Noted:
    """Sessions attended / possible sessions (apxl.core.attendance.code_measures, DfE definitions)."""
    from apxl.core.attendance import code_measures
    from apxl.core.attendance_codes import REFORM_DATE
    from apxl.core.parse import parse_date_value
    from apxl.io.attendance import load_code_set

    if dates is not None and len(dates) != len(codes):
        raise CellError("dates must be the same size as codes")
    when = dates if dates is not None else [REFORM_DATE] * len(codes)
    pairs = [(to_text(c).upper(), w) for c, w in zip(codes, when) if to_text(c)]
    if not pairs:
        raise CellError("no codes in the range")
    parsed = [parse_date_value(w) if w is not None else None for _, w in pairs]
    if any(not isinstance(p, pd.Timestamp) for p in parsed):
        raise CellError("a code has a blank or unreadable date beside it")
    marks = [c for c, _ in pairs]
    code_set = load_code_set()
    measures = code_measures(marks, parsed, code_set)
    if measures["invalid"]:
        looked = code_set.lookup(pd.Series(marks, dtype=object), pd.Series(parsed))
        bad = sorted({c for c, ok in zip(marks, looked["valid"]) if not ok})
        raise CellError(f"not attendance codes on their dates: {', '.join(bad[:5])}")
    if not measures["possible"]:
        raise CellError("none of these codes is a possible session")
    return Noted(float(measures["attendance_rate"]), "", "0.0%")


def cost(start, end, basis: str | None, rate: float, hours: float | None, period_start, period_end, calendar) -> float:
    """A placement's cost in pounds, whole or inside a period, by apxl.core.costing."""
    from apxl.core.costing import costs_by_period, placement_costs
    from apxl.core.parse import register_from_records

    if period_start is None and period_end is not None or period_end is None and period_start is not None:
        raise CellError("give both period start and period end, or neither")
    if end < start:
        raise CellError("end is before start")
    record = {"Placement ID": "COST", "Start date": start, "End date": end, "Cost basis": basis, "Rate": rate, "Hours per week": hours}
    register = register_from_records(placements=[record])
    placements = register.placements
    if pd.isna(placements["cost_basis"].iloc[0]):
        raise CellError(f"basis '{basis}' should be Place, Week, Day or Hour")
    if placements["cost_basis"].iloc[0] == "Hour" and (hours is None or hours <= 0):
        raise CellError("an Hour basis needs hours per week")
    policy = policy_named(None)
    costs = placement_costs(placements, register.providers, calendar, policy, end)
    if period_start is None:
        return int(costs["total_pence"].iloc[0]) / 100
    periods = pd.DataFrame({"label": ["period"], "start": [period_start], "end": [period_end]})
    shares = costs_by_period(costs, placements, calendar, periods)
    return int(shares["pence"].sum()) / 100


def check_rows(headers: list[list[Any]], rows: list[list[Any]], profile: str | None, as_of: date | pd.Timestamp) -> list[list[list[str]]]:
    """Rule ids and messages for each placement row, each row checked on its own."""
    from apxl.excel.rowcheck import check_placement_rows

    if not headers or not headers[0]:
        raise CellError("headers is blank: select the Placements header row")
    names = [to_text(h) for h in headers[0]]
    return check_placement_rows(names, rows, policy_named(profile.strip().lower() if profile else None), pd.Timestamp(as_of).date())
