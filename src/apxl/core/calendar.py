"""The school calendar: terms, half-terms, closures and England bank holidays; counting school days."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterable

import holidays as _holidays
import numpy as np
import pandas as pd

# School days are Monday to Friday (DOMAIN.md section 7).
_WEEKMASK = "1111100"
_TERM_ORDER = {"autumn": 0, "spring": 1, "summer": 2}
_TERMS_COLUMNS = ["label", "academic_year", "term", "start", "end", "half_term_start", "half_term_end"]


def load_bank_holiday_rules() -> None:
    """Import the `holidays` library's rules for England now (about half a second of imports), so a caller
    with idle time (``apxl validate`` waiting for the workbook to load) pays for it there, not in the first rule."""
    _holidays.country_holidays("GB", subdiv="ENG", years=[])


@lru_cache(maxsize=None)
def _bank_holidays_of_year(year: int) -> tuple[np.datetime64, ...]:
    """England's bank holidays in one calendar year, from the maintained `holidays` library (DOMAIN.md 7)."""
    found = _holidays.country_holidays("GB", subdiv="ENG", years=[year])
    return tuple(np.datetime64(d, "D") for d in sorted(found))


def bank_holidays(first_year: int, last_year: int) -> np.ndarray:
    """England bank holidays from 1 January ``first_year`` to 31 December ``last_year``."""
    days = [d for y in range(int(first_year), int(last_year) + 1) for d in _bank_holidays_of_year(y)]
    return np.array(days, dtype="datetime64[D]")


def academic_year_start(year_or_date: Any) -> int:
    """The calendar year an academic year starts in: September onwards belongs to the year starting then."""
    ts = pd.Timestamp(year_or_date)
    return ts.year if ts.month >= 9 else ts.year - 1


def _year_label(start_year: int) -> str:
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def academic_year_of(date: Any) -> str | None:
    """'2024-25' for 1 Sep 2024 to 31 Aug 2025 (the school year starts in September, DOMAIN.md 7)."""
    if date is None or pd.isna(date):
        return None
    return _year_label(academic_year_start(date))


def parse_academic_year(text: Any) -> int | None:
    """The start year of an academic year written '2024-25', '2024/2025', '2024 to 2025' or '2024'."""
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return None
    s = str(text).strip()
    m = re.fullmatch(r"(\d{4})(?:\s*(?:[-/–]|to)\s*(\d{2}|\d{4}))?", s)
    if not m:
        return None
    first = int(m.group(1))
    if m.group(2):
        second = int(m.group(2))
        if (second if second >= 100 else 2000 + second if first >= 2000 else 1900 + second) != first + 1:
            return None
    return first


def financial_year(dates: Any) -> Any:
    """'2024-25' for 1 Apr 2024 to 31 Mar 2025; a Series for many dates (None where blank)."""
    if isinstance(dates, (pd.Series, pd.Index, np.ndarray, list, tuple)):
        ts = pd.to_datetime(pd.Series(dates))
        start = ts.dt.year - (ts.dt.month < 4).astype("int64")
        label = start.astype("Int64").astype("str") + "-" + ((start + 1) % 100).astype("Int64").astype("str").str.zfill(2)
        return label.astype("object").where(ts.notna().to_numpy(), None)
    if dates is None or pd.isna(dates):
        return None
    ts = pd.Timestamp(dates)
    start = ts.year if ts.month >= 4 else ts.year - 1
    return _year_label(start)


