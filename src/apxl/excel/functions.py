"""APXL.* custom functions for Excel: one thin call into apxl.core each, the same code for desktop, Server and Lite.

Excel shows each docstring in its function wizard and each argument's ``doc`` beside the argument,
so both are written for the finance officer typing the formula. Dates arrive as Excel serial
numbers (Office.js), real dates (desktop) or dd/mm/yyyy text: ``convert`` reads all three. A
function that cannot answer puts a short sentence in its cell instead (``convert.friendly``).
"""
from __future__ import annotations

import xlwings as xw

from apxl.excel import convert as cv
from apxl.excel.results import Noted, NotedDate

# In xlwings Lite the functions appear as =APXL.NAME(...). The `apxl serve` add-in gets the APXL
# prefix from its manifest instead (the server strips this one so it is not doubled).
__xlwings_func_namespace__ = "APXL"

_CALENDAR_DOC = (
    "Optional: your Calendar table (select it with its header row: Academic year, Term, Start, End, "
    "Half-term start, Half-term end; a Closures table below it is read too). Leave out to count "
    "weekdays less England bank holidays."
)


@xw.func
@xw.arg("upn", doc="The pupil's UPN (13 characters, e.g. B801200005001).")
@xw.arg("explain", doc="Optional: TRUE to show why a UPN is wrong instead of TRUE/FALSE.")
@cv.friendly
def UPN_VALID(upn, explain=None):
    """TRUE when a UPN has the right shape and check letter (DfE UPN guidance); FALSE otherwise. A temporary UPN (last character a letter) counts as valid but should be replaced. With explain=TRUE, says what is wrong."""
    from apxl.core.pupils import check_upn

    result = check_upn(cv.to_text(upn))
    if cv.to_flag(explain, "explain"):
        return result.problem or "valid"
    return bool(result.ok)


@xw.func
@xw.arg("dob", doc="Date of birth.")
@xw.arg("on", doc="Optional: the date to work out the year group at; leave out for today.")
@cv.friendly
def YEAR_GROUP(dob, on=None):
    """The national curriculum year group for a date of birth (age on 31 August at the start of the school year, minus 4): 0 = Reception, 7 = Year 7. A pupil taught out of year may be in a different year."""
    from apxl.core.pupils import year_group

    when = cv.to_date(on, "date", required=False) or cv.today()
    value = year_group(cv.to_date(dob, "date of birth"), when)
    if value is None:
        raise cv.CellError("no year group for that date of birth")
    return int(value)


@xw.func
@xw.arg("dob", doc="Date of birth.")
@xw.arg("on", doc="Optional: the date to work out the key stage at; leave out for today.")
@cv.friendly
def KEY_STAGE(dob, on=None):
    """The key stage (EYFS, KS1 Y1-2, KS2 Y3-6, KS3 Y7-9, KS4 Y10-11, KS5) for a date of birth, from the pupil's chronological year group."""
    from apxl.core.pupils import key_stage_at

    when = cv.to_date(on, "date", required=False) or cv.today()
    stage = key_stage_at(cv.to_date(dob, "date of birth"), when)
    if stage is None:
        raise cv.CellError("that date of birth is outside school age on that date")
    return str(stage)


@xw.func
@xw.arg("start", doc="First day (counted if it is a school day).")
@xw.arg("end", doc="Last day (counted if it is a school day).")
@xw.arg("calendar", ndim=2, doc=_CALENDAR_DOC)
@cv.friendly
def SCHOOL_DAYS(start, end, calendar=None):
    """School days from start to end, both included: weekends, England bank holidays, and (with your Calendar table) holidays, half-terms and closure days do not count. Without a Calendar the cell says so."""
    cal, note = cv.calendar_from_range(calendar)
    days = cal.school_days(cv.to_date(start, "start"), cv.to_date(end, "end"))
    return Noted(days, note and f"school days ({note})")


@xw.func
@xw.arg("exclusion_start", doc="The first day of the exclusion or suspension.")
@xw.arg("calendar", ndim=2, doc=_CALENDAR_DOC)
@xw.arg("looked_after", doc="Optional: TRUE for a looked-after child where your LA provides from day 1 (e.g. Hillingdon's policy).")
@cv.friendly
def DAY6(exclusion_start, calendar=None, looked_after=None):
    """The date full-time education must start after a permanent exclusion: the 6th school day of the exclusion (Education Act 1996 s.19; SI 2007/1870). The exclusion's first day is day 1 if it is a school day. With looked_after=TRUE, the first school day (day-1 policies for looked-after children)."""
    from apxl.core.policy import DEFAULT_THRESHOLDS

    cal, note = cv.calendar_from_range(calendar)
    day = 1 if cv.to_flag(looked_after, "looked_after") else int(DEFAULT_THRESHOLDS["pex_deadline_day"])
    when = cal.nth_school_day(cv.to_date(exclusion_start, "exclusion start"), day)
    return NotedDate(when.date(), note and f"({note})")


