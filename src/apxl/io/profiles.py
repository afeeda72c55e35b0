"""LA policy profiles: load schemas/profiles/NAME.toml and combine with the workbook's Rules and Settings sheets."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd

from apxl.core.findings import empty_findings
from apxl.core.policy import Policy, apply_rules_sheet, apply_settings, default_policy, policy_from_profile
from apxl.core.register import Register
from apxl.errors import ApxlError
from apxl.resources import schemas_dir


def profiles_dir() -> Path:
    return schemas_dir() / "profiles"


def available_profiles() -> list[str]:
    return sorted(p.stem for p in profiles_dir().glob("*.toml"))


def profile_path(name: str) -> Path:
    """A profile by name (schemas/profiles/NAME.toml) or a path to an LA's own .toml file."""
    text = str(name).strip()
    if text.lower().endswith(".toml"):
        return Path(text).expanduser()
    return profiles_dir() / f"{text.lower()}.toml"


def load_profile_data(name: str) -> dict:
    """The profile's TOML as data. Raises ApxlError when there is no such profile; TOML errors propagate."""
    path = profile_path(name)
    if not path.is_file():
        raise ApxlError(f"There is no policy profile called '{name}': choose one of {', '.join(available_profiles()) or 'none'}.")
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _setting_row(register: Register, name: str) -> int | None:
    frame = register.table("settings").frame
    if frame.empty or "name" not in frame.columns:
        return None
    hits = frame.index[frame["name"].astype("object").map(lambda n: isinstance(n, str) and n.strip().lower() == name)]
    return int(hits[0]) if len(hits) else None


def policy_for(register: Register, profile: str | None = None) -> tuple[Policy, pd.DataFrame]:
    """The policy a register is checked under: ``profile`` (or Settings' Profile) plus the workbook's overrides.

    Order: the profile, then the Settings sheet (thresholds, LAC day 1, severities, AWPU), then the Rules
    sheet (route rows). An unknown ``profile`` argument raises ApxlError; an unknown or malformed profile
    named on the Settings sheet, and unreadable Rules/Settings cells, become POL-001 findings instead.
    """
    problems: list[dict] = []
    name = profile or register.setting("Profile")
    policy = default_policy()
    if name:
        row = None if profile else _setting_row(register, "profile")
        try:
            data = load_profile_data(str(name))
        except ApxlError as exc:
            if profile:
                raise
            problems.append({"sheet": "Settings", "row": row, "column": "Value", "key": "Profile", "value": str(name),
                             "message": f"{exc} Until then no LA route matrix is checked."})
        except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
            problems.append({"sheet": "Settings", "row": row, "column": "Value", "key": "Profile", "value": str(name),
                             "message": f"Policy profile '{name}' cannot be read ({exc}); no LA route matrix is checked until it is fixed."})
        else:
            policy, found = policy_from_profile(data)
            problems.extend({**p, "row": row} for p in found)
    policy, found = apply_settings(policy, register.table("settings").frame)
    problems.extend(found)
    rules = register.table("rules")
    policy, found = apply_rules_sheet(policy, rules.frame, sheet=rules.sheet, headers=rules.headers)
    problems.extend(found)
    from apxl.io.attendance import with_attendance_codes  # national code sets for the ATT rules

    return with_attendance_codes(policy), _findings(problems)


def _findings(problems: list[dict]) -> pd.DataFrame:
    if not problems:
        return empty_findings().drop(columns=["severity"])
    frame = pd.DataFrame(problems, columns=["sheet", "row", "column", "key", "value", "message"])
    frame.insert(0, "rule_id", "POL-001")
    frame["row"] = frame["row"].astype("Int64")
    return frame


def check_with_policy(register: Register, as_of, profile: str | None = None, progress=None):
    """Resolve the register's policy and check it: the one sequence the CLI, Excel and the demo share.

    POL-001 problems with the profile, Rules or Settings sheet are reported with the other findings.
    Returns ``(policy, report)``.
    """
    from apxl.core.check import check_register

    policy, problems = policy_for(register, profile)
    if len(problems):
        register.findings = pd.concat([f for f in (register.findings, problems) if len(f)], ignore_index=True)
    return policy, check_register(register, policy, as_of, progress=progress)
