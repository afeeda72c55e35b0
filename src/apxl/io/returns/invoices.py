"""Reading a month's provider invoices (CSV or .xlsx) into provider, amount in pence and reference."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pandas as pd

from apxl.core.money import to_pence
from apxl.core.parse import is_blank, parse_month_value
from apxl.core.vocab import norm
from apxl.errors import ApxlError
from apxl.io.returns.read import read_grids
from apxl.io.returns.safety import DEFAULT_LIMITS, Limits, check_return_file

_PROVIDER = {"providerid", "provider", "providerref", "providercode", "supplierid", "supplier"}
_AMOUNT = {"amount", "amount(£)", "amount£", "total", "invoicetotal", "net", "netamount", "value", "invoiceamount"}
_MONTH = {"month", "period", "invoicemonth", "serviceperiod"}
_REF = {"invoiceref", "invoice", "invoiceno", "invoicenumber", "ref", "reference"}
_MAX_BYTES = 10 * 1024 * 1024
COLUMNS = ["provider_id", "pence", "ref", "line"]


def _key(header: Any) -> str:
    return norm(str(header or "")).replace(".", "").replace(":", "")


def read_invoices(path: str | Path, month: str, *, limits: Limits = DEFAULT_LIMITS) -> tuple[pd.DataFrame, list[str]]:
    """The invoice lines for ``month`` (YYYY-MM) and a list of problems (unreadable lines, other months skipped).

    Lines with a Month column for another month are left out; lines without a month count for this one.
    """
    path = Path(path)
    if not path.is_file():
        raise ApxlError(f"The invoices file {path} does not exist.")
    if path.suffix.lower() == ".csv":
        if path.stat().st_size > _MAX_BYTES:
            raise ApxlError(f"{path.name} is larger than {_MAX_BYTES // (1024 * 1024)} MB: that is not a month of invoices.")
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
        grid = [row for row in csv.reader(io.StringIO(text))]
    elif path.suffix.lower() == ".xlsx":
        check_return_file(path, limits)  # invoices arrive from outside too: same hostile-file checks
        grids = read_grids(path, limits)
        grid = next(iter(grids.values()), [])
    else:
        raise ApxlError(f"{path.name} is not a CSV or .xlsx invoices file.")
    return _lines(path.name, grid, month)


def _lines(name: str, grid: list[list[Any]], month: str) -> tuple[pd.DataFrame, list[str]]:
    head_at = next((i for i, row in enumerate(grid[:20]) if {_key(c) for c in row} & _PROVIDER and {_key(c) for c in row} & _AMOUNT), None)
    if head_at is None:
        raise ApxlError(f"{name} has no header row with a Provider ID and an Amount column.")
    head = [_key(c) for c in grid[head_at]]
    col = {k: next((j for j, h in enumerate(head) if h in names), None) for k, names in
           (("provider", _PROVIDER), ("amount", _AMOUNT), ("month", _MONTH), ("ref", _REF))}
    records, problems, other = [], [], 0
    for r, row in enumerate(grid[head_at + 1:], start=head_at + 2):
        cell = lambda k: row[col[k]] if col[k] is not None and col[k] < len(row) else None  # noqa: E731
        if all(is_blank(v) for v in row):
            continue
        if col["month"] is not None and not is_blank(cell("month")):
            when = parse_month_value(cell("month"))
            if when is None:
                problems.append(f"{name} line {r}: month '{cell('month')}' cannot be read; the line was left out.")
                continue
            if when != month:
                other += 1
                continue
        provider = cell("provider")
        amount = _amount(cell("amount"))
        if is_blank(provider) or amount is None:
            problems.append(f"{name} line {r}: no provider or no readable amount; the line was left out.")
            continue
        ref = cell("ref")
        records.append({"provider_id": re.sub(r"\s+", "", str(provider)).upper(), "pence": int(to_pence(amount)),
                        "ref": None if is_blank(ref) else str(ref).strip(), "line": r})
    if other:
        problems.append(f"{name}: {other} line(s) for other months were left out.")
    return pd.DataFrame(records, columns=COLUMNS), problems


def _amount(value: Any) -> float | None:
    if is_blank(value) or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip().replace("£", "").replace(",", "").replace(" ", "")
    negative = text.startswith("(") and text.endswith(")")
    try:
        number = float(text.strip("()"))
    except ValueError:
        return None
    return -number if negative else number
