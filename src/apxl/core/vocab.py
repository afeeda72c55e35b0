"""Controlled vocabularies of the register (route codes, funders, registration, provider types) and their spellings."""
from __future__ import annotations

import re

ROUTES = ["PEX", "HEALTH", "INTERIM", "ASSESS", "LONGTERM", "SUSPENSION", "S19OTHER", "VOCATIONAL"]
ROUTE_TITLES = {
    "PEX": "from day 6 after permanent exclusion",
    "HEALTH": "physical or mental health needs",
    "INTERIM": "awaiting a school place",
    "ASSESS": "short-term assessment / intervention for reintegration",
    "LONGTERM": "long-term AP",
    "SUSPENSION": "suspension over 5 days, or off-site direction",
    "S19OTHER": "Section 19 'other reasons'",
    "VOCATIONAL": "part of the week off-site on courses",
}
PARTIES = ["LA", "School"]
REGISTRATIONS = ["Dual", "Single", "Off-site"]
COST_BASES = ["Place", "Week", "Day", "Hour"]
PROVIDER_TYPES = [
    "PRU",
    "AP academy",
    "AP free school",
    "Independent school",
    "Special school",
    "FE college",
    "Hospital school",
    "Unregistered",
    "Online/tuition",
]
OFSTED_JUDGEMENTS = ["Outstanding", "Good", "Requires improvement", "Inadequate", "Not yet inspected", "Not applicable"]
QA_STATUSES = ["Approved", "Pending", "Not approved"]
SESSIONS = ["AM", "PM"]
SOURCES = ["School", "Provider"]
TERMS = ["Autumn", "Spring", "Summer"]
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
KEY_STAGES = ["EYFS", "KS1", "KS2", "KS3", "KS4", "KS5"]

# Other spellings met in real registers, keyed by the normalised form (see ``norm``).
_EXTRA_SPELLINGS: dict[str, dict[str, str]] = {
    "party": {"localauthority": "LA", "council": "LA", "thela": "LA", "homeschool": "School", "academy": "School"},
    "registration": {"dualregistration": "Dual", "dualrolled": "Dual", "singleregistration": "Single", "offsite": "Off-site", "offsitedirection": "Off-site", "none": "Off-site"},
    "cost_basis": {"perplace": "Place", "weekly": "Week", "perweek": "Week", "daily": "Day", "perday": "Day", "hourly": "Hour", "perhour": "Hour"},
    "provider_type": {"pupilreferralunit": "PRU", "apacademy": "AP academy", "apfreeschool": "AP free school", "online": "Online/tuition", "tuition": "Online/tuition", "college": "FE college", "fecollege": "FE college"},
    "ofsted": {"ri": "Requires improvement", "requiresimprovement": "Requires improvement", "notinspected": "Not yet inspected", "na": "Not applicable", "n/a": "Not applicable"},
    "qa": {"notapproved": "Not approved", "rejected": "Not approved"},
    "session": {"morning": "AM", "afternoon": "PM"},
    "route": {"permanentexclusion": "PEX", "health": "HEALTH", "medical": "HEALTH", "s19other": "S19OTHER", "section19other": "S19OTHER"},
    "term": {"autumnterm": "Autumn", "springterm": "Spring", "summerterm": "Summer"},
}


def norm(text: str) -> str:
    """Lower-case and drop spaces, hyphens and underscores so 'Off site' matches 'Off-site'."""
    return re.sub(r"[\s_\-]+", "", str(text)).lower()


def spelling_map(vocab: str, allowed: list[str]) -> dict[str, str]:
    """Normalised spelling -> canonical value for a vocabulary."""
    mapping = {norm(v): v for v in allowed}
    mapping.update(_EXTRA_SPELLINGS.get(vocab, {}))
    return mapping
