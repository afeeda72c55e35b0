"""Pupil facts from the register's own data: UPN check letters, compulsory school age, year group and key stage.

Every fact has a scalar helper (for Excel functions such as UPN_VALID, YEAR_GROUP, KEY_STAGE) and a
vectorised version over pandas Series (for rules). Both give the same answers: the scalar helpers
call the vectorised code on one value. Sources: DOMAIN.md section 6; DfE UPN guidance; Education
Act 1996 s.8; Education (Start of Compulsory School Age) Order 1998.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

# DfE check-letter table: remainders 0..22 map to these letters (I, O and S are never used because
# they look like 1, 0 and 5). A temporary UPN's trailing letter counts as its position in this table.
CHECK_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
UPN_WEIGHTS = np.arange(2, 14)  # weights for characters 2..13

_SHAPE = rf"[A-Z][0-9]{{11}}[0-9{CHECK_LETTERS}]"
_VALUES = np.full(256, -1, dtype=np.int64)  # ASCII code -> value of that character in the sum
_VALUES[np.frombuffer(b"0123456789", dtype=np.uint8)] = np.arange(10)
_VALUES[np.frombuffer(CHECK_LETTERS.encode(), dtype=np.uint8)] = np.arange(23)
_LETTER_ARRAY = np.array(list(CHECK_LETTERS), dtype=object)


class UpnStatus(StrEnum):
    """What a UPN check found. ``VALID`` and ``TEMPORARY`` both have a correct check letter."""

    VALID = "valid"
    TEMPORARY = "temporary"
    MALFORMED = "malformed"
    WRONG_CHECK_LETTER = "wrong check letter"
    BLANK = "blank"


@dataclass(frozen=True)
class UpnCheck:
    """The result of checking one UPN.

    ``expected_letter`` is the check letter the other twelve characters call for (None when the UPN
    is malformed); ``problem`` explains a malformed, wrong or temporary UPN in plain words.
    """

    upn: str | None
    status: UpnStatus
    temporary: bool
    expected_letter: str | None
    problem: str

    @property
    def ok(self) -> bool:
        """True when the check letter is right (a temporary UPN is ok but should be replaced)."""
        return self.status in (UpnStatus.VALID, UpnStatus.TEMPORARY)


# ---------------------------------------------------------------------------------------------
# UPN
# ---------------------------------------------------------------------------------------------

def normalise_upns(upns: pd.Series) -> pd.Series:
    """UPNs as the DfE writes them: upper case, no spaces. Blank cells become missing."""
    text = pd.Series(upns, dtype="object").astype("string").str.replace(r"\s+", "", regex=True).str.upper()
    return text.mask(text == "")


def _letters_for(shaped: pd.Series) -> np.ndarray:
    """Check letters for UPNs already known to have the right shape (13 ASCII characters)."""
    if not len(shaped):
        return np.array([], dtype=object)
    codes = shaped.to_numpy(dtype=object).astype("S13").view(np.uint8).reshape(-1, 13)
    total = (_VALUES[codes[:, 1:]] * UPN_WEIGHTS).sum(axis=1) % 23
    return _LETTER_ARRAY[total]


def upn_check_letters(upns: pd.Series) -> pd.Series:
    """The correct check letter for each UPN (from characters 2-13), or missing if the UPN is malformed.

    Characters 2..13 are multiplied by weights 2..13 (a trailing letter counts as its value in the
    check-letter table, A=0 .. Z=22), summed, taken mod 23 and mapped to ABCDEFGHJKLMNPQRTUVWXYZ.
    """
    text = normalise_upns(upns)
    shaped = text.str.fullmatch(_SHAPE).fillna(False).astype(bool)
    out = pd.Series(pd.NA, index=text.index, dtype="string")
    out[shaped] = _letters_for(text[shaped])
    return out


def check_upns(upns: pd.Series) -> pd.DataFrame:
    """Check a column of UPNs at once. Returns a frame aligned to ``upns`` with columns:

    ``upn`` (normalised), ``status`` (a UpnStatus value), ``temporary`` (bool: well formed and ending in
    a letter), ``expected_letter`` (the right check letter, where the shape allows one) and ``problem``
    (plain-words explanation, empty when valid).
    """
    text = normalise_upns(upns)
    blank = text.isna()
    length = text.str.len().fillna(0).astype("int64")
    shaped = text.str.fullmatch(_SHAPE).fillna(False).astype(bool)
    expected = pd.Series(pd.NA, index=text.index, dtype="string")
    expected[shaped] = _letters_for(text[shaped])
    first = text.str[0]
    temporary = shaped & text.str[-1].str.isalpha().fillna(False).astype(bool)
    wrong = shaped & (first != expected).fillna(False).astype(bool)

    starts_ok = text.str.match(r"[A-Z]").fillna(False).astype(bool)
    middle_ok = text.str.slice(1, 12).str.fullmatch(r"[0-9]{11}").fillna(False).astype(bool)
    why_malformed = np.select(
        [length != 13, ~starts_ok, ~middle_ok],
        [
            "has " + length.astype(str) + " characters; a UPN has 13 (a check letter and 12 more)",
            pd.Series("does not start with a letter (the check letter)", index=text.index),
            pd.Series("has something other than a digit in characters 2 to 12", index=text.index),
        ],
        default="ends in something other than a digit or a letter (temporary UPNs end in a letter other than I, O or S)",
    )
    problem = pd.Series("", index=text.index, dtype="object")
    problem[~shaped] = pd.Series(why_malformed, index=text.index)[~shaped]
    problem[wrong] = ("check letter is " + first[wrong] + ", but characters 2 to 13 call for " + expected[wrong]).astype(object)
    is_temp_ok = temporary & ~wrong
    problem[is_temp_ok] = "ends in a letter: a temporary UPN"
    problem[blank] = "blank"

    status = np.select(
        [blank, ~shaped, wrong, temporary],
        [UpnStatus.BLANK.value, UpnStatus.MALFORMED.value, UpnStatus.WRONG_CHECK_LETTER.value, UpnStatus.TEMPORARY.value],
        default=UpnStatus.VALID.value,
    )
    return pd.DataFrame(
        {"upn": text, "status": pd.Series(status, index=text.index, dtype="object"), "temporary": temporary,
         "expected_letter": expected, "problem": problem},
        index=text.index,
    )


def check_upn(upn: Any) -> UpnCheck:
    """Check one UPN, e.g. ``check_upn("B801200005001").status == UpnStatus.VALID``."""
    row = check_upns(pd.Series([upn], dtype="object")).iloc[0]
    letter = row["expected_letter"]
    return UpnCheck(
        upn=None if pd.isna(row["upn"]) else str(row["upn"]),
        status=UpnStatus(row["status"]),
        temporary=bool(row["temporary"]),
        expected_letter=None if pd.isna(letter) else str(letter),
        problem=str(row["problem"]),
    )


def is_valid_upn(upn: Any, *, allow_temporary: bool = True) -> bool:
    """True when ``upn`` is a well-formed UPN with the right check letter (temporary ones only if allowed)."""
    status = check_upn(upn).status
    return status == UpnStatus.VALID or (allow_temporary and status == UpnStatus.TEMPORARY)


def upn_check_letter(upn: str) -> str | None:
    """The check letter for one UPN: give all 13 characters, or the 12 after the check letter."""
    text = str(upn or "").strip().upper()
    if len(text) == 12:
        text = "A" + text
    return _scalar(upn_check_letters(pd.Series([text], dtype="object")))


def with_check_letter(body: str) -> str:
    """A full UPN from its 12 characters after the check letter (LA, establishment, year, serial).

    ``with_check_letter("801200005001") == "B801200005001"``. Raises ValueError for a malformed body.
    """
    letter = upn_check_letter(body)
    if letter is None:
        raise ValueError("A UPN body is 11 digits followed by a digit or a check-table letter.")
    return letter + str(body).strip().upper()


# ---------------------------------------------------------------------------------------------
# Dates: compulsory school age, school year, year group, key stage
# ---------------------------------------------------------------------------------------------

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
    one = _scalar_date(values)
    idx = index if index is not None else pd.RangeIndex(1)
    return pd.Series(one if one is not None else pd.NaT, index=idx, dtype="datetime64[ns]")


def _scalar_date(value: Any) -> pd.Timestamp | None:
    if value is None:
        return None
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return None if pd.isna(value) else pd.Timestamp(value).normalize()
    from apxl.core.parse import parse_date_value

    parsed = parse_date_value(value)
    return parsed if isinstance(parsed, pd.Timestamp) else None


def _scalar(series: pd.Series) -> Any:
    value = series.iloc[0]
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, (np.integer,)):
        return int(value)
    return value.item() if hasattr(value, "item") else value


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


def academic_year(on: DateLike) -> str | None:
    """Scalar version of ``academic_years``: 01/03/2025 -> '2024-25'."""
    return _scalar(academic_years(on))


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
    return _scalar(compulsory_school_age_starts(_as_dates(dob)))


def compulsory_school_age_end(dob: DateLike) -> date | None:
    """Scalar version of ``compulsory_school_age_ends``: e.g. born 15/06/2009 -> 27/06/2025."""
    return _scalar(compulsory_school_age_ends(_as_dates(dob)))


def is_of_compulsory_school_age(dob: DateLike, on: DateLike) -> bool | None:
    """Scalar version of ``of_compulsory_school_age``; None if either date is missing."""
    return _scalar(of_compulsory_school_age(_as_dates(dob), on))


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


def year_group(dob: DateLike, on: DateLike) -> int | None:
    """Scalar version of ``year_groups``: e.g. born 01/09/2012, on 01/10/2024 -> 7 (Year 7)."""
    return _scalar(year_groups(_as_dates(dob), on))


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
    return _scalar(key_stages(pd.Series([year], dtype="object")))


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
