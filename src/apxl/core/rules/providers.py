"""PRV rules: the provider directory's quality assurance, safeguarding, Ofsted, capacity and key stages.

A provider rule reports on the Providers sheet when the provider's own record is the problem (QA visit,
DBS, Ofsted, places) and on the Placements sheet when a placement was made where it should not be.
"""
from __future__ import annotations

import pandas as pd

from apxl.core.findings import RULE_OUTPUT_COLUMNS, flag
from apxl.core.rules._pupil_facts import active_at, blank, dmy, is_true, placement_key_stage
from apxl.core.rules.registry import rule

_HILLINGDON = "Hillingdon AP guidance 2024/25"  # seed 003_57d480e12197286d.txt
_BUCKS = "Buckinghamshire AP guidance to schools"  # seed 004_3d7af6d2a2601fc8.txt
_KCSIE = "Keeping children safe in education (alternative provision)"


def _providers(ctx) -> pd.DataFrame | None:
    """The Providers sheet's rows that have a Provider ID, or None when there is no sheet (STR-001 says so).

    A row without an ID is already an STR-006 finding and cannot be keyed, so PRV rules skip it.
    """
    table = ctx.register.table("providers")
    if not table.present or table.frame.empty:
        return None
    return table.frame[~blank(table.frame["provider_id"])]


def _with_provider(ctx, providers: pd.DataFrame) -> pd.DataFrame:
    """Placements joined to their provider's record (first row per Provider ID; duplicates are STR-005).

    Provider columns come through with a ``prov_`` prefix; placements whose provider is unknown
    (PLC-002) have no provider record and so no PRV finding.
    """
    prov = providers.dropna(subset=["provider_id"]).drop_duplicates("provider_id").set_index("provider_id")
    prov = prov.add_prefix("prov_")
    joined = ctx.register.placements.join(prov, on="provider_id", how="left")
    joined["_known"] = joined["provider_id"].isin(prov.index)
    return joined


def _ids_text(ids: pd.Series, limit: int = 5) -> str:
    ids = [str(i) for i in ids]
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return ", ".join(ids[:limit]) + more


def _active_counts(ctx, providers: pd.DataFrame) -> pd.DataFrame:
    """Per provider: the number of placements active at ``as_of`` and their ids (for messages)."""
    pl = ctx.register.placements
    act = pl[active_at(pl, ctx.as_of_ts)]
    grouped = act.groupby("provider_id")["placement_id"]
    out = pd.DataFrame({"n_active": grouped.size(), "active_ids": grouped.agg(_ids_text)})
    return out.reindex(providers["provider_id"].dropna().unique()).fillna({"n_active": 0, "active_ids": ""})


def _placements_text(n: pd.Series) -> pd.Series:
    """'1 active placement' / '3 active placements'."""
    return n.astype(int).astype(str) + pd.Series(" active placements", index=n.index).where(n != 1, " active placement")


def _active_note(providers: pd.DataFrame, counts: pd.DataFrame) -> pd.Series:
    """' It has 2 active placement(s) (PL1, PL2).' per provider row, for messages."""
    n = providers["provider_id"].map(counts["n_active"]).fillna(0).astype(int)
    ids = providers["provider_id"].map(counts["active_ids"]).fillna("").astype(str)
    with_ids = " It has " + _placements_text(n) + " (" + ids + ")."
    return with_ids.where(n > 0, " It has no active placements.")


@rule(
    "PRV-001",
    "Active placement at a provider whose QA status is not Approved",
    "error",
    "Hillingdon AP guidance 2024/25 s8.1-8.2, s10 (seed 003_57d480e12197286d.txt); DfE statutory guidance on AP 2013; seed 004_3d7af6d2a2601fc8.txt QA checklist",
)
def prv_001(ctx) -> pd.DataFrame | None:
    providers = _providers(ctx)
    if providers is None:
        return None
    pl = _with_provider(ctx, providers)
    status = pl["prov_qa_status"].astype("object")
    mask = pl["_known"] & active_at(pl, ctx.as_of_ts) & (status != "Approved")
    shown = status.where(status.notna(), "not recorded").map(lambda s: f"'{s}'" if s != "not recorded" else s)
    message = (
        "Placement " + pl["placement_id"].astype(str) + f" is running on {ctx.as_of_ts:%d/%m/%Y}"
        + " with provider " + pl["provider_id"].astype(str) + " (" + pl["prov_name"].astype("object").fillna("no name").astype(str)
        + ") whose QA status is " + shown
        + ". Pupils should only be placed with a provider that has passed the commissioner's quality assurance (QA status Approved):"
        + f" complete the QA check or move the pupil ({_HILLINGDON} s8.2, s10.4; {_BUCKS}, QA checklist)."
    )
    out = flag(pl, mask, sheet=ctx.sheet("placements"), column=ctx.header("placements", "provider_id"), key="placement_id", value="provider_id", message=message)
    # 'Not approved' is a refusal; 'Pending' or blank is QA not finished yet, a warning.
    out["severity"] = status[mask].map(lambda s: "error" if s == "Not approved" else "warning").to_numpy()
    return out


