"""Synthetic pupils for the demo: names, dates of birth matching their year group, valid UPNs, EHCP and looked-after flags."""
from __future__ import annotations

import numpy as np
import pandas as pd

from apxl.core.pupils import upn_check_letters
from apxl.demo.world import FORENAMES, SURNAMES, World

SCHOOL_YEAR = 2024  # the demo year is 2024-25


def dobs_for_years(rng: np.random.Generator, years: np.ndarray) -> pd.DatetimeIndex:
    """A date of birth in each pupil's year group for 2024-25: born 1 Sep to 31 Aug, (year + 4) years before 31 Aug 2024."""
    first = pd.to_datetime(pd.DataFrame({"year": SCHOOL_YEAR - years - 5, "month": 9, "day": 1}))
    return pd.DatetimeIndex(first + pd.to_timedelta(rng.integers(0, 365, len(years)), unit="D"))


def make_upns(rng: np.random.Generator, la_number: str, estab: np.ndarray, dobs: pd.DatetimeIndex) -> np.ndarray:
    """Valid, distinct UPNs: check letter + LA number + establishment + 2-digit year of issue + serial (DOMAIN.md 6)."""
    n = len(estab)
    year = ((dobs.year + 5) % 100).astype(int)  # issued on entry to Reception
    out = np.empty(n, dtype=object)
    todo = np.arange(n)
    seen: set[str] = set()
    while len(todo):
        serial = rng.integers(1, 1000, len(todo))
        body = pd.Series([f"{la_number}{e:04d}{y:02d}{s:03d}" for e, y, s in zip(estab[todo], year[todo], serial)])
        letters = upn_check_letters("A" + body)
        full = (letters.astype(str) + body).to_numpy()
        fresh = []
        for i, upn in zip(todo, full):
            if upn in seen:
                fresh.append(i)
            else:
                seen.add(upn)
                out[i] = upn
        todo = np.array(fresh, dtype=int)
    return out


def make_pupils(rng: np.random.Generator, world: World, years: np.ndarray) -> pd.DataFrame:
    """One pupil per entry of ``years`` (their 2024-25 year group), with a home school of the right phase."""
    n = len(years)
    dobs = dobs_for_years(rng, years)
    schools = world.schools
    primary = schools.index[schools["phase"] == "Primary"].to_numpy()
    secondary = schools.index[schools["phase"] == "Secondary"].to_numpy()
    home = np.where(years <= 6, primary[rng.integers(0, len(primary), n)], secondary[rng.integers(0, len(secondary), n)])
    first_school = primary[rng.integers(0, len(primary), n)]  # where the UPN was issued
    upns = make_upns(rng, world.la_number, schools["estab"].to_numpy()[first_school], dobs)
    ehcp = rng.random(n) < 0.18
    lac = rng.random(n) < 0.07
    return pd.DataFrame({
        "upn": upns,
        "surname": np.array(SURNAMES)[rng.integers(0, len(SURNAMES), n)],
        "forename": np.array(FORENAMES)[rng.integers(0, len(FORENAMES), n)],
        "date_of_birth": dobs,
        "year_group": years.astype(int),
        "ehcp": ehcp,
        "looked_after": lac,
        "home_school_urn": schools["urn"].to_numpy()[home],
        "home_school_name": schools["name"].to_numpy()[home],
        # How often the pupil misses school: most rarely, a quarter often (AP pupils' absence is high).
        "absence": np.where(rng.random(n) < 0.85, rng.beta(1.2, 40, n), rng.beta(3, 20, n)),
    })
