"""Planted attendance problems (ATT-001..012) and structure problems (STR-003..006) on dedicated scenario pupils."""
from __future__ import annotations

import numpy as np
import pandas as pd

from apxl.demo.plant import Planted, Planter

ATT = "Attendance"


def attendance_scenarios(pl: Planter) -> dict[str, int]:
    """Placements whose attendance will be edited once it is generated; returns their row ids by rule."""
    quiet = {"_absence": 0.0}  # these pupils never miss a session, so the planted code is the only thing wrong
    r = {
        "ATT-001": pl.add("VOCATIONAL", "FE college", year=10, start=0.05, length=60, hours=12.0, days="Tue,Thu", registration="Off-site", **quiet),
        "ATT-002": pl.add("ASSESS", "PRU", start=0.85, open_=True, **quiet),
        "ATT-003": pl.add("HEALTH", "Online/tuition", start=0.3, length=30, hours=6.0, days="Tue,Thu", registration="Off-site", **quiet),
        "ATT-004": pl.add("ASSESS", "Unregistered", start=0.4, length=30, hours=6.0, days="Wed", registration="Off-site", commissioner="School", **quiet),
        "ATT-005": pl.add("VOCATIONAL", "FE college", year=11, start=0.3, length=40, hours=12.0, days="Mon,Tue", registration="Off-site",
                          commissioner="School", **quiet),
        "ATT-007": pl.add("VOCATIONAL", "FE college", year=10, start=0.5, length=40, hours=12.0, days="Wed,Thu", registration="Off-site",
                          commissioner="School", **quiet),
        "ATT-008": pl.add("ASSESS", "PRU", start=0.3, length=70, **quiet),
        "ATT-009": pl.add("ASSESS", "PRU", start=0.2, length=50, **quiet),
        "ATT-010": pl.add("ASSESS", "PRU", year=9, start=0.4, length=40, hours=15.0, days="Mon,Tue,Wed", **quiet),
        "ATT-011": pl.add("ASSESS", "PRU", year=8, start=0.05, length=400, _absence=0.25),
        "ATT-012": pl.add("ASSESS", "PRU", year=9, start=0.05, length=400, _absence=0.7),
    }
    return r


def structure_scenarios(pl: Planter) -> dict[str, int]:
    """Placements whose cells will be spoiled in the workbook (STR-003..006)."""
    return {
        "STR-003": pl.add("HEALTH", "Hospital school", start=0.8, open_=True),
        "STR-004": pl.add("S19OTHER", "Independent school", start=0.35, length=40, registration="Single"),
        "STR-005": pl.add("ASSESS", "PRU", start=0.45, length=30),
        "STR-006": pl.add("ASSESS", "PRU", start=0.55, length=30),
    }


def _rows_of(att: pd.DataFrame, upn: str, source: str | None = None) -> pd.DataFrame:
    hit = att[att["upn"] == upn]
    return hit if source is None else hit[hit["source"] == source]


def _weekday(dates: pd.Series) -> np.ndarray:
    return pd.to_datetime(dates).dt.dayofweek.to_numpy()


