"""Writing values from untrusted returns into cells: text never becomes a formula, dates stay dates."""
from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.cell.cell import Cell

# Text that a spreadsheet would run as a formula (or a DDE command) if it were typed into a cell:
# OWASP "CSV injection" list. Such text is stored as a string cell with Excel's quote prefix, so it
# shows exactly as the school wrote it and stays text even if someone edits the cell.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # characters XML 1.0 cannot hold
DATE_FORMAT = "dd/mm/yyyy"


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_TRIGGERS)


def clean_text(text: str) -> str:
    """Drop characters a workbook cannot store; keep everything else exactly."""
    return _ILLEGAL.sub("", text)


def plain(value: Any) -> Any:
    """A frame value as a plain Python cell value (None for any kind of missing)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        value = value.item()
        if isinstance(value, float) and math.isnan(value):
            return None
    return value


def write(cell: Cell, value: Any, *, yn: bool = False, date_format: str = DATE_FORMAT) -> Cell:
    """Put ``value`` into ``cell`` safely. Booleans become Y/N text when ``yn`` (the register's convention)."""
    value = plain(value)
    if value is None:
        cell.value = None
        return cell
    if isinstance(value, bool):
        if yn:
            value = "Y" if value else "N"
        else:
            cell.value = value
            return cell
    if isinstance(value, (datetime, date)):
        cell.value = value
        cell.number_format = date_format
        return cell
    if isinstance(value, (int, float)):
        cell.value = value
        return cell
    text = clean_text(str(value))
    cell.value = text
    # openpyxl reads a leading '=' as a formula and '#REF!' as an error: force a string cell.
    cell.data_type = "s"
    if is_formula_like(text):
        cell.quotePrefix = True
    return cell
