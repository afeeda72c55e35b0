"""PUP rules: is each placement's pupil identified consistently (UPN, date of birth, name, year group, age)?"""
from __future__ import annotations

import pandas as pd

from apxl.core.check import Context
from apxl.core.findings import flag
from apxl.core.pupils import (
    UpnStatus,
    check_upns,
    compulsory_school_age_ends,
    compulsory_school_age_starts,
    academic_years,
    year_group_labels,
    year_groups,
)
from apxl.core.rules.registry import rule

_UPN_SRC = "DfE Unique Pupil Numbers (UPN) guidance: format and check letter; DOMAIN.md section 6"
_TABLE = "placements"


def _dmy(dates: pd.Series) -> pd.Series:
    return dates.dt.strftime("%d/%m/%Y")


def _upn_facts(ctx: Context) -> pd.DataFrame:
    # PUP-001 and PUP-002 read the same UPN check; do it once per run.
    if "pupils.upn" not in ctx.cache:
        ctx.cache["pupils.upn"] = check_upns(ctx.register.placements["upn"])
    return ctx.cache["pupils.upn"]


@rule("PUP-001", "UPN malformed or wrong check letter", "error", _UPN_SRC)
def upn_invalid(ctx: Context) -> pd.DataFrame:
    p = ctx.register.placements
    facts = _upn_facts(ctx)
    bad = facts["status"].isin([UpnStatus.MALFORMED.value, UpnStatus.WRONG_CHECK_LETTER.value])
    wrong = facts["status"] == UpnStatus.WRONG_CHECK_LETTER.value
    fix = pd.Series(
        " A UPN is a check letter then the LA number (3 digits), establishment number (4), year (2) and serial (3).",
        index=p.index,
    ).where(~wrong, " Check the UPN against the school's records: a mistyped digit or letter gives the wrong check letter.")
    message = "UPN " + facts["problem"].astype(str) + "." + fix + " (" + _UPN_SRC + ")."
    return flag(p, bad, sheet=ctx.sheet(_TABLE), column=ctx.header(_TABLE, "upn"), key="placement_id", value="upn", message=message)


@rule("PUP-002", "Temporary UPN", "warning", _UPN_SRC)
def upn_temporary(ctx: Context) -> pd.DataFrame:
    p = ctx.register.placements
    facts = _upn_facts(ctx)
    message = (
        "UPN ends in a letter, so it is a temporary UPN. Replace it with the pupil's permanent UPN from the home "
        "school or the LA once it is known, so attendance and census records match (" + _UPN_SRC + ")."
    )
    return flag(p, facts["temporary"], sheet=ctx.sheet(_TABLE), column=ctx.header(_TABLE, "upn"), key="placement_id", value="upn", message=message)


@rule(
    "PUP-003",
    "Pupil not of compulsory school age at placement start",
    "warning",
    "Education Act 1996 s.8; Education (Start of Compulsory School Age) Order 1998; DOMAIN.md section 6",
)
def not_compulsory_school_age(ctx: Context) -> pd.DataFrame:
    p = ctx.register.placements
    dob, start = p["date_of_birth"], p["start_date"]
    csa_from, csa_to = compulsory_school_age_starts(dob), compulsory_school_age_ends(dob)
    young = (start < csa_from).fillna(False)
    old = (start > csa_to).fillna(False)
    span = "; for this date of birth it runs from " + _dmy(csa_from) + " to " + _dmy(csa_to)
    why = pd.Series("", index=p.index).where(~young, "before compulsory school age starts").where(~old, "after compulsory school age ended")
    message = (
        "The placement starts on " + _dmy(start) + ", " + why + span + " (first 31 Dec, 31 Mar or 31 Aug after the 5th "
        "birthday, to the last Friday in June of the school year the pupil turns 16). Check the date of birth and the start "
        "date; if both are right, the placement is outside compulsory school age, where the LA's Section 19 duty does not "
        "apply (Education Act 1996 s.8; DOMAIN.md section 6)."
    )
    return flag(p, young | old, sheet=ctx.sheet(_TABLE), column=ctx.header(_TABLE, "date_of_birth"), key="placement_id", value="date_of_birth", message=message)


