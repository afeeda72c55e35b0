"""Ingesting a school return: check it with the register's own rules and decide which rows join the register."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

import apxl.core.rules.returns  # noqa: F401  (registers the RET rule ids)
from apxl.core.check import check_register
from apxl.core.findings import FINDING_COLUMNS, Report, display_value, empty_findings
from apxl.core.policy import Policy
from apxl.core.register import Register, Table
from apxl.core.rules.registry import RULES
from apxl.io.returns.prepare import HDR, NOTE_COLUMNS, Failure, Prepared, note, prepare_returns
from apxl.io.returns.safety import DEFAULT_LIMITS, Limits, UnsafeReturnError

ACCEPTED = "Accepted: new placement"
KNOWN = "Already on the register"
REPEATED = "Repeated in this return"
CORRECT = "Needs correction"
# A row joins the register unless it cannot be trusted to be one real placement: unreadable or
# missing values (STR-*), a malformed UPN (PUP-001) or dates that end before they start (PLC-001).
# Compliance findings (REG, FND, S19, PRV, ...) do not hold a row back: the LA must see a placement
# that breaks the rules in its register, not lose it (seed 003_57d480e12197286d.txt §11.5).
BLOCKING_RULES = ("PUP-001", "PLC-001")


def blocking(frame: pd.DataFrame) -> pd.Series:
    """Which findings hold their row back from the register."""
    return (frame["severity"] == "error") & (frame["rule_id"].str.startswith("STR-") | frame["rule_id"].isin(BLOCKING_RULES))


@dataclass
class IngestResult:
    """One ingested return: its typed rows, the findings about them and what happens to each row."""

    prepared: Prepared
    report: Report
    rows: pd.DataFrame  # index = the return's Excel row: placement_id, status, register_row, matched_by, duplicate_of
    received: date

    @property
    def accepted(self) -> pd.DataFrame:
        """Typed placements to add to the register, in return row order."""
        keep = self.rows.index[self.rows["status"] == ACCEPTED]
        return self.prepared.placements.frame.loc[keep]

    @property
    def has_errors(self) -> bool:
        return self.report.has_errors

    def row_records(self) -> list[dict[str, Any]]:
        """One record per returned row: Excel row, status, Placement ID, register row and how it matched."""
        r = self.rows
        na = lambda v: None if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else v  # noqa: E731
        return [{"row": int(i), "status": s, "placement_id": pid, "register_row": None if na(reg) is None else int(reg),
                 "matched_by": na(by), "duplicate_of": None if na(dup) is None else int(dup)}
                for i, s, pid, reg, by, dup in zip(r.index, r["status"], r["placement_id"], r["register_row"], r["matched_by"], r["duplicate_of"])]

    def summary(self) -> dict[str, Any]:
        """Counts and Placement IDs only: no names or UPNs (DESIGN.md section 5)."""
        status = self.rows["status"].value_counts()
        p = self.prepared
        return {
            "file": p.file.path.name,
            "school_urn": p.school_urn,
            "month": p.month,
            "received": self.received.isoformat(),
            "rows": int(len(self.rows)),
            "accepted": int(status.get(ACCEPTED, 0)),
            "already_on_register": int(status.get(KNOWN, 0)),
            "repeated": int(status.get(REPEATED, 0)),
            "needs_correction": int(status.get(CORRECT, 0)),
            "accepted_placement_ids": [str(x) for x in self.accepted["placement_id"]],
            "differences": int(len(p.differences)),
            "missing_from_return": [str(x) for x in p.missing["placement_id"]],
            "findings": self.report.counts,
        }


def return_register(prepared: Prepared, register: Register) -> Register:
    """The return's rows (each placement once) checked against the LA's providers, calendar, route matrix and settings."""
    tables = dict(register.tables)
    t = prepared.placements
    once = prepared.matches["duplicate_of"].isna().to_numpy()  # a pasted-twice row would double every total
    tables["placements"] = Table(name="placements", sheet=t.sheet, frame=t.frame.loc[once], headers=t.headers, letters=t.letters, header_row=t.header_row)
    tables["attendance"] = prepared.attendance if prepared.attendance is not None else Table.missing("attendance")
    found = prepared.findings
    base = found[found["rule_id"].str.startswith("STR-")] if len(found) else empty_findings()
    return Register(tables=tables, findings=base, source=str(prepared.file.path))


def statuses(prepared: Prepared, findings: pd.DataFrame) -> pd.DataFrame:
    """Each returned row's fate: repeated, already on the register, needs correction, or accepted."""
    pl, m = prepared.placements.frame, prepared.matches
    on_rows = findings[(findings["sheet"] == prepared.placements.sheet) & findings["row"].notna()]
    blocked_rows = set(on_rows.loc[blocking(on_rows), "row"].astype("int64"))
    blocked = pl.index.isin(list(blocked_rows))
    status = np.select([m["duplicate_of"].notna().to_numpy(), m["register_row"].notna().to_numpy(), blocked], [REPEATED, KNOWN, CORRECT], default=ACCEPTED)
    return pd.DataFrame({"placement_id": pl["placement_id"], "status": status, "register_row": m["register_row"],
                         "matched_by": m["matched_by"], "duplicate_of": m["duplicate_of"]}, index=pl.index)


