"""Attendance rules ATT-001..012: codes checked against the code sets, the calendar and the placements (DESIGN.md 3)."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from apxl.core.attendance import PERSISTENT_ABSENCE, SEVERE_ABSENCE, pupil_term_measures
from apxl.core.attendance_codes import REFORM_DATE, set_name
from apxl.core.attendance_gaps import missing_session_runs
from apxl.core.calendar import bank_holidays
from apxl.core.attendance_match import coverage_segments, fmt_date, fmt_session, match_sessions, placement_facts, sessions_frame
from apxl.core.findings import RULE_OUTPUT_COLUMNS
from apxl.core.rules.registry import rule

SEED003 = "seed 003_57d480e12197286d.txt"
SEED004 = "seed 004_3d7af6d2a2601fc8.txt"
REGS = "School Attendance (Pupil Registration) (England) Regulations 2024 (2006 Regulations before 19/08/2024)"
OFF_SITE_AP = ["B", "D", "K"]
ABSENCE = ["authorised", "unauthorised"]
ATTENDING = ["present", "off-site"]


# ---- shared preparation (cached on the context: each rule reuses the same typed sessions) ----------

def _sessions(ctx) -> pd.DataFrame | None:
    if "att.sessions" not in ctx.cache:
        codes = getattr(ctx.policy, "attendance_codes", None)
        table = ctx.register.table("attendance")
        if codes is None or table.frame is None or table.frame.empty:
            ctx.cache["att.sessions"] = None
        else:
            ctx.cache["att.sessions"] = sessions_frame(table.frame, codes, code_header=table.headers.get("code", "Code"))
    return ctx.cache["att.sessions"]


def _facts(ctx) -> pd.DataFrame:
    if "att.facts" not in ctx.cache:
        ctx.cache["att.facts"] = placement_facts(ctx.register.placements, ctx.register.providers)
    return ctx.cache["att.facts"]


def _matched(ctx) -> pd.DataFrame:
    """The sessions with the placements that cover them (interval match on UPN and date)."""
    if "att.matched" not in ctx.cache:
        ctx.cache["att.matched"] = match_sessions(_sessions(ctx), coverage_segments(_facts(ctx)))
    return ctx.cache["att.matched"]


def _school_days(ctx, dates: pd.Series) -> np.ndarray:
    """is_school_day for many dates, computed once per distinct date."""
    uniq = pd.unique(dates.to_numpy())
    flags = pd.Series(ctx.calendar.is_school_day(pd.Series(uniq)), index=uniq)
    return flags.reindex(dates.to_numpy()).to_numpy(dtype=bool)


def _arr(x: Any, n: int) -> np.ndarray:
    if isinstance(x, (pd.Series, pd.Index)):
        return x.to_numpy()
    if isinstance(x, np.ndarray):
        return x
    return np.full(n, x, dtype=object)


def _out(ctx, s: pd.DataFrame, message: Any, *, value: Any = None, severity: Any = None, column: Any = None) -> pd.DataFrame:
    """Rule output for sessions ``s`` (rows of the sessions frame): key UPN, pointing at the mark's row.

    Everything is aligned by position (a wide grid repeats a pupil's Excel row for each session)."""
    n = len(s)
    if n == 0:
        return pd.DataFrame(columns=RULE_OUTPUT_COLUMNS)
    out = pd.DataFrame({
        "sheet": ctx.sheet("attendance"),
        "row": s["row"].to_numpy(dtype="int64"),
        "column": _arr(s["column"] if column is None else column, n),
        "key": s["upn"].to_numpy(),
        "value": _arr(s["code"] if value is None else value, n),
        "message": _arr(message, n),
    })
    if severity is not None:
        out["severity"] = _arr(severity, n)
    return out


def _provision_code(m: pd.DataFrame, dates: pd.Series) -> np.ndarray:
    """The code the covering provision calls for: D at a registered school the pupil is dual registered
    with, K for LA-arranged provision (2024 set), B otherwise (seed 004; DOMAIN.md 5)."""
    post = (dates >= REFORM_DATE).to_numpy()
    return np.select([m["dual_ok"].to_numpy(), m["la"].to_numpy() & ~m["school"].to_numpy() & post], ["D", "K"], "B")


def _sets(dates: pd.Series) -> pd.Series:
    return pd.Series(set_name(dates.to_numpy()), index=dates.index)


# ---- ATT-001 code not valid on that date ---------------------------------------------------------

@rule("ATT-001", "Attendance code not valid on that date (2024 codes from 19/08/2024, the 2006 codes before)", "error", REGS)
def code_not_valid(ctx):
    s = _sessions(ctx)
    if s is None:
        if getattr(ctx.policy, "attendance_codes", None) is None and not ctx.register.attendance.empty:
            return pd.DataFrame([{"sheet": ctx.sheet("attendance"), "row": None, "column": None, "key": None, "value": None,
                                  "message": "The attendance code sets were not loaded, so the attendance checks (ATT-*) did not run.", "severity": "warning"}])
        return None
    bad = s[~s["valid"].to_numpy(dtype=bool)]
    if bad.empty:
        return None
    when = fmt_session(bad["date"], bad["session"])
    which = _sets(bad["date"])
    instead = bad["instead"].map(lambda t: " or ".join(t) if t else "")
    known = bad["known"].to_numpy(dtype=bool)
    other = np.where((bad["date"] >= REFORM_DATE).to_numpy(), "only existed before 19/08/2024", "only exists from 19/08/2024")
    msg = np.where(
        known,
        "Code " + bad["code"] + " is not valid on " + when + ": it " + other + "; the " + which + " apply on this date"
        + np.where(instead.ne(""), ", so record " + instead + " instead.", ": choose the code that matches the reason."),
        "'" + bad["code"] + "' on " + when + " is not an attendance code in the " + which
        + ": use a code from that set, e.g. / or \\ for present, N when the reason for an absence is not yet known.",
    )
    return _out(ctx, bad, pd.Series(msg))


# ---- ATT-002 code for a session after as_of ------------------------------------------------------

@rule("ATT-002", "Attendance code recorded for a session after the check date (pre-populated register)", "error", f"{SEED003} para 8.14")
def pre_populated(ctx):
    s = _sessions(ctx)
    if s is None:
        return None
    bad = s[(s["date"] > ctx.as_of_ts).to_numpy() & s["code"].ne("#").to_numpy()]
    if bad.empty:
        return None
    msg = ("Code " + bad["code"] + " is recorded for " + fmt_session(bad["date"], bad["session"]) + ", after the check date "
           + ctx.as_of_ts.strftime("%d/%m/%Y") + ": attendance must not be pre-populated; leave the session blank and record "
           "what happened on the day, including any absence (" + SEED003 + " para 8.14).")
    return _out(ctx, bad, msg)


# ---- ATT-003..005 off-site codes against the placements ------------------------------------------

@rule("ATT-003", "Off-site code (B, D, K) on a day no placement covers", "error", f"{SEED004} (codes B and D); {SEED003} para 8.15")
def off_site_without_placement(ctx):
    s = _sessions(ctx)
    if s is None:
        return None
    m = _matched(ctx)
    hit = s["code"].isin(OFF_SITE_AP).to_numpy() & s["valid"].to_numpy(dtype=bool) & ~m["covered"].to_numpy()
    bad, mb = s[hit], m[hit]
    if bad.empty:
        return None
    when = fmt_session(bad["date"], bad["session"])
    span = mb["in_span"].to_numpy()
    why = np.where(
        span,
        " falls on a day the pupil's placement does not run (" + mb["desc"].fillna("").to_numpy() + "): on other days the pupil "
        "attends school as usual (" + SEED003 + " para 8.15), so record / or \\ if present, or the absence code.",
        " but no placement on the register covers this date: record / or \\ if the pupil was in school or the absence code if not, "
        "or add the placement to the register.",
    )
    msg = "Code " + bad["code"] + " (attending off-site provision) on " + when + pd.Series(why, index=bad.index)
    severity = pd.Series(np.where(bad["code"].eq("B").to_numpy(), "warning", "error"))  # B also covers college courses, taster days
    return _out(ctx, bad, msg, severity=severity)


@rule("ATT-004", "Code D where the placement is not a dual registration at a registered school", "error", f"{SEED004} (code D)")
def d_without_dual_registration(ctx):
    s = _sessions(ctx)
    if s is None:
        return None
    m = _matched(ctx)
    hit = s["code"].eq("D").to_numpy() & s["valid"].to_numpy(dtype=bool) & m["covered"].to_numpy() & ~m["dual_ok"].to_numpy()
    bad, mb = s[hit], m[hit]
    if bad.empty:
        return None
    right = _provision_code(mb, bad["date"])
    msg = ("Code D on " + fmt_session(bad["date"], bad["session"]) + " means the pupil is dual registered and attending the other "
           "school, but the placement is not a dual registration at a registered school (" + mb["desc"].fillna("").to_numpy()
           + "): record " + pd.Series(right, index=bad.index)
           + np.where(right == "K", " (provision arranged by the LA).", " (approved off-site educational activity arranged by the school)."))
    return _out(ctx, bad, msg)


@rule("ATT-005", "K for school-arranged provision, or B for LA-arranged provision (2024 codes)", "error", f"{REGS}; {SEED004}")
def k_and_b_by_commissioner(ctx):
    s = _sessions(ctx)
    if s is None:
        return None
    m = _matched(ctx)
    post = (s["date"] >= REFORM_DATE).to_numpy() & s["valid"].to_numpy(dtype=bool) & m["covered"].to_numpy()
    la, school, dual = m["la"].to_numpy(), m["school"].to_numpy(), m["dual_ok"].to_numpy()
    k_bad = post & s["code"].eq("K").to_numpy() & school & ~la
    b_bad = post & s["code"].eq("B").to_numpy() & la & ~school
    hit = k_bad | b_bad
    bad, mb = s[hit], m[hit]
    if bad.empty:
        return None
    when = fmt_session(bad["date"], bad["session"])
    desc = mb["desc"].fillna("").to_numpy()
    k_msg = "Code K on " + when + " is for education arranged by the local authority, but this placement was arranged by the school (" + desc + "): record B."
    b_msg = ("Code B on " + when + " is for activity the school arranged, but this placement was arranged by the local authority (" + desc
             + "): from 19/08/2024 record K" + np.where(dual[hit], ", or D while the pupil is dual registered there.", "."))
    return _out(ctx, bad, pd.Series(np.where(k_bad[hit], k_msg, b_msg)))


# ---- ATT-006 E beyond the 5th school day ---------------------------------------------------------

@rule("ATT-006", "Code E beyond the 5th school day of an exclusion or suspension", "error",
      "Education Act 1996 s.19; SI 2007/1870 as amended (provision from the sixth school day); DOMAIN.md 5 (code E)")
def e_beyond_day_five(ctx):
    s = _sessions(ctx)
    if s is None:
        return None
    e = s[s["code"].eq("E").to_numpy() & s["valid"].to_numpy(dtype=bool) & s["source"].ne("Provider").to_numpy()]
    if e.empty:
        return None
    cal = ctx.calendar
    days = e[["upn", "date"]].drop_duplicates().sort_values(["upn", "date"], kind="stable").reset_index(drop=True)
    origin = days["date"].min() - pd.Timedelta(days=1)
    ordinal = cal.school_days_between(np.full(len(days), origin.to_datetime64()), days["date"].to_numpy())
    # A run of E: consecutive school days with E (a school day without E ends it).
    brk = (days["upn"].ne(days["upn"].shift())) | (pd.Series(ordinal).diff().fillna(99).to_numpy() > 1)
    days["run"] = np.cumsum(brk.to_numpy())
    days["run_start"] = days.groupby("run")["date"].transform("min")
    # The exclusion start on the Placements sheet anchors the count when the run begins within its first days.
    facts = _facts(ctx)
    ex = facts.dropna(subset=["exclusion_start"])[["upn", "exclusion_start", "placement_id"]].drop_duplicates(["upn", "exclusion_start"])
    days["anchor"] = days["run_start"]
    days["anchor_from"] = "run"
    if len(ex):
        left = days[["upn", "run_start"]].reset_index().sort_values("run_start", kind="stable")
        hit = pd.merge_asof(left, ex.sort_values("exclusion_start"), left_on="run_start", right_on="exclusion_start", by="upn", direction="backward")
        hit = hit.set_index("index").reindex(days.index)
        gap = cal.school_days_between(hit["exclusion_start"].to_numpy(), hit["run_start"].to_numpy())
        use = hit["exclusion_start"].notna().to_numpy() & (np.nan_to_num(gap, nan=99) <= 6)
        days.loc[use, "anchor"] = hit.loc[use, "exclusion_start"].to_numpy()
        days.loc[use, "anchor_from"] = "placement"
    days["day_no"] = cal.school_days_between(days["anchor"].to_numpy(), days["date"].to_numpy())
    merged = e.reset_index(drop=True).merge(days[["upn", "date", "anchor", "anchor_from", "day_no"]], on=["upn", "date"], how="left")
    late = merged["day_no"].to_numpy() > 5
    bad = merged[late]
    if bad.empty:
        return None
    idx = s.index[s["code"].eq("E").to_numpy() & s["valid"].to_numpy(dtype=bool) & s["source"].ne("Provider").to_numpy()][late]
    m = _matched(ctx).iloc[idx].reset_index(drop=True)
    covered = m["covered"].to_numpy()
    right = pd.Series(_provision_code(m, bad["date"].reset_index(drop=True)))
    started = np.where(bad["anchor_from"].to_numpy() == "placement", "the exclusion that started ", "the run of E codes that started ")
    msg = ("Code E on " + fmt_session(bad["date"], bad["session"]).to_numpy() + " is school day " + bad["day_no"].astype(int).astype(str).to_numpy()
           + " of " + started + fmt_date(bad["anchor"]).to_numpy()
           + ": E means no provision was arranged, but education must be provided from the sixth school day. "
           + np.where(covered, "Record " + right.to_numpy() + " for the placement that covers this session.",
                      "Arrange provision and record its code (B school-arranged, K LA-arranged, D dual registration)."))
    return _out(ctx, bad.reset_index(drop=True), pd.Series(msg))


# ---- ATT-007 provider reports absence, school register shows attendance --------------------------

@rule("ATT-007", "Provider reports an absence but the school register shows attendance or off-site for that session", "error",
      f"{SEED004} (code B: record the absence the provider notifies); {SEED003} paras 8.12-8.14")
def provider_absence_vs_school(ctx):
    s = _sessions(ctx)
    if s is None:
        return None
    prov_mask = s["source"].eq("Provider").to_numpy() & s["group"].isin(ABSENCE).to_numpy()
    prov = s[prov_mask]
    if prov.empty:
        return None
    school_mask = s["source"].ne("Provider").to_numpy() & s["group"].isin(ATTENDING).to_numpy()
    # Only school marks for a session the provider marked absent can match: find them on integer keys
    # first, so the merge below sees thousands of rows, not the whole school register.
    pupil = s["pupil"].to_numpy(dtype="int64")
    day = s["date"].to_numpy(dtype="datetime64[D]").astype("int64")
    key = (pupil * (day.max() - day.min() + 1) + (day - day.min())) * 2 + s["pm"].to_numpy(dtype="int64")
    if key.max() < 8 * len(key):  # dense keys: a bitmap look-up
        marked = np.zeros(int(key.max()) + 1, dtype=bool)
        marked[key[prov_mask]] = True
        school_mask &= marked[key]
    else:
        school_mask &= pd.Series(key).isin(pd.unique(key[prov_mask])).to_numpy()
    school = s[school_mask].reset_index(names="_pos")
    both = school.merge(prov[["upn", "date", "session", "code", "meaning"]].drop_duplicates(["upn", "date", "session"]),
                        on=["upn", "date", "session"], suffixes=("", "_prov"))
    if both.empty:
        return None
    msg = ("The provider reported " + both["code_prov"] + " (" + both["meaning_prov"].str.lower() + ") for "
           + fmt_session(both["date"], both["session"]) + " but the school register shows " + both["code"]
           + ": " + both["code"] + " certifies the pupil attended, so record the absence instead: " + both["code_prov"]
           + " as the provider reported, or N until the reason is known.")
    return _out(ctx, both, msg)


# ---- ATT-008 codes on non-school days ------------------------------------------------------------

@rule("ATT-008", "Attendance code on a non-school day (weekend, holiday, closure) other than #", "error",
      "DfE school attendance guidance 2024 (# for planned closures); DOMAIN.md 7 (school days)")
def code_on_non_school_day(ctx):
    s = _sessions(ctx)
    if s is None:
        return None
    off = ~_school_days(ctx, s["date"]) & s["code"].ne("#").to_numpy()
    bad = s[off]
    if bad.empty:
        return None
    dates = bad["date"]
    weekend = (dates.dt.dayofweek >= 5).to_numpy()
    closed = dates.isin(ctx.calendar.closures()).to_numpy()
    bank = ~weekend & dates.isin(bank_holidays(int(dates.dt.year.min()), int(dates.dt.year.max()))).to_numpy()
    why = np.select([weekend, bank, closed], ["a weekend", "a bank holiday", "a school closure on the Calendar sheet"],
                    "in a school holiday on the Calendar sheet")
    msg = ("Code " + bad["code"] + " is recorded for " + fmt_session(bad["date"], bad["session"]) + ", which is " + pd.Series(why, index=bad.index)
           + ": only school days take attendance codes; remove it, or use # for a planned closure.")
    # Term dates come from the LA's Calendar sheet, and a school's own dates may differ: a warning there.
    severity = pd.Series(np.where(weekend | bank, "error", "warning"))
    return _out(ctx, bad, msg, severity=severity)


# ---- ATT-009 missing sessions inside a placement -------------------------------------------------

@rule("ATT-009", "Missing session: a school day inside a placement, between the pupil's first and last recorded session, with no code",
      "warning", f"{SEED003} para 8.14 (record every absence when it occurs); {REGS}")
def missing_sessions(ctx):
    s = _sessions(ctx)
    if s is None:
        return None
    runs = missing_session_runs(ctx.register.attendance, s, _facts(ctx), ctx.calendar, ctx.as_of_ts, date_header=ctx.header("attendance", "date"))
    if runs.empty:
        return None
    first = fmt_session(runs["first_date"], runs["first_session"])
    last = fmt_session(runs["last_date"], runs["last_session"])
    n = runs["sessions"]
    span = np.where(n > 1, n.astype(str) + " sessions, " + first + " to " + last, first)
    msg = ("No attendance code for " + pd.Series(span) + ": school days inside placement " + runs["placement_id"]
           + ", between this pupil's first and last recorded sessions. Record a code for every session, including the "
           "absence code when the pupil did not attend (" + SEED003 + " para 8.14).")
    return _out(ctx, runs.rename(columns={"at_row": "row", "at_column": "column"}).assign(code=first.to_numpy()), msg)


# ---- ATT-010 X for a pupil of compulsory school age ---------------------------------------------

@rule("ATT-010", "Code X for a pupil of compulsory school age", "error", f"{REGS} (code X); Education Act 1996 s.8")
def x_for_compulsory_age(ctx):
    from apxl.core.pupils import of_compulsory_school_age

    s = _sessions(ctx)
    if s is None:
        return None
    x = s[s["code"].eq("X").to_numpy() & s["valid"].to_numpy(dtype=bool)]
    if x.empty:
        return None
    dob = _facts(ctx).dropna(subset=["date_of_birth"]).drop_duplicates("upn").set_index("upn")["date_of_birth"]
    dobs = pd.Series(x["upn"].map(dob).to_numpy(dtype="datetime64[ns]"), index=x.index)
    csa = of_compulsory_school_age(dobs, pd.Series(x["date"].to_numpy(), index=x.index)).fillna(False).to_numpy(dtype=bool)
    bad = x[csa]
    if bad.empty:
        return None
    msg = ("Code X on " + fmt_session(bad["date"], bad["session"]) + " is only for pupils not of compulsory school age, but this pupil "
           "(born " + fmt_date(pd.Series(dobs[csa].to_numpy(), index=bad.index)) + ") is of compulsory school age: record whether they "
           "attended, or the absence code (C2 for an agreed part-time timetable).")
    return _out(ctx, bad, msg)


# ---- ATT-011 / ATT-012 persistent and severe absence ---------------------------------------------

def _absence(ctx) -> pd.DataFrame:
    if "att.terms" not in ctx.cache:
        th = ctx.policy.thresholds
        ctx.cache["att.terms"] = pupil_term_measures(
            _sessions(ctx), ctx.policy.attendance_codes, ctx.calendar, as_of=ctx.as_of_ts,
            persistent=float(th.get("persistent_absence", PERSISTENT_ABSENCE)), severe=float(th.get("severe_absence", SEVERE_ABSENCE)))
    return ctx.cache["att.terms"]


def _absence_findings(ctx, which: str) -> pd.DataFrame | None:
    if _sessions(ctx) is None:
        return None
    t = _absence(ctx)
    hit = t["severe"].astype(bool) if which == "severe" else (t["persistent"].astype(bool) & ~t["severe"].astype(bool))
    bad = t[hit.to_numpy()]
    if bad.empty:
        return None
    absent = (bad["authorised"] + bad["unauthorised"]).astype(int)
    pct = (bad["absence_rate"] * 100).round(1)
    th = ctx.policy.thresholds
    limit = float(th.get("severe_absence", SEVERE_ABSENCE)) if which == "severe" else float(th.get("persistent_absence", PERSISTENT_ABSENCE))
    msg = (which.capitalize() + " absence in " + bad["term"].astype(str) + ": absent " + absent.astype(str) + " of "
           + bad["possible"].astype(int).astype(str) + " possible sessions (" + pct.astype(str) + "%; "
           + bad["authorised"].astype(int).astype(str) + " authorised, " + bad["unauthorised"].astype(int).astype(str)
           + " unauthorised) to " + fmt_date(bad["last_date"]) + ". DfE counts " + which + " absence at "
           + f"{limit:.0%}" + " or more of possible sessions: review the placement's attendance with the provider and school.")
    frame = pd.DataFrame({"row": bad["last_row"].to_numpy(), "upn": bad["upn"].to_numpy(), "column": ctx.header("attendance", "code")})
    return _out(ctx, frame, msg.to_numpy(), value=(pct.astype(str) + "%").to_numpy())


@rule("ATT-011", "Persistent absence: absent for 10% or more of possible sessions in the term", "warning", "DfE absence statistics methodology (persistent absence)")
def persistent_absence(ctx):
    return _absence_findings(ctx, "persistent")


@rule("ATT-012", "Severe absence: absent for 50% or more of possible sessions in the term", "warning", "DfE absence statistics methodology (severe absence)")
def severe_absence(ctx):
    return _absence_findings(ctx, "severe")
