"""Benchmark: writing 100,000+ findings into a register workbook, as a ratio to copying the file.

Builds a register with an Attendance sheet of N sessions (openpyxl, write-only), fabricates one
finding per session (as ATT-009 would on a badly kept register), then times ``write_findings``
(Findings sheet, 10,000 highlighted and noted cells) and a re-run on its output. Prints times,
CPU seconds and the ratio to a plain zip copy of the same workbook; nothing is asserted.

    uv run python benchmarks/findings_write_bench.py [--findings 120000]
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook

from apxl.core.findings import Report
from apxl.core.parse import register_from_records
from apxl.io.writer import write_findings


def _register_file(path: Path, n: int) -> None:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Placements")
    ws.append(["Placement ID", "UPN", "Provider ID", "Route", "Commissioner", "Registration", "Start date"])
    ws.append(["P1", "B801200005001", "PRV1", "PEX", "LA", "Dual", date(2024, 9, 9)])
    ws = wb.create_sheet("Attendance")
    ws.append(["UPN", "Date", "Session (AM/PM)", "Code", "Source (School/Provider)"])
    for _ in range(n):
        ws.append(["B801200005001", date(2024, 9, 9), "AM", "N", "School"])
    wb.save(path)


def _timed(label: str, fn) -> float:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:<34} {wall:7.2f} s wall {cpu:7.2f} s cpu")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=120_000)
    n = parser.parse_args().findings
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "register.xlsx"
        _register_file(source, n)
        register = register_from_records(
            placements=[{"Placement ID": "P1"}],
            attendance=[{"UPN": "B801200005001", "Date": "09/09/2024", "Session (AM/PM)": "AM", "Code": "N"}],
        )
        table = register.table("attendance")
        table.frame = table.frame.reindex(range(2, n + 2))  # the writer needs the table's rows and letters only
        rows = np.arange(2, n + 2)
        frame = pd.DataFrame({
            "rule_id": "ATT-009", "severity": np.where(rows % 3 == 0, "error", "warning"), "sheet": "Attendance",
            "row": rows, "column": "Code", "key": "B801200005001", "value": "N",
            "message": "Missing session on Mon 09/09/2024 AM: the pupil's placement covers this school day; record a code.",
        })
        report = Report(frame, as_of=date(2025, 1, 31), policy_name="solihull")

        def copy() -> None:
            with zipfile.ZipFile(source) as src, zipfile.ZipFile(Path(tmp) / "copy.xlsx", "w", zipfile.ZIP_DEFLATED) as dst:
                for info in src.infolist():
                    dst.writestr(info, src.read(info))

        base = _timed("zip copy of the register", copy)
        first = _timed(f"write_findings ({n:,} findings)", lambda: write_findings(source, register, report))
        out = source.with_name("register-checked.xlsx")
        again = _timed("write_findings again (re-run)", lambda: write_findings(out, register, report, output=Path(tmp) / "again.xlsx"))
        print(f"ratio to copying: first {first / base:.1f}x, re-run {again / base:.1f}x; output {out.stat().st_size / 1e6:.1f} MB")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
