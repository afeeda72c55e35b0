"""Small vectorised facts the S19, PRV and CON rules share: key stages, active placements, date text."""
from __future__ import annotations

import pandas as pd

# Year group -> key stage (DOMAIN.md section 6): KS1 = Y1-2, KS2 = Y3-6, KS3 = Y7-9, KS4 = Y10-11.
_STAGE_BY_YEAR = {-1: "EYFS", 0: "EYFS", 1: "KS1", 2: "KS1", 3: "KS2", 4: "KS2", 5: "KS2", 6: "KS2",
                  7: "KS3", 8: "KS3", 9: "KS3", 10: "KS4", 11: "KS4", 12: "KS5", 13: "KS5", 14: "KS5"}


def year_group_at(dob: pd.Series, when: pd.Series) -> pd.Series:
    """National curriculum year group on ``when``: age on 31 August at the start of that school year, minus 4.

    (DOMAIN.md section 6.) Kept here until ``apxl.core.pupils`` offers the same calculation.
    """
    dob = pd.to_datetime(dob)
    when = pd.to_datetime(when)
    # The school year containing ``when`` starts in September of this calendar year.
    sy = when.dt.year - (when.dt.month < 9).astype("Int64")
    late_birthday = (dob.dt.month > 8).astype("Int64")  # born Sep-Dec: not yet had a birthday by 31 August
    age_31_aug = sy - dob.dt.year.astype("Int64") - late_birthday
    return (age_31_aug - 4).astype("Int64")


def key_stage_of_year(year: pd.Series) -> pd.Series:
    """Key stage text for a year group (NA where unknown)."""
    return pd.Series(year, dtype="Int64").map(_STAGE_BY_YEAR, na_action="ignore").astype("object").where(lambda s: s.notna(), None)


def placement_key_stage(placements: pd.DataFrame, when: pd.Series | None = None) -> pd.Series:
    """Each placement's key stage: the recorded year group (a pupil may be taught out of year, so that wins),
    else the year group from the date of birth on ``when`` (default: the placement's start date)."""
    when = placements["start_date"] if when is None else when
    year = placements["year_group"].astype("Int64")
    derived = year_group_at(placements["date_of_birth"], when)
    return key_stage_of_year(year.fillna(derived))


def active_at(placements: pd.DataFrame, day: pd.Timestamp) -> pd.Series:
    """Placements running on ``day``: started on or before it and not ended before it (an open placement runs)."""
    started = placements["start_date"] <= day
    not_ended = placements["end_date"].isna() | (placements["end_date"] >= day)
    return (started & not_ended).fillna(False).astype(bool)


def is_true(series: pd.Series) -> pd.Series:
    """A Y/N column as plain bools: only an explicit Yes counts."""
    return series.astype("boolean").fillna(False).astype(bool)


def blank(series: pd.Series) -> pd.Series:
    """True where a text cell is empty."""
    return series.isna() | series.astype("object").map(lambda v: isinstance(v, str) and not v.strip())


def dmy(values: pd.Series) -> pd.Series:
    """Dates as dd/mm/yyyy text for messages ('' where missing)."""
    return pd.to_datetime(values).dt.strftime("%d/%m/%Y").fillna("")


def fmt_hours(values: pd.Series | float) -> pd.Series | str:
    """Hours as a finance officer writes them: 10, 23.5."""
    if isinstance(values, pd.Series):
        return values.map(lambda v: "" if pd.isna(v) else f"{float(v):g}")
    return f"{float(values):g}"


__all__ = ["active_at", "blank", "dmy", "fmt_hours", "is_true", "key_stage_of_year", "placement_key_stage", "year_group_at"]
