"""Rule modules, one per area; importing this package registers every rule."""
from apxl.core.rules import (  # noqa: F401
    structure,
    pupils,
    placements,
    funding,
    registration,
    section19,
    providers,
    consultation,
    attendance,
    profile,
    returns,
)
from apxl.core.rules.registry import RULES, Rule, catalogue, rule

__all__ = ["RULES", "Rule", "catalogue", "rule"]