@rule(
    "PRV-002",
    "Provider's last QA visit is older than the QA validity period (12 months) or never happened",
    "warning",
    "Hillingdon AP guidance 2024/25 s10.4 annual QA visit (seed 003_57d480e12197286d.txt); seed 004_3d7af6d2a2601fc8.txt; policy threshold qa_validity_months",
)
def prv_002(ctx) -> pd.DataFrame | None:
    providers = _providers(ctx)
    if providers is None:
        return None
    months = int(round(ctx.policy.threshold("qa_validity_months")))
    cutoff = ctx.as_of_ts - pd.DateOffset(months=months)
    last = providers["last_qa_visit"]
    never = last.isna()
    stale = last < cutoff
    note = _active_note(providers, _active_counts(ctx, providers))
    due = dmy(last + pd.DateOffset(months=months))
    what = pd.Series("No QA visit is recorded for provider " + providers["provider_id"].astype(str) + ".", index=providers.index).where(
        never,
        "Provider " + providers["provider_id"].astype(str) + "'s last QA visit was on " + dmy(last) + "; the next was due by " + due + ".",
    )
    message = (
        what + note
        + f" The LA expects a quality assurance visit at least every {months} months"
        + f" ({_HILLINGDON} s10.4: an initial QA assessment and an annual QA visit)."
    )
    return flag(providers, never | stale, sheet=ctx.sheet("providers"), column=ctx.header("providers", "last_qa_visit"), key="provider_id", value="last_qa_visit", message=message)


@rule(
    "PRV-003",
    "No DBS confirmation or no written safeguarding confirmation for a provider",
    "error",
    "KCSIE (AP: written confirmation of safeguarding checks); Hillingdon AP guidance 2024/25 s8.4 (seed 003_57d480e12197286d.txt); seed 004_3d7af6d2a2601fc8.txt checklist b-c",
)
def prv_003(ctx) -> pd.DataFrame | None:
    providers = _providers(ctx)
    if providers is None:
        return None
    note = _active_note(providers, _active_counts(ctx, providers))
    pid = providers["provider_id"].astype(str)
    dbs = providers["dbs_confirmed"].astype("boolean")
    dbs_state = pd.Series("not recorded", index=providers.index).where(dbs.isna(), "N")
    dbs_msg = (
        "Provider " + pid + ": DBS checks on its staff are " + dbs_state.map({"not recorded": "not recorded as confirmed", "N": "recorded as NOT confirmed"}) + "."
        + note + f" Commissioners must make sure every adult in contact with the pupil has a DBS check; where DBS information is limited, do not commission ({_HILLINGDON} s8.4; {_BUCKS} checklist b)."
    )
    sg_msg = (
        "Provider " + pid + " has no safeguarding confirmation date." + note
        + f" The commissioner must hold the provider's written confirmation that the appropriate safeguarding checks have been carried out ({_KCSIE}; {_BUCKS} checklist c)."
    )
    sheet = ctx.sheet("providers")
    return pd.concat(
        [
            flag(providers, ~is_true(providers["dbs_confirmed"]), sheet=sheet, column=ctx.header("providers", "dbs_confirmed"), key="provider_id", value=dbs.map({True: "Y", False: "N"}).astype("object"), message=dbs_msg),
            flag(providers, providers["safeguarding_confirmation_date"].isna(), sheet=sheet, column=ctx.header("providers", "safeguarding_confirmation_date"), key="provider_id", message=sg_msg),
        ],
        ignore_index=True,
    )


@rule(
    "PRV-004",
    "Registered provider judged Requires improvement or Inadequate by Ofsted still has active placements",
    "warning",
    "Hillingdon AP guidance 2024/25 s14.13-14.16 (seed 003_57d480e12197286d.txt)",
)
def prv_004(ctx) -> pd.DataFrame | None:
    providers = _providers(ctx)
    if providers is None:
        return None
    counts = _active_counts(ctx, providers)
    n_active = providers["provider_id"].map(counts["n_active"]).fillna(0)
    judgement = providers["ofsted_judgement"].astype("object")
    mask = is_true(providers["registered"]) & judgement.isin(["Requires improvement", "Inadequate"]) & (n_active > 0)
    when = dmy(providers["ofsted_date"]).map(lambda d: f" on {d}" if d else "")
    message = (
        "Provider " + providers["provider_id"].astype(str) + " was judged '" + judgement.fillna("").astype(str) + "' by Ofsted" + when
        + " and still has " + _placements_text(n_active) + " ("
        + providers["provider_id"].map(counts["active_ids"]).fillna("").astype(str) + ")."
        + f" After such a judgement the commissioner should review each placement and may remove pupils with immediate effect; record the decision ({_HILLINGDON} s14.15)."
    )
    return flag(providers, mask, sheet=ctx.sheet("providers"), column=ctx.header("providers", "ofsted_judgement"), key="provider_id", value="ofsted_judgement", message=message)


