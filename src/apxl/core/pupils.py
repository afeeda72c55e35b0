"""Pupil facts from the register's own data: UPN check letters, compulsory school age, year group and key stage.

Every fact has a scalar helper in plain Python (fast enough per cell for Excel functions such as
UPN_VALID, YEAR_GROUP, KEY_STAGE) and a vectorised version over pandas Series (for rules), e.g.
``year_group(dob, on)`` and ``year_groups(dobs, on)``; tests check the two always agree. Dates may be
dates, datetimes, Timestamps, Excel serials or dd/mm/yyyy text; missing or unreadable dates give None/NA.
Sources: DOMAIN.md section 6; DfE UPN guidance; Education Act 1996 s.8; Education (Start of
Compulsory School Age) Order 1998.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

# UPN checks live in their own module; they are part of this module's public API.
from apxl.core.upn import (  # noqa: F401
    CHECK_LETTERS,
    UPN_WEIGHTS,
    UpnCheck,
    UpnStatus,
    check_upn,
    check_upns,
    is_valid_upn,
    normalise_upn,
    normalise_upns,
    upn_check_letter,
    upn_check_letters,
    with_check_letter,
)

DateLike = date | datetime | pd.Timestamp | str | None


def _as_dates(values: Any, index: pd.Index | None = None) -> pd.Series:
    """A Series of datetime64 from dates, datetimes, Excel-style text (dd/mm/yyyy) or a scalar to broadcast."""
    if isinstance(values, pd.Series):
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            return values.dt.normalize()
        from apxl.core.parse import parse_date_value

        codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
        parsed = [parse_date_value(u) for u in uniques]
        table = pd.Series([p if isinstance(p, pd.Timestamp) else pd.NaT for p in parsed] + [pd.NaT], dtype="datetime64[ns]")
        return pd.Series(table.to_numpy()[np.where(codes >= 0, codes, len(uniques))], index=values.index)
    one = _to_date(values)
    idx = index if index is not None else pd.RangeIndex(1)
    return pd.Series(pd.Timestamp(one) if one is not None else pd.NaT, index=idx, dtype="datetime64[ns]")


def _to_date(value: Any) -> date | None:
    """One date from a date, datetime, Timestamp, Excel serial or dd/mm/yyyy text; None when blank or unreadable."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else pd.Timestamp(value).date()
    from apxl.core.parse import parse_date_value

    parsed = parse_date_value(value)
    return parsed.date() if isinstance(parsed, pd.Timestamp) else None


def _make_dates(year: pd.Series, month: Any, day: Any) -> pd.Series:
    parts = pd.DataFrame({"year": year, "month": month, "day": day}, index=year.index)
    return pd.to_datetime(parts, errors="coerce")


def school_year_starts(on: Any) -> pd.Series:
    """The calendar year each school year starts in (September): 2024 for any date from 1/9/2024 to 31/8/2025."""
    d = _as_dates(on)
    return (d.dt.year - (d.dt.month < 9).astype(int)).astype("Int64")


def academic_years(on: Any) -> pd.Series:
    """The school year of each date as '2024-25' (September to August), the labels the Calendar sheet uses."""
    start = school_year_starts(on)
    return (start.astype("string") + "-" + ((start + 1) % 100).astype("string").str.zfill(2)).astype("string")


def school_year_start(on: DateLike) -> int | None:
    """Scalar version of ``school_year_starts``: 01/03/2025 -> 2024."""
    d = _to_date(on)
    return None if d is None else d.year - (d.month < 9)


def academic_year(on: DateLike) -> str | None:
    """Scalar version of ``academic_years``: 01/03/2025 -> '2024-25'."""
    start = school_year_start(on)
    return None if start is None else f"{start}-{(start + 1) % 100:02d}"


def compulsory_school_age_starts(dobs: pd.Series) -> pd.Series:
    """First day of compulsory school age: the first 31 March, 31 August or 31 December on or after the 5th birthday."""
    dob = _as_dates(dobs)
    md = dob.dt.month * 100 + dob.dt.day  # 29 Feb births turn 5 on 28 Feb/1 Mar: both fall before 31 March
    month = np.select([md <= 331, md <= 831], [3, 8], 12)
    return _make_dates(dob.dt.year + 5, pd.Series(month, index=dob.index).where(dob.notna()), 31)


def compulsory_school_age_ends(dobs: pd.Series) -> pd.Series:
    """Last day of compulsory school age: the last Friday in June of the school year in which the pupil turns 16.

    The school year runs September to August, so a pupil born in September to December turns 16 in the
    school year ending the following summer (Education Act 1996 s.8(3)).
    """
    dob = _as_dates(dobs)
    leaving_year = dob.dt.year + 16 + (dob.dt.month >= 9).astype(int)
    june30 = _make_dates(leaving_year, 6, 30)
    back = (june30.dt.weekday - 4) % 7  # Friday is weekday 4
    return june30 - pd.to_timedelta(back, unit="D")


def of_compulsory_school_age(dobs: pd.Series, on: Any) -> pd.Series:
    """Whether each pupil is of compulsory school age on ``on`` (a date or a Series of dates); missing when unknown."""
    dob = _as_dates(dobs)
    when = _as_dates(on, dob.index)
    out = (when >= compulsory_school_age_starts(dob)) & (when <= compulsory_school_age_ends(dob))
    return out.astype("boolean").mask(dob.isna() | when.isna())