def financial_year_bounds(label_or_date: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day (1 April, 31 March) of a financial year given as '2024-25' or a date in it."""
    if isinstance(label_or_date, str) and re.fullmatch(r"\d{4}-\d{2}", label_or_date.strip()):
        start = int(label_or_date[:4])
    else:
        ts = pd.Timestamp(label_or_date)
        start = ts.year if ts.month >= 4 else ts.year - 1
    return pd.Timestamp(start, 4, 1), pd.Timestamp(start + 1, 3, 31)


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> pd.Timestamp:
    first = pd.Timestamp(year, month, 1)
    return first + pd.Timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))


def census_days(start: Any, end: Any) -> list[pd.Timestamp]:
    """School census days from ``start`` to ``end`` inclusive: first Thursday of October, third Thursday of
    January and of May (DOMAIN.md section 7; the AP census is the January one)."""
    lo, hi = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    out = []
    for year in range(lo.year, hi.year + 1):
        for month, nth in ((1, 3), (5, 3), (10, 1)):
            day = _nth_weekday(year, month, 3, nth)
            if lo <= day <= hi:
                out.append(day)
    return out


def _as_days(values: Any) -> np.ndarray:
    """Any dates (scalars, lists, Series, Index) as a datetime64[D] array; blanks become NaT."""
    if isinstance(values, (pd.Series, pd.Index)):
        arr = pd.to_datetime(values).to_numpy(dtype="datetime64[ns]")
    elif isinstance(values, np.ndarray) and np.issubdtype(values.dtype, np.datetime64):
        arr = values
    else:
        arr = pd.to_datetime(pd.Series(np.atleast_1d(np.asarray(values, dtype=object)))).to_numpy(dtype="datetime64[ns]")
    return arr.astype("datetime64[D]")


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (pd.Series, pd.Index, np.ndarray, list, tuple))


class SchoolCalendar:
    """School days from the Calendar sheet: inside the terms, minus half-terms, closures and bank holidays.

    Without terms, school days are weekdays minus England bank holidays (``has_terms`` is False).
    An academic year that appears on the Calendar sheet is fully described by it: its days outside
    the listed terms are holidays. Academic years the sheet does not list fall back to weekdays
    minus bank holidays, so counting never stops at the edge of the sheet.
    """

    def __init__(self, terms: pd.DataFrame | None = None, closures: pd.DataFrame | None = None):
        self._terms = self._clean_terms(terms)
        self._closures = self._clean_closures(closures)
        self.has_terms = not self._terms.empty
        self._non_term = self._non_term_days()
        self._blocked_extra = np.unique(np.concatenate([self._non_term, self._closures, self._half_term_days()]))
        self._years: tuple[int, int] | None = None
        self._cal: np.busdaycalendar | None = None
        if self.has_terms:
            self._ensure_years(int(self._terms["start"].min().year) - 1, int(self._terms["end"].max().year) + 1)
        else:
            self._ensure_years(2020, 2030)

    # ---- construction -------------------------------------------------
    @classmethod
    def from_register(cls, register: Any) -> "SchoolCalendar":
        return cls(register.terms, register.closures)

    @staticmethod
    def _clean_terms(terms: pd.DataFrame | None) -> pd.DataFrame:
        empty = pd.DataFrame({c: pd.Series(dtype="object") for c in [*_TERMS_COLUMNS, "_year"]})
        if terms is None or len(terms) == 0 or not {"term", "start", "end"} <= set(terms.columns):
            return empty
        frame = terms.copy()
        for col in ("start", "end", "half_term_start", "half_term_end"):
            frame[col] = pd.to_datetime(frame[col], errors="coerce") if col in frame.columns else pd.NaT
        frame["term"] = frame["term"].astype("object").map(lambda t: str(t).strip().lower() if isinstance(t, str) else None)
        ok = frame["start"].notna() & frame["end"].notna() & (frame["start"] <= frame["end"]) & frame["term"].isin(list(_TERM_ORDER))
        frame = frame.loc[ok]
        if frame.empty:
            return empty
        written = frame["academic_year"].map(parse_academic_year) if "academic_year" in frame.columns else pd.Series(None, index=frame.index)
        derived = frame["start"].map(academic_year_start)
        start_year = [int(w) if w is not None and not pd.isna(w) else int(d) for w, d in zip(written, derived)]
        out = pd.DataFrame(
            {
                "academic_year": [_year_label(y) for y in start_year],
                "term": frame["term"].to_numpy(),
                "start": frame["start"].dt.normalize().to_numpy(),
                "end": frame["end"].dt.normalize().to_numpy(),
                "half_term_start": frame["half_term_start"].dt.normalize().to_numpy(),
                "half_term_end": frame["half_term_end"].dt.normalize().to_numpy(),
                "_year": start_year,
            }
        )
        out["label"] = out["academic_year"] + "-" + out["term"]
        return out.sort_values(["start", "end"], kind="stable").reset_index(drop=True)[_TERMS_COLUMNS + ["_year"]]

    @staticmethod
    def _clean_closures(closures: pd.DataFrame | None) -> np.ndarray:
        if closures is None or len(closures) == 0 or "date" not in closures.columns:
            return np.array([], dtype="datetime64[D]")
        days = pd.to_datetime(closures["date"], errors="coerce").dropna()
        return days.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")

    def _half_term_days(self) -> np.ndarray:
        parts = []
        for start, end in zip(self._terms["half_term_start"], self._terms["half_term_end"]):
            if pd.isna(start):
                continue
            # A half-term with no end date is taken as the week it starts in.
            end = start + pd.Timedelta(days=6) if pd.isna(end) else end
            if end >= start:
                parts.append(np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1))
        return np.concatenate(parts) if parts else np.array([], dtype="datetime64[D]")

    def _covered_spans(self) -> list[tuple[np.datetime64, np.datetime64]]:
        """Per academic year on the sheet: 1 Sep (if it lists Autumn, else the first term's start) to
        31 Aug (if it lists Summer, else the last term's end)."""
        spans = []
        for year, group in self._terms.groupby("_year"):
            lo = pd.Timestamp(int(year), 9, 1) if (group["term"] == "autumn").any() else group["start"].min()
            hi = pd.Timestamp(int(year) + 1, 8, 31) if (group["term"] == "summer").any() else group["end"].max()
            lo, hi = min(lo, group["start"].min()), max(hi, group["end"].max())
            spans.append((np.datetime64(lo, "D"), np.datetime64(hi, "D")))
        return spans

    def _non_term_days(self) -> np.ndarray:
        """Days inside covered academic years that fall in no term: holidays between terms."""
        if self._terms.empty:
            return np.array([], dtype="datetime64[D]")
        parts = []
        for lo, hi in self._covered_spans():
            days = np.arange(lo, hi + 1)
            inside = np.zeros(len(days), dtype=bool)
            for start, end in zip(self._terms["start"], self._terms["end"]):
                s, e = np.datetime64(start, "D"), np.datetime64(end, "D")
                inside |= (days >= s) & (days <= e)
            parts.append(days[~inside])
        return np.concatenate(parts) if parts else np.array([], dtype="datetime64[D]")

    def _ensure_years(self, first: int, last: int) -> None:
        """Load bank holidays for the years a query touches (the numpy calendar needs them up front)."""
        first, last = max(int(first), 1900), min(int(last), 2199)
        if self._years is not None and self._years[0] <= first and last <= self._years[1]:
            return
        if self._years is not None:
            first, last = min(first, self._years[0]), max(last, self._years[1])
        self._years = (first, last)
        blocked = np.unique(np.concatenate([bank_holidays(first, last), self._blocked_extra]))
        self._cal = np.busdaycalendar(weekmask=_WEEKMASK, holidays=blocked)

    def _prepare(self, *arrays: np.ndarray, extra_years: int = 0) -> None:
        valid = [a[~np.isnat(a)] for a in arrays]
        valid = [a for a in valid if len(a)]
        if not valid:
            return
        years = np.concatenate(valid).astype("datetime64[Y]").astype(int) + 1970
        self._ensure_years(int(years.min()) - 1, int(years.max()) + 1 + extra_years)

    # ---- queries ------------------------------------------------------
    def is_school_day(self, dates: Any) -> np.ndarray:
        """True for each date that is a school day (blank dates are not)."""
        days = _as_days(dates)
        self._prepare(days)
        out = np.zeros(len(days), dtype=bool)
        ok = ~np.isnat(days)
        out[ok] = np.is_busday(days[ok], busdaycal=self._cal)
        return out

    def school_days_between(self, starts: Any, ends: Any) -> np.ndarray:
        """School days from each start to each end, both inclusive (0 when end is before start; NaN if blank)."""
        s, e = _as_days(starts), _as_days(ends)
        s, e = np.broadcast_arrays(s, e)
        self._prepare(s, e)
        out = np.full(len(s), np.nan)
        ok = ~(np.isnat(s) | np.isnat(e))
        counts = np.busday_count(s[ok], e[ok] + np.timedelta64(1, "D"), busdaycal=self._cal)
        out[ok] = np.maximum(counts, 0)
        return out

    def school_days(self, start: Any, end: Any) -> int:
        """School days from ``start`` to ``end`` inclusive."""
        value = self.school_days_between([start], [end])[0]
        return 0 if np.isnan(value) else int(value)

    def nth_school_days(self, starts: Any, n: Any) -> pd.DatetimeIndex:
        """Vectorised ``nth_school_day``: the n-th school day counting each start as day 1 if it is one."""
        s = _as_days(starts)
        n_arr = np.broadcast_to(np.asarray(n, dtype="int64"), s.shape)
        if (n_arr < 1).any():
            raise ValueError("n counts school days from 1")
        self._prepare(s, extra_years=int(n_arr.max(initial=1)) // 150 + 2)
        out = np.full(len(s), np.datetime64("NaT"), dtype="datetime64[D]")
        ok = ~np.isnat(s)
        first = np.busday_offset(s[ok], 0, roll="forward", busdaycal=self._cal)
        out[ok] = np.busday_offset(first, n_arr[ok] - 1, roll="forward", busdaycal=self._cal)
        return pd.DatetimeIndex(out.astype("datetime64[ns]"))

    def nth_school_day(self, start: Any, n: int) -> pd.Timestamp:
        """The n-th school day from ``start`` (``start`` is day 1 if it is a school day), e.g. n=6 for Section 19."""
        return self.nth_school_days([start], n)[0]

    def school_day_dates(self, start: Any, end: Any) -> pd.DatetimeIndex:
        """Every school day from ``start`` to ``end`` inclusive."""
        lo, hi = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
        if hi < lo:
            return pd.DatetimeIndex([])
        days = np.arange(np.datetime64(lo, "D"), np.datetime64(hi, "D") + 1)
        return pd.DatetimeIndex(days[self.is_school_day(days)].astype("datetime64[ns]"))

    def term_of(self, dates: Any) -> pd.Series:
        """The term label ('2024-25-autumn') each date falls in: the Calendar sheet's term, including its
        half-term; dates outside every listed term get a nominal term (Sep-Dec autumn, Jan-Mar spring,
        Apr-Aug summer) so every school day belongs to exactly one term. None for blank dates."""
        index = dates.index if isinstance(dates, pd.Series) else None
        days = _as_days(dates)
        ts = pd.Series(days.astype("datetime64[ns]"))
        labels = pd.Series([None] * len(days), dtype="object")
        if self.has_terms:
            starts = self._terms["start"].to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
            ends = self._terms["end"].to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
            pos = np.searchsorted(starts, days, side="right") - 1
            safe = np.clip(pos, 0, len(starts) - 1)
            hit = (pos >= 0) & (days <= ends[safe]) & ~np.isnat(days)
            # Terms are sorted by start: a date belongs to the latest-starting term that contains it.
            labels[hit] = self._terms["label"].to_numpy()[safe[hit]]
        nominal = ~labels.notna() & ts.notna()
        if nominal.any():
            t = ts[nominal]
            year = t.dt.year - (t.dt.month < 9).astype("int64")
            name = np.select([t.dt.month >= 9, t.dt.month <= 3], ["autumn", "spring"], "summer")
            labels[nominal] = year.astype("str") + "-" + ((year + 1) % 100).astype("str").str.zfill(2) + "-" + name
        if index is not None:
            labels.index = index
        return labels

    def terms_table(self) -> pd.DataFrame:
        """The Calendar sheet's terms: label, academic_year, term, start, end (and half-term dates), by start."""
        return self._terms[_TERMS_COLUMNS].reset_index(drop=True).copy()

    def term_bounds(self, label: str) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """First and last day of a term by label: the sheet's dates, else the nominal months; None if not a label."""
        hit = self._terms[self._terms["label"] == label]
        if len(hit):
            return pd.Timestamp(hit["start"].iloc[0]), pd.Timestamp(hit["end"].iloc[0])
        m = re.fullmatch(r"(\d{4})-\d{2}-(autumn|spring|summer)", str(label).strip().lower())
        if not m:
            return None
        y = int(m.group(1))
        return {
            "autumn": (pd.Timestamp(y, 9, 1), pd.Timestamp(y, 12, 31)),
            "spring": (pd.Timestamp(y + 1, 1, 1), pd.Timestamp(y + 1, 3, 31)),
            "summer": (pd.Timestamp(y + 1, 4, 1), pd.Timestamp(y + 1, 8, 31)),
        }[m.group(2)]

    def census_days(self, start: Any, end: Any) -> list[pd.Timestamp]:
        return census_days(start, end)

    def financial_year(self, dates: Any) -> Any:
        return financial_year(dates)

    def closures(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self._closures.astype("datetime64[ns]"))


def school_calendar(terms: Iterable[dict] | None = None, closures: Iterable[Any] | None = None) -> SchoolCalendar:
    """A calendar from plain records (tests, Excel functions): terms as dicts with the Terms fields, closures as dates."""
    t = pd.DataFrame(list(terms or []))
    c = pd.DataFrame({"date": pd.to_datetime(pd.Series(list(closures or []), dtype="object"))})
    return SchoolCalendar(t, c)
