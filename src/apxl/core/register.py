"""The register as read from a workbook: raw sheets in, typed tables (indexed by Excel row) out."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

import pandas as pd

from apxl.core.findings import empty_findings
from apxl.core.tables import SHEETS, empty_frame, headers


@dataclass
class RawTable:
    """One table as found in the workbook: header texts and untyped cell values.

    ``frame`` has one column per header position (named by the header text as written)
    and is indexed by Excel row number; ``letters`` gives each position's column letter.
    """

    sheet: str
    header_row: int
    headers: list[str]
    letters: list[str]
    frame: pd.DataFrame


@dataclass
class Table:
    """A parsed sheet: canonical columns at their types, indexed by Excel row."""

    name: str
    sheet: str
    frame: pd.DataFrame
    headers: dict[str, str]
    letters: dict[str, str] = field(default_factory=dict)
    header_row: int | None = None
    present: bool = True

    @classmethod
    def missing(cls, name: str) -> "Table":
        spec = SHEETS[name]
        return cls(name=name, sheet=spec.sheet, frame=empty_frame(spec.model), headers=headers(spec.model), present=False)


@dataclass
class Register:
    """Every sheet of a register, typed, plus the STR findings raised while reading it."""

    tables: dict[str, Table]
    findings: pd.DataFrame = field(default_factory=empty_findings)
    source: str | None = None
    # Tables still to be read: name -> a function giving the table and its STR findings (see ``defer``).
    pending: dict[str, Callable[[], tuple[Table, pd.DataFrame]]] = field(default_factory=dict, repr=False)

    def defer(self, name: str, load: Callable[[], tuple[Table, pd.DataFrame]]) -> None:
        """Read table ``name`` only when first asked for (or on ``resolve``): the reader defers a year of
        attendance so that checks which do not need it run while it is still loading."""
        self.tables.pop(name, None)
        self.pending[name] = load

    def resolve(self, name: str | None = None) -> None:
        """Read the deferred tables (or just ``name``) now and add their STR findings."""
        for key in [name] if name is not None else list(self.pending):
            load = self.pending.pop(key, None)
            if load is None:
                continue
            table, found = load()
            self.tables[key] = table
            if len(found):
                self.findings = pd.concat([f for f in (self.findings, found) if len(f)], ignore_index=True)

    def table(self, name: str) -> Table:
        if name in self.pending:
            self.resolve(name)
        if name not in self.tables:
            self.tables[name] = Table.missing(name)
        return self.tables[name]

    @property
    def placements(self) -> pd.DataFrame:
        return self.table("placements").frame

    @property
    def providers(self) -> pd.DataFrame:
        return self.table("providers").frame

    @property
    def attendance(self) -> pd.DataFrame:
        return self.table("attendance").frame

    @property
    def terms(self) -> pd.DataFrame:
        return self.table("terms").frame

    @property
    def closures(self) -> pd.DataFrame:
        return self.table("closures").frame

    @property
    def rules(self) -> pd.DataFrame:
        return self.table("rules").frame

    @property
    def settings(self) -> dict[str, Any]:
        """Settings as name -> value, names matched case-insensitively by callers via ``setting``."""
        frame = self.table("settings").frame
        if frame.empty:
            return {}
        return {str(k).strip(): v for k, v in zip(frame["name"], frame["value"]) if isinstance(k, str) and k.strip()}

    def setting(self, name: str, default: Any = None) -> Any:
        wanted = name.strip().lower()
        for key, value in self.settings.items():
            if key.lower() == wanted:
                if value is None or (isinstance(value, float) and pd.isna(value)) or (isinstance(value, str) and not value.strip()):
                    return default
                return value
        return default

    @property
    def as_of(self) -> date | None:
        """The Settings sheet's 'As of date', when it holds a readable date."""
        from apxl.core.parse import parse_date_value

        value = self.setting("As of date")
        if value is None:
            return None
        ts = parse_date_value(value)
        return ts.date() if isinstance(ts, pd.Timestamp) else None

    def header(self, table: str, field: str) -> str:
        return self.table(table).headers.get(field, field)
