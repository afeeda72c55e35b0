"""The register's sheets as pandera models: canonical headers, accepted aliases, types and allowed values."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from apxl.core import vocab as v
from apxl.core.vocab import norm


def F(
    header: str,
    *aliases: str,
    kind: str = "text",
    vocab: str | None = None,
    allowed: list[str] | None = None,
    required: bool = False,
    required_column: bool = False,
    unique: bool = False,
    ge: float | None = None,
) -> Any:
    """A column of the workbook contract.

    kind: text | code | date | yn | number | year | days | stages | enum.
    required: the value may not be blank (STR-006). required_column: the header must exist (STR-002).
    """
    checks: dict[str, Any] = {}
    if allowed is not None:
        checks["isin"] = allowed
    if ge is not None:
        checks["ge"] = ge
    return pa.Field(
        nullable=not required,
        unique=unique,
        metadata={
            "header": header,
            "aliases": list(aliases),
            "kind": kind,
            "vocab": vocab,
            "allowed": allowed,
            "required_column": required_column or required,
        },
        **checks,
    )


class _Sheet(pa.DataFrameModel):
    class Config:
        strict = False


class Placements(_Sheet):
    """Placements sheet: one row per AP placement (DESIGN.md section 2)."""

    placement_id: Series[str] = F("Placement ID", "Placement", "Placement ref", "Placement reference", "Placement no", required=True, unique=True)
    upn: Series[str] = F("UPN", "Unique pupil number", "Pupil UPN", kind="code", required=True)
    surname: Series[str] = F("Surname", "Last name", "Family name", required_column=True)
    forename: Series[str] = F("Forename", "First name", "Given name", "Forenames", required_column=True)
    date_of_birth: Series[pd.Timestamp] = F("Date of birth", "DOB", "Birth date", kind="date", required_column=True)
    year_group: Series[pd.Int64Dtype] = F("Year group", "NC year", "Year", "National curriculum year", kind="year")
    ehcp: Series[pd.BooleanDtype] = F("EHCP (Y/N)", "EHCP", "EHC plan", "EHCP Y/N", kind="yn")
    looked_after: Series[pd.BooleanDtype] = F("Looked after (Y/N)", "Looked after", "LAC", "CLA", "Child looked after", "Looked after Y/N", kind="yn")
    home_school_urn: Series[str] = F("Home school URN", "School URN", "Home URN", kind="code")
    home_school_name: Series[str] = F("Home school name", "Home school", "School name")
    provider_id: Series[str] = F("Provider ID", "Provider", "Provider ref", "Provider code", kind="code", required=True)
    route: Series[str] = F("Route", "Route code", "Placement route", kind="enum", vocab="route", allowed=v.ROUTES, required=True)
    commissioner: Series[str] = F("Commissioner", "Commissioned by", kind="enum", vocab="party", allowed=v.PARTIES, required=True)
    place_funder: Series[str] = F("Place funder", "Place funding", "Lump sum funder", "Place element funder", kind="enum", vocab="party", allowed=v.PARTIES)
    topup_funder: Series[str] = F("Top-up funder", "Top up funder", "Topup funder", "Top-up", kind="enum", vocab="party", allowed=v.PARTIES)
    registration: Series[str] = F("Registration (Dual/Single/Off-site)", "Registration", "Registration type", "Dual/Single", kind="enum", vocab="registration", allowed=v.REGISTRATIONS, required=True)
    start_date: Series[pd.Timestamp] = F("Start date", "Start", "Placement start", kind="date", required=True)
    planned_end_date: Series[pd.Timestamp] = F("Planned end date", "Planned end", "Expected end date", kind="date")
    end_date: Series[pd.Timestamp] = F("End date", "Actual end date", "Ended", "Placement end", kind="date")
    exclusion_start_date: Series[pd.Timestamp] = F("Exclusion start date", "Exclusion date", "Exclusion start", "Suspension start date", kind="date")
    hours_per_week: Series[float] = F("Hours per week", "Hours", "Weekly hours", "Hours/week", kind="number", ge=0)
    days: Series[str] = F("Days (e.g. Mon,Wed)", "Days", "Days attended", "Days of week", kind="days")
    cost_basis: Series[str] = F("Cost basis (Place/Week/Day/Hour)", "Cost basis", "Charging basis", "Basis", kind="enum", vocab="cost_basis", allowed=v.COST_BASES)
    rate: Series[float] = F("Rate (£)", "Rate", "Rate GBP", "Rate £", "Fee", kind="number", ge=0)
    objectives: Series[str] = F("Objectives", "Placement objectives", "Outcomes sought")
    review_date: Series[pd.Timestamp] = F("Review date", "Next review", "Next review date", kind="date")
    reintegration_plan: Series[pd.BooleanDtype] = F("Reintegration plan (Y/N)", "Reintegration plan", "Reintegration plan Y/N", kind="yn")
    send_officer_consulted: Series[pd.BooleanDtype] = F("SEND officer consulted (Y/N)", "SEND officer consulted", "SEND consulted", kind="yn")
    virtual_school_consulted: Series[pd.BooleanDtype] = F("Virtual school consulted (Y/N)", "Virtual school consulted", "VS consulted", kind="yn")
    destination: Series[str] = F("Destination", "Next destination", "Destination on leaving")


class Providers(_Sheet):
    """Providers sheet: the LA's directory of AP providers with QA and registration status."""

    provider_id: Series[str] = F("Provider ID", "Provider", "Provider ref", "Provider code", kind="code", required=True, unique=True)
    name: Series[str] = F("Name", "Provider name", required=True)
    type: Series[str] = F("Type", "Provider type", kind="enum", vocab="provider_type", allowed=v.PROVIDER_TYPES, required=True)
    registered: Series[pd.BooleanDtype] = F("Registered (Y/N)", "Registered", "Registered school", "Registered Y/N", kind="yn", required=True)
    urn: Series[str] = F("URN", "Provider URN", kind="code")
    ofsted_judgement: Series[str] = F("Ofsted judgement", "Ofsted", "Ofsted rating", "Ofsted grade", kind="enum", vocab="ofsted", allowed=v.OFSTED_JUDGEMENTS)
    ofsted_date: Series[pd.Timestamp] = F("Ofsted date", "Inspection date", "Ofsted inspection date", kind="date")
    qa_status: Series[str] = F("QA status", "Quality assurance status", "QA", kind="enum", vocab="qa", allowed=v.QA_STATUSES)
    last_qa_visit: Series[pd.Timestamp] = F("Last QA visit", "QA visit date", "Last QA", "Last QA visit date", kind="date")
    dbs_confirmed: Series[pd.BooleanDtype] = F("DBS confirmed (Y/N)", "DBS confirmed", "DBS", "DBS Y/N", kind="yn")
    safeguarding_confirmation_date: Series[pd.Timestamp] = F("Safeguarding confirmation date", "Safeguarding confirmation", "Safeguarding confirmed", kind="date")
    places: Series[float] = F("Places", "Number of places", "Capacity", kind="number", ge=0)
    key_stages: Series[str] = F("Key stages (e.g. KS3,KS4)", "Key stages", "Key stage", "KS", kind="stages")
    weekly_fee: Series[float] = F("Weekly fee", "Fee per week", kind="number", ge=0)
    hourly_fee: Series[float] = F("Hourly fee", "Fee per hour", kind="number", ge=0)


