"""A realistic synthetic LA register (2024-25) with planted problems, for the demo, the tests and the benchmarks.

``build_demo(placements=300, seed=..., as_of=..., profile=...)`` returns a ``DemoRegister``: the sheets as
frames ready to write (``apxl.io.register_writer.write_register``) and a manifest of every planted
problem (rule id, sheet, Excel row, key, column, what was planted). Same seed, same register.
``placements`` is the number of background placements; the planted scenarios add about 60 more.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from apxl.errors import ApxlError

DEFAULT_SEED = 20240902
DEFAULT_AS_OF = date(2025, 7, 11)
DEFAULT_PROFILE = "herefordshire"
FIRST_AS_OF, LAST_AS_OF = date(2024, 11, 1), date(2025, 8, 31)
MANIFEST_COLUMNS = ["rule_id", "sheet", "row", "key", "column", "note"]
_YN_FIELDS = ("ehcp", "looked_after", "reintegration_plan", "send_officer_consulted", "virtual_school_consulted")


@dataclass
class DemoRegister:
    """The demo register's sheets (contract field names; extra columns by header) and what was planted in them."""

    placements: pd.DataFrame
    providers: pd.DataFrame
    attendance: pd.DataFrame
    terms: pd.DataFrame
    closures: pd.DataFrame
    rules: pd.DataFrame
    settings: pd.DataFrame
    manifest: pd.DataFrame
    planted_keys: frozenset[str]  # Placement IDs and UPNs of the scenario rows, and the providers given a defect
    profile: str
    as_of: date
    seed: int

    def tables(self) -> dict[str, pd.DataFrame]:
        """Frames by table name, as ``write_register`` takes them."""
        return {"placements": self.placements, "providers": self.providers, "attendance": self.attendance, "terms": self.terms,
                "closures": self.closures, "rules": self.rules, "settings": self.settings}


def profile_routes(profile: str) -> dict[str, dict[str, list[str]]]:
    """The profile's route matrix as allowed values per column (from apxl's own reading of the profile)."""
    from apxl.core.policy import policy_from_profile
    from apxl.core.vocab import PARTIES, REGISTRATIONS
    from apxl.io.profiles import load_profile_data

    policy, _ = policy_from_profile(load_profile_data(profile))
    order = lambda values, vocab: [v for v in vocab if v in values]  # noqa: E731
    return {r: {"commissioner": order(rr.commissioners, PARTIES), "place_funder": order(rr.place_funders, PARTIES),
                "topup_funder": order(rr.topup_funders, PARTIES), "registration": order(rr.registrations, REGISTRATIONS)}
            for r, rr in policy.routes.items()}


def build_demo(placements: int = 300, seed: int = DEFAULT_SEED, as_of: date = DEFAULT_AS_OF, profile: str = DEFAULT_PROFILE, *,
               whole_year: bool = False) -> DemoRegister:
    """Generate the demo register: background placements for the 2024-25 school year plus planted problems.

    ``whole_year`` adds the home school's marks for every school day a background pupil is on its roll (a
    year of attendance per pupil, as the benchmarks' LA and national registers have), not only placement days.
    """
    from apxl.demo.attendance import build_attendance
    from apxl.demo.placements import build_placements
    from apxl.demo.plant import Planter, plant_placements, plant_providers, set_places
    from apxl.demo.plant_attendance import attendance_scenarios, plant_attendance, structure_scenarios
    from apxl.demo.world import make_world

    if not FIRST_AS_OF <= as_of <= LAST_AS_OF:
        raise ApxlError(f"The demo covers the 2024-25 school year: choose an as-of date from {FIRST_AS_OF:%d/%m/%Y} to {LAST_AS_OF:%d/%m/%Y}.")
    if placements < 1:
        raise ApxlError("The demo needs at least one placement.")
    when = pd.Timestamp(as_of)
    rng = np.random.default_rng(seed)
    routes = profile_routes(profile)
    world = make_world(rng, placements, when, profile)
    background = build_placements(rng, world, placements, when, routes)
    background["_rid"] = np.arange(len(background))
    pl = Planter(rng, world, background, when, routes)
    plant_providers(pl)
    plant_placements(pl)
    att_rids = attendance_scenarios(pl)
    str_rids = structure_scenarios(pl)
    pl.materialise()
    set_places(pl)
    attendance = build_attendance(rng, world, pl.p, when, whole_year=whole_year)
    attendance = plant_attendance(pl, attendance, att_rids)
    return _finish(pl, attendance, str_rids, profile, as_of, seed)