@rule(
    "PRV-005",
    "Pupils on roll at a provider on a census day exceed its places",
    "warning",
    "Solihull AP strategy s11, places vs numbers on roll at the January and May census (seed 002_f01ccf5f4a336bf1.txt); census days: DOMAIN.md section 7",
)
def prv_005(ctx) -> pd.DataFrame | None:
    providers = _providers(ctx)
    if providers is None:
        return None
    pl = ctx.register.placements.dropna(subset=["start_date", "provider_id", "upn"])
    with_places = providers.dropna(subset=["places", "provider_id"]).drop_duplicates("provider_id")
    if pl.empty or with_places.empty:
        return None
    # The register's range is its earliest placement start to its latest date, but never past as_of:
    # a later census day has not happened yet and "on roll" on it would only be a plan.
    # An open placement (no End date) is on roll until as_of.
    hi = min(pl["end_date"].fillna(ctx.as_of_ts).max(), ctx.as_of_ts)
    lo = pl["start_date"].min()
    if pd.isna(lo) or hi < lo:
        return None
    census = pd.DatetimeIndex(ctx.calendar.census_days(lo, hi))
    if census.empty:
        return None
    days = pd.DataFrame({"census": census})
    pairs = pl[["provider_id", "upn", "start_date", "end_date"]].merge(days, how="cross")
    # On roll on the census day: started by then and not yet ended (an open placement counts).
    on = pairs[(pairs["start_date"] <= pairs["census"]) & (pairs["end_date"].isna() | (pairs["end_date"] >= pairs["census"]))]
    counts = on.groupby(["provider_id", "census"])["upn"].nunique().rename("pupils").reset_index()
    prov = with_places.reset_index(names="_row")[["_row", "provider_id", "places"]]
    over = counts.merge(prov, on="provider_id")
    over = over[over["pupils"] > over["places"]].sort_values(["_row", "census"])
    if over.empty:
        return pd.DataFrame(columns=RULE_OUTPUT_COLUMNS)
    over = over.set_index("_row")
    message = (
        "On the census day " + over["census"].dt.strftime("%d/%m/%Y") + " provider " + over["provider_id"].astype(str) + " had "
        + over["pupils"].astype(str) + " pupils placed but " + over["places"].map(lambda p: f"{p:g}") + " places."
        + " Numbers on roll at each census should stay within the places commissioned; review the places or the placements"
        + " (Solihull AP strategy s11: places vs numbers on roll at census)."
    )
    return flag(over, pd.Series(True, index=over.index), sheet=ctx.sheet("providers"), column=ctx.header("providers", "places"), key="provider_id", value="places", message=message)


@rule(
    "PRV-006",
    "Pupil's key stage is not one the provider offers",
    "warning",
    "DfE statutory guidance on AP 2013 (suitable to age, ability and aptitude); Hillingdon AP guidance 2024/25 s2.1 (seed 003_57d480e12197286d.txt)",
)
def prv_006(ctx) -> pd.DataFrame | None:
    providers = _providers(ctx)
    if providers is None:
        return None
    pl = _with_provider(ctx, providers)
    stage = placement_key_stage(pl)
    offered = pl["prov_key_stages"].astype("object")
    known = pl["_known"] & stage.notna() & ~blank(offered)
    # Membership by a join-free lookup: "provider|stage" pairs the directory offers.
    offer_pairs = providers[["provider_id", "key_stages"]].dropna().assign(ks=lambda f: f["key_stages"].str.split(",")).explode("ks")
    pairs = set(offer_pairs["provider_id"].astype(str) + "|" + offer_pairs["ks"].str.strip())
    offers = (pl["provider_id"].astype(str) + "|" + stage.fillna("").astype(str)).isin(pairs)
    mask = known & ~offers
    year = pl["year_group"].astype("Int64")
    year_text = ("Year " + year.astype(str)).where(year.notna(), "year group from date of birth")
    message = (
        "Placement " + pl["placement_id"].astype(str) + ": the pupil is in " + stage.fillna("").astype(str) + " (" + year_text + ") but provider "
        + pl["provider_id"].astype(str) + " offers " + offered.fillna("").astype(str).str.replace(",", ", ")
        + ". Provision must be suitable to the pupil's age, ability and aptitude: choose a provider that teaches this key stage,"
        + " or correct the provider's Key stages (DfE statutory guidance on alternative provision 2013)."
    )
    return flag(pl, mask, sheet=ctx.sheet("placements"), column=ctx.header("placements", "provider_id"), key="placement_id", value="provider_id", message=message)
