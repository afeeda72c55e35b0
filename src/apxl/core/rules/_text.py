"""Helpers the rule modules share for building findings: dates in messages, and findings on one Placements column."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from apxl.core.findings import flag

if TYPE_CHECKING:
    from apxl.core.check import Context


def dmy(dates: pd.Series) -> pd.Series:
    """Dates as dd/mm/yyyy text ('' where missing), formatting each distinct date once (registers repeat dates a lot)."""
    dates = pd.to_datetime(pd.Series(dates))
    codes, uniques = pd.factorize(dates)
    text = np.array(list(pd.DatetimeIndex(uniques).strftime("%d/%m/%Y")) + [""], dtype=object)
    return pd.Series(text[codes], index=dates.index, dtype=object)


def placement_cell(ctx: "Context", mask, field: str, message, value=None) -> pd.DataFrame:
    """Findings on one Placements column, keyed by Placement ID (a narrow frame keeps ``flag`` quick)."""
    p = ctx.register.placements
    return flag(p[["placement_id", field]], mask, sheet=ctx.sheet("placements"), column=ctx.header("placements", field),
                key="placement_id", value=field if value is None else value, message=message)
