"""Planted problems: placements, pupils and providers built to break one rule each, and the manifest of what went where.

Each scenario is a fresh pupil (or provider record) made like the background and then given one
real-looking defect, so findings on it come from that defect. Rules whose defect needs the LA's matrix
(FND-001..003, REG-001) pick a route where the matrix leaves something out; under a permissive
profile there is nothing to break and the scenario is skipped (and left out of the manifest).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from apxl.demo.placements import DESTINATIONS, draw
from apxl.demo.pupils import make_pupils
from apxl.demo.world import World

PARTIES = ("LA", "School")


@dataclass
class Planted:
    """One planted problem: the rule it should trigger, where (a placement's _rid, a provider ID or attendance rows), why."""

    rule_id: str
    sheet: str
    note: str
    rid: int | None = None  # placement row id (resolved to Placement ID and Excel row at the end)
    provider_id: str | None = None
    sessions: list[tuple] = field(default_factory=list)  # attendance (upn, date, session, source)
    upn: str | None = None
    column: str | None = None


@dataclass
class Scenario:
    """A scenario placement to build: everything ``Planter.add`` was told, drawn later in one batch."""

    rid: int
    route: str
    ptype: str
    year: int
    start: int  # school-day index
    length: int
    open_: bool
    hours: float
    days: str
    provider: str | None
    pupil_of: int | None
    excluded_from: int | None
    fields: dict[str, Any]


class Planter:
    """Adds scenario placements to the background and records what each is planted for.

    ``add`` only notes a scenario; ``materialise`` draws them all at once (like the background, in
    one vectorised call) and then applies each scenario's field overrides, which may be functions
    of the drawn row (e.g. ``upn=lambda row: ...`` to mistype the UPN it was given).
    """

    def __init__(self, rng: np.random.Generator, world: World, placements: pd.DataFrame, as_of: pd.Timestamp, routes: dict):
        self.rng, self.world, self.as_of, self.routes = rng, world, as_of, routes
        self.p = placements
        self.days = world.school_days
        self.asof_idx = int(np.searchsorted(self.days, np.datetime64(as_of, "D"), side="right") - 1)
        self.manifest: list[Planted] = []
        self.scenarios: list[Scenario] = []
        self.next_rid = int(placements["_rid"].max()) + 1 if len(placements) else 0
        self.used_providers: set[str] = set()

    # ---- building blocks -----------------------------------------------------------------------
    def day(self, frac: float) -> int:
        """The school day a fraction of the way from the start of the year to as_of."""
        return int(np.clip(round(frac * self.asof_idx), 6, max(6, self.asof_idx - 1)))

    def provider(self, ptype: str, stage: str | None = None, exclude_stage: str | None = None) -> pd.Series:
        prov = self.world.providers
        ok = prov[(prov["type"] == ptype) & ~prov["provider_id"].isin(list(self.used_providers))]
        if stage:
            ok = ok[ok["key_stages"].str.contains(stage)]
        if exclude_stage:
            ok = ok[~ok["key_stages"].str.contains(exclude_stage)]
        return ok.iloc[0] if len(ok) else prov[prov["type"] == ptype].iloc[0]

    def add(self, route: str, ptype: str, *, year: int = 9, start: float = 0.4, length: int = 40, open_: bool = False,
            hours: float = 25.0, days: str = "Mon-Fri", provider: str | None = None, pupil_of: int | None = None,
            excluded_from: int | None = None, **fields) -> int:
        """Note a scenario placement; returns its row id. ``start`` is a fraction of the school days before as_of."""
        rid = self.next_rid
        self.next_rid += 1
        self.scenarios.append(Scenario(rid, route, ptype, year, self.day(start), length, open_, hours, days, provider, pupil_of,
                                       excluded_from, fields))
        return rid

    def materialise(self) -> None:
        """Draw every noted scenario (one batch), set its dates, then apply its overrides."""
        if not self.scenarios:
            return
        sc = self.scenarios
        fresh = [x for x in sc if x.pupil_of is None]
        pupils = self._new_pupils(np.array([x.year for x in fresh]))
        row_of = {x.rid: i for i, x in enumerate(fresh)}
        who = np.array([row_of[x.pupil_of if x.pupil_of is not None else x.rid] for x in sc])
        drawn = draw(self.rng, self.world, pupils, who, np.array([x.route if x.route in self.routes else "S19OTHER" for x in sc]),
                     np.array([x.start for x in sc]), self.as_of, self.routes, hours=np.array([x.hours for x in sc]),
                     days_text=np.array([x.days for x in sc], dtype=object), types=np.array([x.ptype for x in sc], dtype=object))
        facts = self.world.providers.set_index("provider_id")
        records = drawn.to_dict("records")
        for rec, x in zip(records, sc):
            rec.update(route=x.route, _rid=x.rid, _pupil=-1, _att=True)
            if x.provider is not None:
                rec.update(provider_id=x.provider, _type=facts.at[x.provider, "type"], _registered=facts.at[x.provider, "registered"] == "Y")
            self._dates(rec, x)
            for name, value in x.fields.items():
                rec[name] = value(rec) if callable(value) else value
        self.p = pd.concat([self.p, pd.DataFrame(records)[self.p.columns]], ignore_index=True)
        self.scenarios = []

    def _dates(self, rec: dict, x: Scenario) -> None:
        start = pd.Timestamp(self.days[x.start])
        rec["start_date"] = start
        if x.open_:
            rec.update(end_date=pd.NaT, destination=None, planned_end_date=self.as_of + pd.Timedelta(weeks=8),
                       review_date=self.as_of + pd.Timedelta(days=14))
        else:
            end = pd.Timestamp(self.days[min(x.start + x.length - 1, self.asof_idx - 1)])
            rec.update(end_date=end, planned_end_date=end, review_date=min(start + pd.Timedelta(days=42), end),
                       destination=DESTINATIONS.get(x.route, ["Returned to home school"])[0])
        if not bool(rec["_registered"]):  # unregistered: short-term, at most 12 weeks (REG-006)
            rec["planned_end_date"] = min(rec["planned_end_date"], start + pd.Timedelta(days=83))
            if not x.open_:
                rec["end_date"] = rec["planned_end_date"]
        rec["exclusion_start_date"] = pd.Timestamp(self.days[x.start - x.excluded_from + 1]) if x.excluded_from else pd.NaT

    def _new_pupils(self, years: np.ndarray) -> pd.DataFrame:
        """Pupils for the scenarios, none sharing a UPN with the background."""
        taken = set(self.p["upn"].astype(str))
        pupils = make_pupils(self.rng, self.world, years)
        clash = pupils["upn"].isin(list(taken)).to_numpy()
        while clash.any():
            again = make_pupils(self.rng, self.world, years[clash])
            pupils.loc[clash, "upn"] = again["upn"].to_numpy()
            clash = pupils["upn"].isin(list(taken)).to_numpy() | pupils["upn"].duplicated().to_numpy()
        return pupils

    def get(self, rid: int, name: str):
        """A materialised scenario's value."""
        return self.p.loc[self.p["_rid"] == rid, name].iloc[0]

    def note(self, rule_id: str, note: str, *, rid: int | None = None, provider_id: str | None = None, sheet: str = "Placements",
             column: str | None = None) -> None:
        self.manifest.append(Planted(rule_id, sheet, note, rid=rid, provider_id=provider_id, column=column))

    def strict(self, routes: list[str], column: str) -> tuple[str, str] | None:
        """The first route whose matrix leaves out a value of ``column``, and that value."""
        for r in routes:
            allowed = set(self.routes.get(r, {}).get(column, []))
            vocab = ("Dual", "Single") if column == "registration" else PARTIES
            missing = [v for v in vocab if v not in allowed]
            if r in self.routes and missing:
                return r, missing[0]
        return None


def plant_placements(pl: Planter) -> None:
    """Pupil, placement, funding, registration, Section 19 and consultation problems (PUP, PLC, FND, REG, S19, CON)."""
    r = pl.add("ASSESS", "PRU", start=0.15, length=45, upn=lambda row: _wrong_letter(row["upn"]))
    pl.note("PUP-001", "UPN typed with the wrong check letter", rid=r, column="UPN")
    r = pl.add("HEALTH", "Online/tuition", start=0.25, length=30, hours=6.0, days="Tue,Thu", upn=lambda row: row["upn"][:6] + row["upn"][7:])
    pl.note("PUP-001", "UPN with a digit missing (12 characters)", rid=r, column="UPN")
    if "INTERIM" in pl.routes:
        r = pl.add("INTERIM", "PRU", start=0.8, open_=True, home_school_urn=None, home_school_name=None, upn=lambda row: _temporary(row["upn"]))
        pl.note("PUP-002", "New arrival with a temporary UPN (ends in a letter)", rid=r, column="UPN")
    r = pl.add("S19OTHER", "FE college", year=12, start=0.1, length=60, hours=12.0, days="Mon,Tue,Wed", registration="Off-site")
    pl.note("PUP-003", "Year 12 student (compulsory school age ended June 2024) placed in September", rid=r, column="Date of birth")
    r = pl.add("ASSESS", "PRU", year=9, start=0.3, length=40, year_group=7)
    pl.note("PUP-004", "Year 9 pupil recorded as Year 7", rid=r, column="Year group")
    first = pl.add("ASSESS", "PRU", year=8, start=0.1, length=30)
    second = pl.add("HEALTH", "Hospital school", pupil_of=first, start=0.55, length=30, hours=15.0, days="Mon,Tue,Wed",
                    date_of_birth=lambda row: _mistyped_day(row["date_of_birth"]))
    pl.note("PUP-005", "Second placement of a pupil with the date of birth mistyped", rid=second, column="Date of birth")

    r = pl.add("SUSPENSION", "PRU", start=0.35, length=30, _att=False, end_date=lambda row: row["end_date"] - pd.DateOffset(years=1))
    pl.note("PLC-001", "End date typed in the wrong year (before the start)", rid=r, column="End date")
    r = pl.add("VOCATIONAL", "Unregistered", year=10, start=0.45, length=40, hours=6.0, days="Wed",
               provider_id=f"P{len(pl.world.providers) + 17:03d}")
    pl.note("PLC-002", "Provider ID not in the directory", rid=r, column="Provider ID")
    r = pl.add("S19OTHER", "Independent school", start=0.7, open_=True, registration="Single", planned_end_date=pd.NaT)
    pl.note("PLC-003", "Open placement with no planned end date", rid=r, column="Planned end date")
    r = pl.add("HEALTH", "Hospital school", start=0.75, open_=True, review_date=pl.as_of - pd.Timedelta(days=15))
    pl.note("PLC-004", "Review date passed while the placement is open", rid=r, column="Review date")
    r = pl.add("ASSESS", "PRU", start=0.2, length=35, objectives=None)
    pl.note("PLC-005", "No objectives recorded", rid=r, column="Objectives")
    r = pl.add("SUSPENSION", "PRU", start=0.85, open_=True, reintegration_plan=False)
    pl.note("PLC-005", "Open placement with no reintegration plan", rid=r, column="Reintegration plan (Y/N)")
    r = pl.add("VOCATIONAL", "FE college", year=11, start=0.2, length=50, hours=12.0, days="Mon,Tue", destination=None)
    pl.note("PLC-006", "Ended placement with no destination", rid=r, column="Destination")
    a = pl.add("ASSESS", "PRU", year=8, start=0.8, open_=True)
    b = pl.add("HEALTH", "Online/tuition", pupil_of=a, start=0.82, open_=True, hours=10.0, days="Mon,Wed")
    pl.note("PLC-007", "Full-time assessment place plus 10 hours of tuition: 35 hours a week", rid=b, column="Hours per week")
    plant_funding(pl)
    plant_registration(pl)
    plant_section19(pl)
    r = pl.add("HEALTH", "Hospital school", start=0.3, length=40, ehcp=True, send_officer_consulted=False)
    pl.note("CON-001", "EHCP pupil placed without consulting the SEND officer", rid=r, column="SEND officer consulted (Y/N)")
    r = pl.add("ASSESS", "PRU", start=0.5, length=35, looked_after=True, virtual_school_consulted=None)
    pl.note("CON-002", "Looked-after pupil: virtual school consultation not recorded", rid=r, column="Virtual school consulted (Y/N)")


def _wrong_letter(upn: str) -> str:
    return next(c for c in "ABCDEFGHJKLMNPQRTUVWXYZ" if c != upn[0]) + upn[1:]


def _temporary(upn: str) -> str:
    """The UPN's first eleven digits with a letter for the last: a temporary UPN, with its right check letter."""
    from apxl.core.pupils import upn_check_letters

    body = upn[1:12] + "T"
    return str(upn_check_letters(pd.Series(["A" + body])).iloc[0]) + body


def _mistyped_day(dob: pd.Timestamp) -> pd.Timestamp:
    """A date of birth with the day mistyped by ten: same month, so the same year group."""
    return dob.replace(day=dob.day + 10) if dob.day <= 18 else dob.replace(day=dob.day - 10)


def plant_funding(pl: Planter) -> None:
    hit = pl.strict(["VOCATIONAL", "SUSPENSION", "ASSESS", "INTERIM", "PEX"], "commissioner")
    if hit:
        route, value = hit
        kind = {"VOCATIONAL": "FE college", "INTERIM": "PRU", "PEX": "PRU"}.get(route, "PRU")
        r = pl.add(route, kind, year=10, start=0.3, length=40, hours=12.0 if route == "VOCATIONAL" else 25.0,
                   days="Mon,Tue" if route == "VOCATIONAL" else "Mon-Fri", commissioner=value,
                   registration="Off-site" if route == "VOCATIONAL" else "Dual")
        pl.note("FND-001", f"{route} placement commissioned by {value}, which the LA's matrix does not allow", rid=r, column="Commissioner")
    if "LONGTERM" not in pl.routes:
        r = pl.add("LONGTERM", "Independent school", start=0.4, open_=True, registration="Dual", commissioner="LA", place_funder="LA",
                   topup_funder="School")
        pl.note("FND-001", "LONGTERM route, which this LA's matrix does not have", rid=r, column="Route")
    hit = pl.strict(["INTERIM", "HEALTH", "SUSPENSION", "VOCATIONAL", "PEX"], "place_funder")
    if hit:
        route, value = hit
        r = pl.add(route, "PRU" if route != "HEALTH" else "Hospital school", start=0.5, length=30, place_funder=value,
                   **({"home_school_urn": None, "home_school_name": None} if route == "INTERIM" else {}))
        pl.note("FND-002", f"{route} place funded by {value}, which the LA's matrix does not allow", rid=r, column="Place funder")
    hit = pl.strict(["ASSESS", "HEALTH", "SUSPENSION", "VOCATIONAL", "INTERIM"], "topup_funder")
    if hit:
        route, value = hit
        place = [v for v in pl.routes[route]["place_funder"] if v != "LA"] or list(pl.routes[route]["place_funder"])
        r = pl.add(route, "PRU" if route != "HEALTH" else "Hospital school", start=0.45, length=30, topup_funder=value, place_funder=place[0])
        pl.note("FND-003", f"{route} top-up paid by {value}, which the LA's matrix does not allow", rid=r, column="Top-up funder")
    route = next((r for r, a in pl.routes.items() if r != "PEX" and "LA" in a["place_funder"] and "LA" in a["topup_funder"]
                  and "Dual" in a["registration"] and "LA" in a["commissioner"]), None)
    if route:
        r = pl.add(route, "Independent school", start=0.6, open_=True, registration="Dual", commissioner="LA", place_funder="LA", topup_funder="LA")
        pl.note("FND-004", "LA pays both place and top-up for a dual-registered pupil", rid=r, column="Top-up funder")
    if "PEX" in pl.routes and "S19OTHER" in pl.routes and "LA" in pl.routes["S19OTHER"]["topup_funder"]:
        a = pl.add("PEX", "PRU", year=10, start=0.6, open_=True, excluded_from=6, topup_funder="LA")
        b = pl.add("S19OTHER", "Online/tuition", pupil_of=a, start=0.65, open_=True, hours=5.0, days="Mon,Wed", registration="Off-site",
                   commissioner="LA", place_funder="School", topup_funder="LA")
        pl.note("FND-004", "LA funds tuition on the same days as the pupil's LA-funded PEX place", rid=b, column="Start date")
    if "PEX" in pl.routes:
        r = pl.add("PEX", "PRU", year=9, start=0.5, open_=True, excluded_from=6)
        pl.note("FND-005", "Permanent exclusion: AWPU to recover from the excluding school", rid=r, column="Exclusion start date")
    r = pl.add("HEALTH", "Hospital school", start=0.4, length=30, rate=np.nan)
    pl.note("FND-006", "Placement with no rate", rid=r, column="Rate (£)")


def plant_registration(pl: Planter) -> None:
    for route in ("SUSPENSION", "ASSESS", "HEALTH", "VOCATIONAL", "PEX", "INTERIM"):
        allowed = pl.routes.get(route, {}).get("registration", [])
        missing = [v for v in ("Single", "Dual") if v not in allowed]
        if route in pl.routes and missing:
            r = pl.add(route, "PRU" if route != "HEALTH" else "Hospital school", start=0.55, length=25, registration=missing[0])
            pl.note("REG-001", f"{route} placement registered {missing[0]}, which the LA's matrix does not allow", rid=r,
                    column="Registration (Dual/Single/Off-site)")
            break
    single_route = next((r for r in ("S19OTHER", "INTERIM", "LONGTERM") if "Single" in pl.routes.get(r, {}).get("registration", [])), None)
    if single_route:
        r = pl.add(single_route, "Online/tuition", start=0.5, length=30, hours=10.0, days="Mon,Tue,Wed", registration="Single")
        pl.note("REG-002", "Single registration with an online tuition provider", rid=r, column="Registration (Dual/Single/Off-site)")
    r = pl.add("ASSESS", "Unregistered", start=0.3, length=30, hours=6.0, days="Wed", registration="Dual")
    pl.note("REG-003", "Dual registration with an unregistered provider", rid=r, column="Registration (Dual/Single/Off-site)")
    r = pl.add("ASSESS", "Unregistered", year=10, start=0.6, length=35, hours=20.0, days="Mon,Tue,Wed,Thu")
    pl.note("REG-004", "20 hours a week at an unregistered provider", rid=r, column="Hours per week")
    pl.note("REG-007", "20 hours a week at an unregistered provider is over half a full-time week", rid=r, column="Hours per week")
    prov = pl.provider("Online/tuition")
    pl.used_providers.add(prov["provider_id"])
    r = pl.add("S19OTHER", "Online/tuition", year=9, start=0.7, open_=True, hours=22.5, provider=prov["provider_id"], registration="Off-site",
               looked_after=True, virtual_school_consulted=True)
    pl.note("REG-005", "Looked-after pupil in full-time education with an unregistered tuition provider", provider_id=prov["provider_id"],
            sheet="Providers", column="Registered (Y/N)")
    r = pl.add("VOCATIONAL", "Unregistered", year=10, start=0.2, length=120, hours=6.0, days="Thu",
               planned_end_date=lambda row: row["start_date"] + pd.Timedelta(weeks=26))
    pl.note("REG-006", "Unregistered course planned for two terms (26 weeks)", rid=r, column="Planned end date")
    r = pl.add("ASSESS", "Unregistered", year=10, start=0.4, length=35, hours=15.0, days="Mon,Tue,Wed")
    pl.note("REG-007", "15 hours a week at an unregistered provider: more than half of a Key Stage 4 week", rid=r, column="Hours per week")


def plant_section19(pl: Planter) -> None:
    if "PEX" in pl.routes:
        r = pl.add("PEX", "PRU", year=10, start=0.45, open_=True, excluded_from=10)
        pl.note("S19-001", "PEX provision started on the 10th school day of the exclusion", rid=r, column="Start date")
        pl.note("ATT-006", "Home school coded E for days 6 to 9 of the exclusion", rid=r, sheet="Attendance", column="Code")
    if "SUSPENSION" in pl.routes:
        r = pl.add("SUSPENSION", "PRU", year=9, start=0.5, length=10, excluded_from=9)
        pl.note("S19-002", "Provision for a long suspension started on the 9th school day", rid=r, column="Start date")
        pl.note("ATT-006", "Home school coded E for days 6 to 8 of the suspension", rid=r, sheet="Attendance", column="Code")
    if "INTERIM" in pl.routes:
        r = pl.add("INTERIM", "PRU", year=8, start=0.75, open_=True, hours=15.0, days="Mon,Tue,Wed", home_school_urn=None, home_school_name=None)
        pl.note("S19-003", "Pupil with no school place on a 15-hour part-time timetable", rid=r, column="Hours per week")


def plant_providers(pl: Planter) -> None:
    """Provider directory problems (PRV-001..004, PRV-006); PRV-005 is planted when places are set."""
    prov = pl.world.providers
    where = {pid: i for i, pid in enumerate(prov["provider_id"])}

    def edit(pid: str, **fields) -> None:
        for name, value in fields.items():
            prov.at[where[pid], name] = value
        pl.used_providers.add(pid)

    p = pl.provider("Independent school")["provider_id"]
    edit(p, qa_status="Pending")
    r = pl.add("S19OTHER", "Independent school", start=0.85, open_=True, provider=p, registration="Dual")
    pl.note("PRV-001", "Pupil placed while the provider's QA is still pending", rid=r, column="Provider ID")
    p = pl.provider("Unregistered")["provider_id"]
    edit(p, qa_status="Not approved")
    r = pl.add("ASSESS", "Unregistered", start=0.85, open_=True, provider=p, hours=6.0, days="Fri", registration="Off-site")
    pl.note("PRV-001", "Pupil placed with a provider that failed QA", rid=r, column="Provider ID")
    p = pl.provider("AP free school")["provider_id"]
    edit(p, last_qa_visit=pl.as_of - pd.DateOffset(months=14), safeguarding_confirmation_date=pl.as_of - pd.DateOffset(months=14))
    pl.note("PRV-002", "Last QA visit 14 months ago", provider_id=p, sheet="Providers", column="Last QA visit")
    p = pl.provider("Unregistered")["provider_id"]
    edit(p, dbs_confirmed="N")
    pl.note("PRV-003", "Provider has not confirmed DBS checks", provider_id=p, sheet="Providers", column="DBS confirmed (Y/N)")
    p = pl.provider("Online/tuition")["provider_id"]
    edit(p, safeguarding_confirmation_date=pd.NaT)
    pl.note("PRV-003", "No written safeguarding confirmation", provider_id=p, sheet="Providers", column="Safeguarding confirmation date")
    p = pl.provider("AP academy")["provider_id"]
    edit(p, ofsted_judgement="Requires improvement", ofsted_date=pl.as_of - pd.DateOffset(months=4))
    pl.add("ASSESS", "AP academy", start=0.9, open_=True, provider=p)
    pl.note("PRV-004", "Provider judged Requires improvement still has pupils", provider_id=p, sheet="Providers", column="Ofsted judgement")
    p = pl.provider("AP academy", exclude_stage="KS2")["provider_id"]
    r = pl.add("ASSESS", "AP academy", year=5, start=0.3, length=30, provider=p)
    pl.note("PRV-006", "Year 5 pupil placed with a KS3-KS4 provider", rid=r, column="Provider ID")


def set_places(pl: Planter) -> None:
    """Places per provider: above the most pupils it had on roll at a census day, except one planted over capacity (PRV-005)."""
    from apxl.core.calendar import census_days

    p = pl.p.dropna(subset=["start_date", "provider_id"])
    census = pd.DatetimeIndex(census_days(p["start_date"].min(), pl.as_of))
    counts = pd.Series(0, index=pl.world.providers["provider_id"].to_numpy())
    for day in census:
        on = p[(p["start_date"] <= day) & (p["end_date"].isna() | (p["end_date"] >= day))]
        counts = np.maximum(counts, on.groupby("provider_id")["upn"].nunique().reindex(counts.index).fillna(0))
    prov = pl.world.providers
    spare = pl.rng.integers(2, 9, len(prov))
    prov["places"] = (counts.to_numpy() + spare).astype(float)
    free = counts[~counts.index.isin(list(pl.used_providers))]
    if len(free) and free.max() >= 2:
        pid = free.idxmax()
        prov.loc[prov["provider_id"] == pid, "places"] = float(free.max() - 1)
        pl.note("PRV-005", f"{int(free.max())} pupils on roll at a census day for {int(free.max() - 1)} places", provider_id=pid,
                sheet="Providers", column="Places")