def plant_attendance(pl: Planter, att: pd.DataFrame, rids: dict[str, int]) -> pd.DataFrame:
    """Edit the generated sessions of the attendance scenarios; record each planted session in the manifest."""
    att = att.assign(code=att["code"].astype(str), upn=att["upn"].astype(str), session=att["session"].astype(str),
                     source=att["source"].astype(str))
    upn = {rule: pl.get(rid, "upn") for rule, rid in rids.items()}
    added: list[pd.DataFrame] = []

    def record(rule: str, note: str, rows: pd.DataFrame, column: str = "Code") -> None:
        sessions = list(rows[["upn", "date", "session", "source"]].itertuples(index=False, name=None))
        pl.manifest.append(Planted(rule, ATT, note, rid=rids[rule], sessions=sessions, upn=upn[rule], column=column))

    def recode(rule: str, rows: pd.DataFrame, code: str, note: str) -> None:
        if len(rows):
            att.loc[rows.index, "code"] = code
            record(rule, note, rows)

    school = _rows_of(att, upn["ATT-001"], "School")
    recode("ATT-001", school[(school["code"] == "/") & np.isin(_weekday(school["date"]), [0, 2, 4])].head(1), "H",
           "H (agreed holiday) used after the 2024 codes replaced it")
    days = pl.days[pl.asof_idx + 1 : pl.asof_idx + 4]
    if len(days):
        future = pd.DataFrame({"upn": upn["ATT-002"], "date": np.repeat(days.astype("datetime64[ns]"), 2),
                               "session": np.tile(["AM", "PM"], len(days)), "code": np.tile(["/", "\\"], len(days)), "source": "Provider"})
        added.append(future)
        record("ATT-002", "Provider pre-filled attendance for the days after the as-of date", future)
    end = pd.Timestamp(pl.get(rids["ATT-003"], "end_date"))
    later = pl.days[(pl.days > np.datetime64(end, "D")) & (pl.days <= np.datetime64(pl.as_of, "D"))]
    if len(later) > 5:
        stray = pd.DataFrame({"upn": [upn["ATT-003"]], "date": [pd.Timestamp(later[5])], "session": ["AM"], "code": ["K"], "source": ["School"]})
        added.append(stray)
        record("ATT-003", "K recorded after the tuition placement had ended", stray)
    school = _rows_of(att, upn["ATT-004"], "School")
    recode("ATT-004", school[school["code"] == "B"].head(3), "D", "D recorded for an off-site unregistered placement")
    school = _rows_of(att, upn["ATT-005"], "School")
    recode("ATT-005", school[school["code"] == "B"].head(2), "K", "K recorded for a school-arranged college course")
    prov = _rows_of(att, upn["ATT-007"], "Provider")
    prov = prov[prov["code"].isin(["/", "\\"])].head(2)
    if len(prov):
        att.loc[prov.index, "code"] = "N"
        school = _rows_of(att, upn["ATT-007"], "School")
        same = pd.MultiIndex.from_frame(school[["date", "session"]]).isin(pd.MultiIndex.from_frame(prov[["date", "session"]]))
        record("ATT-007", "College reported an absence but the school register kept B", school[same])
    row = pl.p.loc[pl.p["_rid"] == rids["ATT-008"]].iloc[0]
    span = pd.date_range(row["start_date"], row["end_date"])
    holiday = [d for d in span if d.dayofweek < 5 and not pl.world.calendar.is_school_day([d])[0]]
    on = pd.Timestamp(holiday[0] if holiday else next(d for d in span if d.dayofweek == 5))
    extra = pd.DataFrame({"upn": upn["ATT-008"], "date": [on, on], "session": ["AM", "PM"], "code": ["/", "\\"], "source": "Provider"})
    added.append(extra)
    record("ATT-008", "Provider recorded attendance on a day the schools were closed", extra)
    rows = _rows_of(att, upn["ATT-009"])
    middle = rows["date"].sort_values().unique()
    if len(middle) > 10:
        gap = middle[len(middle) // 2]
        drop = rows[rows["date"] == gap]
        before = rows[rows["date"] < gap].tail(1)
        record("ATT-009", "A school day with no code from the school or the provider", before)
        att = att.drop(index=drop.index)
    school = _rows_of(att, upn["ATT-010"], "School")
    recode("ATT-010", school[(school["code"] == "/") & (_weekday(school["date"]) == 3)].head(1), "X",
           "X (not of compulsory school age) for a Year 9 pupil")
    for rule, note in (("ATT-011", "Pupil absent for about a quarter of sessions"), ("ATT-012", "Pupil absent for most sessions")):
        record(rule, note, _rows_of(att, upn[rule]).tail(1))
    out = pd.concat([att, *added], ignore_index=True).sort_values(["upn", "date", "session", "source"], kind="stable")
    for col in ("upn", "session", "code", "source"):
        out[col] = out[col].astype("category")
    return out.reset_index(drop=True)
