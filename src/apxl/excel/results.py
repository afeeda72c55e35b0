"""Values a custom function returns with a note: Excel shows '152 school days (no Calendar given)' yet keeps the number."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import xlwings as xw

_EPOCH = datetime(1899, 12, 30)


def _quoted(note: str) -> str:
    # Literal text in an Excel number format sits in double quotes; a quote inside is doubled.
    return '"' + note.replace('"', "'") + '"' if note else ""


class Noted(float):
    """A number plus a note and an Excel number format; arithmetic treats it as the plain number."""

    note: str
    number_format: str

    def __new__(cls, value: float, note: str = "", number_format: str = "0") -> "Noted":
        obj = super().__new__(cls, value)
        obj.note = note
        obj.number_format = number_format
        return obj

    def excel_format(self) -> str:
        return f"{self.number_format} {_quoted(self.note)}".strip() if self.note else self.number_format

    def plain(self) -> float:
        number = float(self)
        return int(number) if number.is_integer() and self.number_format == "0" else number


class NotedDate(date):
    """A date plus a note (e.g. that no term dates were given), shown as dd/mm/yyyy "(note)"."""

    note: str

    def __new__(cls, value: date, note: str = "") -> "NotedDate":
        obj = super().__new__(cls, value.year, value.month, value.day)
        obj.note = note
        return obj

    def excel_format(self) -> str:
        return f"dd/mm/yyyy {_quoted(self.note)}".strip()

    def serial(self) -> int:
        return (datetime(self.year, self.month, self.day) - _EPOCH).days

    def plain(self) -> datetime:
        return datetime(self.year, self.month, self.day)


def _formatted_numbers(options: dict[str, Any]) -> bool:
    """Office.js from custom-functions runtime 1.4 shows a value with its own number format."""
    try:
        return float(options.get("runtime") or 0) >= 1.4
    except (TypeError, ValueError):
        return False


class NotedConverter(xw.conversion.Converter):
    """Writes Noted values: a FormattedNumber for Office.js (xlwings Server, Lite), the bare value for desktop Excel."""

    @staticmethod
    def write_value(value: Any, options: dict[str, Any]) -> Any:
        if not isinstance(value, (Noted, NotedDate)):
            return value
        if _formatted_numbers(options):
            basic = value.serial() if isinstance(value, NotedDate) else float(value)
            return {"type": "FormattedNumber", "basicValue": basic, "numberFormat": value.excel_format()}
        return value.plain()

    @staticmethod
    def read_value(value: Any, options: dict[str, Any]) -> Any:
        return value


NotedConverter.register(Noted, NotedDate)
