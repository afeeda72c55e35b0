"""Matching attendance sessions to placements by UPN and date: typed session frames and coverage segments."""
from __future__ import annotations

import numpy as np
import pandas as pd

from apxl.core.attendance_codes import CodeSet

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri")
ALL_DAYS = 0b11111  # a placement with no Days listed runs every weekday
_FAR = pd.Timestamp("2200-01-01")


def fmt_session(dates: pd.Series, sessions: pd.Series) -> pd.Series:
    """'Mon 06/01/2025 AM' for each session: how a register officer reads it."""
    return pd.Series(pd.to_datetime(dates).dt.strftime("%a %d/%m/%Y").to_numpy(), index=dates.index) + " " + sessions.astype(str).to_numpy()


def fmt_date(dates: pd.Series) -> pd.Series:
    return pd.Series(pd.to_datetime(dates).dt.strftime("%d/%m/%Y").to_numpy(), index=dates.index)


def sessions_frame(frame: pd.DataFrame, codes: CodeSet, *, code_header: str = "Code") -> pd.DataFrame:
    """The register's attendance ready for the checks: one row per readable mark, with its code looked up.

    Columns: row (Excel row), upn, pupil (an integer id per UPN, numbered by first appearance), date, session,
    pm, code, source ('School' when blank), column (header to report; a wide grid's frame also keeps ``cell``,
    the mark's A1 reference), and from the code set known, valid, group, possible, attendance, meaning, instead.
    Rows with a blank UPN, date, session or code are left out: the structure checks (STR-003/006) report them.
    """
    cols = ["upn", "date", "session", "code"]
    if frame is None or len(frame) == 0 or not set(cols) <= set(frame.columns):
        base = pd.DataFrame({"row": pd.Series(dtype="int64"), "upn": pd.Series(dtype="str"), "date": pd.Series(dtype="datetime64[ns]"),
                             "session": pd.Series(dtype="str"), "code": pd.Series(dtype="str"), "source": pd.Series(dtype="str"),
                             "column": pd.Series(dtype="str")})
    else:
        ok = frame[cols].notna().all(axis=1).to_numpy()
        sub = frame.loc[ok] if not ok.all() else frame
        # Keep the columns' own (Arrow string) dtypes: converting 800,000 strings costs more than the checks.
        base = sub[cols].copy()
        base.index = pd.RangeIndex(len(base))
        base.insert(0, "row", sub.index.to_numpy(dtype="int64"))
        base["date"] = pd.to_datetime(base["date"]).astype("datetime64[ns]")
        base["source"] = sub["source"].fillna("School").set_axis(base.index) if "source" in sub.columns else "School"
        if "mark_column" in sub.columns:  # a wide grid: report the date-and-session header of the mark
            base["cell"] = sub["cell"].set_axis(base.index)
            base["column"] = sub["mark_column"].set_axis(base.index)
        else:
            base["column"] = code_header
    base["pm"] = base["session"].eq("PM").to_numpy()
    # UPN strings are hashed once here; every check keys on these integers (16 million UPNs take seconds to hash).
    base.insert(2, "pupil", pd.factorize(base["upn"])[0].astype("int64"))
    looked = codes.lookup(base["code"], base["date"])
    return pd.concat([base, looked.set_axis(base.index)], axis=1)


