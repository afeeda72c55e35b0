"""Demo attendance: one row per pupil, school day and session from the home school and from the provider.

Recorded as the guidance asks (seed 004; DOMAIN.md 5): on placement days the home school codes D
(dual registration at a registered school), K (LA-arranged) or B (school-arranged), and copies the
provider's absence code when the provider reports one; on other days the pupil is in school. Before
provision starts, an excluded pupil is coded E for at most five school days. Built by expanding
placement windows over the school-day array (numpy), so a year at national scale is quick.
``whole_year=True`` (the benchmarks) adds the home school's register for the rest of the year: every
school day up to ``as_of`` while the pupil is on its roll, so a register holds a full year per pupil.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from apxl.demo.world import World

ABSENCE_CODES = np.array(["I", "N", "O", "M", "C", "U", "G"])
ABSENCE_SHARE = np.array([0.38, 0.14, 0.28, 0.06, 0.04, 0.05, 0.05])
_WEEKDAY_BITS = {"Mon": 1, "Tue": 2, "Wed": 4, "Thu": 8, "Fri": 16}
COLUMNS = ["upn", "date", "session", "code", "source"]


def day_masks(days_text: pd.Series) -> np.ndarray:
    """Weekday bitmask (Mon=1 .. Fri=16) per placement; 'Mon-Fri' or blank is the whole week."""
    text = days_text.astype("object").fillna("Mon-Fri").astype(str)
    full = text.str.contains("-", regex=False).to_numpy()
    mask = np.zeros(len(text), dtype=np.int64)
    for name, bit in _WEEKDAY_BITS.items():
        mask |= np.where(text.str.contains(name, regex=False).to_numpy(), bit, 0)
    return np.where(full | (mask == 0), 31, mask)


def _expand(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner, index) pairs for every index in each inclusive range lo..hi (empty where hi < lo)."""
    length = np.maximum(hi - lo + 1, 0)
    owner = np.repeat(np.arange(len(lo)), length)
    offset = np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length)
    return owner, lo[owner] + offset


def build_attendance(rng: np.random.Generator, world: World, placements: pd.DataFrame, as_of: pd.Timestamp, *,
                     whole_year: bool = False) -> pd.DataFrame:
    """Sessions for every placement with ``_att`` set (planted broken rows opt out), up to ``as_of``."""
    days = world.school_days
    p = placements[placements["_att"].astype(bool)].reset_index(drop=True)
    upn_code, upns = pd.factorize(p["upn"].astype(str))
    cutoff = np.datetime64(as_of, "D")
    start = p["start_date"].to_numpy(dtype="datetime64[D]")
    end = p["end_date"].to_numpy(dtype="datetime64[D]")
    end = np.where(np.isnat(end) | (end > cutoff), cutoff, end)
    lo = np.searchsorted(days, start)
    hi = np.searchsorted(days, end, side="right") - 1
    owner, day = _expand(lo, hi)
    weekday = (days[day].astype("datetime64[D]").view("int64") - 4) % 7  # 1970-01-01 was a Thursday
    on = (day_masks(p["days"])[owner] >> np.minimum(weekday, 4)) & 1 == 1

    # Absence is decided once per pupil and day, so the school and the provider agree.
    key = upn_code[owner].astype(np.int64) * len(days) + day
    uniq, inverse = np.unique(key, return_inverse=True)
    absence = p["_absence"].to_numpy(dtype=float)
    u = rng.random(len(uniq))[inverse]
    code = ABSENCE_CODES[rng.choice(len(ABSENCE_CODES), size=len(uniq), p=ABSENCE_SHARE)][inverse]
    a = absence[owner]
    whole = u < a * 0.85
    pm_only = (u >= a * 0.85) & (u < a)
    late = (u > 0.97) & ~whole & ~pm_only

    reg = p["registration"].astype(str).to_numpy()
    registered = p["_registered"].to_numpy(dtype=bool)
    la = p["commissioner"].astype(str).to_numpy() == "LA"
    off_code = np.where((reg == "Dual") & registered, "D", np.where(la, "K", "B"))[owner]
    keeps_school = np.isin(reg, ["Dual", "Off-site"])[owner]

    frames = []
    for session, absent in (("AM", whole), ("PM", whole | pm_only)):
        present = "/" if session == "AM" else "\\"
        attend = np.where(late & (session == "AM"), "L", present)
        marked = np.where(absent, code, attend)
        # Provider: its own sessions on the placement's days.
        frames.append(_rows(upns, upn_code[owner][on], days[day][on], session, marked[on], "Provider", 1))
        # Home school: placement days get the off-site code (or the absence the provider reported);
        # other days the pupil is in school. D stands whatever the pupil did: the other school records it.
        school = np.where(on, np.where(absent & (off_code != "D"), code, off_code), marked)
        frames.append(_rows(upns, upn_code[owner][keeps_school], days[day][keeps_school], session, school[keeps_school], "School",
                            np.where(on, 0, 2)[keeps_school]))
    frames.extend(_exclusion_runs(days, p, upns, upn_code, cutoff))
    if whole_year:  # drawn last, so the rows above are the same with or without it
        frames.extend(_school_year(rng, days, p, upns, upn_code, cutoff))
    out = pd.concat(frames, ignore_index=True)
    out = out.sort_values(["upn", "date", "session", "source", "_rank"], kind="stable")
    out = out.drop_duplicates(["upn", "date", "session", "source"], keep="first").drop(columns="_rank")
    for col in ("upn", "session", "code", "source"):
        out[col] = out[col].astype("category")
    return out.reset_index(drop=True)[COLUMNS]


