"""Excel add-in server speed: 2,000 APXL.CHECK calls in one recalculation, and APXL.UPN_VALID latency.

Runs `apxl serve` in-process over HTTP (uvicorn on 127.0.0.1, a free port), sends calls shaped as
our Office.js code sends them, and prints times and ratios to the targets (issue 6: 2,000 CHECK
calls in under 2 s; UPN_VALID well under 50 ms).

    XLWINGS_LICENSE_KEY=noncommercial uv run python benchmarks/excel_bench.py
"""
from __future__ import annotations

import os
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "excel"))
from excel_payloads import PLACEMENT_HEADERS, cell, office_call, placement, serial  # noqa: E402

N_CHECK = 2000
N_UPN = 200


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server():
    import uvicorn

    from apxl.excel.server import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def main() -> None:
    os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")  # the benchmark is noncommercial use, stated here
    server, thread, base = start_server()
    as_of = cell(serial("2024-10-15"))
    with httpx.Client(base_url=base, timeout=120) as client:
        # Warm up imports and caches once (as a running add-in would be).
        client.post("/xlwings/custom-functions-batch", json={"calls": [office_call("CHECK", [PLACEMENT_HEADERS], [placement(**{"Placement ID": "W"})], None, as_of)]})
        rows = [placement(**{"Placement ID": f"B{i:05d}", "Rate (£)": 300 + i % 50}) for i in range(N_CHECK)]
        calls = [office_call("CHECK", [PLACEMENT_HEADERS], [row], None, as_of) for row in rows]
        # Our JavaScript sends at most 2,000 calls per request.
        t0 = time.perf_counter()
        for i in range(0, N_CHECK, 2000):
            client.post("/xlwings/custom-functions-batch", json={"calls": calls[i : i + 2000]}).raise_for_status()
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        for i in range(0, N_CHECK, 2000):
            client.post("/xlwings/custom-functions-batch", json={"calls": calls[i : i + 2000]}).raise_for_status()
        again = time.perf_counter() - t0
        upn = office_call("UPN_VALID", cell("B801200005001"), None)
        client.post("/xlwings/custom-functions-call", json=upn)
        times = []
        for _ in range(N_UPN):
            t0 = time.perf_counter()
            client.post("/xlwings/custom-functions-call", json=upn).raise_for_status()
            times.append((time.perf_counter() - t0) * 1000)
    server.should_exit = True
    thread.join(timeout=10)
    p95 = sorted(times)[int(0.95 * len(times)) - 1]
    print(f"{N_CHECK} CHECK calls, new rows:          {first:7.3f} s   target 2 s   ratio {first / 2:5.2f}")
    print(f"{N_CHECK} CHECK calls, recalculated:      {again:7.3f} s   target 2 s   ratio {again / 2:5.2f}")
    print(f"UPN_VALID over HTTP, median / p95:  {statistics.median(times):6.2f} / {p95:6.2f} ms   target 50 ms   ratio {p95 / 50:5.2f}")


if __name__ == "__main__":
    main()
