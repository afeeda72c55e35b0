"""Attendance code sets (2006 and 2024 regulations) as data: checking the table and looking codes up by date."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from apxl.errors import ApxlError

# School Attendance (Pupil Registration) (England) Regulations 2024 apply from this date;
# the 2006 Regulations' codes apply before it (DOMAIN.md section 5).
REFORM_DATE = pd.Timestamp("2024-08-19")
GROUPS = ("present", "off-site", "authorised", "unauthorised", "not counted", "administrative")
COLUMNS = ("code", "meaning", "group", "possible", "attendance", "valid_from", "valid_to", "instead")
_YES, _NO = {"y", "yes", "true", "1"}, {"n", "no", "false", "0", ""}


def set_name(dates: Any) -> np.ndarray:
    """'2024 codes' or '2006 codes' for each date: which regulations' code set applies."""
    d = pd.to_datetime(pd.Series(np.atleast_1d(dates))).to_numpy()
    return np.where(d >= REFORM_DATE.to_datetime64(), "2024 codes", "2006 codes")


@dataclass(frozen=True)
class CodeSet:
    """Every attendance code with its meaning, group, the DfE possible/attendance flags and its validity dates.

    ``table`` has one row per code per code set: a code in both sets (e.g. B) has two rows.
    """

    table: pd.DataFrame

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> "CodeSet":
        """Build from rows as read from ``schemas/attendance_codes.csv`` (text values, Y/N flags, ISO dates)."""
        frame = pd.DataFrame(list(records), dtype=object)
        missing = [c for c in COLUMNS if c not in frame.columns and c != "instead"]
        if missing:
            raise ApxlError(f"The attendance code table lacks the column(s) {', '.join(missing)}.")
        if "instead" not in frame.columns:
            frame["instead"] = ""
        frame = frame.fillna("")
        out = pd.DataFrame({
            "code": frame["code"].astype(str).str.strip().str.upper(),
            "meaning": frame["meaning"].astype(str).str.strip(),
            "group": frame["group"].astype(str).str.strip().str.lower(),
        })
        for flag in ("possible", "attendance"):
            text = frame[flag].astype(str).str.strip().str.lower()
            bad = ~text.isin(_YES | _NO)
            if bad.any():
                raise ApxlError(f"Attendance code {out['code'][bad].iloc[0]} has '{frame[flag][bad].iloc[0]}' for {flag}: use Y or N.")
            out[flag] = text.isin(_YES)
        for edge, fill in (("valid_from", pd.Timestamp.min), ("valid_to", pd.Timestamp.max)):
            text = frame[edge].astype(str).str.strip()
            parsed = pd.to_datetime(text.where(text != ""), format="%Y-%m-%d", errors="coerce")
            if (parsed.isna() & (text != "")).any():
                raise ApxlError(f"The attendance code table has an unreadable {edge} date: use YYYY-MM-DD.")
            out[edge] = parsed.fillna(fill).astype("datetime64[ns]")
        out["instead"] = frame["instead"].astype(str).str.split().map(tuple)
        bad_group = ~out["group"].isin(GROUPS)
        if bad_group.any():
            raise ApxlError(f"Attendance code {out['code'][bad_group].iloc[0]} has an unknown group '{out['group'][bad_group].iloc[0]}'.")
        if (out["code"] == "").any():
            raise ApxlError("The attendance code table has a row with no code.")
        ordered = out.sort_values(["code", "valid_from"], kind="stable")
        overlap = (ordered["code"] == ordered["code"].shift()) & (ordered["valid_from"] <= ordered["valid_to"].shift())
        if overlap.any():
            raise ApxlError(f"Attendance code {ordered['code'][overlap].iloc[0]} has two rows valid on the same date.")
        return cls(out.reset_index(drop=True))

    @property
    def codes(self) -> set[str]:
        return set(self.table["code"])

    def on(self, date: Any) -> pd.DataFrame:
        """The code set in force on one date, one row per code."""
        when = pd.Timestamp(date)
        t = self.table
        return t[(t["valid_from"] <= when) & (t["valid_to"] >= when)].reset_index(drop=True)

    def codes_in(self, date: Any, groups: Iterable[str]) -> list[str]:
        """Codes of the given groups in force on ``date``, in table order (for 'use one of ...' messages)."""
        t = self.on(date)
        return list(t.loc[t["group"].isin(list(groups)), "code"])

    def lookup(self, codes: Any, dates: Any) -> pd.DataFrame:
        """Each (code, date) looked up in the set in force on that date; vectorised.

        Returns a frame aligned with the inputs (same index when ``codes`` is a Series): ``known`` (the code
        exists in some set), ``valid`` (in force on that date), and from the matching row ``group``,
        ``possible``, ``attendance``, ``meaning``; ``instead`` gives the replacement code(s) when the code is
        known but not in force on that date (e.g. K before 19/08/2024 -> B).
        """
        index = codes.index if isinstance(codes, pd.Series) else pd.RangeIndex(len(np.atleast_1d(codes)))
        code_s = codes if isinstance(codes, pd.Series) else pd.Series(np.asarray(codes, dtype=object))
        date_v = pd.to_datetime(pd.Series(np.asarray(dates)) if not isinstance(dates, pd.Series) else dates).to_numpy(dtype="datetime64[ns]")
        # Look up each distinct (code, date) pair once: a year of sessions has only a few thousand.
        c_id, c_uni = pd.factorize(code_s, use_na_sentinel=True)
        d_id, d_uni = pd.factorize(date_v, use_na_sentinel=True)
        nd = len(d_uni) + 1
        pair = (np.asarray(c_id, dtype="int64") + 1) * nd + (np.asarray(d_id, dtype="int64") + 1)
        if len(pair) and pair.max() < max(4 * len(pair), 1 << 20):
            # Dense ids (the usual case): the same sorted pairs and inverse as np.unique, without sorting 16 million keys.
            seen = np.zeros(int(pair.max()) + 1, dtype=bool)
            seen[pair] = True
            uniq = np.flatnonzero(seen)
            inverse = (np.cumsum(seen) - 1)[pair]
        else:
            uniq, inverse = np.unique(pair, return_inverse=True)
        c_pick, d_pick = uniq // nd - 1, uniq % nd - 1
        c_all = np.append(np.asarray(c_uni, dtype=object), None)
        d_all = np.append(np.asarray(d_uni, dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))
        u = pd.DataFrame({"code": pd.Series(c_all[c_pick], dtype=object), "date": d_all[d_pick]})
        u["_pos"] = np.arange(len(u))
        m = u.merge(self.table, on="code", how="left")
        inside = (m["valid_from"] <= m["date"]) & (m["valid_to"] >= m["date"])
        valid_rows = m[inside].drop_duplicates("_pos").set_index("_pos")
        # A code used outside its set: the replacement the other set uses (K before 19/08/2024 -> B).
        instead = self.table.groupby("code")["instead"].agg(lambda xs: tuple(c for x in xs for c in x))
        ok = np.isin(np.arange(len(u)), valid_rows.index.to_numpy())
        res = {
            "known": u["code"].isin(self.codes).to_numpy(),
            "valid": ok,
            "group": valid_rows["group"].reindex(range(len(u))).to_numpy(dtype=object),
            "possible": valid_rows["possible"].reindex(range(len(u))).fillna(False).to_numpy(dtype=bool),
            "attendance": valid_rows["attendance"].reindex(range(len(u))).fillna(False).to_numpy(dtype=bool),
            "meaning": valid_rows["meaning"].reindex(range(len(u))).to_numpy(dtype=object),
            "instead": np.empty(len(u), dtype=object),
        }
        res["instead"][:] = [() if v else instead.get(c, ()) for v, c in zip(ok, u["code"])]
        out = pd.DataFrame({k: pd.Series(v[inverse], dtype=v.dtype if v.dtype != object else object) for k, v in res.items()})
        out.index = index
        return out
