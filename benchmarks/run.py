"""apxl at LA and national scale, side by side with its baselines: one command, one table.

    uv run --no-dev --group bench python benchmarks/run.py [--scale la|national|all] [--quick]

``--no-dev`` measures apxl as users install it: with the test dependencies present, pandera imports
hypothesis the first time it validates (about 0.4 s that no user pays). ``uv run pytest`` puts them back.

For each scale it generates (or reuses, from benchmarks/data/) a synthetic register with apxl's demo
generator, then runs each step in a child process of its own and measures the child's wall time, CPU
time and peak memory (``os.wait4`` resource usage):

  python-calamine   every sheet's values (the I/O floor; at national scale plus the Parquet file via pyarrow)
  openpyxl          the same in read-only mode
  apxl validate     the CLI end to end: read, every rule, write the Findings workbook (-o)
  frictionless      structural validation of the same sheets (and the attendance CSV), as a peer

and prints each as a ratio to the python-calamine time of the same run. Then rules and attendance checks
are timed in-process at 1x, 2x and 4x the LA register, to show they scale linearly. The tables are
printed and written to benchmarks/results.md (the README's Performance table). Nothing is asserted:
the targets are shown as met or not, and a slow machine never fails a build.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import DATA, ROOT, Dataset, Spec, cached  # noqa: E402

HERE = Path(__file__).resolve().parent
STEPS = HERE / "steps.py"
# Background placements passed to the demo generator (it plants about 60 more) and where attendance goes.
# LA: 2,400 background placements give the ~800,000 sessions of DESIGN.md's LA scale (the demo's pupils have a
# school year each: about 330 sessions a placement); national: 50,000 placements, over 15 million sessions.
SCALES = {"la": Spec(2_400, attendance_file=False), "national": Spec(50_000, attendance_file=True)}
QUICK = {"la": Spec(60, attendance_file=False), "national": Spec(150, attendance_file=True)}
FACTORS = (1, 2, 4)
TARGETS = {"la": "at most 2x the python-calamine time and under 10 s", "national": "under 60 s and under 8 GB peak memory"}
FRICTIONLESS_LIMIT_S = {"la": 900, "national": 600}
REPEAT = {"la": 3, "national": 2}  # best of N rounds (the peer, frictionless, runs once)


@dataclass
class Measure:
    """One child process: what it ran and what it cost."""

    step: str
    wall_s: float
    cpu_s: float
    peak_mb: float
    status: str = "ok"  # ok, or why not (exit code, stopped at the time limit)
    result: dict = field(default_factory=dict)


def child_env(data: Path) -> dict[str, str]:
    """The children's environment: Python's bytecode cache on (kept under ``data``), as on any machine after a first run.

    Without it (PYTHONDONTWRITEBYTECODE set) every child would compile pandas and the rest from source each
    time, which measures the interpreter's compiler, not the step.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(data / "pycache")
    return env


ENV: dict[str, str] = dict(os.environ)
WARM_UP = ("import pandas, pandera, pyarrow.parquet, openpyxl, python_calamine, holidays, typer, rich; "
           "import apxl.cli, apxl.core.check, apxl.core.rules, apxl.io.reader, apxl.io.writer, apxl.io.attendance, apxl.io.profiles")


def warm_up(skip: set[str]) -> str:
    """The import line that fills the bytecode cache: frictionless only when its step runs (it is in the bench group only)."""
    return WARM_UP + ("" if "frictionless" in skip else "; import frictionless")


