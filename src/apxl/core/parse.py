"""Typing a raw sheet: match headers to the contract, coerce values, and report STR findings."""
from __future__ import annotations

import copy
import re
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Callable

import numpy as np
import pandas as pd
import pandera.pandas as pa

from apxl.core import vocab
from apxl.core.findings import RULE_OUTPUT_COLUMNS, empty_findings
from apxl.core.register import RawTable, Register, Table
from apxl.core.tables import SHEETS, Column, columns, empty_frame, header_lookup, headers, norm_header

_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_DATE_FORMATS = ("%d/%m/%Y", "%d/%m/%y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%d %b %Y", "%d %B %Y", "%d-%b-%Y", "%d-%b-%y", "%Y/%m/%d")
_YES = {"y", "yes", "true", "1", "t"}
_NO = {"n", "no", "false", "0", "f"}
_INVALID = object()  # marks a value that could not be read as its column's type


def is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date)):
        return value.strftime("%d/%m/%Y")
    return str(value).strip()


_MONTH_FORMS = ((re.compile(r"(\d{4})[-/.](\d{1,2})"), 1, 2), (re.compile(r"(\d{1,2})[-/.](\d{4})"), 2, 1))


def parse_month_value(value: Any) -> str | None:
    """A cell as a month, 'YYYY-MM': 2025-03, 2025/3, 03/2025, March 2025, Mar 2025, or a date (Excel turns a typed
    2025-03 into 1 March 2025); None when it is blank or not a month."""
    if isinstance(value, str):
        text = value.strip()
        for pattern, y, m in _MONTH_FORMS:
            found = pattern.fullmatch(text)
            if found:
                return f"{int(found.group(y)):04d}-{int(found.group(m)):02d}" if 1 <= int(found.group(m)) <= 12 else None
        for fmt in ("%B %Y", "%b %Y"):
            try:
                return datetime.strptime(text, fmt).strftime("%Y-%m")
            except ValueError:
                pass
    day = parse_date_value(value)
    return day.strftime("%Y-%m") if isinstance(day, pd.Timestamp) and not pd.isna(day) else None


