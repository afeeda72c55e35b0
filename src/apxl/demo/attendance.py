"""Demo attendance: one row per pupil, school day and session from the home school and from the provider.

Recorded as the guidance asks (seed 004; DOMAIN.md 5): on placement days the home school codes D
(dual registration at a registered school), K (LA-arranged) or B (school-arranged), and copies the
provider's absence code when the provider reports one; on other days the pupil is in school. Before
provision starts, an excluded pupil is coded E for at most five school days. Built by expanding
placement windows over the school-day array (numpy), so a year at national scale is quick.
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


def build_attendance(rng: np.random.Generator, world: World, placements: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
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