def pupil_ids(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Integer pupil ids 0..k-1 (by first appearance) for each row of ``frame`` and the UPN of each id.

    From a sessions frame's ``pupil`` column when it has one (the UPNs were hashed once, in ``sessions_frame``),
    otherwise by factorizing ``upn``.
    """
    if "pupil" not in frame.columns:
        codes, uniq = pd.factorize(frame["upn"])
        return codes.astype("int64"), np.asarray(uniq, dtype=object)
    codes, _ = pd.factorize(frame["pupil"].to_numpy())  # integers: a fraction of hashing strings; renumbers a subset
    first = np.empty(int(codes.max()) + 1 if len(codes) else 0, dtype="int64")
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)  # the last write wins: each id's first row
    return codes.astype("int64"), frame["upn"].iloc[first].to_numpy(dtype=object)


def _days_mask(days: pd.Series) -> np.ndarray:
    text = days.astype("object").fillna("").astype(str)
    mask = np.zeros(len(text), dtype="int64")
    for bit, name in enumerate(WEEKDAYS):
        mask |= np.where(text.str.contains(name, regex=False).to_numpy(), 1 << bit, 0)
    return np.where(mask == 0, ALL_DAYS, mask)


def placement_facts(placements: pd.DataFrame, providers: pd.DataFrame) -> pd.DataFrame:
    """One row per usable placement (UPN and start date known) with what the attendance checks need.

    ``end`` is the actual end date, else open (far future): a planned end that has slipped does not stop
    the placement covering sessions. ``registered`` is the provider's Registered (Y/N), missing when unknown.
    """
    p = placements
    need = p["upn"].notna() & p["start_date"].notna() if len(p) else pd.Series(dtype=bool)
    p = p.loc[need]
    facts = pd.DataFrame({
        "prow": p.index.to_numpy(dtype="int64"),
        "placement_id": p["placement_id"].astype("object").fillna("(no ID)").astype(str).to_numpy(),
        "upn": p["upn"].astype(str).to_numpy(),
        "start": pd.to_datetime(p["start_date"]).to_numpy(dtype="datetime64[ns]"),
        "end": pd.to_datetime(p["end_date"]).fillna(_FAR).to_numpy(dtype="datetime64[ns]"),
        "registration": p["registration"].astype("object").to_numpy(),
        "commissioner": p["commissioner"].astype("object").to_numpy(),
        "provider_id": p["provider_id"].astype("object").to_numpy(),
        "route": p["route"].astype("object").to_numpy(),
        "exclusion_start": pd.to_datetime(p["exclusion_start_date"]).to_numpy(dtype="datetime64[ns]"),
        "days": p["days"].astype("object").to_numpy(),
        "days_mask": _days_mask(p["days"]) if len(p) else np.array([], dtype="int64"),
        "date_of_birth": pd.to_datetime(p["date_of_birth"]).to_numpy(dtype="datetime64[ns]"),
    })
    if providers is not None and len(providers) and "provider_id" in providers.columns:
        prov = providers.dropna(subset=["provider_id"]).drop_duplicates("provider_id")
        reg = pd.Series(prov["registered"].astype("boolean").to_numpy(), index=prov["provider_id"].astype(str).to_numpy())
        facts["registered"] = facts["provider_id"].map(reg).astype("boolean")
    else:
        facts["registered"] = pd.Series([pd.NA] * len(facts), dtype="boolean")
    facts["end"] = facts[["start", "end"]].max(axis=1)  # an end before the start (PLC-001) covers the start day only
    return facts


def coverage_segments(facts: pd.DataFrame) -> pd.DataFrame:
    """Split each pupil's timeline where any placement starts or ends; for each piece, which weekdays are
    covered, and by what kind of placement (bitmasks Mon=1 .. Fri=16), plus a description for messages.

    Columns: upn, seg_start, seg_end (exclusive), cover, dual_ok (Dual at a provider not known to be
    unregistered), la, school, desc.
    """
    cols = ["upn", "seg_start", "seg_end", "cover", "dual_ok", "la", "school", "desc"]
    if facts.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    one = np.timedelta64(1, "D")
    bounds = pd.concat([
        pd.DataFrame({"upn": facts["upn"], "b": facts["start"]}),
        pd.DataFrame({"upn": facts["upn"], "b": facts["end"] + one}),
    ]).drop_duplicates().sort_values(["upn", "b"], kind="stable")
    nxt = bounds.groupby("upn")["b"].shift(-1)
    segs = bounds.assign(seg_start=bounds["b"], seg_end=nxt).dropna(subset=["seg_end"])[["upn", "seg_start", "seg_end"]]
    segs = segs.reset_index(drop=True)
    segs["seg"] = np.arange(len(segs))
    pairs = segs.merge(facts, on="upn")
    pairs = pairs[(pairs["start"] <= pairs["seg_start"]) & (pairs["end"] >= pairs["seg_start"])]
    m = pairs["days_mask"].to_numpy(dtype="int64")
    reg_ok = pairs["registered"].fillna(True).astype(bool).to_numpy()
    kinds = pd.DataFrame({
        "seg": pairs["seg"].to_numpy(),
        "cover": m,
        "dual_ok": np.where((pairs["registration"] == "Dual").to_numpy() & reg_ok, m, 0),
        "la": np.where((pairs["commissioner"] == "LA").to_numpy(), m, 0),
        "school": np.where((pairs["commissioner"] == "School").to_numpy(), m, 0),
    })
    # OR the weekday bitmasks of every placement covering a segment, one bit at a time (vectorised).
    agg = {}
    for col in ("cover", "dual_ok", "la", "school"):
        total = np.zeros(len(segs), dtype="int64")
        for bit in range(5):
            has = pd.Series((kinds[col].to_numpy() >> bit) & 1).groupby(kinds["seg"].to_numpy()).max()
            total[has.index.to_numpy()] |= has.to_numpy() << bit
        agg[col] = total
    reg_text = pairs["registered"].map({True: "registered provider", False: "unregistered provider"}).fillna("provider of unknown registration")
    desc = (pairs["placement_id"] + " (" + pairs["registration"].fillna("registration blank").astype(str) + " at "
            + pairs["provider_id"].fillna("?").astype(str) + ", " + reg_text.astype(str) + ", commissioned by "
            + pairs["commissioner"].fillna("?").astype(str)
            + np.where(pairs["days"].notna(), ", " + pairs["days"].fillna("").astype(str) + " only", "") + ")")
    # Most segments have one placement: join the texts only where several cover a segment.
    seg_of = pairs["seg"].to_numpy()
    several = pd.Series(seg_of).duplicated(keep=False).to_numpy()
    described = pd.concat([pd.Series(desc.to_numpy()[~several], index=seg_of[~several]),
                           desc[several].groupby(seg_of[several]).agg("; ".join)])
    out = segs.assign(**agg)
    out["desc"] = described.reindex(out["seg"].to_numpy()).to_numpy()
    return out[out["cover"] > 0][cols].reset_index(drop=True)


def match_sessions(sess: pd.DataFrame, segs: pd.DataFrame) -> pd.DataFrame:
    """For each session (aligned to ``sess``): in_span (some placement's dates cover it), and whether a
    placement covers its weekday: covered, dual_ok, la, school (bool), plus desc of the covering placements.

    Interval matching by a sorted search on integer (pupil, day) keys against the coverage segments:
    no loop per session, and no sorting of the 800,000 sessions themselves.
    """
    n = len(sess)
    out = pd.DataFrame({"in_span": np.zeros(n, bool), "covered": np.zeros(n, bool), "dual_ok": np.zeros(n, bool),
                        "la": np.zeros(n, bool), "school": np.zeros(n, bool), "desc": pd.Series(np.full(n, None, dtype=object), dtype="object")})
    if n == 0 or segs.empty:
        return out
    # Pupil ids from the sessions; a segment's pupil with no sessions gets -1 and matches nothing.
    # (Concatenating the two UPN columns turned 16 million strings into Python objects.)
    ses_u, uniq = pupil_ids(sess)
    seg_u = pd.Index(uniq).get_indexer(segs["upn"].astype(str)).astype("int64")
    seg_start = pd.to_datetime(segs["seg_start"]).to_numpy(dtype="datetime64[D]").astype("int64")
    seg_end = pd.to_datetime(segs["seg_end"]).to_numpy(dtype="datetime64[D]").astype("int64")
    day = sess["date"].to_numpy(dtype="datetime64[D]").astype("int64")
    lo = min(int(seg_start.min()), int(day.min()))
    width = max(int(seg_start.max()), int(day.max())) - lo + 2
    seg_key = seg_u * width + (seg_start - lo)
    order = np.argsort(seg_key, kind="stable")
    seg_key = seg_key[order]
    at = np.searchsorted(seg_key, ses_u * width + (day - lo), side="right") - 1
    found = at >= 0
    idx = order[np.maximum(at, 0)]
    inside = found & (seg_u[idx] == ses_u) & (day < seg_end[idx])
    dow = (day + 3) % 7  # Monday 0 .. Sunday 6 (1 January 1970 was a Thursday)
    bit = np.where(dow < 5, 1 << np.minimum(dow, 4), -1)  # weekends: covered if any weekday is
    for col in ("cover", "dual_ok", "la", "school"):
        mask = segs[col].to_numpy(dtype="int64")[idx]
        val = np.where(bit > 0, (mask & np.maximum(bit, 0)) > 0, mask > 0) & inside
        out["covered" if col == "cover" else col] = val
    out["in_span"] = inside
    desc = segs["desc"].to_numpy(dtype=object)[idx]
    desc[~inside] = None
    out["desc"] = pd.Series(desc, dtype=object)
    return out