def _shown(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "'Y'" if value else "'N'"
    text = display_value(value)
    return f"'{text}'" if text is not None else "nothing"


def ret_findings(prepared: Prepared) -> pd.DataFrame:
    """RET-001 (provisional IDs), RET-004 (repeats), RET-005 (differences from the register), RET-006 (placements left out)."""
    sheet = prepared.placements.sheet
    pl, m = prepared.placements.frame, prepared.matches
    parts = []
    made_up = pl.index.isin(sorted(prepared.provisional))
    if made_up.any():
        known = m["register_row"].notna().to_numpy()
        text = [f"Placement ID was blank; this is placement {p} on the LA register (same pupil, provider and start date): use that ID next time." if k
                else f"Placement ID was blank, so this placement is recorded as {p} until the AP team gives it the LA's ID."
                for p, k in zip(pl["placement_id"][made_up], known[made_up])]
        parts.append(note("RET-001", sheet, pl.index[made_up].astype("int64"), HDR["placement_id"], pl["placement_id"][made_up].to_numpy(), None, text))
    rep = m["duplicate_of"].notna()
    if rep.any():
        parts.append(note("RET-004", sheet, pl.index[rep].astype("int64"), HDR["placement_id"], pl.loc[rep, "placement_id"].to_numpy(), None,
                          [f"This placement is already on row {int(d)} of your return (same Placement ID, or same pupil, provider and start date): it is counted once."
                           for d in m.loc[rep, "duplicate_of"]]))
    d = prepared.differences
    if len(d):
        head = d["field"].map(HDR)
        theirs, mine = d["register_value"].map(_shown), d["returned_value"].map(_shown)
        parts.append(note("RET-005", sheet, d["row"].astype("int64").to_numpy(), head.to_numpy(), d["placement_id"].to_numpy(),
                          d["returned_value"].map(display_value).to_numpy(),
                          [f"The LA register has {t} for {h}; your return has {y}. Check which is right and tell the AP team: "
                           "a return does not change a placement already on the register." for t, h, y in zip(theirs, head, mine)]))
    miss = prepared.missing
    if len(miss):
        parts.append(note("RET-006", sheet, None, None, miss["placement_id"].to_numpy(), None,
                          [f"The LA register has placement {p} (provider {v}, started {display_value(s)}) running in {prepared.month} for your school, "
                           "but your return does not include it: add the row, or give its end date."
                           for p, v, s in zip(miss["placement_id"], miss["provider_id"], miss["start_date"])]))
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=NOTE_COLUMNS)


def with_severity(frame: pd.DataFrame, policy: Policy | None = None) -> pd.DataFrame:
    """Rule output rows with the catalogue's severity (or the LA's override) filled in."""
    if frame.empty:
        return empty_findings()
    overrides = dict(policy.severity_overrides) if policy is not None else {}
    sev = frame["rule_id"].map(lambda r: overrides.get(r, RULES[r].severity.value if r in RULES else "error"))
    if "severity" in frame.columns:
        sev = frame["severity"].where(frame["severity"].notna(), sev)
    return frame.assign(severity=sev)[FINDING_COLUMNS]


def check_prepared(prepared: Prepared, register: Register, policy: Policy, as_of: date, *, only: Iterable[str] | None = None) -> Report:
    """Findings about one return: the register's rules on its rows, plus the RET notes; nothing about the LA's own sheets."""
    checked = check_register(return_register(prepared, register), policy, as_of, only=only)
    own = {prepared.placements.sheet} | set(prepared.findings["sheet"]) | ({prepared.attendance.sheet} if prepared.attendance is not None else set())
    frame = checked.frame[checked.frame["sheet"].isin(own)]
    found = prepared.findings
    notes = found[~found["rule_id"].str.startswith("STR-")] if len(found) else found
    if only is not None and len(found):  # the STR findings come through check_register only when it runs them all
        notes = found
    extra = [with_severity(x, policy) for x in (notes, ret_findings(prepared)) if len(x)]
    return Report(pd.concat([frame, *extra], ignore_index=True) if extra else frame, as_of=checked.as_of, policy_name=checked.policy_name)


def ingest_return(path: str | Path, register: Register, policy: Policy, *, received: date, as_of: date | None = None,
                  school: str | None = None, month: str | None = None, limits: Limits = DEFAULT_LIMITS) -> IngestResult:
    """Check a return with the same rules as the register and decide each row's fate (nothing is written here).

    Raises UnsafeReturnError (with ``reason``) for a refused file and ApxlError for one that cannot be read.
    """
    prepared, failures = prepare_returns([path], register, school=school, month=month, limits=limits)
    if failures:
        raise _as_error(failures[0])
    p = prepared[0]
    report = check_prepared(p, register, policy, as_of or received)
    return IngestResult(prepared=p, report=report, rows=statuses(p, report.frame), received=received)


def _as_error(failure: Failure) -> Exception:
    return UnsafeReturnError(failure.reason, failure.message)


__all__ = ["ACCEPTED", "KNOWN", "REPEATED", "CORRECT", "BLOCKING_RULES", "IngestResult", "ingest_return", "check_prepared",
           "return_register", "statuses", "ret_findings", "blocking", "with_severity"]
