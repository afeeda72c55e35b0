"""One call per job for the CLI, Excel scripts and library users: templates, ingesting a return, the monthly reconciliation."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

import pandas as pd

from apxl.core.policy import Policy
from apxl.core.register import Register
from apxl.errors import ApxlError
from apxl.io.attendance import with_attendance_codes
from apxl.io.profiles import policy_for
from apxl.io.reader import read_register
from apxl.io.returns.feedback import default_feedback_path, write_feedback
from apxl.io.returns.ingest import IngestResult, ingest_return
from apxl.io.returns.merge import Addition, merge_into_register
from apxl.io.returns.reconcile import Reconciliation, reconcile, return_files
from apxl.io.returns.report import write_reconciliation
from apxl.io.returns.safety import DEFAULT_LIMITS, Limits
from apxl.io.returns.template import schools, template_path, write_return_template
from apxl.io.safe_save import default_output, resolve_output


def open_register(path: str | Path, profile: str | None = None) -> tuple[Register, Policy]:
    """The LA register and the policy it is checked under (profile, Settings, Rules sheet, attendance codes)."""
    register = read_register(path)
    policy, _ = policy_for(register, profile)
    return register, with_attendance_codes(policy)


def make_templates(register_path: str | Path, month: str, *, issued: date, school: str | None = None, output: str | Path | None = None,
                   all_schools: str | Path | None = None) -> list[Path]:
    """One school's return template (``school`` and ``output``), or one per school on the register into ``all_schools``."""
    register, _ = open_register(register_path)
    if all_schools is not None:
        folder = Path(all_schools)
        folder.mkdir(parents=True, exist_ok=True)
        urns = schools(register)
        if not urns:
            raise ApxlError("The register has no Home school URNs, so there is no school to write a return for.")
        return [write_return_template(register, urn, month, template_path(folder, urn, month), issued=issued) for urn in urns]
    if not school:
        raise ApxlError("Give the school's URN (--school) or a folder for every school's return (--all-schools).")
    target = Path(output) if output is not None else template_path(Path("."), school, month)
    return [write_return_template(register, school, month, target, issued=issued)]


@dataclass
class IngestOutcome:
    result: IngestResult
    feedback: Path
    merged: Path | None
    added: pd.DataFrame


def run_ingest(return_path: str | Path, register_path: str | Path, *, received: date, as_of: date | None = None, school: str | None = None,
               month: str | None = None, output: str | Path | None = None, in_place: bool = False, feedback: str | Path | None = None,
               merge: bool = True, limits: Limits = DEFAULT_LIMITS) -> IngestOutcome:
    """Check a return, write the school's feedback workbook and (unless ``merge`` is False) add its accepted rows to the register.

    ``received`` is the date the return arrived (recorded as provenance); the register is written to
    a new file (``REGISTER-merged.xlsx``) unless ``output`` or ``in_place``.
    """
    register_path = Path(register_path)
    if merge:
        resolve_output(register_path, output, in_place, tag="merged")  # refuse a bad -o before any work
    register, policy = open_register(register_path)
    result = ingest_return(return_path, register, policy, received=received, as_of=as_of, school=school, month=month, limits=limits)
    merged_to = Path(output) if output is not None else (register_path if in_place else default_output(register_path, "merged"))
    fb = Path(feedback) if feedback is not None else default_feedback_path(Path(return_path), merged_to.parent)
    write_feedback(result, fb)
    merged, added = None, pd.DataFrame()
    if merge and len(result.accepted):
        p = result.prepared
        addition = Addition(result.accepted, p.school_urn, p.file.path.name, received)
        merged, added = merge_into_register(register_path, [addition], output=output, in_place=in_place)
    return IngestOutcome(result=result, feedback=fb, merged=merged, added=added)


def run_reconcile(register_path: str | Path, returns_dir: str | Path, month: str, *, as_of: date, invoices: str | Path | None = None,
                  output: str | Path | None = None, invoice_scope: str = "la", tolerance_pence: int = 100, limits: Limits = DEFAULT_LIMITS,
                  progress: Callable[[str], None] | None = None, on_files: Callable[[int], None] | None = None) -> tuple[Reconciliation, Path]:
    """Reconcile a month's returns folder with the register and write the reconciliation workbook."""
    register_path = Path(register_path)
    if invoice_scope not in {"la", "all"}:
        raise ApxlError("--invoice-scope must be 'la' (what the LA pays) or 'all' (every payer).")
    register, policy = open_register(register_path)
    files, ignored = return_files(Path(returns_dir))
    if on_files:
        on_files(len(files))
    rec = reconcile(register, register_path.name, files, month, policy, as_of=as_of, invoices=Path(invoices) if invoices else None,
                    invoice_scope=invoice_scope, tolerance_pence=tolerance_pence, limits=limits, progress=progress, ignored=ignored)
    target = Path(output) if output is not None else register_path.with_name(f"reconciliation-{month}.xlsx")
    if target.resolve() == register_path.resolve():
        raise ApxlError("The reconciliation workbook would overwrite the register: choose another -o file.")
    return rec, write_reconciliation(rec, target)


__all__ = ["open_register", "make_templates", "run_ingest", "run_reconcile", "IngestOutcome"]
