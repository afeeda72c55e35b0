"""Small vectorised facts the S19, PRV and CON rules share: key stages, active placements, date text."""
from __future__ import annotations

import pandas as pd

from apxl.core.rules._text import dmy  # noqa: F401  (re-exported for the rule modules)

from apxl.core.pupils import key_stages, year_groups


def placement_key_stage(placements: pd.DataFrame, when: pd.Series | None = None) -> pd.Series:
    """Each placement's key stage (object dtype, None where unknown): the recorded year group (a pupil may
    be taught out of year, so that wins), else the year group from the date of birth on ``when`` (default:
    the placement's start date). Year groups and key stages as ``apxl.core.pupils`` defines them."""
    when = placements["start_date"] if when is None else when
    year = placements["year_group"].astype("Int64")
    derived = year_groups(placements["date_of_birth"], when)
    stage = key_stages(year.fillna(derived)).astype("object")
    return stage.where(stage.notna(), None)


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




def fmt_hours(values: pd.Series | float) -> pd.Series | str:
    """Hours as a finance officer writes them: 10, 23.5."""
    if isinstance(values, pd.Series):
        return values.map(lambda v: "" if pd.isna(v) else f"{float(v):g}")
    return f"{float(values):g}"


__all__ = ["active_at", "blank", "dmy", "fmt_hours", "is_true", "placement_key_stage"]