def run_child(step: str, argv: list[str], *, limit_s: float | None = None, stdout=subprocess.DEVNULL) -> Measure:
    """Run ``argv`` as a child and measure it with os.wait4: wall time, user+system CPU, peak resident memory."""
    with tempfile.NamedTemporaryFile(suffix=".log", delete=False) as log:
        log_path = Path(log.name)
    stopped = threading.Event()
    with log_path.open("wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=stdout, stderr=err, cwd=ROOT, env=ENV)
        timer = None
        if limit_s:
            def stop() -> None:
                stopped.set()
                proc.kill()

            timer = threading.Timer(limit_s, stop)
            timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        if timer:
            timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not wait for it again
    measure = Measure(step, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)  # ru_maxrss is in KiB on Linux
    if stopped.is_set():
        measure.status = f"stopped at {limit_s:.0f} s"
    elif proc.returncode not in ((0, 1) if step == "apxl validate" else (0,)):  # apxl validate exits 1 when it finds errors
        tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
        measure.status = f"exit {proc.returncode}: {' / '.join(tail)}"
    log_path.unlink(missing_ok=True)
    return measure


def step(name: str, *args: str, limit_s: float | None = None) -> Measure:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        result = Path(fh.name)
    m = run_child(name, [sys.executable, str(STEPS), name, str(result), *args], limit_s=limit_s)
    if m.status == "ok" and result.stat().st_size:
        m.result = json.loads(result.read_text())
    result.unlink(missing_ok=True)
    return m


def apxl_validate(data: Dataset, out_dir: Path) -> Measure:
    apxl = Path(sys.executable).parent / "apxl"
    argv = [str(apxl), "validate", str(data.workbook), "-o", str(out_dir / "checked.xlsx"), "--format", "csv"]
    if data.parquet:
        argv += ["--attendance", str(data.parquet)]
    m = run_child("apxl validate", argv)
    m.result = {"output_mb": round((out_dir / "checked.xlsx").stat().st_size / 1e6, 1)} if (out_dir / "checked.xlsx").exists() else {}
    return m


def ensure_data(spec: Spec, root: Path) -> Dataset:
    data = cached(spec, root)
    if data is None:
        say(f"Generating data ({spec.placements:,} placements); cached in {root.relative_to(ROOT) if root.is_relative_to(ROOT) else root}...")
        argv = [sys.executable, str(HERE / "generate.py"), "--placements", str(spec.placements), "--seed", str(spec.seed), "--out", str(root)]
        subprocess.run(argv + (["--attendance-file"] if spec.attendance_file else []), check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=ENV)
        data = cached(spec, root)
    return data


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def bench_scale(scale: str, spec: Spec, root: Path, skip: set[str], repeat: int) -> tuple[Dataset, list[Measure]]:
    """Each step in rounds (calamine, openpyxl, apxl, calamine, openpyxl, apxl, ...): a shared machine's speed
    drifts, so the best of ``repeat`` rounds is kept, and the ratios compare steps measured side by side."""
    data = ensure_data(spec, root)
    say(f"{scale}: {data.placements:,} placements, {data.providers:,} providers, {data.sessions:,} sessions")
    book, extra = str(data.workbook), [str(data.parquet)] if data.parquet else []
    best: dict[str, Measure] = {}
    with tempfile.TemporaryDirectory() as tmp:
        plan = [("python-calamine", lambda: step("calamine", book, *extra)),
                ("openpyxl", lambda: step("openpyxl", book, *extra)),
                ("apxl validate", lambda: apxl_validate(data, Path(tmp))),
                ("frictionless", lambda: step("frictionless", book, *([str(data.csv)] if data.csv else []), limit_s=FRICTIONLESS_LIMIT_S[scale]))]
        for round_ in range(repeat):
            for label, run in plan:
                if label in skip or (label == "frictionless" and round_ > 0):
                    continue
                say(f"  {label} (round {round_ + 1} of {repeat})...")
                m = run()
                m.step = label
                say(f"    {m.wall_s:7.2f} s wall, {m.cpu_s:7.2f} s CPU, {m.peak_mb:8.0f} MB peak" + ("" if m.status == "ok" else f"  ({m.status})"))
                if label not in best or (m.status == "ok" and (best[label].status != "ok" or m.wall_s < best[label].wall_s)):
                    best[label] = m
    return data, [best[label] for label, _ in plan if label in best]


def bench_scaling(base: Spec, root: Path) -> list[tuple[int, Dataset, Measure]]:
    rows = []
    for k in FACTORS:
        data = ensure_data(Spec(base.placements * k, attendance_file=True, seed=base.seed), root)
        say(f"  scaling {k}x: {data.placements:,} placements, {data.sessions:,} sessions...")
        m = step("scaling", str(data.workbook), str(data.parquet))
        say(f"    rules {m.result.get('rules_s', float('nan')):.2f} s, attendance checks {m.result.get('attendance_s', float('nan')):.2f} s"
            + ("" if m.status == "ok" else f"  ({m.status})"))
        rows.append((k, data, m))
    return rows


# ---- the tables ---------------------------------------------------------------------------------

def _fmt_s(m: Measure) -> str:
    return f"{m.wall_s:.1f}" if m.status == "ok" else (f"> {m.wall_s:.0f}" if m.status.startswith("stopped") else "failed")


def scale_table(scale: str, data: Dataset, measures: list[Measure]) -> list[str]:
    floor = next((m for m in measures if m.step == "python-calamine" and m.status == "ok"), None)
    where = "Parquet file" if data.parquet else "workbook"
    lines = [f"**{scale.upper() if scale == 'la' else scale.title()} scale**: {data.placements:,} placements, {data.providers:,} providers, "
             f"{data.sessions:,} attendance sessions ({where}); workbook {data.workbook_mb:g} MB.", "",
             "| step | wall time (s) | CPU time (s) | peak memory (MB) | time / python-calamine |", "|---|---:|---:|---:|---:|"]
    for m in measures:
        ratio = f"{m.wall_s / floor.wall_s:.2f}" if floor and m.status == "ok" else ("> " + f"{m.wall_s / floor.wall_s:.0f}" if floor and m.status.startswith("stopped") else "-")
        lines.append(f"| {describe(m.step, data)} | {_fmt_s(m)} | {m.cpu_s:.1f} | {m.peak_mb:,.0f} | {ratio} |")
    return lines


def describe(step: str, data: Dataset) -> str:
    return {
        "python-calamine": "python-calamine: read every sheet" + (" + pyarrow: read the Parquet" if data.parquet else ""),
        "openpyxl": "openpyxl (read-only): read every sheet" + (" + pyarrow: read the Parquet" if data.parquet else ""),
        "apxl validate": "**apxl validate** -o (read, all rules, write Findings workbook)" + (" --attendance Parquet" if data.parquet else ""),
        "frictionless": "frictionless: validate every data sheet" + (" + the attendance CSV" if data.csv else ""),
    }[step]


def scaling_table(rows: list[tuple[int, Dataset, Measure]]) -> list[str]:
    lines = ["**Scaling** (rules and attendance checks in-process, reading excluded; the LA register at 1x, 2x, 4x):", "",
             "| size | placements | sessions | rules (s) | attendance checks (s) | total (s) | time / 1x time |", "|---|---:|---:|---:|---:|---:|---:|"]
    base = None
    for k, data, m in rows:
        if m.status != "ok":
            lines.append(f"| {k}x | {data.placements:,} | {data.sessions:,} | failed | | | |")
            continue
        total = m.result["rules_s"] + m.result["attendance_s"]
        base = base or total
        lines.append(f"| {k}x | {m.result['placements']:,} | {m.result['sessions']:,} | {m.result['rules_s']:.2f} | {m.result['attendance_s']:.2f} "
                     f"| {total:.2f} | {total / base:.2f} |")
    return lines


def verdicts(results: dict[str, tuple[Dataset, list[Measure]]], scaling: list) -> list[str]:
    out = []
    for scale, (data, measures) in results.items():
        by = {m.step: m for m in measures}
        v, floor = by.get("apxl validate"), by.get("python-calamine")
        if not v or v.status != "ok":
            continue
        if scale == "la" and floor:
            ratio = v.wall_s / floor.wall_s
            ok = ratio <= 2 and v.wall_s < 10
            out.append(f"- LA scale target ({TARGETS['la']}): apxl validate took {v.wall_s:.1f} s = {ratio:.2f}x python-calamine "
                       f"({floor.wall_s:.1f} s): **{'met' if ok else 'not met'}**.")
        if scale == "national":
            ok = v.wall_s < 60 and v.peak_mb < 8192
            out.append(f"- National scale target ({TARGETS['national']}): apxl validate took {v.wall_s:.1f} s with "
                       f"{v.peak_mb / 1024:.1f} GB peak: **{'met' if ok else 'not met'}**.")
    if scaling and all(m.status == "ok" for *_, m in scaling):
        totals = [(k, m.result["rules_s"] + m.result["attendance_s"]) for k, _, m in scaling]
        k0, t0 = totals[0]
        worst = max(t / t0 / (k / k0) for k, t in totals[1:]) if len(totals) > 1 else 1.0
        out.append(f"- Linear scaling: at {totals[-1][0]}x the size the checks took {totals[-1][1] / t0:.2f}x the time "
                   f"(worst time ratio / size ratio {worst:.2f}; 1.00 is exactly linear): **{'met' if worst <= 1.3 else 'not met'}**.")
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, load average {load:.1f} at the start"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=["la", "national", "all"], default="all")
    parser.add_argument("--quick", action="store_true", help="tiny registers: check the harness works, in a few seconds")
    parser.add_argument("--skip", action="append", default=[], choices=["openpyxl", "frictionless", "scaling"], help="leave a step out")
    parser.add_argument("--repeat", type=int, default=None, help="rounds per step, best kept (default: 3 at LA scale, 1 at national)")
    parser.add_argument("--data", type=Path, default=DATA, help="where generated data is cached (default benchmarks/data)")
    parser.add_argument("--results", type=Path, default=None, help="markdown output (default benchmarks/results.md; with --quick, in --data)")
    args = parser.parse_args(argv)
    specs = QUICK if args.quick else SCALES
    scales = ["la", "national"] if args.scale == "all" else [args.scale]
    skip = set(args.skip)
    ENV.clear()
    ENV.update(child_env(args.data))
    subprocess.run([sys.executable, "-c", warm_up(skip)], check=True, cwd=ROOT, env=ENV)  # fills the bytecode cache once
    header = machine()
    say(header)
    results = {scale: bench_scale(scale, specs[scale], args.data, skip, args.repeat or REPEAT[scale]) for scale in scales}
    scaling = []
    if "scaling" not in skip and "la" in scales:
        say("scaling:")
        scaling = bench_scaling(specs["la"], args.data)
    rounds = ", ".join(f"{args.repeat or REPEAT[sc]} at {'LA' if sc == 'la' else sc} scale" for sc in scales)
    lines = [f"Measured by `uv run --no-dev --group bench python benchmarks/run.py{' --quick' if args.quick else ''}` on {header}. "
             f"Each step is a process of its own (Python start-up and imports included, bytecode cached as after a first run); "
             f"wall time is the best of the rounds run ({rounds}; frictionless once); peak memory is the process's maximum resident set.", ""]
    for scale, (data, measures) in results.items():
        lines += scale_table(scale, data, measures) + [""]
    if scaling:
        lines += scaling_table(scaling) + [""]
    lines += verdicts(results, scaling)
    text = "\n".join(lines).rstrip() + "\n"
    print(text)
    target = args.results or ((args.data / "results-quick.md") if args.quick else HERE / "results.md")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    say(f"Written to {target}")
    failed = [m for _, ms in results.values() for m in ms if m.status != "ok" and m.step != "frictionless"]
    failed += [m for *_, m in scaling if m.status != "ok"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
