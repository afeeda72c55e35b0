"""The rule registry: each rule is a small vectorised function registered with its metadata."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import pandas as pd

from apxl.core.findings import RULE_OUTPUT_COLUMNS, Severity

if TYPE_CHECKING:
    from apxl.core.check import Context

RuleFunc = Callable[["Context"], "pd.DataFrame | None"]


@dataclass(frozen=True)
class Rule:
    """A registered rule: stable public id, what it checks, default severity and the guidance it rests on."""

    id: str
    title: str
    severity: Severity
    source: str
    area: str
    func: RuleFunc | None = field(default=None, compare=False, repr=False)
    # Rules whose findings are produced while parsing (STR-*) have no function of their own.

    def run(self, ctx: "Context") -> pd.DataFrame:
        if self.func is None:
            return pd.DataFrame(columns=RULE_OUTPUT_COLUMNS)
        out = self.func(ctx)
        if out is None:
            return pd.DataFrame(columns=RULE_OUTPUT_COLUMNS)
        return out


RULES: dict[str, Rule] = {}


def register(rule: Rule) -> Rule:
    if rule.id in RULES:
        raise ValueError(f"rule id {rule.id} registered twice")
    RULES[rule.id] = rule
    return rule


def rule(id: str, title: str, severity: Severity | str, source: str) -> Callable[[RuleFunc], RuleFunc]:
    """Decorator: register ``func(ctx) -> DataFrame`` (columns RULE_OUTPUT_COLUMNS) under ``id``."""

    def wrap(func: RuleFunc) -> RuleFunc:
        register(Rule(id=id, title=title, severity=Severity(severity), source=source, area=id.split("-")[0], func=func))
        return func

    return wrap


def declare(id: str, title: str, severity: Severity | str, source: str) -> Rule:
    """Register a rule whose findings another stage produces (e.g. parsing for STR-*)."""
    return register(Rule(id=id, title=title, severity=Severity(severity), source=source, area=id.split("-")[0]))


def catalogue() -> list[Rule]:
    """All rules in id order (area, then number)."""
    from apxl.core import rules as _load  # noqa: F401  (importing registers every rule module)

    return sorted(RULES.values(), key=lambda r: (r.id.split("-")[0], r.id))
