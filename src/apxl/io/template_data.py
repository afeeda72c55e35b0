"""What the template's Rules and Settings sheets hold: a profile's route matrix in the LA's words, and the settings rows."""
from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd


def profile_rules(profile: str | None) -> pd.DataFrame:
    """The Rules sheet's rows for a profile: its route matrix in the LA's own wording."""
    cols = ["route", "commissioner", "place_funder", "topup_funder", "registration", "Description"]
    if not profile:
        return pd.DataFrame(columns=cols)
    from apxl.io.profiles import load_profile_data

    data = load_profile_data(profile)
    rows = []
    for route, spec in (data.get("routes") or {}).items():
        wording = spec.get("wording") or {}
        rows.append({"route": route, **{k: wording.get(k) for k in cols[1:5]}, "Description": spec.get("description")})
    return pd.DataFrame(rows, columns=cols)


def template_settings(profile: str | None, la_name: str | None = None, as_of: date | None = None) -> pd.DataFrame:
    """The Settings sheet's rows: LA name, Profile and As of date, then the overridable thresholds left blank
    (blank means the profile's value, which the note gives)."""
    from apxl.core.policy import DEFAULT_THRESHOLDS
    from apxl.core.policy_build import THRESHOLD_LABELS

    data: dict[str, Any] = {}
    if profile:
        from apxl.io.profiles import load_profile_data

        data = load_profile_data(profile)
        la_name = la_name or data.get("la_name")
    thresholds = {**DEFAULT_THRESHOLDS, **(data.get("thresholds") or {})}
    awpu = data.get("awpu") or {}
    rows = [
        {"name": "LA name", "value": la_name, "Notes": "Your local authority's name as findings and summaries should show it, e.g. Herefordshire Council."},
        {"name": "Profile", "value": profile, "Notes": "Policy profile (" + ", ".join(_profile_names()) + "): route matrix and thresholds. "
         "The Rules sheet, when filled in, replaces the profile's route matrix."},
        {"name": "As of date", "value": as_of, "Notes": "Date the register is checked as of (review dates, open placements, future sessions). apxl validate --as-of overrides it."},
        {"name": "LAC day 1", "value": None, "Notes": f"Y: looked-after children get provision from the first day of an exclusion (Hillingdon's rule, seed 003 5.6). Blank: {'Y' if data.get('lac_day1') else 'N'}."},
    ]
    for key, label in THRESHOLD_LABELS.items():
        whose = "the profile's value" if profile else "apxl's default"
        rows.append({"name": label, "value": None, "Notes": f"Blank: {float(thresholds.get(key, DEFAULT_THRESHOLDS[key])):g} ({whose})."})
    for ks in ("KS1", "KS2", "KS3", "KS4"):
        default = f"£{float(awpu[ks]):,.2f}" if ks in awpu else "not set"
        rows.append({"name": f"AWPU {ks}", "value": None, "Notes": f"Annual per-pupil amount for AWPU recovery after a permanent exclusion (FND-005). Blank: {default}."})
    rows.append({"name": "Disabled rules", "value": None, "Notes": "Rule ids to switch off, e.g. ATT-011, ATT-012."})
    # Read by the Import school returns button (apxl.excel.returns), as `apxl reconcile` takes --returns, --month, --invoices.
    rows.append({"name": "Returns folder", "value": None, "Notes": "Folder holding the month's school returns, e.g. C:\\AP\\Returns\\2025-03, for the "
                 "Import school returns button (with the apxl add-in: a folder on the computer running the apxl server)."})
    rows.append({"name": "Returns month", "value": None, "Notes": "Month the returns cover, as 2025-03. Blank: the returns folder's name when it is a month."})
    rows.append({"name": "Invoices file", "value": None, "Notes": "Optional: providers' invoices for the month (CSV or .xlsx: Provider ID, Amount), checked against the expected cost."})
    return pd.DataFrame(rows, columns=["name", "value", "Notes"])


def _profile_names() -> list[str]:
    from apxl.io.profiles import available_profiles

    return available_profiles()


def template_data(profile: str | None = None) -> dict[str, pd.DataFrame]:
    return {"settings": template_settings(profile), "rules": profile_rules(profile)}