def _finish(pl, attendance: pd.DataFrame, str_rids: dict[str, int], profile: str, as_of: date, seed: int) -> DemoRegister:
    """Order and number the placements, write Y/N as a user would, spoil the STR cells, resolve the manifest."""
    from apxl.demo.plant import Planted
    from apxl.demo.world import calendar_frames
    from apxl.io.profiles import load_profile_data
    from apxl.io.template_data import profile_rules, template_settings

    p = pl.p.sort_values(["start_date", "upn"], kind="stable").reset_index(drop=True)
    width = max(4, len(str(len(p))))
    p["placement_id"] = [f"AP24-{i + 1:0{width}d}" for i in range(len(p))]
    cells = p.drop(columns=[c for c in p.columns if c.startswith("_")])
    for name in _YN_FIELDS:  # Y/N as a user types them
        cells[name] = p[name].map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else ("Y" if bool(v) else "N"))
    for name in ("review_date", "cost_basis", "placement_id", "provider_id"):  # columns the STR scenarios spoil
        cells[name] = cells[name].astype(object).where(cells[name].notna(), None)
    row_of = pd.Series(p.index.to_numpy() + 2, index=p["_rid"].to_numpy())
    id_of = pd.Series(p["placement_id"].to_numpy(), index=p["_rid"].to_numpy())
    upn_of = pd.Series(p["upn"].to_numpy(), index=p["_rid"].to_numpy())

    def at(rule: str) -> int:
        return int(row_of[str_rids[rule]]) - 2

    cells.loc[at("STR-003"), "review_date"] = "TBC"
    pl.manifest.append(Planted("STR-003", "Placements", "Review date typed as 'TBC'", rid=str_rids["STR-003"], column="Review date"))
    cells.loc[at("STR-004"), "cost_basis"] = "Termly"
    pl.manifest.append(Planted("STR-004", "Placements", "Cost basis 'Termly' is not one of Place/Week/Day/Hour", rid=str_rids["STR-004"],
                               column="Cost basis (Place/Week/Day/Hour)"))
    dup = at("STR-005")
    cells.loc[dup, "placement_id"] = cells.loc[dup - 1 if dup > 0 else dup + 1, "placement_id"]
    id_of[str_rids["STR-005"]] = cells.loc[dup, "placement_id"]
    pl.manifest.append(Planted("STR-005", "Placements", "Placement ID copied from the row above", rid=str_rids["STR-005"], column="Placement ID"))
    cells.loc[at("STR-006"), "provider_id"] = None
    pl.manifest.append(Planted("STR-006", "Placements", "Provider ID left blank", rid=str_rids["STR-006"], column="Provider ID"))

    att = attendance.reset_index(drop=True)
    att_row = pd.Series(att.index.to_numpy() + 2, index=pd.MultiIndex.from_frame(att[["upn", "date", "session", "source"]].astype(object)))
    prov_row = pd.Series(pl.world.providers.index.to_numpy() + 2, index=pl.world.providers["provider_id"].to_numpy())
    records = []
    for m in pl.manifest:
        if m.sheet == "Attendance":
            rows = [int(att_row.get(s, -1)) for s in m.sessions] if m.sessions else []
            key = m.upn or upn_of[m.rid]
            records.append({"rule_id": m.rule_id, "sheet": "Attendance", "row": rows[0] if rows and rows[0] > 0 else None, "key": key,
                            "column": m.column, "note": m.note})
        elif m.provider_id is not None:
            records.append({"rule_id": m.rule_id, "sheet": "Providers", "row": int(prov_row[m.provider_id]), "key": m.provider_id,
                            "column": m.column, "note": m.note})
        else:
            records.append({"rule_id": m.rule_id, "sheet": "Placements", "row": int(row_of[m.rid]), "key": id_of[m.rid],
                            "column": m.column, "note": m.note})
    manifest = pd.DataFrame(records, columns=MANIFEST_COLUMNS).sort_values(["rule_id", "sheet", "row"], kind="stable").reset_index(drop=True)
    manifest["row"] = manifest["row"].astype("Int64")

    scenario = (p["_pupil"] == -1).to_numpy()
    planted = set(cells.loc[scenario, "placement_id"].dropna().astype(str)) | set(p.loc[scenario, "upn"].astype(str))
    planted |= set(pl.used_providers) | set(manifest.loc[manifest["sheet"] == "Providers", "key"].astype(str))
    terms, closures = calendar_frames()
    la = load_profile_data(profile).get("la_name") or profile.title()
    settings = template_settings(profile, la_name=f"{la} (synthetic demo)", as_of=as_of)
    providers = pl.world.providers.copy()
    return DemoRegister(placements=cells, providers=providers, attendance=att, terms=terms, closures=closures, rules=profile_rules(profile),
                        settings=settings, manifest=manifest, planted_keys=frozenset(planted), profile=profile, as_of=as_of, seed=seed)