def compulsory_school_age_start(dob: DateLike) -> date | None:
    """Scalar version of ``compulsory_school_age_starts``: e.g. born 15/06/2019 -> 31/08/2024."""
    d = _to_date(dob)
    if d is None or d.year > 9990:
        return None
    md = (d.month, d.day)
    return date(d.year + 5, 3 if md <= (3, 31) else 8 if md <= (8, 31) else 12, 31)


def compulsory_school_age_end(dob: DateLike) -> date | None:
    """Scalar version of ``compulsory_school_age_ends``: e.g. born 15/06/2009 -> 27/06/2025."""
    d = _to_date(dob)
    if d is None or d.year > 9980:
        return None
    june30 = date(d.year + 16 + (d.month >= 9), 6, 30)
    return june30 - timedelta(days=(june30.weekday() - 4) % 7)


def is_of_compulsory_school_age(dob: DateLike, on: DateLike) -> bool | None:
    """Scalar version of ``of_compulsory_school_age``; None if either date is missing."""
    start, end, when = compulsory_school_age_start(dob), compulsory_school_age_end(dob), _to_date(on)
    return None if start is None or end is None or when is None else start <= when <= end


def ages_on(dobs: pd.Series, on: Any) -> pd.Series:
    """Age in whole years on ``on`` (a date or a Series of dates)."""
    dob = _as_dates(dobs)
    when = _as_dates(on, dob.index)
    before_birthday = (when.dt.month * 100 + when.dt.day) < (dob.dt.month * 100 + dob.dt.day)
    return (when.dt.year - dob.dt.year - before_birthday.astype(int)).astype("Int64")


def year_groups(dobs: pd.Series, on: Any) -> pd.Series:
    """National curriculum year group at ``on``: age on 31 August at the start of that school year minus 4.

    Reception = 0, Nursery = -1, Year 7 = 7. ``on`` is a date or a Series of dates aligned to ``dobs``.
    """
    dob = _as_dates(dobs)
    start = school_year_starts(_as_dates(on, dob.index))
    age_31_aug = start - dob.dt.year - (dob.dt.month >= 9).astype(int)  # born Sep-Dec: birthday after 31 Aug
    return (age_31_aug - 4).astype("Int64")


def age_on(dob: DateLike, on: DateLike) -> int | None:
    """Scalar version of ``ages_on``."""
    born, when = _to_date(dob), _to_date(on)
    if born is None or when is None:
        return None
    return when.year - born.year - ((when.month, when.day) < (born.month, born.day))


def year_group(dob: DateLike, on: DateLike) -> int | None:
    """Scalar version of ``year_groups``: e.g. born 01/09/2012, on 01/10/2024 -> 7 (Year 7)."""
    born, start = _to_date(dob), school_year_start(on)
    return None if born is None or start is None else start - born.year - (born.month >= 9) - 4


_STAGE_BOUNDS = [(0, "EYFS"), (2, "KS1"), (6, "KS2"), (9, "KS3"), (11, "KS4"), (13, "KS5")]


def key_stages(years: pd.Series) -> pd.Series:
    """Key stage of each year group: EYFS (Nursery, Reception), KS1 Y1-2, KS2 Y3-6, KS3 Y7-9, KS4 Y10-11, KS5 Y12-13."""
    yg = pd.to_numeric(pd.Series(years), errors="coerce")
    conds = [(yg >= -1) & (yg <= 0)] + [(yg > lo) & (yg <= hi) for (lo, _), (hi, _) in zip(_STAGE_BOUNDS, _STAGE_BOUNDS[1:])]
    labels = [name for _, name in _STAGE_BOUNDS]
    picked = np.select([c.fillna(False).to_numpy(dtype=bool) for c in conds], labels, default="")
    return pd.Series(picked, index=yg.index, dtype="string").mask(lambda s: s == "")


def key_stage(year: int | None) -> str | None:
    """Scalar version of ``key_stages``: key_stage(8) == 'KS3'; None outside Nursery..Year 13."""
    try:
        yg = float(year)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if yg != yg or not -1 <= yg <= _STAGE_BOUNDS[-1][0]:
        return None
    return next(name for bound, name in _STAGE_BOUNDS if yg <= bound)


def key_stages_at(dobs: pd.Series, on: Any) -> pd.Series:
    """Key stage each pupil would be in at ``on``, from date of birth (their chronological year group)."""
    return key_stages(year_groups(dobs, on))


def key_stage_at(dob: DateLike, on: DateLike) -> str | None:
    """Scalar version of ``key_stages_at``: born 01/09/2012, on 01/10/2024 -> 'KS3'."""
    return key_stage(year_group(dob, on))


def year_group_label(year: int | None) -> str | None:
    """How schools say a year group: -1 'Nursery', 0 'Reception', 7 'Year 7'."""
    if year is None or pd.isna(year):
        return None
    year = int(year)
    return {-1: "Nursery", 0: "Reception"}.get(year, f"Year {year}")


def year_group_labels(years: pd.Series) -> pd.Series:
    """Vectorised ``year_group_label``."""
    yg = pd.Series(years).astype("Int64")
    text = ("Year " + yg.astype("string")).mask((yg == 0).fillna(False), "Reception").mask((yg == -1).fillna(False), "Nursery")
    return text.astype("string")
