"""Build termly summaries for a register workbook and write them into a copy (or, asked, into the workbook itself)."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
from openpyxl import Workbook

from apxl.core.attendance import placement_measures
from apxl.core.calendar import SchoolCalendar, academic_year_of
from apxl.core.check import check_register
from apxl.core.policy import Policy
from apxl.core.recovery import awpu_recoveries
from apxl.core.register import Register
from apxl.core.summaries import Summary, build_summaries, terms_in_year
from apxl.errors import ApxlError
from apxl.io.package import replace_sheets
from apxl.io.safe_save import make_backup, resolve_output
from apxl.io.summary_sheets import add_summary_sheets

BUDGET_SETTINGS = ("AP high needs budget", "AP budget", "High needs AP budget")


def _budget(register: Register) -> float | None:
    for name in BUDGET_SETTINGS:
        value = register.setting(name)
        if value is not None:
            try:
                return float(str(value).replace("£", "").replace(",", "").strip())
            except ValueError:
                raise ApxlError(f"The Settings value '{name}' is not a number of pounds: enter it like 1250000.") from None
    return None


def summaries_for(
    register: Register,
    policy: Policy,
    as_of: date,
    *,
    term: str | None = None,
    year: str | None = None,
    publish: bool = False,
) -> list[Summary]:
    """The summaries a user asked for: one term (``2024-25-spring``) or every term of an academic year."""
    calendar = SchoolCalendar.from_register(register)
    if term:
        term = term.strip().lower()
        if calendar.term_bounds(term) is None:
            raise ApxlError(f"'{term}' is not a term: write it like 2024-25-spring.")
        terms = [term]
    else:
        year = year or academic_year_of(pd.Timestamp(as_of))
        terms = terms_in_year(calendar, year)
        if not terms:
            raise ApxlError(f"The Calendar sheet has no terms for {year}: add the term dates, or name a term with --term.")
    report = check_register(register, policy, as_of, only=["FND-004"])
    placements_sheet = register.table("placements").sheet
    flagged = report.by_rule("FND-004")
    rows = set(flagged.loc[flagged["sheet"] == placements_sheet, "row"].dropna().astype(int))
    attendance = None
    codes = getattr(policy, "attendance_codes", None)
    if codes is not None and len(register.attendance):
        attendance = placement_measures(register.attendance, register.placements, codes, calendar, providers=register.providers, as_of=as_of, by_term=True)
    return build_summaries(register, calendar, policy, terms, double_funding_rows=rows, attendance=attendance,
                           awpu_recovery=awpu_recoveries(register.placements, policy), budget=_budget(register), publish=publish)


def write_summaries(source, summaries: list[Summary], output=None, in_place: bool = False) -> Path:
    """Write summary sheets into a copy of ``source`` (``<stem>-summaries<suffix>``) or, with ``in_place``,
    into ``source`` after a backup. Sheets of the same name are replaced; nothing else changes."""
    target = resolve_output(Path(source), output, in_place, tag="summaries")
    if in_place:
        make_backup(Path(source))
    save_summary_sheets(Path(source), summaries, target)
    return target


def save_summary_sheets(source: Path, summaries: list[Summary], target: Path) -> list[str]:
    """Build the summary sheets and put them into ``source``'s package, saved atomically at ``target``."""
    scratch = Workbook()
    scratch.remove(scratch.active)
    names = add_summary_sheets(scratch, summaries)
    replace_sheets(source, scratch, names, target)
    return names
