"""Run the demo end to end: build the register, write it, read it back, check it, write the findings and termly summaries."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

from apxl.core.findings import Report
from apxl.demo import DEFAULT_AS_OF, DEFAULT_PROFILE, DEFAULT_SEED, DemoRegister, build_demo

REGISTER_FILE = "apxl-demo-register.xlsx"
FINDINGS_FILE = "apxl-demo-findings.xlsx"
MANIFEST_FILE = "apxl-demo-planted.csv"


@dataclass
class DemoRun:
    """What a demo run produced: the files, the generated register and its check."""

    register_path: Path
    findings_path: Path
    manifest_path: Path
    demo: DemoRegister
    report: Report
    summary_sheets: list[str] = field(default_factory=list)


def run_demo(out_dir: str | Path = "apxl-demo", *, seed: int = DEFAULT_SEED, as_of: date = DEFAULT_AS_OF, placements: int = 300,
             profile: str = DEFAULT_PROFILE, progress: Callable[[str], None] | None = None) -> DemoRun:
    """Build the demo register in ``out_dir``, validate it under its profile and write the findings workbook.

    The register is read back from the file written, so the demo exercises the same path as
    ``apxl validate``. Files: the register, a copy with the Findings sheet, and the planted-problem manifest (CSV).
    """
    from apxl.core.calendar import academic_year_of
    from apxl.io.profiles import check_with_policy, policy_for
    from apxl.io.summaries import save_summary_sheets, summaries_for
    from apxl.io.reader import read_register
    from apxl.io.register_writer import write_register
    from apxl.io.writer import write_findings

    say = progress or (lambda _msg: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    say("Generating the synthetic register...")
    demo = build_demo(placements=placements, seed=seed, as_of=as_of, profile=profile)
    register_path = out / REGISTER_FILE
    say(f"Writing {register_path.name}...")
    write_register(register_path, demo.tables(), profile=profile)
    manifest_path = out / MANIFEST_FILE
    demo.manifest.to_csv(manifest_path, index=False, lineterminator="\n")
    say("Reading the register back...")
    register = read_register(register_path)
    _, report = check_with_policy(register, as_of, progress=lambda rid: say(f"Checking {rid}..."))
    say(f"Writing {FINDINGS_FILE}...")
    findings_path = Path(write_findings(register_path, register, report, output=out / FINDINGS_FILE))
    say("Writing the termly provider and funding summaries...")
    policy, _ = policy_for(register)
    summaries = summaries_for(register, policy, as_of, year=academic_year_of(as_of))
    save_summary_sheets(findings_path, summaries, findings_path)
    return DemoRun(register_path, findings_path, manifest_path, demo, report, [s.sheet for s in summaries])
