"""Benchmark: ATT-001..012 on a year of attendance at LA scale, as a ratio to reading the same rows.

Generates ~2,000 AP pupils x a school year of sessions (~800,000 rows, school and provider marks),
writes them as CSV and Parquet, reads them back with apxl.io.attendance.read_attendance_file, then
runs the attendance checks and the per-pupil/term measures. Prints times and ratios (check time /
read time); nothing is asserted, so machine speed never fails a build.

    uv run python benchmarks/attendance_bench.py [--pupils 2000] [--wide]

--wide also writes the same sessions as a pupil-by-session grid workbook and times reading it.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from apxl.core.attendance import pupil_term_measures
from apxl.core.calendar import SchoolCalendar
from apxl.core.check import check_register
from apxl.core.parse import register_from_records
from apxl.core.policy import default_policy
from apxl.core.upn import with_check_letter
from apxl.io.attendance import read_attendance_file, with_attendance_codes

TERMS = [
    {"Academic year": "2024-25", "Term": "Autumn", "Start": "03/09/2024", "End": "20/12/2024", "Half-term start": "28/10/2024", "Half-term end": "01/11/2024"},
    {"Academic year": "2024-25", "Term": "Spring", "Start": "06/01/2025", "End": "04/04/2025", "Half-term start": "17/02/2025", "Half-term end": "21/02/2025"},
    {"Academic year": "2024-25", "Term": "Summer", "Start": "22/04/2025", "End": "22/07/2025", "Half-term start": "26/05/2025", "Half-term end": "30/05/2025"},
]
ATT = [f"ATT-{i:03d}" for i in range(1, 13)]


def generate(pupils: int, seed: int = 7) -> tuple[dict, pd.DataFrame]:
    """Placements/providers records and a long attendance frame (header texts as columns)."""
    rng = np.random.default_rng(seed)
    cal = SchoolCalendar.from_register(register_from_records(terms=TERMS))
    days = cal.school_day_dates("2024-09-03", "2025-07-22")
    upns = [with_check_letter(f"801{2000 + i // 1000:04d}{24:02d}{i % 1000:03d}") for i in range(pupils)]
    providers = [{"Provider ID": f"PV{i:03d}", "Name": f"Provider {i}", "Type": "PRU" if i % 3 == 0 else "Unregistered",
                  "Registered (Y/N)": "Y" if i % 3 == 0 else "N", "QA status": "Approved"} for i in range(200)]
    kind = rng.integers(0, 3, pupils)  # 0: LA dual at a PRU (D), 1: LA off-site (K), 2: school off-site (B)
    prov = np.where(kind == 0, rng.integers(0, 67, pupils) * 3, rng.integers(0, 200, pupils) // 3 * 3 + 1)
    placements = [{"Placement ID": f"PL{i:05d}", "UPN": u, "Surname": "Bench", "Forename": "Pupil", "Date of birth": "01/03/2011",
                   "Provider ID": f"PV{p:03d}", "Route": ["S19OTHER", "HEALTH", "ASSESS"][k], "Commissioner": ["LA", "LA", "School"][k],
                   "Registration (Dual/Single/Off-site)": ["Dual", "Off-site", "Off-site"][k], "Start date": "02/09/2024"}
                  for i, (u, k, p) in enumerate(zip(upns, kind, prov))]
    n_days = len(days)
    pupil_idx = np.repeat(np.arange(pupils), n_days * 2)
    day_idx = np.tile(np.repeat(np.arange(n_days), 2), pupils)
    session = np.tile(np.array(["AM", "PM"]), pupils * n_days)
    base = np.array(["D", "K", "B"])[kind][pupil_idx]
    roll = rng.random(len(pupil_idx))
    code = np.where(roll < 0.06, "N", np.where(roll < 0.09, "I", base)).astype(object)
    code[rng.random(len(code)) < 0.0005] = "ZZ"  # a sprinkle of mistakes so the checks have work to report
    keep = rng.random(len(code)) > 0.001  # ... and a few missing sessions
    frame = pd.DataFrame({
        "UPN": np.array(upns, dtype=object)[pupil_idx[keep]],
        "Date": days.to_numpy()[day_idx[keep]],
        "Session": session[keep],
        "Code": code[keep],
        "Source": "School",
    })
    return {"placements": placements, "providers": providers, "terms": TERMS}, frame


def timed(label: str, func, results: dict):
    start = time.perf_counter()
    value = func()
    results[label] = time.perf_counter() - start
    print(f"  {label:<34} {results[label]:8.2f} s", file=sys.stderr)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pupils", type=int, default=2000)
    parser.add_argument("--wide", action="store_true", help="also time reading the sessions as a wide grid workbook")
    args = parser.parse_args()
    sheets, frame = generate(args.pupils)
    print(f"{args.pupils} pupils, {len(frame):,} sessions", file=sys.stderr)
    t: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        csv_path, pq_path = Path(tmp) / "sessions.csv", Path(tmp) / "sessions.parquet"
        frame.assign(Date=frame["Date"].dt.strftime("%d/%m/%Y")).to_csv(csv_path, index=False)
        frame.to_parquet(pq_path, index=False)
        timed("read CSV (typed, STR checks)", lambda: read_attendance_file(csv_path), t)
        table, _ = timed("read Parquet (typed, STR checks)", lambda: read_attendance_file(pq_path), t)
        register = register_from_records(**sheets)
        register.tables["attendance"] = table
        policy = with_attendance_codes(default_policy())
        per_rule: dict[str, float] = {}
        clock = {"rule": None, "at": 0.0}

        def progress(rule_id: str) -> None:
            now = time.perf_counter()
            if clock["rule"]:
                per_rule[clock["rule"]] = now - clock["at"]
            clock.update(rule=rule_id, at=now)

        report = timed("ATT-001..012", lambda: check_register(register, policy, pd.Timestamp("2025-07-22").date(), only=ATT, progress=progress), t)
        per_rule[clock["rule"]] = time.perf_counter() - clock["at"]
        cal = SchoolCalendar.from_register(register)
        timed("measures per pupil per term", lambda: pupil_term_measures(register.attendance, policy.attendance_codes, cal), t)
        if args.wide:
            from apxl.io.reader import read_register

            book = Path(tmp) / "wide.xlsx"
            timed("write wide grid workbook", lambda: _write_wide(book, sheets, frame), t)
            timed("read_register (wide grid)", lambda: read_register(book), t)
    print("\nper rule:", file=sys.stderr)
    for rid, secs in per_rule.items():
        print(f"  {rid}  {secs:6.2f} s", file=sys.stderr)
    print(f"findings: {report.counts['by_rule']}")
    check = t["ATT-001..012"]
    print(f"sessions: {len(frame):,}")
    print(f"check / read CSV      : {check / t['read CSV (typed, STR checks)']:.2f}")
    print(f"check / read Parquet  : {check / t['read Parquet (typed, STR checks)']:.2f}")
    print(f"measures / read CSV   : {t['measures per pupil per term'] / t['read CSV (typed, STR checks)']:.2f}")
    if args.wide:
        print(f"check / read wide xlsx: {check / t['read_register (wide grid)']:.2f}")


def _write_wide(path: Path, sheets: dict, frame: pd.DataFrame) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Placements")
    heads = list(sheets["placements"][0])
    ws.append(heads)
    for rec in sheets["placements"]:
        ws.append([rec[h] for h in heads])
    grid = frame.pivot_table(index="UPN", columns=["Date", "Session"], values="Code", aggfunc="first")
    ws = wb.create_sheet("Attendance")
    ws.append(["UPN", *[f"{d:%a %d/%m/%Y} {s}" for d, s in grid.columns]])
    for upn, row in zip(grid.index, grid.itertuples(index=False)):
        ws.append([upn, *[None if pd.isna(v) else v for v in row]])
    wb.save(path)


if __name__ == "__main__":
    main()
