"""CON rules: the people who must be consulted before AP is commissioned (SEND officer, virtual school)."""
from __future__ import annotations

import pandas as pd

from apxl.core.findings import flag
from apxl.core.rules._pupil_facts import is_true
from apxl.core.rules.registry import rule

_HILLINGDON = "Hillingdon AP guidance 2024/25"  # seed 003_57d480e12197286d.txt


def _not_consulted(ctx, who: str, field: str, consulted_field: str, expectation: str) -> pd.DataFrame:
    """Placements of pupils with ``field`` = Y whose ``consulted_field`` is not Y.

    An explicit N is an error (the placement went ahead without the consultation); a blank is a
    warning (the consultation may have happened but the register does not show it).
    """
    pl = ctx.register.placements
    consulted = pl[consulted_field].astype("boolean")
    mask = is_true(pl[field]) & ~is_true(pl[consulted_field])
    state = pd.Series(f"is not recorded as consulted ({ctx.header('placements', consulted_field)} is blank)", index=pl.index).where(
        consulted.isna(), "is recorded as NOT consulted"
    )
    message = "Placement " + pl["placement_id"].astype(str) + f": the {who} " + state + ". " + expectation
    out = flag(
        pl, mask, sheet=ctx.sheet("placements"), column=ctx.header("placements", consulted_field), key="placement_id",
        value=consulted.map({True: "Y", False: "N"}).astype("object"), message=message,
    )
    explicit_no = consulted[mask].eq(False).fillna(False).astype(bool)
    out["severity"] = explicit_no.map({True: "error", False: "warning"}).to_numpy()
    return out


@rule(
    "CON-001",
    "EHCP pupil: SEND officer not recorded as consulted",
    "error",
    "Hillingdon AP guidance 2024/25 s6.2 (seed 003_57d480e12197286d.txt); DOMAIN.md section 6",
)
def con_001(ctx) -> pd.DataFrame:
    return _not_consulted(
        ctx, "pupil has an EHC plan, but the SEND officer", "ehcp", "send_officer_consulted",
        "Before AP is commissioned for a child with an EHC plan it must first be discussed with the child's SEND officer,"
        f" so the provision still delivers what the plan sets out ({_HILLINGDON} s6.2). Record the consultation (Y) once it has happened.",
    )


@rule(
    "CON-002",
    "Looked-after pupil: virtual school not recorded as consulted",
    "error",
    "Hillingdon AP guidance 2024/25 s6.3 (seed 003_57d480e12197286d.txt); DOMAIN.md section 6",
)
def con_002(ctx) -> pd.DataFrame:
    return _not_consulted(
        ctx, "pupil is looked after, but the virtual school", "looked_after", "virtual_school_consulted",
        "Before a looked-after child is placed in AP it must first be discussed with the allocated Virtual School officer"
        f" and the child's social worker ({_HILLINGDON} s6.3). Record the consultation (Y) once it has happened.",
    )
