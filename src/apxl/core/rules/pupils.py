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
from apxl.core.rules._text import dmy, placement_cell

_UPN = "DfE guidance on unique pupil numbers"
_UPN_SRC = "DfE Unique Pupil Numbers (UPN) guidance: format and check letter; DOMAIN.md section 6"
_TABLE = "placements"
_MAX_ROWS_LISTED = 6  # a placeholder UPN shared by hundreds of rows should not make a huge message





def _upn_facts(ctx: Context) -> pd.DataFrame:
    # PUP-001 and PUP-002 read the same UPN check; do it once per run.
    if "pupils.upn" not in ctx.cache:
        ctx.cache["pupils.upn"] = check_upns(ctx.register.placements["upn"])
    return ctx.cache["pupils.upn"]


@rule("PUP-001", "UPN malformed or wrong check letter", "error", _UPN_SRC)
def upn_invalid(ctx: Context) -> pd.DataFrame:
    p = ctx.register.placements
    facts = _upn_facts(ctx)
    hit = facts[facts["status"].isin([UpnStatus.MALFORMED.value, UpnStatus.WRONG_CHECK_LETTER.value])]
    fix = pd.Series(
        " A UPN is a check letter then the LA number (3 digits), establishment number (4), year (2) and serial (3).",
        index=hit.index,
    ).where(
        hit["status"] != UpnStatus.WRONG_CHECK_LETTER.value,
        " Check the UPN against the school's records: a mistyped digit or letter gives the wrong check letter.",
    )
    message = "UPN " + hit["problem"].astype(str) + "." + fix + " (" + _UPN + ")."
    bad = p.index.isin(hit.index)
    return placement_cell(ctx, bad, "upn", message)


@rule("PUP-002", "Temporary UPN", "warning", _UPN_SRC)
def upn_temporary(ctx: Context) -> pd.DataFrame:
    facts = _upn_facts(ctx)
    message = (
        "UPN ends in a letter, so it is a temporary UPN. Replace it with the pupil's permanent UPN from the home "
        "school or the LA once it is known, so attendance and census records match (" + _UPN + ")."
    )
    return placement_cell(ctx, facts["temporary"], "upn", message)


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
    hit = young | old
    span = "; for this date of birth it runs from " + dmy(csa_from[hit]) + " to " + dmy(csa_to[hit])
    why = pd.Series("before compulsory school age starts", index=p.index[hit]).where(~old[hit], "after compulsory school age ended")
    message = (
        "The placement starts on " + dmy(start[hit]) + ", " + why + span + " (first 31 Dec, 31 Mar or 31 Aug after the 5th "
        "birthday, to the last Friday in June of the school year the pupil turns 16). Check the date of birth and the start "
        "date; if both are right, the placement is outside compulsory school age, where the LA's Section 19 duty does not "
        "apply (Education Act 1996 s.8)."
    )
    return placement_cell(ctx, hit, "date_of_birth", message)


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
    bad = ((recorded < lo) | (recorded > hi)).fillna(False).astype(bool)
    lo, hi = lo[bad], hi[bad]
    in_year = year_group_labels(lo) + " in " + academic_years(first[bad])
    span = in_year.where(lo == hi, year_group_labels(lo) + " to " + year_group_labels(hi) + " over the placement")
    message = (
        "Year group " + year_group_labels(recorded[bad]) + " does not match the date of birth, which puts the pupil in "
        + span + " (age on 31 August minus 4). Pupils may be taught out of their year group: if so, no change is "
        "needed; otherwise correct the year group or the date of birth (DfE: national curriculum year groups by age)."
    )
    return placement_cell(ctx, bad, "year_group", message)


def _name_key(names: pd.Series) -> pd.Series:
    # 'O'Brien', 'o brien' and 'OBrien' are the same spelling for this purpose.
    return names.astype("string").str.casefold().str.replace(r"[^\w]|_", "", regex=True).mask(lambda s: s == "")


def _row_lists(groups: pd.Series) -> pd.Series:
    """Per group, its Excel rows as '2, 5, 9' (the first few, then 'and N more'), without a loop per group."""
    frame = pd.DataFrame({"group": groups.to_numpy(), "row": groups.index.astype(str),
                          "pos": groups.groupby(groups).cumcount().to_numpy()})
    grid = frame[frame["pos"] < _MAX_ROWS_LISTED].pivot(index="group", columns="pos", values="row")
    text = grid[0].astype("string")
    for pos in grid.columns[1:]:
        text = text + (", " + grid[pos].astype("string")).fillna("")
    more = groups.groupby(groups).size().reindex(text.index) - _MAX_ROWS_LISTED
    return text.where(more <= 0, text + " and " + more.astype("string") + " more")


@rule(
    "PUP-005",
    "Same UPN with conflicting date of birth or name across rows",
    "error",
    "DfE UPN guidance (one UPN per pupil for their whole school career); Hillingdon AP guidance 2024/25 s6.1d, a full record of placements (seed 003_57d480e12197286d.txt); DOMAIN.md section 6",
)
def upn_conflicts(ctx: Context) -> pd.DataFrame | None:
    p = ctx.register.placements
    upn = p["upn"]
    checks = [
        ("date_of_birth", p["date_of_birth"], "dates of birth", "date of birth"),
        ("surname", _name_key(p["surname"]), "surnames", "surname"),
        ("forename", _name_key(p["forename"]), "forenames", "forename"),
    ]
    parts = []
    for field, values, plural, single in checks:  # three columns, each checked for all rows at once
        known = pd.DataFrame({"upn": upn, "value": values})[upn.notna() & values.notna()]
        distinct = known.drop_duplicates().groupby("upn").size()
        clash = known[known["upn"].map(distinct) > 1]
        if clash.empty:
            continue
        listed = _row_lists(clash["upn"])
        message = (
            "The same UPN is on rows " + clash["upn"].map(listed) + " with " + clash["upn"].map(distinct).astype(str)
            + " different " + plural + ". A UPN belongs to one pupil: correct the UPN or the " + single + " so every "
            "row for this pupil agrees (" + _UPN + ": a UPN stays with one pupil throughout their school career)."
        )
        hit = p.index.isin(clash.index)
        parts.append(placement_cell(ctx, hit, field, message))
    return pd.concat(parts, ignore_index=True) if parts else None
