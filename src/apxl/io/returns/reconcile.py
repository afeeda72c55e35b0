"""The monthly reconciliation: every school return in a folder against the LA register, in one deterministic pass."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from apxl.core.calendar import SchoolCalendar
from apxl.core.check import check_register
from apxl.core.findings import display_value
from apxl.core.policy import Policy
from apxl.core.reconcile import (
    PERSONAL_FIELDS, compare_invoices, expected_in_returns, month_bounds, month_costs, schools_not_returned, trace_row, with_placements,
)
from apxl.core.register import Register
from apxl.errors import ApxlError
from apxl.io.returns.ingest import ACCEPTED, BLOCKING_RULES, CORRECT, KNOWN, REPEATED, statuses, with_severity
from apxl.io.returns.invoices import read_invoices
from apxl.io.returns.prepare import HDR, STRIDE, Failure, Prepared, prepare_returns
from apxl.io.returns.read import urn_from_name
from apxl.io.returns.safety import DEFAULT_LIMITS, Limits

# Files in the returns folder that are returns (anything else, like a covering note, is listed as ignored).
RETURN_SUFFIXES = {".xlsx", ".xlsm", ".xltx", ".xltm", ".xls", ".xlsb", ".ods", ".csv"}
ATTENDANCE_RULES = ("ATT-003", "ATT-004", "ATT-005")  # codes that contradict the placements
REGISTRATION_RULES = ("REG-005",)  # unregistered provider over the limit, all commissioners together
NEW_STATUSES = (ACCEPTED, CORRECT)


@dataclass
class Reconciliation:
    """Everything the month's reconciliation found; tables are pandas frames with stable column names."""

    month: str
    register: str
    returns: pd.DataFrame  # one row per file: file, school_urn, status, reason, message, counts
    not_on_register: pd.DataFrame
    not_returned: pd.DataFrame
    differences: pd.DataFrame
    schools_not_returned: pd.DataFrame
    attendance: pd.DataFrame
    registration: pd.DataFrame
    invoices: pd.DataFrame | None = None
    invoice_problems: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        r = self.returns
        inv = self.invoices
        return {
            "returns": int(len(r)),
            "processed": int((r["status"] == "processed").sum()) if len(r) else 0,
            "refused": int((r["status"] == "refused").sum()) if len(r) else 0,
            "not_on_register": int(len(self.not_on_register)),
            "not_returned": int(len(self.not_returned)),
            "differences": int(len(self.differences)),
            "schools_not_returned": int(len(self.schools_not_returned)),
            "attendance_inconsistencies": int(len(self.attendance)),
            "unregistered_providers_over_limit": int(len(self.registration)),
            "invoice_mismatches": int((inv["status"] != "matches").sum()) if inv is not None and len(inv) else 0,
        }

    @property
    def has_discrepancies(self) -> bool:
        return any(v for k, v in self.counts.items() if k not in {"returns", "processed"})

    def summary(self) -> dict[str, Any]:
        """The JSON summary scripts read: stable field names, Placement IDs and URNs only (no names or UPNs)."""
        out: dict[str, Any] = {"month": self.month, "register": self.register, "counts": self.counts}
        out["returns"] = _records(self.returns)
        out["not_on_register"] = _records(self.not_on_register[["file", "school_urn", "row", "placement_id", "provider_id", "start_date", "status"]])
        out["not_returned"] = _records(self.not_returned[["school_urn", "placement_id", "register_row", "provider_id", "start_date"]])
        diffs = self.differences.copy()
        personal = diffs["field"].isin(PERSONAL_FIELDS)
        diffs.loc[personal, ["register_value", "returned_value"]] = None  # in the workbook only
        diffs["personal"] = personal
        out["differences"] = _records(diffs[["file", "school_urn", "row", "placement_id", "register_row", "field", "column", "register_value", "returned_value", "personal"]])
        out["schools_not_returned"] = _records(self.schools_not_returned[["school_urn", "placements"]])
        out["attendance"] = _records(self.attendance[["rule_id", "severity", "file", "school_urn", "sheet", "row", "column", "message"]])
        out["registration"] = _records(self.registration[["rule_id", "severity", "provider_id", "only_with_returns", "message"]])
        if self.invoices is not None:
            inv = self.invoices.copy()
            for col in ("expected", "invoiced", "difference"):
                inv[col] = inv.pop(f"{col}_pence").map(lambda p: round(int(p) / 100, 2))
            out["invoices"] = _records(inv[["provider_id", "expected", "invoiced", "difference", "status", "invoice_refs"]])
            out["invoice_problems"] = list(self.invoice_problems)
        out["ignored_files"] = list(self.ignored)
        return out


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in frame.to_dict("records"):
        clean = {}
        for k, v in rec.items():
            if isinstance(v, pd.Timestamp):
                clean[k] = None if pd.isna(v) else v.strftime("%Y-%m-%d")
            elif isinstance(v, bool) or v is None or isinstance(v, str):
                clean[k] = v
            elif isinstance(v, (int, float)) and not pd.isna(v):
                clean[k] = int(v) if float(v).is_integer() and not isinstance(v, float) else v
            else:
                clean[k] = None if _is_na(v) else (v.item() if hasattr(v, "item") else display_value(v))
        out.append(clean)
    return out