def parse_date_value(value: Any) -> pd.Timestamp | None | object:
    """A cell as a date: real dates, Excel serial numbers, or dd/mm/yyyy and ISO text."""
    if is_blank(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.normalize()
    if isinstance(value, (datetime, date)):
        return pd.Timestamp(value).normalize()
    if isinstance(value, bool):
        return _INVALID
    if isinstance(value, (int, float, np.integer, np.floating)):
        return _serial(float(value))
    text = str(value).strip()
    if re.fullmatch(r"\d{4,5}(\.\d+)?", text):
        return _serial(float(text))
    text = re.sub(r"\s+", " ", text)
    for fmt in _DATE_FORMATS:
        try:
            return pd.Timestamp(datetime.strptime(text, fmt))
        except ValueError:
            continue
    try:  # ISO with a time part, as some exports write
        return pd.Timestamp(datetime.fromisoformat(text)).normalize()
    except ValueError:
        return _INVALID


def _serial(number: float) -> pd.Timestamp | object:
    # Excel's 1900 date system; serials outside 1900-2199 are not plausible register dates.
    if not 1 <= number < 109574:
        return _INVALID
    return (_EXCEL_EPOCH + timedelta(days=int(number))).normalize()


def _yn(value: Any) -> bool | None | object:
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    text = _as_text(value).lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    return _INVALID


def _number(value: Any) -> float | None | object:
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return _INVALID
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    text = str(value).strip().replace(",", "").replace("£", "").replace(" ", "")
    try:
        return float(text)
    except ValueError:
        return _INVALID


def _year(value: Any) -> int | None | object:
    if is_blank(value):
        return None
    text = _as_text(value).lower().replace("year", "").replace("yr", "").strip().lstrip("y").strip()
    if text in {"r", "reception", "rec"}:
        return 0
    if text in {"n1", "n2", "nursery"}:
        return -1
    try:
        number = float(text)
    except ValueError:
        return _INVALID
    return int(number) if number.is_integer() and -1 <= number <= 14 else _INVALID


_DAY_INDEX = {d.lower(): i for i, d in enumerate(vocab.WEEKDAYS)}


def _days(value: Any) -> str | None | object:
    if is_blank(value):
        return None
    text = _as_text(value).lower()
    if text in {"all", "full week", "mon-fri", "every day", "daily", "monday-friday", "monday to friday"}:
        return "Mon,Tue,Wed,Thu,Fri"
    picked: set[int] = set()
    for part in re.split(r"[,;/&+]|\band\b|\s+", text):
        part = part.strip()
        if not part:
            continue
        if "-" in part:  # a range such as Mon-Wed
            a, _, b = part.partition("-")
            ia, ib = _DAY_INDEX.get(a[:3]), _DAY_INDEX.get(b[:3])
            if ia is None or ib is None or ia > ib:
                return _INVALID
            picked.update(range(ia, ib + 1))
            continue
        idx = _DAY_INDEX.get(part[:3])
        if idx is None or (len(part) > 3 and not vocab.WEEKDAYS[idx].lower().startswith(part[:3]) ):
            return _INVALID
        picked.add(idx)
    return ",".join(vocab.WEEKDAYS[i] for i in sorted(picked)) if picked else _INVALID


def _stages(value: Any) -> str | None | object:
    if is_blank(value):
        return None
    found = re.findall(r"(?:ks\s*)?([1-5])", _as_text(value).lower())
    text = _as_text(value).lower()
    if not found or re.sub(r"ks|[1-5]|[\s,;/&+\-]|and", "", text):
        return _INVALID
    return ",".join(f"KS{n}" for n in sorted(set(found)))


def _enum_parser(col: Column) -> Callable[[Any], Any]:
    spellings = vocab.spelling_map(col.vocab or "", list(col.allowed or ()))

    def parse(value: Any) -> Any:
        if is_blank(value):
            return None
        text = _as_text(value)
        hit = spellings.get(vocab.norm(text))
        if hit is None and col.vocab == "route":
            # "PEX - from day 6 after permanent exclusion": the code is the first word.
            head = re.split(r"[\s\-:–]+", text.strip(), maxsplit=1)[0]
            hit = spellings.get(vocab.norm(head))
        return hit if hit is not None else text  # unknown spellings stay as written, for STR-004

    return parse


def _parser(col: Column) -> Callable[[Any], Any]:
    if col.kind == "date":
        return parse_date_value
    if col.kind == "yn":
        return _yn
    if col.kind == "number":
        return _number
    if col.kind == "year":
        return _year
    if col.kind == "days":
        return _days
    if col.kind == "stages":
        return _stages
    if col.kind == "enum":
        return _enum_parser(col)
    if col.kind == "code":
        return lambda x: None if is_blank(x) else re.sub(r"\s+", "", _as_text(x)).upper()
    return lambda x: None if is_blank(x) else _as_text(x)


_DTYPES = {"date": "datetime64[ns]", "yn": "boolean", "number": "float64", "year": "Int64"}
_EXPECT = {
    "date": "a date (dd/mm/yyyy or an Excel date)",
    "yn": "Y or N",
    "number": "a number",
    "year": "a year group such as 7, Y7 or R",
    "days": "weekdays such as Mon,Wed",
    "stages": "key stages such as KS3,KS4",
}


def _factorize(raw: pd.Series) -> tuple[np.ndarray, Any]:
    """Codes and distinct values. Text, number and Arrow (e.g. date) columns keep their own dtype: turning
    16 million of them into Python objects first took longer than parsing them. (NumPy numbers parse as the
    Python ones do: every parser accepts np.integer/np.floating; Arrow dates come out as datetime.date.)"""
    typed = raw.dtype != object and (
        pd.api.types.is_string_dtype(raw.dtype) or isinstance(raw.dtype, pd.ArrowDtype) or raw.dtype.kind in "iuf"
    )
    return pd.factorize(raw if typed else raw.astype(object), use_na_sentinel=True)


def coerce_column(raw: pd.Series, col: Column) -> tuple[pd.Series, pd.Series]:
    """Parse a column; returns (typed series, mask of cells that could not be read).

    Values are parsed once per distinct value, which keeps a year of attendance fast.
    """
    series, bad, _ = _coerce(raw, col)
    return series, bad


def _coerce(raw: pd.Series, col: Column, factorized: tuple[np.ndarray, Any] | None = None) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """``coerce_column``, also returning an integer id per row for its typed value (equal values, equal ids; blanks
    and unreadable cells share one id), for the duplicate-key check. ``factorized``: ``_factorize(raw)`` if known."""
    parse = _parser(col)
    codes, uniques = factorized if factorized is not None else _factorize(raw)
    parsed = [parse(u) for u in uniques]
    bad_u = np.array([p is _INVALID for p in parsed], dtype=bool)
    clean = [None if p is _INVALID else p for p in parsed] + [None]  # the last slot stands for blank cells
    idx = np.where(codes >= 0, codes, len(uniques))
    bad = np.append(bad_u, False)[idx]
    dtype = _DTYPES.get(col.kind, "str")
    # Dates and text are typed once per distinct value and then taken per row: converting a year of
    # attendance cell by cell (800,000 Timestamps or strings) was most of the time spent parsing it.
    if dtype == "datetime64[ns]":
        typed = pd.to_datetime(pd.Series(clean, dtype=object), errors="coerce").to_numpy(dtype="datetime64[ns]")
        series = pd.Series(typed[idx], index=raw.index)
    elif dtype == "str":
        distinct = pd.Series(clean, dtype=object)
        typed = distinct.astype("str").where(pd.notna(distinct)).astype("str")
        if raw.dtype == typed.dtype and typed.iloc[:-1].tolist() == list(uniques):
            series = raw.copy()  # already clean text (a CSV/Parquet column): every value parses to itself
        else:
            series = pd.Series(typed.array.take(idx), index=raw.index)
    else:
        typed = pd.Series(clean, dtype=object).astype(dtype)  # once per distinct value, then taken per row
        series = pd.Series(typed.array.take(idx), index=raw.index)
    # Ids of the typed values: distinct raw spellings of one value ('am', 'AM') share an id, as they do in ``series``.
    value_ids = pd.factorize(pd.Series(typed), use_na_sentinel=False)[0]
    return series, pd.Series(bad, index=raw.index), value_ids[idx]


def _out(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["rule_id", *RULE_OUTPUT_COLUMNS])


def parse_table(name: str, raw: RawTable) -> tuple[Table, pd.DataFrame]:
    """Type one raw table against its model; returns the table and STR-002..006 findings."""
    spec = SHEETS[name]
    model = spec.model
    cols = {c.field: c for c in columns(model)}
    lookup = header_lookup(model)
    frame = empty_frame(model).reindex(raw.frame.index)
    letters: dict[str, str] = {}
    found: dict[str, int] = {}
    for pos, text in enumerate(raw.headers):
        field = lookup.get(norm_header(text))
        if field and field not in found:
            found[field] = pos
            letters[field] = raw.letters[pos]
    hdrs = headers(model)
    findings: list[pd.DataFrame] = []
    missing_cols = [
        {"rule_id": "STR-002", "sheet": raw.sheet, "row": raw.header_row, "column": c.header, "key": None, "value": None,
         "message": f"The {spec.sheet} table has no '{c.header}' column (also accepted: {', '.join(c.aliases[:3]) or 'none'}). Add the column so these checks can run."}
        for f, c in cols.items() if c.required_column and f not in found
    ]
    findings.append(_out(missing_cols))

    key_field = spec.key[0]
    key_codes = None
    if key_field in found:
        # Once per distinct value, not per row: an Attendance sheet repeats each UPN hundreds of times.
        col = raw.frame.iloc[:, found[key_field]]
        codes, uniques = key_codes = _factorize(col)
        texts = np.array([None if is_blank(u) else _as_text(u) for u in uniques] + [None], dtype=object)
        keys = pd.Series(texts[np.where(codes >= 0, codes, len(uniques))], index=col.index, dtype=object)
    else:
        keys = pd.Series([None] * len(raw.frame), index=raw.frame.index, dtype=object)

    unreadable: set[tuple[int, str]] = set()
    unique = set(model.to_schema().unique or [])
    value_ids: dict[str, np.ndarray] = {}
    for field, pos in found.items():
        col = cols[field]
        series, bad, ids = _coerce(raw.frame.iloc[:, pos], col, key_codes if field == key_field else None)
        frame[field] = series
        if field in unique:
            value_ids[field] = ids
        if bad.any():
            unreadable.update((int(r), field) for r in bad.index[bad])
            cells = raw.frame.iloc[:, pos][bad]
            findings.append(pd.DataFrame({
                "rule_id": "STR-003", "sheet": raw.sheet, "row": cells.index.astype("int64"), "column": col.header,
                "key": keys[bad].to_numpy(), "value": cells.map(_as_text).to_numpy(),
                "message": [f"{col.header} '{_as_text(x)}' cannot be read: enter {_EXPECT.get(col.kind, 'text')}." for x in cells],
            }))

    findings.append(_validate(spec, frame, keys, raw.sheet, hdrs, unreadable, set(found), value_ids))
    # Values outside the allowed lists have been reported; blank them so rules see only valid values.
    for field, col in cols.items():
        if col.allowed and field in found:
            outside = ~frame[field].isin(col.allowed) & frame[field].notna()
            if outside.any():
                frame.loc[outside, field] = None
    table = Table(name=name, sheet=raw.sheet, frame=frame, headers=hdrs, letters=letters, header_row=raw.header_row)
    out = pd.concat([f for f in findings if len(f)], ignore_index=True) if any(len(f) for f in findings) else _out([])
    return table, out


def _has_duplicates(frame: pd.DataFrame, cols: list[str], value_ids: dict[str, np.ndarray] | None = None) -> bool:
    """Whether two rows share the values of ``cols`` (blank equals blank, as in pandas' ``duplicated``).

    ``value_ids``: per column, integer ids of the typed values already known from parsing (no second hashing).
    """
    ids = np.zeros(len(frame), dtype=np.int64)
    size = 1
    for c in cols:
        if value_ids and c in value_ids:
            codes = value_ids[c].astype(np.int64)
            n_values = int(codes.max()) + 1 if len(codes) else 0
        else:
            codes, uniques = pd.factorize(frame[c], use_na_sentinel=False)
            n_values = len(uniques)
        size *= max(n_values, 1)
        if size > 2**62:
            return True  # ids would overflow: let pandera look
        ids = ids * max(n_values, 1) + codes
    if size <= 8 * len(ids) + 1024:
        return bool(len(ids)) and int(np.bincount(ids, minlength=size).max()) > 1
    return bool(pd.Series(ids).duplicated().any())


@lru_cache(maxsize=None)
def _without_unique(model) -> pa.DataFrameSchema:
    schema = copy.deepcopy(model.to_schema())
    schema.unique = None
    return schema


def _validate(
    spec, frame: pd.DataFrame, keys: pd.Series, sheet: str, hdrs: dict[str, str], unreadable: set[tuple[int, str]], present: set[str],
    value_ids: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Run the pandera model; blank required values, duplicate keys and disallowed values become findings."""
    schema = spec.model.to_schema()
    if schema.unique and not _has_duplicates(frame, list(schema.unique), value_ids):
        # No duplicate keys (found on integer ids): pandera need not search for them again, which was most of
        # its time on a national year of attendance. With any duplicate, pandera checks as before.
        schema = _without_unique(spec.model)
    try:
        schema.validate(frame, lazy=True)
        return _out([])
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
    cases = cases[cases["index"].notna()]
    rows: list[dict[str, Any]] = []
    key_header = hdrs[spec.key[0]]
    dup_groups: dict[str, list[int]] = {}
    for case in cases.itertuples(index=False):
        row = int(case.index)
        field = case.column if isinstance(case.column, str) and case.column in hdrs else None
        header = hdrs.get(field) if field else None
        key = keys.get(row)
        check = str(case.check)
        if check == "not_nullable":
            if (row, field) in unreadable or field not in present:
                continue  # already reported as unreadable (STR-003) or as a missing column (STR-002)
            rows.append({"rule_id": "STR-006", "sheet": sheet, "row": row, "column": header, "key": key, "value": None,
                         "message": f"{header} is blank: every row of {spec.sheet} needs one."})
        elif "uniqueness" in check:
            dup_groups.setdefault(field or "+".join(spec.key), []).append(row)
        elif check.startswith("isin"):
            allowed = ", ".join(spec.model.to_schema().columns[field].metadata["allowed"])
            rows.append({"rule_id": "STR-004", "sheet": sheet, "row": row, "column": header, "key": key, "value": case.failure_case,
                         "message": f"{header} '{case.failure_case}' is not an allowed value: use one of {allowed}."})
        elif check.startswith("greater_than"):
            rows.append({"rule_id": "STR-004", "sheet": sheet, "row": row, "column": header, "key": key, "value": case.failure_case,
                         "message": f"{header} {case.failure_case} is negative: enter zero or more."})
    for field, dup_rows in dup_groups.items():
        dup_rows = sorted(set(dup_rows))
        if field in hdrs:
            values = frame.loc[dup_rows, field]
            header = hdrs[field]
        else:  # a key made of several columns
            values = frame.loc[dup_rows, list(spec.key)].astype(str).agg(" ".join, axis=1)
            header = " + ".join(hdrs[f] for f in spec.key)
        groups = pd.Series(dup_rows, index=dup_rows).groupby(values.astype(str).to_numpy())
        for value, members in groups:
            member_rows = list(members)
            head = member_rows[:6]  # name a few other rows; a big group must not make messages grow with its square
            for row in member_rows:
                shown = [r for r in head if r != row][:5]
                more = len(member_rows) - 1 - len(shown)
                others = ", ".join(str(r) for r in shown) + (f" and {more:,} more" if more > 0 else "")
                rows.append({"rule_id": "STR-005", "sheet": sheet, "row": row, "column": header if field in hdrs else hdrs[spec.key[0]],
                             "key": keys.get(row), "value": value,
                             "message": f"{header} '{value}' also appears on row{'s' if len(member_rows) > 2 else ''} {others}: each must be unique."})
    return _out(rows)


def parse_register(
    raws: dict[str, RawTable | None], source: str | None = None, *, missing: dict[str, tuple[str, str]] | None = None
) -> Register:
    """Type every sheet the reader found. ``missing`` maps a table name to (why it was not found, severity)."""
    tables: dict[str, Table] = {}
    parts: list[pd.DataFrame] = []
    for name in SHEETS:
        raw = raws.get(name)
        if raw is None:
            tables[name] = Table.missing(name)
            continue
        table, found = parse_table(name, raw)
        tables[name] = table
        parts.append(found)
    parts.append(missing_findings(missing or {}))
    findings = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else empty_findings()
    return Register(tables=tables, findings=findings, source=source)


def missing_findings(missing: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """STR-001 for each table not found: ``missing`` maps a table name to (why, severity)."""
    rows = [{"rule_id": "STR-001", "sheet": SHEETS[name].sheet, "row": None, "column": None, "key": None, "value": None, "message": why}
            for name, (why, _) in missing.items()]
    return _out(rows).assign(severity=[severity for _, severity in missing.values()])


def raw_from_records(name: str, records: list[dict[str, Any]], *, sheet: str | None = None, first_row: int = 2) -> RawTable:
    """A RawTable from dicts keyed by header text (any accepted alias), as if typed into a sheet from row 1."""
    spec = SHEETS[name]
    header_list: list[str] = []
    for rec in records:
        for h in rec:
            if h not in header_list:
                header_list.append(h)
    if not header_list:
        header_list = list(headers(spec.model).values())
    letters = [_letter(i + 1) for i in range(len(header_list))]
    frame = pd.DataFrame([[rec.get(h) for h in header_list] for rec in records], columns=header_list, dtype=object)
    frame.index = pd.RangeIndex(first_row, first_row + len(records)).astype("int64")
    return RawTable(sheet=sheet or spec.sheet, header_row=first_row - 1, headers=header_list, letters=letters, frame=frame)


def register_from_records(**sheets: list[dict[str, Any]]) -> Register:
    """Build a typed Register from plain records, e.g. ``register_from_records(placements=[{...}], providers=[...])``.

    Keys are header texts as a user would type them. Used by tests, the demo and Excel's CHECK function.
    """
    raws = {name: raw_from_records(name, recs) for name, recs in sheets.items() if recs is not None}
    return parse_register(raws, source="records")


def _letter(n: int) -> str:
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out
