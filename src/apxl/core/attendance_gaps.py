"""Missing attendance sessions (ATT-009): school-day sessions inside a placement with no mark, found by sorted-key search."""
from __future__ import annotations

import numpy as np
import pandas as pd

_RUN_COLUMNS = ["upn", "placement_id", "first_date", "first_session", "last_date", "last_session", "sessions", "at_row", "at_column"]


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in _RUN_COLUMNS})


def missing_session_runs(attendance: pd.DataFrame, sess: pd.DataFrame, facts: pd.DataFrame, calendar, as_of: pd.Timestamp,
                         *, date_header: str = "Date") -> pd.DataFrame:
    """Runs of consecutive missing sessions per pupil and placement.

    A session is expected on every school day from the pupil's first to last recorded session inside each
    placement (up to ``as_of``); a row with a blank code counts as recorded (STR-006 reports it). When
    only the provider recorded sessions in that window and the placement lists its days, only those
    weekdays are expected. Everything is done on integer keys (pupil * slots + school-session number)
    with sorted searches, so a year of sessions needs no loop per session.

    Returns upn, placement_id, first/last date and session of each run, sessions (how many), and where to
    point: at_row (the Excel row of the pupil's mark just before the run) and at_column.
    """
    need = ["upn", "date", "session"]
    if attendance is None or attendance.empty or facts.empty or not set(need) <= set(attendance.columns):
        return _empty()
    # One filter (a national register has 16 million rows: each copy of it costs seconds).
    all_dates = pd.to_datetime(attendance["date"]).dt.normalize()
    wanted = attendance[need].notna().all(axis=1).to_numpy() & (all_dates <= as_of).to_numpy()
    if not wanted.any():
        return _empty()
    rec_dates = all_dates.to_numpy(dtype="datetime64[ns]")[wanted]
    sd = calendar.school_day_dates(pd.Timestamp(rec_dates.min()), pd.Timestamp(rec_dates.max())).to_numpy(dtype="datetime64[ns]")
    if len(sd) == 0:
        return _empty()
    pos = np.searchsorted(sd, rec_dates)
    on_sd = (pos < len(sd)) & (sd[np.minimum(pos, len(sd) - 1)] == rec_dates)
    # Columns are read as arrays and masked, never copied as a frame. Pupil ids come from the register's own
    # (Arrow string) column, numbered by first appearance among the kept marks; a placement's pupil with no
    # marks gets -1.
    all_u, all_upns = pd.factorize(attendance["upn"].astype(str))
    rec_u, seen = pd.factorize(all_u[wanted])
    upns = np.asarray(all_upns, dtype=object)[seen]
    width = 2 * len(sd) + 2  # slots per pupil: two sessions per school day, with room so pupils never touch
    pm = attendance["session"].astype(str).eq("PM").to_numpy()[wanted]
    keys = rec_u.astype("int64") * width + pos.astype("int64") * 2 + pm
    if "source" in attendance.columns:
        school = (attendance["source"].ne("Provider") | attendance["source"].isna()).to_numpy()[wanted]
    else:
        school = np.ones(len(keys), bool)
    keep = on_sd
    keys, school, rows = keys[keep], school[keep], attendance.index.to_numpy(dtype="int64")[wanted][keep]
    wide = "mark_column" in attendance.columns
    order = np.argsort(keys, kind="stable")
    cols = attendance["mark_column"].astype(str).to_numpy()[wanted][keep][order] if wide else None
    keys, school, rows = keys[order], school[order], rows[order]
    first_of = np.r_[True, keys[1:] != keys[:-1]]
    K, K_rows = keys[first_of], rows[first_of]
    K_cols = cols[first_of] if wide else None
    KS = keys[school]  # already sorted: drop repeats without a hash pass
    KS = KS[np.r_[True, KS[1:] != KS[:-1]]] if len(KS) else KS
    if len(K) == 0:
        return _empty()

    # Windows: each placement's span, cut to the first and last recorded session inside it.
    f = facts.reset_index(drop=True)
    fu = pd.Index(upns).get_indexer(f["upn"].astype(str)).astype("int64")
    start_slot = np.searchsorted(sd, f["start"].to_numpy(dtype="datetime64[ns]")) * 2
    end = np.minimum(f["end"].to_numpy(dtype="datetime64[ns]"), np.datetime64(as_of, "ns"))
    end_slot = (np.searchsorted(sd, end, side="right") - 1) * 2 + 1
    lo, hi = fu * width + start_slot, fu * width + end_slot
    i = np.searchsorted(K, lo, side="left")
    j = np.searchsorted(K, hi, side="right") - 1
    ok = (i <= j) & (end_slot >= start_slot)
    if not ok.any():
        return _empty()
    i_, j_ = np.minimum(i, len(K) - 1), np.maximum(j, 0)
    first, last = K[i_], K[j_]
    recorded = j - i + 1
    expected = last - first + 1
    has_gap = ok & (expected > recorded)
    provider_only = (np.searchsorted(KS, hi, side="right") - np.searchsorted(KS, lo, side="left")) == 0
    restrict = provider_only & f["days"].notna().to_numpy()
    w = np.nonzero(has_gap)[0]
    if len(w) == 0:
        return _empty()
    lengths = expected[w]
    offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
    win = np.repeat(w, lengths)
    cand = first[win] + (np.arange(lengths.sum()) - offsets)
    slot = cand - fu[win] * width
    dow = pd.DatetimeIndex(sd[slot // 2]).dayofweek.to_numpy()
    on_day = (f["days_mask"].to_numpy(dtype="int64")[win] >> np.minimum(dow, 4)) & 1
    cand_ok = ~restrict[win] | (on_day == 1)
    p = np.searchsorted(K, cand)
    present = (p < len(K)) & (K[np.minimum(p, len(K) - 1)] == cand)
    miss = cand_ok & ~present
    if not miss.any():
        return _empty()
    gaps = pd.DataFrame({"key": cand[miss], "win": win[miss]}).drop_duplicates("key").sort_values("key", kind="stable")
    k = gaps["key"].to_numpy()
    run = np.cumsum(np.r_[True, np.diff(k) != 1])
    grouped = pd.DataFrame({"key": k, "win": gaps["win"].to_numpy(), "run": run}).groupby("run")
    runs = grouped.agg(first=("key", "min"), last=("key", "max"), sessions=("key", "size"), win=("win", "first"))
    fk, lk = runs["first"].to_numpy(), runs["last"].to_numpy()
    u = fk // width
    before = np.searchsorted(K, fk) - 1  # the pupil's mark just before the run (a window starts at a mark)
    out = pd.DataFrame({
        "upn": np.asarray(upns)[u],
        "placement_id": f["placement_id"].to_numpy()[runs["win"].to_numpy()],
        "first_date": sd[(fk % width) // 2],
        "first_session": np.where(fk % 2 == 1, "PM", "AM"),
        "last_date": sd[(lk % width) // 2],
        "last_session": np.where(lk % 2 == 1, "PM", "AM"),
        "sessions": runs["sessions"].to_numpy().astype("int64"),
        "at_row": K_rows[np.maximum(before, 0)],
        "at_column": K_cols[np.maximum(before, 0)] if wide else np.full(len(fk), date_header, dtype=object),
    })
    if wide:
        # In a grid the missing cell itself exists: name the column other pupils' marks for that session sit under.
        headers = pd.Series(cols, index=keys % width).groupby(level=0).first()
        out["at_column"] = pd.Series(fk % width).map(headers).fillna(pd.Series(out["at_column"])).to_numpy()
    for c in ("upn", "placement_id", "first_session", "last_session", "at_column"):
        out[c] = out[c].astype(str)
    return out[_RUN_COLUMNS]
