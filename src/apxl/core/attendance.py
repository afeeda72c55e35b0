"""Attendance measures on DfE definitions: possible sessions, attendance, authorised/unauthorised absence,
persistent and severe absence, per pupil per term and per placement (for the termly summaries)."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd

from apxl.core.attendance_codes import CodeSet
from apxl.core.attendance_match import placement_facts, pupil_ids, sessions_frame

# DfE absence statistics methodology: persistently absent = absent for 10% or more of possible sessions;
# severely absent = 50% or more (DOMAIN.md section 5). Overridable by policy thresholds of the same names.
PERSISTENT_ABSENCE = 0.10
SEVERE_ABSENCE = 0.50
MEASURE_COLUMNS = [
    "possible", "attended", "authorised", "unauthorised", "not_counted",
    "attendance_rate", "absence_rate", "persistent", "severe",
]
_KEY = ["upn", "date", "session"]
_MARK_COLUMNS = ["row", "upn", "pupil", "date", "group", "possible", "attendance"]


def resolve_marks(sess: pd.DataFrame, keep: np.ndarray | None = None, columns: list[str] | None = None) -> pd.DataFrame:
    """One mark per pupil per session, from a ``sessions_frame``: the school register's mark, except that a
    school D (the pupil was scheduled at the other school) gives way to that provider's own mark; sessions
    only the provider recorded count too. Codes not valid on their date (ATT-001) are left out, and so are
    rows where ``keep`` (a boolean array, when given) is False; ``columns`` picks the columns returned."""
    valid = sess["valid"].to_numpy(dtype=bool)
    # Work on positions and take the rows once at the end: filtering a national sessions frame
    # (16 million rows) copies every column each time.
    pos = np.flatnonzero(valid if keep is None else valid & keep)
    out = sess if columns is None else sess[columns]
    if len(pos) == 0:
        return out.iloc[pos]
    provider = sess["source"].eq("Provider").to_numpy()[pos]
    rank = np.where(provider, 1, np.where(sess["code"].eq("D").to_numpy()[pos], 2, 0))
    # Integer keys (pupil, day, session) sort far faster than strings at 800,000 rows.
    pupil = (sess["pupil"].to_numpy(dtype="int64") if "pupil" in sess.columns else pd.factorize(sess["upn"])[0])[pos].astype("int64")
    day = sess["date"].to_numpy(dtype="datetime64[D]").astype("int64")[pos]
    key = (pupil * (day.max() - day.min() + 1) + (day - day.min())) * 2 + sess["pm"].to_numpy(dtype="int64")[pos]
    order = np.argsort(key * 3 + rank, kind="stable")  # by key, then rank (one stable sort: twice as fast as lexsort)
    ordered = key[order]
    first = np.r_[True, ordered[1:] != ordered[:-1]]
    return out.iloc[pos[np.sort(order[first])]]


def _flags(marks: pd.DataFrame) -> pd.DataFrame:
    possible = marks["possible"].to_numpy(dtype=bool)
    # The group's few distinct values are compared, not one string per mark (16 million at national scale).
    g_id, g_uni = pd.factorize(marks["group"])
    g_uni = np.append(np.asarray(g_uni, dtype=object), None)  # slot -1: a missing group
    return pd.DataFrame({
        "possible": possible.astype("int64"),
        "attended": (marks["attendance"].to_numpy(dtype=bool) & possible).astype("int64"),
        "authorised": (possible & (g_uni == "authorised")[g_id]).astype("int64"),
        "unauthorised": (possible & (g_uni == "unauthorised")[g_id]).astype("int64"),
        "not_counted": (~possible).astype("int64"),
    }, index=marks.index)


def add_rates(counts: pd.DataFrame, persistent: float = PERSISTENT_ABSENCE, severe: float = SEVERE_ABSENCE) -> pd.DataFrame:
    """Attendance rate = attended / possible; absence rate = (authorised + unauthorised) / possible;
    persistent and severe flags from the absence rate (False when there are no possible sessions)."""
    out = counts.copy()
    possible = out["possible"].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["attendance_rate"] = np.where(possible > 0, out["attended"] / possible, np.nan)
        out["absence_rate"] = np.where(possible > 0, (out["authorised"] + out["unauthorised"]) / possible, np.nan)
    rate = out["absence_rate"].fillna(-1.0)
    out["persistent"] = rate >= persistent
    out["severe"] = rate >= severe
    return out


def _prepared(attendance: pd.DataFrame, codes: CodeSet, as_of: Any, calendar: Any = None) -> pd.DataFrame:
    sess = attendance if "valid" in attendance.columns else sessions_frame(attendance, codes)
    keep = np.ones(len(sess), dtype=bool)
    if as_of is not None:
        keep &= (sess["date"] <= pd.Timestamp(as_of)).to_numpy()
    if calendar is not None and len(sess):
        # Only school days have possible sessions; marks on other days are ATT-008's business.
        day_id, days = pd.factorize(sess["date"].to_numpy())
        keep &= np.asarray(calendar.is_school_day(pd.Series(days)), dtype=bool)[day_id] & (day_id >= 0)
    # Only the columns the measures read are taken (the rest of a sessions frame is for the ATT messages).
    return resolve_marks(sess, keep, columns=[c for c in _MARK_COLUMNS if c in sess.columns])


def pupil_term_measures(
    attendance: pd.DataFrame,
    codes: CodeSet,
    calendar: Any,
    *,
    as_of: Any = None,
    persistent: float = PERSISTENT_ABSENCE,
    severe: float = SEVERE_ABSENCE,
) -> pd.DataFrame:
    """Attendance per pupil per term.

    ``attendance`` is ``register.attendance`` (long or wide-grid frame) or a ``sessions_frame``; ``codes`` the
    CodeSet (``policy.attendance_codes``); ``calendar`` a SchoolCalendar (its ``term_of`` labels terms, e.g.
    '2024-25-autumn'); only school days count, and sessions after ``as_of`` are left out when it is given.

    Returns one row per (upn, term): possible, attended, authorised, unauthorised, not_counted (sessions
    coded D, X, Q, Y*, Z, #), attendance_rate, absence_rate, persistent (absence >= 10%), severe (>= 50%),
    first_date, last_date and last_row (the Excel row of the pupil's last mark in the term).
    """
    marks = _prepared(attendance, codes, as_of, calendar)
    cols = ["upn", "term", *MEASURE_COLUMNS, "first_date", "last_date", "last_row"]
    if marks.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    # Integer group ids (pupil x term) and bincount sums: strings are touched once per distinct value only.
    pupil, upns = pupil_ids(marks)
    dates = marks["date"].to_numpy(dtype="datetime64[ns]")
    d_id, d_uni = pd.factorize(dates)
    t_of_date, terms = pd.factorize(calendar.term_of(pd.Series(d_uni)).to_numpy(dtype=object))
    group = pupil.astype("int64") * len(terms) + t_of_date[d_id]
    # By group, then date (the last of each group is its latest mark): one stable sort on a combined key.
    date_rank = np.argsort(np.argsort(np.asarray(d_uni)))[d_id]
    order = np.argsort(group * len(d_uni) + date_rank, kind="stable")
    g_sorted = group[order]
    starts = np.r_[True, g_sorted[1:] != g_sorted[:-1]]
    ends = np.r_[g_sorted[1:] != g_sorted[:-1], True]
    g_ids = g_sorted[starts]
    inv = np.cumsum(starts) - 1  # group number of each sorted mark
    flags = _flags(marks)
    counts = pd.DataFrame({c: np.bincount(inv, weights=flags[c].to_numpy()[order], minlength=len(g_ids)).astype("int64")
                           for c in ["possible", "attended", "authorised", "unauthorised", "not_counted"]})
    counts.insert(0, "upn", np.asarray(upns, dtype=object)[g_ids // len(terms)])
    counts.insert(1, "term", np.asarray(terms, dtype=object)[g_ids % len(terms)])
    counts["first_date"] = dates[order][starts]
    counts["last_date"] = dates[order][ends]
    counts["last_row"] = marks["row"].to_numpy()[order][ends]
    return add_rates(counts, persistent, severe).sort_values(["upn", "term"], kind="stable").reset_index(drop=True)[cols]


def placement_measures(
    attendance: pd.DataFrame,
    placements: pd.DataFrame,
    codes: CodeSet,
    calendar: Any = None,
    *,
    providers: pd.DataFrame | None = None,
    as_of: Any = None,
    by_term: bool = False,
    persistent: float = PERSISTENT_ABSENCE,
    severe: float = SEVERE_ABSENCE,
) -> pd.DataFrame:
    """Attendance per placement (and per term with ``by_term``, which needs ``calendar``).

    A session counts for a placement when it is the pupil's (matched by UPN) and falls between the start
    date and the end date (open placements: to ``as_of`` or the last session). When a pupil has two
    placements at once, a session counts for both. Returns placement_id, placement_row (Excel row on the
    Placements sheet), upn, provider_id, [term], and the measures of ``pupil_term_measures``.
    """
    marks = _prepared(attendance, codes, as_of, calendar)
    facts = placement_facts(placements, providers if providers is not None else pd.DataFrame())
    keys = ["placement_id", "placement_row", "upn", "provider_id"] + (["term"] if by_term else [])
    cols = [*keys, *MEASURE_COLUMNS]
    if marks.empty or facts.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    flags = _flags(marks)
    flags["upn"] = marks["upn"].to_numpy()
    flags["date"] = marks["date"].to_numpy()
    pairs = flags.merge(facts[["prow", "placement_id", "upn", "provider_id", "start", "end"]], on="upn")
    pairs = pairs[(pairs["date"] >= pairs["start"]) & (pairs["date"] <= pairs["end"])]
    pairs = pairs.rename(columns={"prow": "placement_row"})
    pairs["provider_id"] = pairs["provider_id"].astype("object").fillna("")
    if by_term:
        if calendar is None:
            raise ValueError("placement_measures(by_term=True) needs a calendar")
        uniq = pd.Series(pd.unique(pairs["date"]))
        term_map = pd.Series(calendar.term_of(uniq).to_numpy(), index=uniq.to_numpy())
        pairs["term"] = term_map.reindex(pairs["date"].to_numpy()).to_numpy()
    counts = pairs.groupby(keys, sort=True)[["possible", "attended", "authorised", "unauthorised", "not_counted"]].sum()
    out = add_rates(counts, persistent, severe).reset_index()
    out["provider_id"] = out["provider_id"].replace("", None)
    return out[cols]


def code_measures(codes: Iterable[Any], dates: Iterable[Any] | Any, code_set: CodeSet) -> dict[str, Any]:
    """Measures for a list of marks (e.g. a row of a register, for Excel's =APXL.ATTENDANCE): counts,
    rates and flags as in ``pupil_term_measures``, plus ``invalid`` (marks that are not codes on that date).

    ``dates`` is one date for all marks or one per mark; blank marks are skipped.
    """
    marks = pd.Series([c for c in codes], dtype="object")
    when = pd.Series(dates if isinstance(dates, (list, tuple, pd.Series, np.ndarray)) else [dates] * len(marks))
    keep = marks.notna() & marks.astype(str).str.strip().ne("")
    marks, when = marks[keep].astype(str).str.strip().str.upper(), pd.to_datetime(when[keep.to_numpy()])
    looked = code_set.lookup(marks.reset_index(drop=True), when.reset_index(drop=True))
    valid = looked[looked["valid"]]
    counts = _flags(valid).sum().to_frame().T
    row = add_rates(counts).iloc[0].to_dict()
    row = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
    row["invalid"] = int((~looked["valid"]).sum())
    return row
