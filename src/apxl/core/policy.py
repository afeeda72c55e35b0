"""LA policy as data: the route matrix, thresholds, switches and severity overrides a check runs under."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from apxl.core.vocab import ROUTES

# Defaults where a profile says nothing. Sources: DOMAIN.md sections 3-4, 8; seed 003 section 3.
DEFAULT_THRESHOLDS: dict[str, float] = {
    "unregistered_fulltime_hours": 18.0,  # DfE: more than 18 hours a week is full-time (seed 003 3.3)
    "unregistered_max_weeks": 13.0,  # an unregistered placement should be short-term: one term
    "unregistered_pupils_limit": 5.0,  # Education Act 1996 s.463: 5 or more full-time pupils must register
    "qa_validity_months": 12.0,  # annual QA visit (seed 003 10, seed 004 checklist)
    "school_week_hours": 32.5,  # hours in a full school week, for overlapping placements (PLC-007)
    "fulltime_hours_ks1": 21.0,  # Local Government Ombudsman benchmarks (DOMAIN.md section 8)
    "fulltime_hours_ks2": 23.5,
    "fulltime_hours_ks3": 24.0,
    "fulltime_hours_ks4": 25.0,
    "place_value": 10000.0,  # high needs place funding per AP place (DOMAIN.md section 2)
    "review_interval_weeks": 6.0,
    "illness_days": 15.0,
    "pex_deadline_day": 6.0,
    "suspension_deadline_day": 6.0,
}


@dataclass(frozen=True)
class RouteRule:
    """Who may commission and fund a route, and the registrations it allows."""

    route: str
    commissioners: frozenset[str]
    place_funders: frozenset[str]
    topup_funders: frozenset[str]
    registrations: frozenset[str]
    wording: Mapping[str, str] = field(default_factory=dict)  # the matrix entry as the LA wrote it, per column
    source: str = ""  # whose matrix this row is, for messages: "Solihull route matrix", "Rules sheet"
    description: str = ""  # the route's description as the LA wrote it


@dataclass(frozen=True)
class Policy:
    """Everything a check needs to know about the LA's rules; built from a profile plus the workbook."""

    name: str
    title: str = ""
    source: str = ""
    la_name: str | None = None
    routes: Mapping[str, RouteRule] = field(default_factory=dict)
    thresholds: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    lac_day1: bool = False
    awpu: Mapping[str, float] = field(default_factory=dict)  # key stage -> annual AWPU for recovery (FND-005)
    severity_overrides: Mapping[str, str] = field(default_factory=dict)
    disabled_rules: frozenset[str] = frozenset()
    # National attendance code sets (apxl.core.attendance_codes.CodeSet), read from schemas/ by apxl.io
    # and passed in like the rest of the policy: the ATT rules cannot run without them.
    attendance_codes: Any = field(default=None, compare=False, repr=False)

    def threshold(self, name: str) -> float:
        return float(self.thresholds.get(name, DEFAULT_THRESHOLDS[name]))

    def route(self, code: str) -> RouteRule | None:
        return self.routes.get(code)

    def with_changes(self, **changes: Any) -> "Policy":
        return replace(self, **changes)

    @property
    def matrix_name(self) -> str:
        """How findings cite this policy's route matrix, e.g. 'Solihull route matrix'."""
        return self.title or f"{self.name} route matrix"

    def awpu_for(self, key_stage: str) -> float | None:
        value = self.awpu.get(key_stage)
        return None if value is None else float(value)


def permissive_routes() -> dict[str, RouteRule]:
    """Every route allows every party and registration: used when no matrix is known."""
    everyone = frozenset({"LA", "School"})
    regs = frozenset({"Dual", "Single", "Off-site"})
    return {r: RouteRule(r, everyone, everyone, everyone, regs) for r in ROUTES}


def default_policy() -> Policy:
    """A policy with no LA matrix: only checks that do not depend on local policy are meaningful."""
    return Policy(name="default", title="No LA profile", routes=permissive_routes())


# ---- building a policy from a profile and the workbook (pure: the data is passed in) ---------------
from apxl.core.policy_build import apply_rules_sheet, apply_settings, policy_from_profile  # noqa: E402

__all__ = [
    "DEFAULT_THRESHOLDS", "Policy", "RouteRule", "apply_rules_sheet", "apply_settings", "default_policy",
    "permissive_routes", "policy_from_profile",
]
