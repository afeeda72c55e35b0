"""Building a Policy from profile data and the workbook's Rules and Settings sheets; problems become POL-001."""
from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Mapping

import pandas as pd

from apxl.core.matrix import MATRIX_COLUMNS, allowed_values, describe, parse_cell
from apxl.core.vocab import PARTIES, REGISTRATIONS, ROUTES

if TYPE_CHECKING:
    from apxl.core.policy import Policy, RouteRule

Problem = dict[str, Any]  # sheet, row, column, key, value, message (the rule output columns)

# Settings-sheet names for thresholds (matched ignoring case, spaces and punctuation; the key itself works too).
THRESHOLD_LABELS: dict[str, str] = {
    "unregistered_fulltime_hours": "Unregistered full-time hours",
    "unregistered_max_weeks": "Unregistered max weeks",
    "unregistered_pupils_limit": "Unregistered pupils limit",
    "qa_validity_months": "QA validity months",
    "school_week_hours": "School week hours",
    "fulltime_hours_ks1": "Full-time hours KS1",
    "fulltime_hours_ks2": "Full-time hours KS2",
    "fulltime_hours_ks3": "Full-time hours KS3",
    "fulltime_hours_ks4": "Full-time hours KS4",
    "place_value": "Place value",
    "review_interval_weeks": "Review interval weeks",
    "illness_days": "Illness days",
    "pex_deadline_day": "PEX deadline day",
    "suspension_deadline_day": "Suspension deadline day",
}
SEVERITIES = ("error", "warning", "info")
KEY_STAGES = ("KS1", "KS2", "KS3", "KS4")
_RULE_ID = re.compile(r"^[A-Z]{3}-\d{3}$")
_YES = {"y", "yes", "true", "1", "on"}
_NO = {"n", "no", "false", "0", "off"}


def _key(text: Any) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).split("(")[0].lower())


def threshold_label(name: str) -> str:
    return THRESHOLD_LABELS.get(name, name.replace("_", " ").capitalize())


def _threshold_names() -> dict[str, str]:
    from apxl.core.policy import DEFAULT_THRESHOLDS

    names = {}
    for key in DEFAULT_THRESHOLDS:
        names[_key(key)] = key
        names[_key(threshold_label(key))] = key
    return names


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return None if pd.isna(value) else float(value)
    try:
        return float(str(value).replace("£", "").replace(",", "").strip())
    except ValueError:
        return None


