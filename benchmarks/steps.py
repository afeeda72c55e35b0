"""Benchmark steps, each run by benchmarks/run.py in a child process of its own (so its peak memory is its own).

    python benchmarks/steps.py STEP RESULT.json ARGS...

calamine WORKBOOK [PARQUET]     every sheet's values with python-calamine (the I/O floor); Parquet with pyarrow
openpyxl WORKBOOK [PARQUET]     the same with openpyxl in read-only mode
frictionless WORKBOOK [CSV]     frictionless structural validation of every data sheet (and the CSV)
scaling WORKBOOK PARQUET        apxl's rules and attendance checks, timed in-process (reading is not timed)

Each writes a small JSON result (rows read, findings, in-process times). Imports happen inside the
step, so a child pays only for what it uses.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

INSTRUCTIONS = "Instructions"  # the template's prose sheet: not data


def calamine(workbook: str, parquet: str | None = None) -> dict:
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(workbook)
    rows = cells = 0
    for name in book.sheet_names:
        values = book.get_sheet_by_name(name).to_python()
        rows += len(values)
        cells += sum(len(r) for r in values)
    if parquet:
        rows += _read_parquet(parquet)
    return {"rows": rows, "cells": cells}


def openpyxl(workbook: str, parquet: str | None = None) -> dict:
    from openpyxl import load_workbook

    book = load_workbook(workbook, read_only=True, data_only=True)
    rows = cells = 0
    for ws in book.worksheets:
        for row in ws.iter_rows(values_only=True):
            rows += 1
            cells += len(row)
    book.close()
    if parquet:
        rows += _read_parquet(parquet)
    return {"rows": rows, "cells": cells}


def _read_parquet(path: str) -> int:
    import pyarrow.parquet as pq

    return pq.read_table(path).num_rows


def frictionless(workbook: str, csv: str | None = None) -> dict:
    from frictionless import Resource, formats
    from python_calamine import CalamineWorkbook

    sheets = [n for n in CalamineWorkbook.from_path(workbook).sheet_names if n != INSTRUCTIONS]
    # frictionless refuses absolute paths as unsafe unless they are relative to a base path.
    book = Path(workbook).resolve()
    resources = [Resource(book.name, basepath=str(book.parent), format="xlsx", control=formats.ExcelControl(sheet=n)) for n in sheets]
    if csv:
        resources.append(Resource(Path(csv).resolve().name, basepath=str(Path(csv).resolve().parent), format="csv"))
    rows = errors = 0
    for resource in resources:
        report = resource.validate(limit_errors=10_000)
        task = report.tasks[0]
        refused = [e.note for e in task.errors if e.type in {"resource-error", "source-error", "scheme-error", "format-error"}]
        if refused:
            raise SystemExit(f"frictionless could not read {resource.path}: {refused[0]}")
        rows += task.stats.get("rows") or 0
        errors += task.stats.get("errors") or 0
    return {"rows": rows, "errors": errors, "sheets": len(sheets)}


def scaling(workbook: str, parquet: str) -> dict:
    """Read a register and its attendance file, then time check_register: the rules, then the ATT checks."""
    from apxl.core.check import check_register
    from apxl.core.rules.registry import catalogue
    from apxl.io.attendance import use_attendance_file, with_attendance_codes
    from apxl.io.profiles import policy_for
    from apxl.io.reader import read_register

    register = read_register(workbook)
    use_attendance_file(register, parquet)
    policy, _ = policy_for(register)
    policy = with_attendance_codes(policy)
    att = [r.id for r in catalogue() if r.id.startswith("ATT-")]
    rest = [r.id for r in catalogue() if not r.id.startswith("ATT-")]
    t0 = time.perf_counter()
    rules = check_register(register, policy, only=rest)
    t1 = time.perf_counter()
    checks = check_register(register, policy, only=att)
    t2 = time.perf_counter()
    return {"rules_s": t1 - t0, "attendance_s": t2 - t1, "placements": len(register.placements), "sessions": len(register.attendance),
            "findings": len(rules.frame) + len(checks.frame)}


STEPS = {"calamine": calamine, "openpyxl": openpyxl, "frictionless": frictionless, "scaling": scaling}


def main() -> None:
    step, result, *args = sys.argv[1:]
    out = STEPS[step](*args)
    Path(result).write_text(json.dumps(out))


if __name__ == "__main__":
    main()
