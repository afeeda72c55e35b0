"""Findings: what a rule reports about one cell or row, and the Report that collects them."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Iterable

import pandas as pd

FINDING_COLUMNS = ["rule_id", "severity", "sheet", "row", "column", "key", "value", "message"]
# The fields a rule function fills in; rule_id and severity come from the registry.
RULE_OUTPUT_COLUMNS = ["sheet", "row", "column", "key", "value", "message"]


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True)
class Finding:
    """One problem: which rule, where (sheet, Excel row, column header), which record, and what to do."""

    rule_id: str
    severity: str
    sheet: str
    row: int | None
    column: str | None
    key: str | None
    value: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FINDING_COLUMNS}


def display_value(value: Any) -> str | None:
    """A cell value as the user would read it in a findings table."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, pd.Timestamp):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def display_series(values: pd.Series) -> pd.Series:
    """``display_value`` for a whole column at once: dates as dd/mm/yyyy, whole floats without '.0', blanks as None."""
    out = pd.Series([None] * len(values), index=values.index, dtype=object)
    present = values.notna().to_numpy()
    if not present.any():
        return out
    kept = values[present]
    if pd.api.types.is_datetime64_any_dtype(kept):
        text = kept.dt.strftime("%d/%m/%Y")
    elif pd.api.types.is_bool_dtype(kept):
        text = kept.astype(bool).map({True: "True", False: "False"})
    elif pd.api.types.is_numeric_dtype(kept):
        numbers = kept.astype("float64")
        whole = numbers == numbers.round()
        text = numbers.astype(str).where(~whole, numbers.round().astype("int64").astype(str))
    elif pd.api.types.is_string_dtype(kept) and not pd.api.types.is_object_dtype(kept):
        text = kept.astype(str)
    else:
        text = kept.map(display_value)
    out[present] = text.to_numpy(dtype=object)
    return out


def empty_findings() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype="object") for name in FINDING_COLUMNS})


def flag(
    frame: pd.DataFrame,
    mask: pd.Series | Iterable[bool],
    *,
    sheet: str,
    column: str | None,
    key: str | pd.Series | None,
    message: str | pd.Series,
    value: str | pd.Series | None = None,
) -> pd.DataFrame:
    """Build rule output rows for the rows of ``frame`` where ``mask`` holds.

    ``frame`` is indexed by Excel row. ``key`` and ``value`` name a column of ``frame`` or
    give a Series aligned to it; ``message`` is one text or a Series aligned to ``frame``.
    """
    mask = pd.Series(mask, index=frame.index).fillna(False).astype(bool)
    hit = frame.loc[mask]
    out = pd.DataFrame(index=hit.index)
    out["sheet"] = sheet
    out["row"] = hit.index.astype("int64") if len(hit) else pd.Series(dtype="int64")
    out["column"] = column

    def pick(spec: Any) -> pd.Series:
        if spec is None:
            return pd.Series([None] * len(hit), index=hit.index, dtype="object")
        if isinstance(spec, str) and spec in frame.columns:
            return hit[spec]
        if isinstance(spec, pd.Series):
            return spec.reindex(hit.index)
        return pd.Series([spec] * len(hit), index=hit.index, dtype="object")

    out["key"] = display_series(pick(key))
    out["value"] = display_series(pick(value if value is not None else column)) if (value is not None or column in frame.columns) else None
    out["message"] = pick(message) if isinstance(message, pd.Series) else message
    return out.reset_index(drop=True)[RULE_OUTPUT_COLUMNS]


def rows(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Rule output from a few hand-built records (for rules that are naturally per group)."""
    frame = pd.DataFrame(list(records), columns=RULE_OUTPUT_COLUMNS)
    if len(frame):
        frame["key"] = frame["key"].map(display_value)
        frame["value"] = frame["value"].map(display_value)
    return frame


class Report:
    """All findings of one check, in a stable order, with counts by severity and rule."""

    def __init__(self, findings: pd.DataFrame | None = None, *, as_of=None, policy_name: str | None = None):
        frame = empty_findings() if findings is None or findings.empty else findings[FINDING_COLUMNS].copy()
        if not frame.empty:
            order = frame["severity"].map({str(k): v for k, v in SEVERITY_ORDER.items()}).fillna(9)
            frame = (
                frame.assign(_o=order, _r=frame["row"].fillna(-1))
                .sort_values(["_o", "sheet", "_r", "rule_id", "column"], kind="stable", na_position="first")
                .drop(columns=["_o", "_r"])
                .reset_index(drop=True)
            )
            frame["row"] = frame["row"].astype("Int64")
        self.frame = frame
        self.as_of = as_of
        self.policy_name = policy_name

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def findings(self) -> list[Finding]:
        return [
            Finding(**{k: (None if (v is None or (not isinstance(v, str) and pd.isna(v))) else v) for k, v in rec.items()})
            for rec in self.frame.to_dict("records")
        ]

    def by_rule(self, rule_id: str) -> pd.DataFrame:
        return self.frame[self.frame["rule_id"] == rule_id]

    def rule_ids(self) -> set[str]:
        return set(self.frame["rule_id"])

    @property
    def counts(self) -> dict[str, Any]:
        sev = self.frame["severity"].value_counts()
        return {
            "total": int(len(self.frame)),
            "error": int(sev.get("error", 0)),
            "warning": int(sev.get("warning", 0)),
            "info": int(sev.get("info", 0)),
            "by_rule": {k: int(v) for k, v in sorted(self.frame["rule_id"].value_counts().items())},
        }

    @property
    def has_errors(self) -> bool:
        return bool((self.frame["severity"] == "error").any())

    def to_json_dict(self) -> dict[str, Any]:
        records = []
        for f in self.findings:
            d = f.as_dict()
            d["row"] = int(d["row"]) if d["row"] is not None else None
            records.append(d)
        return {"findings": records, "counts": self.counts}
