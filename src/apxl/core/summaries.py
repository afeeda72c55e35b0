"""Termly provider and funding summaries as tables (seed 003_57d480e12197286d.txt §14.4; seed 002_f01ccf5f4a336bf1.txt §9-11).

Built from the register, the calendar and the costing; apxl.io writes them into the workbook.
Figures reconcile by construction: money is apportioned in whole pence (apxl.core.costing), so
providers sum to totals, terms to the year and financial years to the same money.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from apxl.core.costing import costs_by_period, placement_costs
from apxl.core.policy import Policy
from apxl.core.register import Register
from apxl.core.vocab import PARTIES, ROUTES

NO_PROVIDER = "(no Provider ID)"
NOT_RECORDED = "(not recorded)"
SUPPRESSED = "<5"  # shown in place of a small count in summaries for publication
PUBLISH_THRESHOLD = 5


@dataclass(frozen=True)
class Chart:
    """A native Excel chart over a summary table: categories from one column, series from others."""

    kind: str  # "bar" (horizontal), "column" or "pie"
    title: str
    category: str
    values: tuple[str, ...]


@dataclass
class SummaryTable:
    """One Excel table on a summary sheet."""

    name: str  # Excel table name: letters, digits and underscores
    title: str
    frame: pd.DataFrame
    money: tuple[str, ...] = ()
    counts: tuple[str, ...] = ()
    percent: tuple[str, ...] = ()
    totals: bool = True  # a totals row summing money and counts
    chart: Chart | None = None
    note: str | None = None
    total_row: dict[str, Any] | None = None  # worked out before any suppression, written as values

    def compute_totals(self) -> None:
        if not self.totals:
            self.total_row = None
            return
        row: dict[str, Any] = {self.frame.columns[0]: "Total"} if len(self.frame.columns) else {}
        for col in self.counts:
            if col in self.frame:
                row[col] = int(pd.to_numeric(self.frame[col], errors="coerce").fillna(0).sum())
        for col in self.money:
            if col in self.frame:
                row[col] = round(float(pd.to_numeric(self.frame[col], errors="coerce").fillna(0).sum()), 2)
        if "Places" in self.frame:
            row["Places"] = float(pd.to_numeric(self.frame["Places"], errors="coerce").fillna(0).sum())
        self.total_row = row


@dataclass
class Summary:
    """One summary sheet: its name, the period it covers and its tables."""

    sheet: str
    title: str
    period: str
    start: pd.Timestamp
    end: pd.Timestamp
    tables: list[SummaryTable] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def table(self, name: str) -> SummaryTable:
        return next(t for t in self.tables if t.name == name)


# ---- periods -----------------------------------------------------------------------------------
def term_label_parts(label: str) -> tuple[str, str]:
    """'2024-25-spring' -> ('2024-25', 'spring')."""
    year, _, term = label.rpartition("-")
    return year, term


def term_periods(calendar, academic_year: str | None = None) -> pd.DataFrame:
    """The terms (label, start, end) of the Calendar sheet, optionally of one academic year."""
    terms = calendar.terms_table()
    if academic_year:
        terms = terms[terms["academic_year"] == academic_year]
    return terms[["label", "start", "end"]].reset_index(drop=True)


def financial_year_bounds(label: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    start_year = int(label[:4])
    return pd.Timestamp(start_year, 4, 1), pd.Timestamp(start_year + 1, 3, 31)


def census_day_of_term(calendar, start: pd.Timestamp, end: pd.Timestamp) -> pd.Timestamp | None:
    days = calendar.census_days(start, end)
    return days[0] if days else None


# ---- helpers -----------------------------------------------------------------------------------
def _active(p: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Placements overlapping [start, end]; an open placement runs until its end date is entered."""
    finish = p["end_date"]
    return (p["start_date"] <= end) & (finish.isna() | (finish >= start))


def _distinct(p: pd.DataFrame, mask: pd.Series, by: str) -> pd.Series:
    return p.loc[mask].groupby(by)["upn"].nunique()


def _pounds(pence) -> Any:
    return np.round(np.asarray(pence, dtype="float64") / 100, 2)


