"""check_register: the single entry point that runs every rule over a register under a policy."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any, Callable, Iterable

import pandas as pd

from apxl.core.findings import FINDING_COLUMNS, Report, empty_findings
from apxl.core.policy import Policy, default_policy
from apxl.core.register import Register


@dataclass
class Context:
    """What a rule sees: the typed register, the policy, the date the check is as of, and derived helpers."""

    register: Register
    policy: Policy
    as_of: date
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def as_of_ts(self) -> pd.Timestamp:
        return pd.Timestamp(self.as_of)

    @cached_property
    def calendar(self):
        """The school calendar from the Calendar sheet, with England bank holidays."""
        from apxl.core.calendar import SchoolCalendar

        return SchoolCalendar.from_register(self.register)

    def header(self, table: str, field: str) -> str:
        return self.register.header(table, field)

    def sheet(self, table: str) -> str:
        return self.register.table(table).sheet


def resolve_as_of(register: Register, as_of: date | None) -> date:
    """The explicit date wins, then the Settings sheet's 'As of date'."""
    if as_of is not None:
        return as_of.date() if isinstance(as_of, pd.Timestamp) else as_of
    if register.as_of is not None:
        return register.as_of
    raise ValueError("No 'as of' date: pass one (the CLI's --as-of) or set 'As of date' on the Settings sheet.")


def check_register(
    register: Register,
    policy: Policy | None = None,
    as_of: date | None = None,
    *,
    only: Iterable[str] | None = None,
    progress: Callable[[str], None] | None = None,
    strict: bool = False,
) -> Report:
    """Run every rule (or the ``only`` ids) and return all findings, structural ones included.

    A rule that fails with an exception is reported as SYS-001 and the others still run;
    ``strict`` re-raises instead (for tests and debugging).
    """
    from apxl.core.rules.registry import catalogue

    policy = policy or default_policy()
    ctx = Context(register=register, policy=policy, as_of=resolve_as_of(register, as_of))
    wanted = set(only) if only is not None else None
    parts: list[pd.DataFrame] = []
    rules = catalogue()
    by_id = {r.id: r for r in rules}
    # Attendance checks run last: a reader may still be loading the attendance (``Register.defer``), and every
    # other rule runs meanwhile. Report sorts findings, so the order rules run in does not show in it.
    for rule in sorted(rules, key=lambda r: r.area == "ATT"):
        if rule.id in policy.disabled_rules or (wanted is not None and rule.id not in wanted) or rule.func is None:
            continue
        if rule.area == "ATT":
            register.resolve()  # outside the rule's guard: a file that cannot be read is not a faulty rule
        if progress:
            progress(rule.id)
        try:
            out = rule.run(ctx)
        except Exception as exc:  # noqa: BLE001 - one faulty rule must not hide every other finding
            if strict:
                raise
            out = pd.DataFrame([{
                "sheet": ctx.sheet("placements"), "row": None, "column": None, "key": rule.id, "value": type(exc).__name__,
                "message": f"Rule {rule.id} ({rule.title}) could not run on this register ({type(exc).__name__}); "
                           "the other checks ran. Please report this to the apxl team with the rule id.",
            }]).assign(rule_id="SYS-001")
            parts.append(out)
            continue
        if out is not None and len(out):
            parts.append(out.assign(rule_id=rule.id))
    register.resolve()
    if len(register.findings):
        parts.insert(0, register.findings.copy())  # structural findings first, as they were found
    if not parts:
        return Report(empty_findings(), as_of=ctx.as_of, policy_name=policy.name)
    frame = pd.concat(parts, ignore_index=True)
    if wanted is not None:
        frame = frame[frame["rule_id"].isin(wanted | {"SYS-001"})]
    frame = frame[~frame["rule_id"].isin(policy.disabled_rules)]
    default = frame["rule_id"].map(lambda rid: policy.severity_overrides.get(rid, by_id[rid].severity.value if rid in by_id else "error"))
    explicit = frame["severity"] if "severity" in frame.columns else pd.Series(None, index=frame.index, dtype=object)
    # An explicit per-finding severity (e.g. STR-001 for an optional sheet) yields to an LA override.
    has_override = frame["rule_id"].isin(list(policy.severity_overrides))
    frame["severity"] = explicit.where(explicit.notna() & ~has_override, default)
    return Report(frame[FINDING_COLUMNS], as_of=ctx.as_of, policy_name=policy.name)