def _rows(upns: pd.Index, codes: np.ndarray, dates: np.ndarray, session: str, marks: np.ndarray, source: str, rank) -> pd.DataFrame:
    return pd.DataFrame({
        "upn": pd.Categorical.from_codes(codes, categories=upns),
        "date": dates.astype("datetime64[ns]"),
        "session": session,
        "code": marks,
        "source": source,
        "_rank": rank,
    })


def _exclusion_runs(days: np.ndarray, p: pd.DataFrame, upns: pd.Index, upn_code: np.ndarray, cutoff: np.datetime64) -> list[pd.DataFrame]:
    """E from the first day of each exclusion until the placement made for it starts (the school's register)."""
    excl = p["exclusion_start_date"].to_numpy(dtype="datetime64[D]")
    first = ~pd.DataFrame({"u": upn_code, "e": excl}).duplicated().to_numpy() & ~np.isnat(excl)
    idx = np.flatnonzero(first)
    lo = np.searchsorted(days, excl[idx])
    hi = np.searchsorted(days, np.minimum(p["start_date"].to_numpy(dtype="datetime64[D]")[idx], cutoff + 1)) - 1
    owner, day = _expand(lo, hi)
    who = upn_code[idx][owner]
    return [_rows(upns, who, days[day], s, np.full(len(day), "E"), "School", 0) for s in ("AM", "PM")]


def _school_year(rng: np.random.Generator, days: np.ndarray, p: pd.DataFrame, upns: pd.Index, upn_code: np.ndarray,
                 cutoff: np.datetime64) -> list[pd.DataFrame]:
    """The home school's marks on every school day the pupil is on its roll (ranked below the placement rows).

    The roll ends where the pupil leaves it: at a permanent exclusion, or at a single registration elsewhere.
    Only background pupils (``_pupil`` >= 0) with a home school get these rows: planted scenarios keep their
    own hand-made attendance, so what they plant is still the only problem in it.
    """
    n = len(upns)
    route = p["route"].astype(str).to_numpy()
    leaves = np.where(route == "PEX", p["exclusion_start_date"].fillna(p["start_date"]).to_numpy(dtype="datetime64[D]"),
                      np.where(p["registration"].astype(str).to_numpy() == "Single", p["start_date"].to_numpy(dtype="datetime64[D]"),
                               np.datetime64("NaT")))
    leave_idx = np.where(np.isnat(leaves), len(days), np.searchsorted(days, leaves))
    last = np.full(n, np.searchsorted(days, cutoff, side="right") - 1)
    np.minimum.at(last, upn_code, leave_idx - 1)
    eligible = np.ones(n, dtype=bool)
    np.logical_and.at(eligible, upn_code, (p["_pupil"].to_numpy() >= 0) & p["home_school_urn"].notna().to_numpy())
    who = np.flatnonzero(eligible)
    owner, day = _expand(np.zeros(len(who), dtype=np.int64), last[who])
    pupil = who[owner]
    absence = pd.Series(p["_absence"].to_numpy(dtype=float)).groupby(upn_code).first().reindex(range(n)).to_numpy()
    a = absence[pupil]
    u = rng.random(len(day))
    code = ABSENCE_CODES[rng.choice(len(ABSENCE_CODES), size=len(day), p=ABSENCE_SHARE)]
    whole = u < a * 0.85
    pm_only = (u >= a * 0.85) & (u < a)
    late = (u > 0.97) & ~whole & ~pm_only
    am = np.where(whole, code, np.where(late, "L", "/"))
    pm = np.where(whole | pm_only, code, "\\")
    return [_rows(upns, pupil, days[day], "AM", am, "School", 3), _rows(upns, pupil, days[day], "PM", pm, "School", 3)]