def _is_na(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def return_files(folder: Path) -> tuple[list[Path], list[str]]:
    """The returns in a folder, in name order; other files (and Office lock files, our own feedback) are ignored."""
    if not folder.is_dir():
        raise ApxlError(f"The returns folder {folder} does not exist.")
    files, ignored = [], []
    for p in sorted(folder.iterdir(), key=lambda p: p.name):
        if not p.is_file() or p.name.startswith((".", "~$")) or p.stem.endswith("-feedback"):
            continue
        (files if p.suffix.lower() in RETURN_SUFFIXES else ignored).append(p if p.suffix.lower() in RETURN_SUFFIXES else p.name)
    return files, ignored


def reconcile(register: Register, register_name: str, files: list[Path], month: str, policy: Policy, *, as_of: date,
              invoices: Path | None = None, invoice_scope: str = "la", tolerance_pence: int = 100, limits: Limits = DEFAULT_LIMITS,
              progress: Callable[[str], None] | None = None, ignored: list[str] | None = None,
              prepared: tuple[list[Prepared], list[Failure]] | None = None) -> Reconciliation:
    """Reconcile the month's returns with the register. A return that cannot be read is reported; the rest go on.

    ``prepared``: what ``prepare_returns(files, register, month=month)`` gave, when the caller already
    read the files (the Excel import checks each return too): each file is then read once.
    """
    start, end = month_bounds(month)
    if prepared is None:
        prepared = prepare_returns(files, register, month=month, limits=limits, progress=(lambda p: progress(p.name)) if progress else None)
    prepared, failures = prepared
    if progress:
        progress("checking rows")
    rows = _statuses(prepared, register, policy, as_of)
    new_rows = _new_rows(prepared, rows)
    if progress:
        progress("checking across schools")
    attendance, registration = _across_schools(prepared, rows, register, policy, as_of)
    expected = register.placements[expected_in_returns(register.placements, start, end)]
    returned = sorted({p.school_urn for p in prepared if p.school_urn})
    invoice_table, problems = None, []
    if invoices is not None:
        if progress:
            progress("invoices")
        invoice_table, problems = _invoices(invoices, month, register, prepared, rows, policy, invoice_scope, tolerance_pence)
    return Reconciliation(
        month=month, register=register_name,
        returns=_file_table(files, prepared, failures, rows),
        not_on_register=new_rows,
        not_returned=_not_returned(prepared),
        differences=_differences(prepared),
        schools_not_returned=schools_not_returned(expected, returned),
        attendance=attendance, registration=registration, invoices=invoice_table, invoice_problems=problems, ignored=list(ignored or []),
    )


def _combined(prepared: list[Prepared], frames: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [f.set_axis(f.index.astype("int64") + (k + 1) * STRIDE) for k, f in enumerate(frames) if len(f)]
    return pd.concat(parts) if parts else (frames[0].iloc[0:0] if frames else pd.DataFrame())


def _statuses(prepared: list[Prepared], register: Register, policy: Policy, as_of: date) -> list[pd.DataFrame]:
    """Each return's row statuses, with the blocking rules run once over every returned row."""
    if not prepared:
        return []
    from apxl.core.register import Table

    frames = [p.placements.frame for p in prepared]
    tables = dict(register.tables)
    base = register.table("placements")
    tables["placements"] = Table(name="placements", sheet="Returned", frame=_combined(prepared, frames), headers=base.headers)
    found = check_register(Register(tables=tables, source="returns"), policy, as_of, only=BLOCKING_RULES).frame
    out = []
    for k, p in enumerate(prepared):
        offset = (k + 1) * STRIDE
        mine = found[(found["row"] >= offset) & (found["row"] < offset + STRIDE)].copy()
        mine["row"] = mine["row"] - offset
        mine["sheet"] = p.placements.sheet
        own = with_severity(p.findings[p.findings["rule_id"].str.startswith("STR-")], policy) if len(p.findings) else mine.iloc[0:0]
        out.append(statuses(p, pd.concat([mine, own], ignore_index=True)))
    return out


def _new_rows(prepared: list[Prepared], rows: list[pd.DataFrame]) -> pd.DataFrame:
    parts = []
    for p, st in zip(prepared, rows):
        new = st[st["status"].isin(NEW_STATUSES)]
        if len(new):
            pl = p.placements.frame.loc[new.index]
            parts.append(pd.DataFrame({"file": p.file.path.name, "school_urn": p.school_urn, "row": new.index.astype("int64"),
                                       "placement_id": new["placement_id"].to_numpy(), "provider_id": pl["provider_id"].to_numpy(),
                                       "start_date": pl["start_date"].to_numpy(), "status": new["status"].to_numpy(),
                                       "upn": pl["upn"].to_numpy(), "surname": pl["surname"].to_numpy(), "forename": pl["forename"].to_numpy()}))
    cols = ["file", "school_urn", "row", "placement_id", "provider_id", "start_date", "status", "upn", "surname", "forename"]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def _not_returned(prepared: list[Prepared]) -> pd.DataFrame:
    cols = ["school_urn", "placement_id", "register_row", "provider_id", "start_date", "upn", "surname", "forename"]
    parts = [p.missing.assign(school_urn=p.school_urn, register_row=p.missing.index.astype("int64")) for p in prepared if len(p.missing)]
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts, ignore_index=True)[cols].sort_values(["school_urn", "register_row"], kind="stable").reset_index(drop=True)


def _differences(prepared: list[Prepared]) -> pd.DataFrame:
    cols = ["file", "school_urn", "row", "placement_id", "register_row", "field", "column", "register_value", "returned_value"]
    parts = [p.differences.assign(file=p.file.path.name, school_urn=p.school_urn, column=p.differences["field"].map(HDR)) for p in prepared if len(p.differences)]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def _file_table(files: list[Path], prepared: list[Prepared], failures: list[Failure], rows: list[pd.DataFrame]) -> pd.DataFrame:
    by_path = {p.file.path: (p, st) for p, st in zip(prepared, rows)}
    failed = {f.path: f for f in failures}
    records = []
    for path in files:
        rec: dict[str, Any] = {"file": path.name}
        if path in by_path:
            p, st = by_path[path]
            counts = st["status"].value_counts()
            rec.update(school_urn=p.school_urn, status="processed", reason=None, message=None, rows=int(len(st)),
                       new=int(counts.get(ACCEPTED, 0)), needs_correction=int(counts.get(CORRECT, 0)),
                       already_on_register=int(counts.get(KNOWN, 0)), repeated=int(counts.get(REPEATED, 0)),
                       differences=int(len(p.differences)), missing=int(len(p.missing)))
        else:
            f = failed.get(path)
            rec.update(school_urn=urn_from_name(path), status="refused", reason=f.reason if f else "error", message=f.message if f else None,
                       rows=0, new=0, needs_correction=0, already_on_register=0, repeated=0, differences=0, missing=0)
        records.append(rec)
    cols = ["file", "school_urn", "status", "reason", "message", "rows", "new", "needs_correction", "already_on_register", "repeated", "differences", "missing"]
    return pd.DataFrame(records, columns=cols)


def _across_schools(prepared: list[Prepared], rows: list[pd.DataFrame], register: Register, policy: Policy, as_of: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """REG-005 and the attendance rules over the register plus every school's new placements and attendance, together."""
    blocks = [p.placements.frame.loc[st.index[st["status"] == ACCEPTED]] for p, st in zip(prepared, rows)]
    att = [p.attendance.frame if p.attendance is not None else register.attendance.iloc[0:0] for p in prepared]
    # The LA's own sessions are `apxl validate`'s business; ATT-003..005 judge each returned code against the placements alone.
    merged, _, att_offsets = with_placements(register, blocks, att, stride=STRIDE, own_attendance=False)
    found = check_register(merged, policy, as_of, only=ATTENDANCE_RULES + REGISTRATION_RULES).frame
    alone = check_register(register, policy, as_of, only=REGISTRATION_RULES).frame
    reg = found[found["rule_id"].isin(REGISTRATION_RULES)].copy()
    reg["provider_id"] = reg["key"]
    reg["only_with_returns"] = ~reg["key"].isin(set(alone["key"]))
    reg = reg.sort_values(["provider_id", "rule_id"], kind="stable").reset_index(drop=True)
    att_found = found[found["rule_id"].isin(ATTENDANCE_RULES) & (found["sheet"] == merged.table("attendance").sheet)]
    records = []
    for rec in att_found.to_dict("records"):
        k, row = trace_row(int(rec["row"]), att_offsets, STRIDE) if not _is_na(rec["row"]) else (None, None)
        if k is None:
            continue  # the LA's own attendance: `apxl validate` reports it
        p = prepared[k]
        records.append({**rec, "file": p.file.path.name, "school_urn": p.school_urn, "sheet": p.attendance.sheet if p.attendance is not None else rec["sheet"], "row": row})
    cols = ["rule_id", "severity", "file", "school_urn", "sheet", "row", "column", "key", "value", "message"]
    attendance = pd.DataFrame(records, columns=cols).sort_values(["file", "row", "column", "rule_id"], kind="stable").reset_index(drop=True)
    return attendance, reg[["rule_id", "severity", "provider_id", "only_with_returns", "sheet", "row", "column", "message"]]


def _invoices(path: Path, month: str, register: Register, prepared: list[Prepared], rows: list[pd.DataFrame], policy: Policy,
              scope: str, tolerance_pence: int) -> tuple[pd.DataFrame, list[str]]:
    """The month's expected cost per provider (register plus accepted returned placements) against what was invoiced.

    ``scope`` 'la' compares with the part the LA pays (invoices the LA receives); 'all' with every payer.
    """
    start, end = month_bounds(month)
    blocks = [p.placements.frame.loc[st.index[st["status"] == ACCEPTED]] for p, st in zip(prepared, rows)]
    merged, _, _ = with_placements(register, blocks, stride=STRIDE)
    costs = month_costs(merged.placements, merged.providers, SchoolCalendar.from_register(register), policy, start, end)
    if scope == "la":
        costs = costs[costs["payer"] == "LA"]
    lines, problems = read_invoices(path, month)
    return compare_invoices(costs[["provider_id", "pence"]], lines, tolerance_pence), problems


__all__ = ["Reconciliation", "reconcile", "return_files", "RETURN_SUFFIXES"]
