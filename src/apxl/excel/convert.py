"""Turning what Excel passes to a custom function (serial dates, blank cells, ranges) into core inputs, and failures into cell text."""
from __future__ import annotations

import functools
from datetime import date, datetime
from typing import Any, Callable

import pandas as pd

from apxl.errors import ApxlError

NO_CALENDAR = "weekdays less England bank holidays: no Calendar given"


class CellError(Exception):
    """A problem with what the user passed; its text goes into the cell as it is."""


def scalar(value: Any) -> Any:
    """One value from a cell or a 1x1 range; blank cells and empty text become None."""
    while isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise CellError("give one cell here, not a range")
        value = value[0]
    if isinstance(value, str) and not value.strip():
        return None
    try:
        if value is not None and not isinstance(value, (str, bool)) and pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def grid(value: Any) -> list[list[Any]]:
    """A range as a list of rows (a single cell becomes a 1x1 grid)."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        return [[value]]
    if value and not isinstance(value[0], (list, tuple)):
        return [list(value)]
    return [list(r) for r in value]


def cells(value: Any) -> list[Any]:
    """Every cell of a range, row by row, blanks included (as None)."""
    return [scalar(c) for row in grid(value) for c in row]


def to_date(value: Any, what: str, *, required: bool = True) -> pd.Timestamp | None:
    """A date from an Excel serial number, a real date or dd/mm/yyyy text."""
    from apxl.core.parse import parse_date_value

    value = scalar(value)
    if value is None:
        if required:
            raise CellError(f"{what} is blank: give a date")
        return None
    parsed = parse_date_value(value)
    if not isinstance(parsed, pd.Timestamp):
        raise CellError(f"{what} '{value}' is not a date: give a date or dd/mm/yyyy")
    return parsed


def to_number(value: Any, what: str, *, required: bool = True) -> float | None:
    value = scalar(value)
    if value is None:
        if required:
            raise CellError(f"{what} is blank: give a number")
        return None
    if isinstance(value, bool):
        raise CellError(f"{what} should be a number, not TRUE/FALSE")
    try:
        return float(str(value).replace(",", "").replace("£", "").strip()) if isinstance(value, str) else float(value)
    except ValueError:
        raise CellError(f"{what} '{value}' is not a number") from None


def to_text(value: Any) -> str | None:
    value = scalar(value)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def to_flag(value: Any, what: str) -> bool:
    """TRUE/FALSE or Y/N (blank is FALSE)."""
    value = scalar(value)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    text = to_text(value).lower()
    if text in {"y", "yes", "true", "1"}:
        return True
    if text in {"n", "no", "false", "0"}:
        return False
    raise CellError(f"{what} '{value}' should be TRUE/FALSE or Y/N")


def today() -> pd.Timestamp:
    """The date on this computer: the default 'as at' date of functions whose date is optional."""
    return pd.Timestamp(date.today())


def records(table: Any) -> list[dict[str, Any]]:
    """A range whose first row holds headers, as one dict per non-blank row."""
    rows = grid(table)
    if not rows:
        return []
    headers = [to_text(h) for h in rows[0]]
    out = []
    for row in rows[1:]:
        values = [scalar(c) for c in row]
        if all(v is None for v in values):
            continue
        out.append({h: v for h, v in zip(headers, values) if h})
    return out


def calendar_from_range(table: Any):
    """A SchoolCalendar from the Calendar sheet's terms range (a Closures table below it is read too).

    Returns (calendar, note): the note says so when no range was given and only weekdays less
    England bank holidays count as school days.
    """
    from apxl.core.calendar import SchoolCalendar
    from apxl.core.parse import register_from_records
    from apxl.core.tables import Closures, header_lookup, norm_header

    rows = grid(table)
    if not rows or all(scalar(c) is None for r in rows for c in r):
        return SchoolCalendar(), NO_CALENDAR
    closure_headers = header_lookup(Closures)
    split = len(rows)
    for i, row in enumerate(rows[1:], start=1):
        texts = [norm_header(c) for c in row if isinstance(c, str) and c.strip()]
        if texts and all(t in closure_headers for t in texts) and "date" in {closure_headers[t] for t in texts}:
            split = i
            break
    end = split
    for i, row in enumerate(rows[1:split], start=1):
        if all(scalar(c) is None for c in row):  # a blank row ends the terms (a caption may follow)
            end = i
            break
    terms, closures = records(rows[:end]), records(rows[split:])
    register = register_from_records(terms=terms, closures=closures)
    problems = register.findings
    if len(problems):
        first = problems.iloc[0]
        raise CellError(f"the Calendar range has a problem on its row {int(first['row']) - 1 if pd.notna(first['row']) else 1}: {first['message']}")
    if register.terms.empty:
        raise CellError("the Calendar range has no terms: select the Calendar table including its header row")
    return SchoolCalendar.from_register(register), ""


def message(exc: BaseException, name: str) -> str:
    """The one-line text a cell shows when a function cannot give an answer."""
    if isinstance(exc, (CellError, ApxlError)):
        return f"{name}: {str(exc).rstrip('.')}"
    return f"{name} could not work this out ({type(exc).__name__}): check the arguments"


def friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Any failure becomes a short sentence in the cell, never a Python traceback."""
    name = f"APXL.{func.__name__}"

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the cell must show a message whatever happened
            return message(exc, name)

    return wrapper


def as_datetime(ts: pd.Timestamp | None) -> datetime | None:
    return None if ts is None or pd.isna(ts) else ts.to_pydatetime()