@rule(
    "PUP-004",
    "Year group inconsistent with date of birth",
    "warning",
    "DOMAIN.md section 6 (year group = age on 31 August at the start of the school year minus 4; pupils may be taught out of year)",
)
def year_group_mismatch(ctx: Context) -> pd.DataFrame:
    p = ctx.register.placements
    as_of = ctx.as_of_ts
    # The register may record the year group at the start of the placement or now: accept any year the
    # pupil was in between the start and the end (or as_of, whichever is earlier).
    start = p["start_date"].fillna(as_of)
    last = p["end_date"].where(p["end_date"] < as_of, as_of)
    first, last = start.where(start <= last, last), start.where(start > last, last)
    lo, hi = year_groups(p["date_of_birth"], first), year_groups(p["date_of_birth"], last)
    recorded = p["year_group"]
    bad = ((recorded < lo) | (recorded > hi)).fillna(False)
    in_year = year_group_labels(lo) + " in " + academic_years(first)
    span = in_year.where(lo == hi, year_group_labels(lo) + " to " + year_group_labels(hi) + " over the placement")
    message = (
        "Year group " + year_group_labels(recorded) + " does not match the date of birth, which puts the pupil in "
        + span + " (age on 31 August minus 4). Pupils may be taught out of their year group: if so, no change is "
        "needed; otherwise correct the year group or the date of birth (DOMAIN.md section 6)."
    )
    return flag(p, bad, sheet=ctx.sheet(_TABLE), column=ctx.header(_TABLE, "year_group"), key="placement_id", value="year_group", message=message)


def _name_key(names: pd.Series) -> pd.Series:
    # 'O'Brien', 'o brien' and 'OBrien' are the same spelling for this purpose.
    return names.astype("string").str.casefold().str.replace(r"[^\w]|_", "", regex=True).mask(lambda s: s == "")


@rule(
    "PUP-005",
    "Same UPN with conflicting date of birth or name across rows",
    "error",
    "DfE UPN guidance (one UPN per pupil for their whole school career); seed 003_57d480e12197286d.txt §6.1d (a full record of placements); DOMAIN.md section 6",
)
def upn_conflicts(ctx: Context) -> pd.DataFrame:
    p = ctx.register.placements
    upn = p["upn"]
    has_upn = upn.notna()
    checks = [
        ("date_of_birth", p["date_of_birth"], "dates of birth", "date of birth"),
        ("surname", _name_key(p["surname"]), "surnames", "surname"),
        ("forename", _name_key(p["forename"]), "forenames", "forename"),
    ]
    parts = []
    rows = pd.Series(p.index.astype(str), index=p.index)
    for field, values, plural, single in checks:  # three columns, each checked for all rows at once
        known = has_upn & values.notna()
        if not known.any():
            continue
        grouped = values[known].groupby(upn[known])
        distinct = grouped.transform("nunique")
        conflict = pd.Series(False, index=p.index)
        conflict[known] = distinct > 1
        if not conflict.any():
            continue
        members = rows[conflict].groupby(upn[conflict]).agg(", ".join)
        where = upn[conflict].map(members)
        message = (
            "The same UPN is on rows " + where + " with " + distinct[conflict[known]].astype(str) + " different " + plural
            + ". A UPN belongs to one pupil: correct the UPN or the " + single + " so every row for this pupil agrees "
            "(DfE UPN guidance; DOMAIN.md section 6)."
        )
        parts.append(flag(p, conflict, sheet=ctx.sheet(_TABLE), column=ctx.header(_TABLE, field), key="placement_id", value=field, message=message))
    return pd.concat(parts, ignore_index=True) if parts else None
