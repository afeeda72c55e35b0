"""Benchmark data: LA and national registers built by apxl's demo generator, cached in benchmarks/data/ by parameters.

The registers come from ``apxl.demo.build_demo`` (the same synthetic 2024-25 LA register as ``apxl demo``,
planted problems included) with ``whole_year=True``, so each pupil has a school year of sessions, and are
written with ``apxl.io.register_writer.write_register``. A national year of attendance does not fit in a
worksheet (1,048,576 rows), so at national scale the sessions go to a Parquet file (what ``apxl validate
--attendance`` reads) and a CSV copy (for the frictionless peer), and the workbook's Attendance table is empty.

A data set is reused while its parameters and the generator's source files are unchanged; ``meta.json``
is written last, so an interrupted run is regenerated.

    uv run python benchmarks/generate.py --placements 2000 [--attendance-file] [--out DIR]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
SEED = 20240902
# Files whose change makes cached data stale: the generator and the writer.
SOURCES = [*sorted((ROOT / "src" / "apxl" / "demo").glob("*.py")), ROOT / "src" / "apxl" / "io" / "register_writer.py",
           ROOT / "src" / "apxl" / "io" / "template.py"]
FORMAT_VERSION = 1  # bump when this file changes what it writes


@dataclass(frozen=True)
class Spec:
    """What to generate: background placements (the demo plants about 60 more) and where attendance goes."""

    placements: int
    attendance_file: bool  # sessions in Parquet + CSV beside the workbook instead of its Attendance sheet
    seed: int = SEED

    def key(self) -> str:
        digest = hashlib.sha256(json.dumps({**asdict(self), "v": FORMAT_VERSION}, sort_keys=True).encode())
        for path in SOURCES:
            digest.update(path.read_bytes())
        return f"p{self.placements}-{'file' if self.attendance_file else 'book'}-{digest.hexdigest()[:10]}"


@dataclass
class Dataset:
    """A generated register on disk and its sizes."""

    folder: Path
    workbook: Path
    parquet: Path | None
    csv: Path | None
    placements: int
    providers: int
    sessions: int
    workbook_mb: float
    generate_s: float

    @classmethod
    def load(cls, folder: Path) -> "Dataset":
        meta = json.loads((folder / "meta.json").read_text())
        return cls(folder=folder, workbook=folder / meta["workbook"], parquet=folder / meta["parquet"] if meta["parquet"] else None,
                   csv=folder / meta["csv"] if meta["csv"] else None, placements=meta["placements"], providers=meta["providers"],
                   sessions=meta["sessions"], workbook_mb=meta["workbook_mb"], generate_s=meta["generate_s"])


def cached(spec: Spec, root: Path = DATA) -> Dataset | None:
    folder = root / spec.key()
    return Dataset.load(folder) if (folder / "meta.json").exists() else None


def generate(spec: Spec, root: Path = DATA, say=lambda msg: print(msg, file=sys.stderr, flush=True)) -> Dataset:
    """Build, write and describe one data set (in this process)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from apxl.core.tables import SHEETS, headers
    from apxl.demo import build_demo
    from apxl.io.register_writer import write_register

    folder = root / spec.key()
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    say(f"  generating {spec.placements:,} background placements (seed {spec.seed})...")
    demo = build_demo(placements=spec.placements, seed=spec.seed, whole_year=True)
    tables = demo.tables()
    sessions = len(demo.attendance)
    parquet = csv = None
    if spec.attendance_file:
        names = headers(SHEETS["attendance"].model)
        att = demo.attendance
        arrow = pa.table({names[c]: pa.array(att[c].astype(str).to_numpy(dtype=object), pa.string()) if c != "date"
                          else pa.array(att[c].to_numpy(dtype="datetime64[ns]")) for c in ("upn", "date", "session", "code", "source")})
        parquet, csv = folder / "attendance.parquet", folder / "attendance.csv"
        say(f"  writing {sessions:,} sessions to {parquet.name} and {csv.name}...")
        pq.write_table(arrow, parquet)
        # Dates as dd/mm/yyyy, as an LA's export would have them.
        days = pa.array(att["date"].dt.strftime("%d/%m/%Y").to_numpy(dtype=object), pa.string())
        pacsv.write_csv(arrow.set_column(1, names["date"], days), csv)
        tables["attendance"] = None
    elif sessions >= 1_048_575:
        raise SystemExit(f"{sessions:,} sessions do not fit in a worksheet: use --attendance-file.")
    workbook = folder / "register.xlsx"
    say(f"  writing {workbook.name}...")
    write_register(workbook, tables, profile=demo.profile)
    meta = {"workbook": workbook.name, "parquet": parquet.name if parquet else None, "csv": csv.name if csv else None,
            "placements": len(demo.placements), "providers": len(demo.providers), "sessions": sessions,
            "workbook_mb": round(workbook.stat().st_size / 1e6, 1), "generate_s": round(time.perf_counter() - t0, 1), "spec": asdict(spec)}
    (folder / "meta.json").write_text(json.dumps(meta, indent=1))
    return Dataset.load(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--placements", type=int, required=True)
    parser.add_argument("--attendance-file", action="store_true")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=DATA)
    args = parser.parse_args()
    spec = Spec(args.placements, args.attendance_file, args.seed)
    data = cached(spec, args.out) or generate(spec, args.out)
    print(data.folder)


if __name__ == "__main__":
    main()