class Attendance(_Sheet):
    """Attendance sheet: one row per pupil per session, from the school or the provider."""

    upn: Series[str] = F("UPN", "Unique pupil number", "Pupil UPN", kind="code", required=True)
    date: Series[pd.Timestamp] = F("Date", "Session date", kind="date", required=True)
    session: Series[str] = F("Session (AM/PM)", "Session", "AM/PM", kind="enum", vocab="session", allowed=v.SESSIONS, required=True)
    code: Series[str] = F("Code", "Attendance code", "Mark", kind="code", required=True)
    source: Series[str] = F("Source (School/Provider)", "Source", "Recorded by", kind="enum", vocab="source", allowed=v.SOURCES)

    class Config:
        unique = ["upn", "date", "session", "source"]


class Terms(_Sheet):
    """Calendar sheet, terms table: the LA's term and half-term dates."""

    academic_year: Series[str] = F("Academic year", "Year", "School year", kind="code", required=True)
    term: Series[str] = F("Term", "Term name", kind="enum", vocab="term", allowed=v.TERMS, required=True)
    start: Series[pd.Timestamp] = F("Start", "Start date", "Term start", kind="date", required=True)
    end: Series[pd.Timestamp] = F("End", "End date", "Term end", kind="date", required=True)
    half_term_start: Series[pd.Timestamp] = F("Half-term start", "Half term start", "Half-term from", kind="date")
    half_term_end: Series[pd.Timestamp] = F("Half-term end", "Half term end", "Half-term to", kind="date")

    class Config:
        unique = ["academic_year", "term"]


