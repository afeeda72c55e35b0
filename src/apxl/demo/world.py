"""The demo LA's fixed world: 2024-25 term dates and INSET days, home schools, pupil names and the provider directory.

All synthetic: names are drawn from common-name lists, schools and providers are invented, and every
URN or UPN is made up (UPN check letters are right, per DOMAIN.md section 6).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from apxl.core.calendar import SchoolCalendar

# Herefordshire-style 2024-25 dates (seed 000 is Herefordshire's strategy): 190 pupil days with 5 INSET days.
TERMS = [
    ("2024-25", "Autumn", "2024-09-02", "2024-12-20", "2024-10-28", "2024-11-01"),
    ("2024-25", "Spring", "2025-01-06", "2025-04-11", "2025-02-17", "2025-02-21"),
    ("2024-25", "Summer", "2025-04-28", "2025-07-21", "2025-05-26", "2025-05-30"),
]
CLOSURES = [
    ("2024-09-02", "INSET day"),
    ("2024-09-03", "INSET day"),
    ("2025-01-06", "INSET day"),
    ("2025-04-28", "INSET day"),
    ("2025-07-21", "INSET day"),
]
LA_NUMBERS = {"herefordshire": "884", "solihull": "334"}  # DfE LA numbers, the UPN's characters 2-4

PLACES = [
    "Wyebridge", "Lugg Valley", "Kingsmead", "Marcle Ridge", "Golden Valley", "Malvern View", "Dinmore Hill", "Aconbury",
    "Arrow Valley", "Frome Valley", "Black Mountains", "Croft Ambrey", "Mortimer Vale", "Eastnor", "Holme Lacy", "Haywood",
    "Bishopswood", "Pembridge", "Monnow", "Wormsley", "Westhope", "Queenswood", "Shucknall", "Ridgeway", "Callow Hill",
    "Garnons", "Brockhampton", "Ashperton", "Yarkhill", "Ocle Pychard", "Stretton Grandison", "Hampton Bishop",
]
SECONDARY = ["High School", "Academy", "Community School", "Church of England Academy"]
PRIMARY = ["Primary School", "C of E Primary School", "Primary Academy", "St Michael's RC Primary"]
FORENAMES = [
    "Oliver", "Harry", "Jack", "Charlie", "Thomas", "George", "Oscar", "James", "William", "Leo", "Alfie", "Joshua",
    "Freddie", "Archie", "Ethan", "Isaac", "Mason", "Riley", "Tyler", "Kai", "Liam", "Callum", "Declan", "Mohammed",
    "Amelia", "Olivia", "Isla", "Emily", "Ava", "Lily", "Mia", "Sophie", "Ella", "Grace", "Evie", "Chloe", "Jessica",
    "Poppy", "Ruby", "Freya", "Holly", "Megan", "Lacey", "Kayla", "Aaliyah", "Zara", "Maja", "Niamh",
]
SURNAMES = [
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson", "Roberts",
    "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall", "Lewis", "Harris",
    "Clarke", "Patel", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore", "Clark",
    "Lee", "King", "Baker", "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips", "Watson", "Price", "Bennett",
    "Griffiths", "Powell", "Lloyd", "O'Brien", "Kowalski", "Nowak", "Khan", "Begum", "Price-Jones", "Pritchard",
]

# Provider directory: per type, registered, name patterns, key stages offered, fees (weekly, hourly) ranges.
PROVIDER_TYPES = {
    "PRU": (True, ["{} Pupil Referral Service", "{} Learning Centre"], ["KS2,KS3,KS4", "KS3,KS4"], (380, 460), None),
    "AP academy": (True, ["{} AP Academy", "{} Alternative Provision Academy"], ["KS3,KS4"], (400, 480), None),
    "AP free school": (True, ["{} Free School", "{} Studio School (AP)"], ["KS3,KS4", "KS2,KS3"], (420, 500), None),
    "Independent school": (True, ["{} House School", "{} Independent School"], ["KS2,KS3,KS4"], (950, 1450), None),
    "Special school": (True, ["{} Special School", "{} School (SEMH)"], ["KS1,KS2,KS3,KS4"], (1000, 1600), None),
    "FE college": (True, ["{} College", "{} College of Technology"], ["KS4,KS5"], None, (18, 26)),
    "Hospital school": (True, ["{} Hospital and Home Education Service", "{} Medical Needs Service"], ["KS1,KS2,KS3,KS4"], (300, 380), None),
    "Unregistered": (False, ["{} Farm Learning", "{} Motor Project", "{} Boxing Academy CIC", "{} Forest School", "{} Outdoor Learning"], ["KS3,KS4", "KS2,KS3,KS4"], (150, 240), (25, 45)),
    "Online/tuition": (False, ["{} Online Tuition", "{} Tutors"], ["KS2,KS3,KS4"], None, (30, 45)),
}
TYPE_SHARE = {"PRU": 2, "AP academy": 2, "AP free school": 1, "Independent school": 2, "Special school": 1, "FE college": 1,
              "Hospital school": 1, "Unregistered": 3, "Online/tuition": 2}


@dataclass
class World:
    """What the placements are drawn from."""

    terms: pd.DataFrame
    closures: pd.DataFrame
    calendar: SchoolCalendar
    school_days: np.ndarray  # datetime64[D], every school day of 2024-25
    schools: pd.DataFrame  # urn, name, phase, estab
    providers: pd.DataFrame  # contract fields (provider_id, name, type, ...)
    la_number: str


def calendar_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    terms = pd.DataFrame(TERMS, columns=["academic_year", "term", "start", "end", "half_term_start", "half_term_end"])
    for col in ("start", "end", "half_term_start", "half_term_end"):
        terms[col] = pd.to_datetime(terms[col])
    closures = pd.DataFrame(CLOSURES, columns=["date", "reason"])
    closures["date"] = pd.to_datetime(closures["date"])
    return terms, closures


def make_schools(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """``n`` home schools, about a third secondary, with URNs and DfE establishment numbers."""
    n_sec = max(4, n // 3)
    phase = np.array(["Secondary"] * n_sec + ["Primary"] * (n - n_sec))
    place = np.array(PLACES)[np.arange(n) % len(PLACES)]
    suffix = np.where(phase == "Secondary", np.array(SECONDARY)[rng.integers(0, len(SECONDARY), n)], np.array(PRIMARY)[rng.integers(0, len(PRIMARY), n)])
    repeat = np.arange(n) // len(PLACES)
    name = pd.Series(place).str.cat(pd.Series(suffix), sep=" ")
    name = name.where(repeat == 0, name + " (" + pd.Series(repeat + 1).astype(str) + ")")
    urn = rng.choice(np.arange(116000, 150000), size=n, replace=False)
    estab = np.where(phase == "Secondary", 4000 + np.arange(n) % 999, 2000 + np.arange(n) % 1999)
    return pd.DataFrame({"urn": urn.astype(str), "name": name.to_numpy(), "phase": phase, "estab": estab})


def make_providers(rng: np.random.Generator, n: int, as_of: pd.Timestamp) -> pd.DataFrame:
    """``n`` providers (at least three of each type): all registered ones Good/Outstanding, all QA-approved and safe."""
    weights = np.array(list(TYPE_SHARE.values()), dtype=float)
    counts = np.maximum(3, np.floor(n * weights / weights.sum())).astype(int)
    types = np.repeat(np.array(list(TYPE_SHARE)), counts)
    k = len(types)
    facts = [PROVIDER_TYPES[t] for t in types]
    registered = np.array([f[0] for f in facts])
    place_names = np.array(PLACES)[rng.permutation(np.arange(k)) % len(PLACES)]
    names = [f[1][i % len(f[1])].format(p) for i, (f, p) in enumerate(zip(facts, place_names))]
    names = pd.Series(names)
    dup = names.duplicated(keep="first")
    names = names.where(~dup, names + " (" + (names.groupby(names).cumcount() + 1).astype(str) + ")")
    within = pd.Series(types).groupby(types).cumcount().to_numpy()  # so each type's first provider offers its widest range
    stages = [f[2][i % len(f[2])] for f, i in zip(facts, within)]
    weekly = np.array([rng.integers(*f[3]) if f[3] else np.nan for f in facts], dtype=float)
    hourly = np.array([rng.integers(*f[4]) if f[4] else np.nan for f in facts], dtype=float)
    ofsted = np.where(registered, np.where(rng.random(k) < 0.25, "Outstanding", "Good"), "Not applicable")
    ofsted_date = pd.Series(as_of - pd.to_timedelta(rng.integers(200, 1400, k), unit="D")).where(registered)
    last_qa = as_of - pd.to_timedelta(rng.integers(20, 300, k), unit="D")
    safeguarding = last_qa - pd.to_timedelta(rng.integers(0, 30, k), unit="D")
    urn = np.where(registered, rng.choice(np.arange(130000, 150000), size=k, replace=False).astype(str), None)
    frame = pd.DataFrame({
        "provider_id": [f"P{i + 1:03d}" for i in range(k)],
        "name": names.to_numpy(),
        "type": types,
        "registered": np.where(registered, "Y", "N"),
        "urn": urn,
        "ofsted_judgement": ofsted,
        "ofsted_date": ofsted_date.dt.normalize().to_numpy(),
        "qa_status": "Approved",
        "last_qa_visit": pd.to_datetime(last_qa).normalize(),
        "dbs_confirmed": "Y",
        "safeguarding_confirmation_date": pd.to_datetime(safeguarding).normalize(),
        "places": np.nan,  # set from the placements once they exist (PRV-005)
        "key_stages": stages,
        "weekly_fee": weekly,
        "hourly_fee": hourly,
    })
    return frame


def make_world(rng: np.random.Generator, placements: int, as_of: pd.Timestamp, profile: str) -> World:
    terms, closures = calendar_frames()
    calendar = SchoolCalendar(terms, closures)
    days = np.asarray(calendar.school_day_dates(terms["start"].min(), terms["end"].max()), dtype="datetime64[D]")
    schools = make_schools(rng, max(12, placements // 12))
    providers = make_providers(rng, max(27, placements // 10), as_of)
    return World(terms, closures, calendar, days, schools, providers, LA_NUMBERS.get(profile, "884"))