@xw.func
@xw.arg("route", doc="The route code: PEX, HEALTH, INTERIM, ASSESS, LONGTERM, SUSPENSION, S19OTHER or VOCATIONAL.")
@xw.arg("profile", doc="Optional: your LA's policy profile, e.g. herefordshire, solihull or national (the default).")
@cv.friendly
def FUNDERS(route, profile=None):
    """Who commissions and pays for a route under your LA's route matrix, spilled across four cells: commissioner, place funder, top-up funder, registrations allowed."""
    from apxl.excel import bridge

    rule, policy = bridge.route_rule(cv.to_text(route), cv.to_text(profile))
    return [bridge.route_cells(rule)]


@xw.func
@xw.arg("codes", ndim=2, doc="The attendance codes (one per session), e.g. a pupil's row of the register.")
@xw.arg("dates", ndim=2, doc="Optional: the date of each session, same shape as the codes, so codes before 19/08/2024 use the 2006 set. Leave out for the 2024 set.")
@cv.friendly
def ATTENDANCE(codes, dates=None):
    """The attendance rate of a range of session codes: sessions attended (present or approved off-site, e.g. / \\ L K B) divided by possible sessions, as in DfE absence statistics. Codes that are not possible sessions (D, X, Z, #...) are left out."""
    from apxl.excel import bridge

    return bridge.attendance_rate(cv.cells(codes), cv.cells(dates) if dates is not None else None)


@xw.func
@xw.arg("start", doc="Placement start date.")
@xw.arg("end", doc="Placement end date (or planned end).")
@xw.arg("basis", doc="Cost basis: Place, Week, Day or Hour.")
@xw.arg("rate", doc="Rate in £: a place's annual value, or the fee per week, day or hour.")
@xw.arg("hours", doc="Optional: hours per week (needed for Hour).")
@xw.arg("period_start", doc="Optional: only the cost inside this period, from this date (e.g. a term or 01/04).")
@xw.arg("period_end", doc="Optional: the period's last day.")
@xw.arg("calendar", ndim=2, doc=_CALENDAR_DOC)
@cv.friendly
def COST(start, end, basis, rate, hours=None, period_start=None, period_end=None, calendar=None):
    """The cost in £ of a placement, or of its part inside a period: Place = the annual place value pro rata by school days (190 a year); Week = rate per 5 school days; Day = rate per school day; Hour = rate x hours per week per school week. Without a Calendar the cell says so."""
    from apxl.excel import bridge

    cal, note = cv.calendar_from_range(calendar)
    pounds = bridge.cost(
        cv.to_date(start, "start"), cv.to_date(end, "end"), cv.to_text(basis), cv.to_number(rate, "rate"),
        cv.to_number(hours, "hours", required=False),
        cv.to_date(period_start, "period start", required=False), cv.to_date(period_end, "period end", required=False), cal,
    )
    return Noted(pounds, note and f"({note})", "£#,##0.00")


@xw.func
@xw.arg("headers", ndim=2, doc="The Placements header row (e.g. $A$1:$AD$1).")
@xw.arg("row", ndim=2, doc="One placement's row, same columns as the headers (e.g. A2:AD2).")
@xw.arg("profile", doc="Optional: your LA's policy profile, e.g. herefordshire or solihull; leave out for national (the least restrictive reading of the route matrices).")
@xw.arg("as_of", doc="Optional: check as at this date; leave out for today.")
@cv.friendly
def CHECK(headers, row, profile=None, as_of=None):
    """Checks one placement row against apxl's rules and spills each problem as rule id and message (e.g. FND-003, 'Solihull route matrix: top-up for ASSESS is paid by School'). Rules that need other rows or sheets (providers, attendance) run in Validate register."""
    from apxl.excel import bridge

    when = cv.to_date(as_of, "as of", required=False) or cv.today()
    return bridge.check_rows(cv.grid(headers), [cv.grid(row)[0] if cv.grid(row) else []], cv.to_text(profile), when)[0]