class Closures(_Sheet):
    """Calendar sheet, closures table: INSET days and other whole-school closures."""

    date: Series[pd.Timestamp] = F("Date", "Closure date", kind="date", required=True)
    reason: Series[str] = F("Reason", "Closure reason", "Description")


class RouteRules(_Sheet):
    """Rules sheet: the LA's route matrix as edited in Excel (values like 'LA/School', 'Dual, school main')."""

    route: Series[str] = F("Route", "Route code", kind="enum", vocab="route", allowed=v.ROUTES, required=True, unique=True)
    commissioner: Series[str] = F("Commissioner", "Commissioned by", required=True)
    place_funder: Series[str] = F("Place funder", "Place funding", "Lump sum", "Lump sum / place", required=True)
    topup_funder: Series[str] = F("Top-up funder", "Top up funder", "Top-up", "Topup funder", required=True)
    registration: Series[str] = F("Registration", "Registration type", required=True)


class Settings(_Sheet):
    """Settings sheet: name/value pairs (LA name, Profile, As of date, threshold overrides)."""

    name: Series[str] = F("Name", "Setting", "Key", required=True, unique=True)
    value: Series[str] = F("Value", "Setting value")


@dataclass(frozen=True)
class SheetSpec:
    """Where a model lives in the workbook and how its rows are keyed in findings."""

    name: str
    model: type[_Sheet]
    sheet: str
    sheet_aliases: tuple[str, ...]
    key: tuple[str, ...]
    required_sheet: bool = False


SHEETS: dict[str, SheetSpec] = {
    "placements": SheetSpec("placements", Placements, "Placements", ("Register", "AP register", "Placement register", "Placements register"), ("placement_id",), True),
    "providers": SheetSpec("providers", Providers, "Providers", ("Provider directory", "Providers directory", "Directory"), ("provider_id",)),
    "attendance": SheetSpec("attendance", Attendance, "Attendance", ("Attendance codes", "Sessions"), ("upn", "date", "session")),
    "terms": SheetSpec("terms", Terms, "Calendar", ("Term dates", "Terms"), ("academic_year", "term")),
    "closures": SheetSpec("closures", Closures, "Calendar", ("Term dates", "Closures"), ("date",)),
    "rules": SheetSpec("rules", RouteRules, "Rules", ("Route matrix", "Routes"), ("route",)),
    "settings": SheetSpec("settings", Settings, "Settings", ("Config", "Options"), ("name",)),
}


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    aliases: tuple[str, ...]
    kind: str
    vocab: str | None
    allowed: tuple[str, ...] | None
    required: bool
    required_column: bool
    unique: bool


def columns(model: type[_Sheet]) -> list[Column]:
    """The model's columns in contract order, with their header text and parsing rules."""
    schema = model.to_schema()
    out = []
    for name, col in schema.columns.items():
        meta = col.metadata or {}
        out.append(
            Column(
                field=name,
                header=meta["header"],
                aliases=tuple(meta.get("aliases", ())),
                kind=meta.get("kind", "text"),
                vocab=meta.get("vocab"),
                allowed=tuple(meta["allowed"]) if meta.get("allowed") else None,
                required=not col.nullable,
                required_column=bool(meta.get("required_column")),
                unique=bool(col.unique),
            )
        )
    return out


def header_lookup(model: type[_Sheet]) -> dict[str, str]:
    """Normalised header text or alias -> field name."""
    lookup: dict[str, str] = {}
    for col in columns(model):
        for text in (col.header, *col.aliases, col.field):
            lookup.setdefault(norm_header(text), col.field)
    return lookup


def norm_header(text: Any) -> str:
    """Header matching ignores case, spacing, punctuation in brackets and the '(Y/N)'-style hints."""
    s = str(text or "").strip()
    base = s.split("(")[0] if "(" in s and not s.startswith("(") else s
    return norm(base).replace(".", "").replace("£", "").replace(":", "")


def headers(model: type[_Sheet]) -> dict[str, str]:
    """Field name -> canonical header text."""
    return {c.field: c.header for c in columns(model)}


def empty_frame(model: type[_Sheet]) -> pd.DataFrame:
    """A zero-row frame with every column of the model at its parsed dtype."""
    dtypes = {"date": "datetime64[ns]", "yn": "boolean", "number": "float64", "year": "Int64"}
    return pd.DataFrame({c.field: pd.Series(dtype=dtypes.get(c.kind, "str")) for c in columns(model)}, index=pd.Index([], dtype="int64"))