def _yn(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text in _YES else False if text in _NO else None


def _known_rule_ids() -> set[str]:
    from apxl.core.rules.registry import catalogue

    return {r.id for r in catalogue()}


def _canon(column: str, value: Any) -> str | None:
    vocab = REGISTRATIONS if column == "registration" else PARTIES
    lookup = {_key(v): v for v in vocab}
    return lookup.get(_key(value))


# ---- profiles ---------------------------------------------------------------------------------
def policy_from_profile(data: Any) -> tuple["Policy", list[Problem]]:
    """A Policy from a profile's parsed TOML (see schemas/profiles/); anything malformed is a problem, not a crash.

    Each route gives the LA's wording per cell and the allowed values; where ``allowed`` is missing or
    invalid the wording is parsed, and where neither can be read the cell allows everything (so a broken
    profile never invents errors in the register).
    """
    from apxl.core.policy import DEFAULT_THRESHOLDS, Policy, permissive_routes

    problems: list[Problem] = []
    if not isinstance(data, Mapping):
        return Policy(name="default", title="No LA profile", routes=permissive_routes()), [
            _profile_problem("?", "the profile is not a table of settings; no LA route matrix applies.")
        ]
    name = str(data.get("name") or "profile")

    def problem(message: str) -> None:
        problems.append(_profile_problem(name, message))

    def text(field: str) -> str:
        value = data.get(field, "")
        if not isinstance(value, str):
            problem(f"'{field}' should be text.")
            return ""
        return value

    title, la_name, source = text("title"), text("la_name"), text("source")
    title = title or (f"{la_name} route matrix" if la_name else f"{name} route matrix")
    routes, route_problems = _profile_routes(data.get("routes"), title)
    for message in route_problems:
        problem(message)
    if routes is None:
        routes = {r: replace(rr, source=title) for r, rr in permissive_routes().items()}

    thresholds = dict(DEFAULT_THRESHOLDS)
    raw = data.get("thresholds", {})
    if not isinstance(raw, Mapping):
        problem("[thresholds] should be a table of name = number.")
        raw = {}
    for key, value in raw.items():
        if key not in DEFAULT_THRESHOLDS:
            problem(f"threshold '{key}' is not one apxl knows ({', '.join(sorted(DEFAULT_THRESHOLDS))}); it is ignored.")
        elif _number(value) is None or _number(value) < 0:
            problem(f"threshold '{key}' = {value!r} is not a number of zero or more; the default {DEFAULT_THRESHOLDS[key]:g} applies.")
        else:
            thresholds[key] = _number(value)

    awpu: dict[str, float] = {}
    raw = data.get("awpu", {})
    if not isinstance(raw, Mapping):
        problem("[awpu] should be a table of key stage = annual amount.")
        raw = {}
    for key, value in raw.items():
        stage = str(key).strip().upper().replace(" ", "")
        if stage not in KEY_STAGES or _number(value) is None or _number(value) < 0:
            problem(f"AWPU '{key}' = {value!r} should be KS1..KS4 = an amount in pounds; it is ignored.")
        else:
            awpu[stage] = _number(value)

    lac = data.get("lac_day1", False)
    if not isinstance(lac, bool):
        problem(f"lac_day1 = {lac!r} should be true or false; false applies.")
        lac = False

    severity, sev_problems = _severities(data.get("severity", {}))
    for message in sev_problems:
        problem(message)
    disabled, dis_problems = _rule_list(data.get("disabled", []))
    for message in dis_problems:
        problem(message)

    policy = Policy(
        name=name, title=title, source=source, la_name=la_name or None, routes=routes, thresholds=thresholds,
        lac_day1=lac, awpu=awpu, severity_overrides=severity, disabled_rules=frozenset(disabled),
    )
    return policy, problems


def _profile_problem(name: str, message: str) -> Problem:
    return {"sheet": "Settings", "row": None, "column": "Value", "key": "Profile", "value": name,
            "message": f"Policy profile '{name}': {message}"}


def _profile_routes(raw: Any, title: str) -> tuple[dict[str, "RouteRule"] | None, list[str]]:
    from apxl.core.policy import RouteRule

    if not isinstance(raw, Mapping) or not raw:
        return None, ["it has no [routes] table, so no route matrix can be checked (every route allows everything)."]
    routes: dict[str, RouteRule] = {}
    problems: list[str] = []
    for code, entry in raw.items():
        route = str(code).strip().upper()
        if route not in ROUTES:
            problems.append(f"route '{code}' is not a route code ({', '.join(ROUTES)}); it is ignored.")
            continue
        if not isinstance(entry, Mapping):
            problems.append(f"[routes.{code}] should be a table; the route allows everything.")
            entry = {}
        wording = entry.get("wording", {}) if isinstance(entry.get("wording", {}), Mapping) else {}
        allowed = entry.get("allowed", {}) if isinstance(entry.get("allowed", {}), Mapping) else {}
        sets: dict[str, frozenset[str]] = {}
        for column, (label, _attr) in MATRIX_COLUMNS.items():
            picked = _allowed_from_list(column, allowed.get(column)) if column in allowed else None
            if column in allowed and picked is None:
                problems.append(f"routes.{route}.allowed.{column} = {allowed.get(column)!r} is not a list of "
                                f"{describe(allowed_values(column), column)}.")
            if picked is None:
                picked = parse_cell(column, wording.get(column))
            if picked is None:
                problems.append(f"the {label} for {route} cannot be read ({wording.get(column)!r}); any {label} is accepted.")
                picked = allowed_values(column)
            sets[column] = picked
        routes[route] = RouteRule(
            route=route,
            commissioners=sets["commissioner"],
            place_funders=sets["place_funder"],
            topup_funders=sets["topup_funder"],
            registrations=sets["registration"],
            wording={k: str(v) for k, v in wording.items() if k in MATRIX_COLUMNS},
            source=title,
            description=str(entry.get("description", "")),
        )
    if not routes:
        return None, problems + ["none of its routes can be read, so no route matrix can be checked (every route allows everything)."]
    return routes, problems


def _allowed_from_list(column: str, values: Any) -> frozenset[str] | None:
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, (list, tuple)) or not values:
        return None
    canon = [_canon(column, v) for v in values]
    if any(c is None for c in canon):
        return None
    return frozenset(canon)


def _severities(raw: Any) -> tuple[dict[str, str], list[str]]:
    if not isinstance(raw, Mapping):
        return {}, ["[severity] should be a table of rule id = error/warning/info."]
    known = _known_rule_ids()
    out, problems = {}, []
    for rid, sev in raw.items():
        rid_n, sev_n = str(rid).strip().upper(), str(sev).strip().lower()
        if rid_n not in known:
            problems.append(f"severity override for '{rid}': there is no such rule; it is ignored.")
        elif sev_n not in SEVERITIES:
            problems.append(f"severity override {rid} = '{sev}': use error, warning or info; it is ignored.")
        else:
            out[rid_n] = sev_n
    return out, problems