def cost_horizon(register: Register, calendar) -> pd.Timestamp:
    """Open placements are costed to the end of the last term on the Calendar sheet (else the latest date in the register)."""
    terms = calendar.terms_table()
    if len(terms):
        return pd.Timestamp(terms["end"].max())
    p = register.placements
    dates = pd.concat([p["start_date"], p["end_date"], p["planned_end_date"]]).dropna()
    return pd.Timestamp(dates.max()) if len(dates) else pd.Timestamp("1970-01-01")


def cost_atoms(calendar, first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    """The school days from ``first`` to ``last`` cut into runs that lie in one term and one financial year.

    Money is apportioned to these pieces once, so term figures and financial-year figures are sums
    of the same pence and always agree to the penny.
    """
    days = calendar.school_day_dates(first, last)
    if not len(days):
        return pd.DataFrame(columns=["label", "term", "fy", "start", "end"])
    frame = pd.DataFrame({"day": days, "term": calendar.term_of(pd.Series(days)).to_numpy(), "fy": calendar.financial_year(pd.Series(days)).to_numpy()})
    atoms = frame.groupby(["term", "fy"], sort=False)["day"].agg(["min", "max"]).reset_index()
    atoms = atoms.sort_values("min").reset_index(drop=True)
    atoms["label"] = atoms["term"] + "|" + atoms["fy"]
    return atoms.rename(columns={"min": "start", "max": "end"})[["label", "term", "fy", "start", "end"]]


def cost_book(register: Register, calendar, policy: Policy) -> pd.DataFrame:
    """Every placement's cost in pence per term and financial year, with the fields summaries group by."""
    p = register.placements
    columns = ["placement_id", "row", "term", "fy", "pence", "element", "payer", "provider_id", "route", "home_school_urn", "home_school_name", "upn"]
    if p.empty or p["start_date"].isna().all():
        return pd.DataFrame(columns=columns)
    horizon = cost_horizon(register, calendar)
    costs = placement_costs(p, register.providers, calendar, policy, horizon)
    costs = costs[costs["start"].notna() & (costs["end"] >= costs["start"])]
    atoms = cost_atoms(calendar, costs["start"].min(), costs["end"].max()) if len(costs) else pd.DataFrame()
    if costs.empty or atoms.empty:
        return pd.DataFrame(columns=columns)
    long = costs_by_period(costs, p, calendar, atoms[["label", "start", "end"]])
    long = long.merge(atoms[["label", "term", "fy"]], left_on="period", right_on="label").drop(columns=["label", "period"])
    long = long[long["pence"] != 0]
    fields = p[["provider_id", "route", "home_school_urn", "home_school_name", "upn"]]
    return long.join(fields, on="row")[columns].reset_index(drop=True)


# ---- provider summary --------------------------------------------------------------------------
def provider_summary(
    register: Register,
    calendar,
    policy: Policy,
    term: str,
    *,
    attendance: pd.DataFrame | None = None,
    book: pd.DataFrame | None = None,
    publish: bool = False,
) -> Summary:
    """What every provider delivered in a term (seed 003 §14.4; places vs on roll at census, seed 002 §11).

    ``attendance`` (optional) is ``apxl.core.attendance.placement_measures(..., by_term=True)``: the
    attendance rate and persistent absence (DfE: 10% or more of possible sessions) come from it.
    """
    bounds = calendar.term_bounds(term)
    if bounds is None:
        raise ValueError(f"'{term}' is not a term label such as 2024-25-spring.")
    start, end = bounds
    # A placement with no Provider ID (STR-006) still costs money and supports a pupil: show it on a row of its own.
    p = register.placements.assign(provider_id=register.placements["provider_id"].astype(object).fillna(NO_PROVIDER))
    prov = register.providers.drop_duplicates("provider_id").set_index("provider_id") if len(register.providers) else pd.DataFrame()
    active = _active(p, start, end)
    census = census_day_of_term(calendar, start, end)
    on_roll = _active(p, census, census) if census is not None else pd.Series(False, index=p.index)
    starters = p["start_date"].between(start, end)
    leavers = p["end_date"].between(start, end)
    ids = sorted(set(p.loc[active, "provider_id"].dropna()) | set(prov.index[prov["places"].notna()] if len(prov) else []))
    out = pd.DataFrame(index=pd.Index(ids, name="provider_id"))
    out["Provider"] = prov["name"].reindex(ids) if len(prov) else None
    out["Type"] = prov["type"].reindex(ids) if len(prov) else None
    out["Places"] = prov["places"].reindex(ids) if len(prov) else np.nan
    out["On roll at census"] = _distinct(p, on_roll, "provider_id").reindex(ids).fillna(0).astype("int64")
    out["Pupils supported"] = _distinct(p, active, "provider_id").reindex(ids).fillna(0).astype("int64")
    out["Starters"] = p.loc[starters].groupby("provider_id").size().reindex(ids).fillna(0).astype("int64")
    out["Leavers"] = p.loc[leavers].groupby("provider_id").size().reindex(ids).fillna(0).astype("int64")
    out["EHCP pupils"] = _distinct(p, active & p["ehcp"].fillna(False).astype(bool), "provider_id").reindex(ids).fillna(0).astype("int64")
    out["Looked-after pupils"] = _distinct(p, active & p["looked_after"].fillna(False).astype(bool), "provider_id").reindex(ids).fillna(0).astype("int64")
    for party in PARTIES:
        out[f"{party}-commissioned"] = _distinct(p, active & (p["commissioner"] == party), "provider_id").reindex(ids).fillna(0).astype("int64")
    # Hours delivered: hours per week x school weeks of the placement inside the term.
    s = p["start_date"].where(p["start_date"] > start, start)
    e = p["end_date"].fillna(end).where(p["end_date"].fillna(end) < end, end)
    days = pd.Series(calendar.school_days_between(s.where(active), e.where(active)), index=p.index) if len(p) else pd.Series(dtype="int64")
    hours = (p["hours_per_week"].fillna(0) * days / 5).where(active, 0)
    out["Hours delivered"] = hours.groupby(p["provider_id"]).sum().reindex(ids).fillna(0).round(1)
    if attendance is not None and len(attendance):
        att = attendance[attendance["term"] == term] if "term" in attendance else attendance
        grp = att.groupby("provider_id")
        possible = grp["possible"].sum().reindex(ids)
        out["Attendance rate"] = (grp["attended"].sum().reindex(ids) / possible.where(possible > 0)).astype("float64").round(3)
        persistent = att[att["persistent"].fillna(False).astype(bool)]
        out["Persistent absence (pupils)"] = persistent.groupby("provider_id")["upn"].nunique().reindex(ids).fillna(0).astype("int64")
    book = book if book is not None else cost_book(register, calendar, policy)
    costs = book[book["term"] == term].assign(provider_id=lambda b: b["provider_id"].astype(object).fillna(NO_PROVIDER))
    out["Cost (£)"] = _pounds(costs.groupby("provider_id")["pence"].sum().reindex(ids).fillna(0)) if len(costs) else 0.0
    out = out.reset_index().rename(columns={"provider_id": "Provider ID"})
    count_cols = ("On roll at census", "Pupils supported", "Starters", "Leavers", "EHCP pupils", "Looked-after pupils", "LA-commissioned", "School-commissioned")
    if "Persistent absence (pupils)" in out:
        count_cols += ("Persistent absence (pupils)",)
    providers_table = SummaryTable(
        name="apxlProviders", title=f"Providers, {term}", frame=out, money=("Cost (£)",), counts=count_cols,
        percent=("Attendance rate",) if "Attendance rate" in out else (),
        chart=Chart("bar", "Spend by provider (£)", "Provider ID", ("Cost (£)",)),
        note=f"On roll at census: pupils with a placement open on {census:%d/%m/%Y}." if census is not None else "No census day falls in this term.",
    )
    capacity = SummaryTable(
        name="apxlPlacesVsRoll", title="Places and pupils on roll at census", frame=out.loc[out["Places"].notna(), ["Provider ID", "Places", "On roll at census"]].reset_index(drop=True),
        counts=("On roll at census",), totals=True, chart=Chart("column", "Places vs on roll at census", "Provider ID", ("Places", "On roll at census")),
    )
    by_route = p.loc[active].groupby("route")["upn"].nunique().reindex(ROUTES).fillna(0).astype("int64")
    routes = SummaryTable(
        name="apxlPupilsByRoute", title="Pupils by route", frame=pd.DataFrame({"Route": by_route.index, "Pupils": by_route.to_numpy()}),
        counts=("Pupils",), chart=Chart("pie", "Pupils by route", "Route", ("Pupils",)),
        note="A pupil with placements on two routes counts once in each.",
    )
    dest = p.loc[leavers].assign(destination=p.loc[leavers, "destination"].fillna("Not recorded")).groupby("destination").size()
    destinations = SummaryTable(
        name="apxlDestinations", title="Destinations of leavers", frame=pd.DataFrame({"Destination": dest.index, "Leavers": dest.to_numpy()}), counts=("Leavers",),
    )
    summary = Summary(
        sheet=_sheet_name("Provider summary", term), title=f"Provider summary, {term}", period=term, start=start, end=end,
        tables=[providers_table, capacity, routes, destinations],
    )
    return _finish(summary, publish)


def _finish(summary: Summary, publish: bool) -> Summary:
    for table in summary.tables:
        table.compute_totals()
    if publish:
        suppress_summary(summary)
    return summary


def _sheet_name(prefix: str, label: str) -> str:
    year, term = term_label_parts(label) if label.count("-") == 2 else (label, "")
    name = f"{prefix} {year} {term}".strip()
    return name[:31]


# ---- funding summary ---------------------------------------------------------------------------
def funding_summary(
    register: Register,
    calendar,
    policy: Policy,
    period: str,
    *,
    double_funding_rows: set[int] | frozenset[int] = frozenset(),
    awpu_recovery: pd.DataFrame | None = None,
    budget: float | None = None,
    book: pd.DataFrame | None = None,
    publish: bool = False,
) -> Summary:
    """Cost by payer, element, route, provider and home school for a term ('2024-25-spring') or a
    financial year ('FY 2024-25'); possible double funding (FND-004) totalled; budget against actual.

    ``awpu_recovery`` (optional): ``apxl.core.recovery.awpu_recoveries``; exclusions that took effect in
    the period are listed per excluding school (FND-005).
    ``book``: a precomputed ``cost_book`` (pass one when building several summaries).
    """
    book = book if book is not None else cost_book(register, calendar, policy)
    if period.upper().startswith("FY"):
        label = period.split()[-1]
        bounds = financial_year_bounds(label)
        costs = book[book["fy"] == label]
        sheet = _sheet_name("Funding summary FY", label)
    else:
        bounds = calendar.term_bounds(period)
        if bounds is None:
            raise ValueError(f"'{period}' is not a term (2024-25-spring) or a financial year (FY 2024-25).")
        costs = book[book["term"] == period]
        sheet = _sheet_name("Funding summary", period)
    start, end = bounds
    payer = costs["payer"].fillna("Not recorded") if len(costs) else pd.Series(dtype=object)

    def by(column: str, label: str) -> pd.DataFrame:
        if costs.empty:
            return pd.DataFrame(columns=[label, "LA (£)", "School (£)", "Total (£)"])
        # Blank groups (no provider, route or home school recorded) keep their money on a row of their own.
        keyed = costs.assign(payer=payer, **{column: costs[column].astype(object).fillna(NOT_RECORDED)})
        t = keyed.pivot_table(index=column, columns="payer", values="pence", aggfunc="sum", fill_value=0)
        t = t.reindex(columns=sorted(set(t.columns) | set(PARTIES), key=lambda c: (c not in PARTIES, c)), fill_value=0)
        frame = pd.DataFrame({label: t.index})
        for c in t.columns:
            frame[f"{c} (£)"] = _pounds(t[c].to_numpy())
        frame["Total (£)"] = _pounds(t.sum(axis=1).to_numpy())
        return frame

    elements = []
    for party in PARTIES:
        for element, title in (("place", "place funding"), ("top-up", "top-up")):
            pence = costs.loc[(payer == party) & (costs["element"] == element), "pence"].sum() if len(costs) else 0
            elements.append({"Payer": party, "Element": title, "Amount (£)": float(_pounds(pence))})
    unknown = costs.loc[~payer.isin(PARTIES), "pence"].sum() if len(costs) else 0
    if unknown:
        elements.append({"Payer": "Not recorded", "Element": "any", "Amount (£)": float(_pounds(unknown))})
    tables = [
        SummaryTable("apxlCostByPayer", "Cost by payer and element", pd.DataFrame(elements), money=("Amount (£)",)),
        SummaryTable("apxlCostByProvider", "Cost by provider", by("provider_id", "Provider ID"), money=("LA (£)", "School (£)", "Total (£)"),
                     chart=Chart("bar", "Spend by provider (£)", "Provider ID", ("Total (£)",))),
        SummaryTable("apxlCostByRoute", "Cost by route", by("route", "Route"), money=("LA (£)", "School (£)", "Total (£)"),
                     chart=Chart("column", "Spend by route (£)", "Route", ("LA (£)", "School (£)"))),
    ]
    home = by("home_school_urn", "Home school URN")
    if len(home) and len(costs):
        names = costs.drop_duplicates("home_school_urn").set_index("home_school_urn")["home_school_name"]
        home.insert(1, "Home school", home["Home school URN"].map(names))
    tables.append(SummaryTable("apxlCostByHomeSchool", "Cost by home school (school-paid amounts are recharges to schools)", home,
                               money=tuple(c for c in home.columns if c.endswith("(£)"))))
    if awpu_recovery is not None:
        tables.append(_recovery_table(awpu_recovery, start, end))
    flagged = costs[costs["row"].isin(list(double_funding_rows))] if len(costs) else costs
    tables.append(SummaryTable(
        "apxlDoubleFunding", "Possible double funding (FND-004)",
        pd.DataFrame({"Placements": [int(flagged["placement_id"].nunique()) if len(flagged) else 0],
                      "LA cost (£)": [float(_pounds(flagged.loc[flagged["payer"] == "LA", "pence"].sum())) if len(flagged) else 0.0]}),
        money=("LA cost (£)",), counts=("Placements",), totals=False,
        note="Placements where the LA pays both place and top-up for a pupil who keeps a home school, or funds one pupil twice (seed 002 §9).",
    ))
    la_actual = float(_pounds(costs.loc[payer == "LA", "pence"].sum())) if len(costs) else 0.0
    if budget is not None:
        tables.append(SummaryTable(
            "apxlBudget", "AP high needs budget against actual LA spend",
            pd.DataFrame({"Budget (£)": [round(float(budget), 2)], "Actual LA spend (£)": [la_actual], "Variance (£)": [round(float(budget) - la_actual, 2)]}),
            money=("Budget (£)", "Actual LA spend (£)", "Variance (£)"), totals=False,
            note="Variance = budget minus actual; negative means overspent.",
        ))
    for t in tables:
        t.name = t.name + ("FY" if period.upper().startswith("FY") else "")
    summary = Summary(sheet=sheet, title=f"Funding summary, {period}", period=period, start=start, end=end, tables=tables)
    return _finish(summary, publish)


def _recovery_table(recoveries: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> SummaryTable:
    """AWPU to recover from each excluding school for exclusions taking effect in the period (reg 27, FND-005)."""
    due = recoveries[recoveries["excluded_on"].between(start, end)]
    urn = due["home_school_urn"].astype(object).fillna(NOT_RECORDED)
    grouped = due.assign(urn=urn).groupby("urn", sort=True)
    frame = pd.DataFrame({
        "Home school URN": list(grouped.groups),
        "Home school": grouped["home_school_name"].first().to_numpy() if len(due) else [],
        "Exclusions": grouped.size().to_numpy() if len(due) else [],
        "Priced": grouped["amount"].count().to_numpy() if len(due) else [],
        "AWPU recovery (£)": grouped["amount"].sum().round(2).to_numpy() if len(due) else [],
    })
    return SummaryTable(
        "apxlAwpuRecovery", "AWPU recovery due from excluding schools (FND-005)", frame,
        money=("AWPU recovery (£)",), counts=("Exclusions", "Priced"),
        note="A x B/52 for each permanent exclusion taking effect in the period (School and Early Years Finance Regulations, reg 27); "
             "an exclusion without a date or year group is counted but not priced.",
    )


# ---- publication -------------------------------------------------------------------------------
def suppress_counts(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Replace counts of 1-4 with '<5', and one more count in any row where a single suppressed
    cell could be worked out from the others (secondary suppression), for summaries shared outside the LA."""
    out = frame.copy()
    cols = [c for c in columns if c in out.columns]
    if not cols:
        return out
    values = out[cols].apply(pd.to_numeric, errors="coerce")
    small = (values > 0) & (values < PUBLISH_THRESHOLD)
    # Rows: hide one more cell where exactly one is hidden, so it cannot be found by subtraction from a total.
    for idx in small.index[small.sum(axis=1) == 1]:
        candidates = values.loc[idx].where(~small.loc[idx]).dropna()
        candidates = candidates[candidates > 0]
        if len(candidates):
            small.loc[idx, candidates.idxmin()] = True
    # Columns likewise, against the column total.
    for col in cols:
        if small[col].sum() == 1:
            candidates = values[col].where(~small[col]).dropna()
            candidates = candidates[candidates > 0]
            if len(candidates):
                small.loc[candidates.idxmin(), col] = True
    for col in cols:
        out[col] = out[col].astype(object).where(~small[col], SUPPRESSED)
    return out


def suppress_summary(summary: Summary) -> None:
    for table in summary.tables:
        if table.counts:
            table.frame = suppress_counts(table.frame, table.counts)
            if table.total_row:
                for col in table.counts:
                    if 0 < (table.total_row.get(col) or 0) < PUBLISH_THRESHOLD:
                        table.total_row[col] = SUPPRESSED
    summary.notes.append(f"Published version: counts below {PUBLISH_THRESHOLD} are shown as {SUPPRESSED}, with further cells hidden so they cannot be worked out from totals.")


SummaryBuilder = Callable[..., Summary]


# ---- choosing what to build --------------------------------------------------------------------
def terms_in_year(calendar, academic_year: str) -> list[str]:
    return list(term_periods(calendar, academic_year)["label"])


def financial_years_touching(calendar, term_labels: list[str]) -> list[str]:
    """The financial years ('2024-25') that any of the terms' days fall in, in order."""
    years: list[str] = []
    for label in term_labels:
        bounds = calendar.term_bounds(label)
        if bounds is None:
            continue
        for day in bounds:
            fy = calendar.financial_year(day)
            if fy not in years:
                years.append(fy)
    return sorted(years)


def build_summaries(
    register: Register,
    calendar,
    policy: Policy,
    terms: list[str],
    *,
    financial_years: list[str] | None = None,
    double_funding_rows: set[int] | frozenset[int] = frozenset(),
    awpu_recovery: pd.DataFrame | None = None,
    attendance: pd.DataFrame | None = None,
    budget: float | None = None,
    publish: bool = False,
) -> list[Summary]:
    """Provider and funding summaries for each term, then a funding summary per financial year."""
    book = cost_book(register, calendar, policy)
    out: list[Summary] = []
    for term in terms:
        out.append(provider_summary(register, calendar, policy, term, attendance=attendance, book=book, publish=publish))
    for term in terms:
        out.append(funding_summary(register, calendar, policy, term, double_funding_rows=double_funding_rows, awpu_recovery=awpu_recovery, book=book, publish=publish))
    for fy in financial_years if financial_years is not None else financial_years_touching(calendar, terms):
        out.append(funding_summary(register, calendar, policy, f"FY {fy}", double_funding_rows=double_funding_rows, awpu_recovery=awpu_recovery,
                                   budget=budget, book=book, publish=publish))
    return out