def _rule_list(raw: Any) -> tuple[list[str], list[str]]:
    items = re.split(r"[,;\s]+", raw) if isinstance(raw, str) else raw
    if not isinstance(items, (list, tuple)):
        return [], ["'disabled' should be a list of rule ids."]
    known = _known_rule_ids()
    out, problems = [], []
    for item in items:
        rid = str(item).strip().upper()
        if not rid:
            continue
        if rid in known:
            out.append(rid)
        else:
            problems.append(f"cannot switch off '{item}': there is no such rule.")
    return out, problems


# ---- the workbook's Rules sheet ----------------------------------------------------------------------
def apply_rules_sheet(
    policy: "Policy", rules_frame: pd.DataFrame | None, *, sheet: str = "Rules", headers: Mapping[str, str] | None = None
) -> tuple["Policy", list[Problem]]:
    """The Rules sheet's rows replace the profile's rows for the routes they list (other routes keep the
    profile's). A cell that cannot be read keeps the profile's value for that cell (or allows everything)
    and becomes a problem."""
    from apxl.core.policy import RouteRule

    if rules_frame is None or rules_frame.empty or "route" not in rules_frame.columns:
        return policy, []
    headers = dict(headers or {})
    source = f"{policy.la_name} route matrix ({sheet} sheet)" if policy.la_name else f"route matrix on the {sheet} sheet"
    routes = dict(policy.routes)
    problems: list[Problem] = []
    for row, rec in rules_frame.iterrows():  # a handful of rows: the matrix itself, not the register
        route = rec.get("route")
        if not isinstance(route, str) or route not in ROUTES:
            continue  # blank or unknown route codes are reported by STR-004/STR-006
        base = routes.get(route)
        sets: dict[str, frozenset[str]] = {}
        wording: dict[str, str] = {}
        for column, (label, attr) in MATRIX_COLUMNS.items():
            cell = rec.get(column)
            blank = cell is None or (not isinstance(cell, str) and pd.isna(cell)) or not str(cell).strip()
            parsed = None if blank else parse_cell(column, str(cell))
            if parsed is None:
                fallback = getattr(base, attr) if base is not None else allowed_values(column)
                if not blank:
                    problems.append({
                        "sheet": sheet, "row": int(row), "column": headers.get(column, column), "key": route, "value": str(cell),
                        "message": (f"The {label} for {route} on the {sheet} sheet, '{cell}', cannot be read: write e.g. "
                                    f"{_example(column)}. Until then {describe(fallback, column)} is accepted."),
                    })
                sets[column] = fallback
                if base is not None and column in base.wording:
                    wording[column] = base.wording[column]
            else:
                sets[column] = parsed
                wording[column] = str(cell).strip()
        routes[route] = RouteRule(
            route=route, commissioners=sets["commissioner"], place_funders=sets["place_funder"],
            topup_funders=sets["topup_funder"], registrations=sets["registration"], wording=wording,
            source=source, description=base.description if base is not None else "",
        )
    return policy.with_changes(routes=routes), problems


def _example(column: str) -> str:
    if column == "registration":
        return "'Dual, school main', 'Single', 'Dual initially then single' or 'Dual or single'"
    return "'LA', 'School' or 'LA/School'"


# ---- the workbook's Settings sheet ---------------------------------------------------------------------
def apply_settings(policy: "Policy", settings: pd.DataFrame | Mapping[str, Any] | None) -> tuple["Policy", list[Problem]]:
    """Threshold overrides, the looked-after day-1 switch, AWPU amounts, severity overrides and switched-off
    rules from the Settings sheet (a frame with name/value indexed by Excel row, or a plain mapping).

    Recognised names: a threshold's label or key (e.g. 'Unregistered full-time hours'), 'LAC day 1',
    'AWPU KS3', 'Severity FND-004' (or 'Severity overrides' = 'FND-004=warning; REG-006=info'),
    'Disabled rules', 'LA name'. Other names are left for other parts of apxl.
    """
    if settings is None:
        return policy, []
    if isinstance(settings, pd.DataFrame):
        if settings.empty or not {"name", "value"} <= set(settings.columns):
            return policy, []
        items = [(int(r), n, v) for r, n, v in zip(settings.index, settings["name"], settings["value"])]
    else:
        items = [(None, n, v) for n, v in settings.items()]
    thresholds = dict(policy.thresholds)
    awpu = dict(policy.awpu)
    severity = dict(policy.severity_overrides)
    disabled = set(policy.disabled_rules)
    changes: dict[str, Any] = {}
    problems: list[Problem] = []
    names = _threshold_names()
    known_rules = _known_rule_ids()

    def problem(row: int | None, name: str, value: Any, message: str) -> None:
        problems.append({"sheet": "Settings", "row": row, "column": "Value", "key": name, "value": None if value is None else str(value), "message": message})

    for row, name, value in items:
        if not isinstance(name, str) or not name.strip():
            continue
        k = _key(name)
        blank = value is None or (not isinstance(value, str) and pd.isna(value)) or not str(value).strip()
        if k in names:
            if blank:
                continue
            number = _number(value)
            if number is None or number < 0:
                problem(row, name, value, f"Setting '{name}' = '{value}' is not a number of zero or more: the profile's {thresholds[names[k]]:g} applies.")
            else:
                thresholds[names[k]] = number
        elif k in {"lacday1", "lookedafterday1", "lacdayone", "lookedafterchildrenday1", "day1forlookedafterchildren"}:
            flag = None if blank else _yn(value)
            if flag is None and not blank:
                problem(row, name, value, f"Setting '{name}' = '{value}': enter Y or N (Y: looked-after children get provision from day 1, as Hillingdon's policy says, seed 003 5.6).")
            elif flag is not None:
                changes["lac_day1"] = flag
        elif k.startswith("awpu") and k[4:].upper() in KEY_STAGES:
            number = None if blank else _number(value)
            if number is None or number < 0:
                if not blank:
                    problem(row, name, value, f"Setting '{name}' = '{value}' is not an amount in pounds: the profile's AWPU applies.")
            else:
                awpu[k[4:].upper()] = number
        elif k.startswith("severity"):
            rid_text = name.strip()[len("severity"):].strip(" :-")
            pairs = [(rid_text, value)] if _RULE_ID.match(rid_text.upper()) else [
                tuple(p.split("=", 1)) if "=" in p else (p, "") for p in re.split(r"[;,\n]+", "" if blank else str(value)) if p.strip()
            ]
            for rid, sev in pairs:
                rid_n, sev_n = str(rid).strip().upper(), str(sev).strip().lower()
                if rid_n not in known_rules or sev_n not in SEVERITIES:
                    problem(row, name, value, f"Setting '{name}': '{rid}={sev}' should name a rule and error, warning or info (e.g. 'FND-004=warning').")
                else:
                    severity[rid_n] = sev_n
        elif k in {"disabledrules", "disablerules", "rulesoff", "switchedoffrules", "skiprules"}:
            for rid in re.split(r"[,;\s]+", "" if blank else str(value)):
                if not rid:
                    continue
                if rid.upper() in known_rules:
                    disabled.add(rid.upper())
                else:
                    problem(row, name, value, f"Setting '{name}': there is no rule '{rid}' to switch off.")
        elif k in {"laname", "localauthority", "la"} and not blank:
            changes["la_name"] = str(value).strip()
    policy = policy.with_changes(thresholds=thresholds, awpu=awpu, severity_overrides=severity, disabled_rules=frozenset(disabled), **changes)
    return policy, problems


# ---- showing a policy ---------------------------------------------------------------------------------
def matrix_rows(policy: "Policy") -> list[dict[str, str]]:
    """The effective route matrix, one dict per route: allowed values and the LA's wording per column."""
    out = []
    for route in [r for r in ROUTES if r in policy.routes] + [r for r in policy.routes if r not in ROUTES]:
        rr = policy.routes[route]
        row = {"route": route, "description": rr.description, "source": rr.source or policy.matrix_name}
        for column, (_label, attr) in MATRIX_COLUMNS.items():
            row[column] = describe(getattr(rr, attr), column)
            row[f"{column}_wording"] = (rr.wording or {}).get(column, "")
        out.append(row)
    return out


def policy_summary(policy: "Policy") -> dict[str, Any]:
    """Everything a policy sets, as plain data (for `apxl rules --profile` and the README)."""
    return {
        "name": policy.name,
        "title": policy.title,
        "la_name": policy.la_name,
        "source": policy.source,
        "routes": matrix_rows(policy),
        "missing_routes": [r for r in ROUTES if r not in policy.routes],
        "thresholds": {threshold_label(k): v for k, v in policy.thresholds.items()},
        "lac_day1": policy.lac_day1,
        "awpu": dict(policy.awpu),
        "severity_overrides": dict(policy.severity_overrides),
        "disabled_rules": sorted(policy.disabled_rules),
    }
