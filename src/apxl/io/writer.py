"""Write findings into a copy of the workbook: a Findings sheet, highlighted cells and comments.

Works on the workbook's package (``apxl.io.package``/``apxl.io.annotate``), not through openpyxl's
load-and-save, so everything apxl does not write (formulas and their cached values, charts, data
validation, conditional formats, pivot tables, VBA...) comes out byte for byte as it went in.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from openpyxl.styles import Font

from apxl.core.findings import Report
from apxl.core.register import Register
from apxl.io.annotate import AnnotationResult, Mark, annotate
from apxl.io.findings_sheet import HEADER_ROW, FindingsStyles, scratch_package, sheet_xml, table_xml
from apxl.io.locate import DEFAULT_MAX_MARKS, MarkPlan, link_targets, locate, plan_marks
from apxl.io.opc import Package, PartPreload
from apxl.io.package import put_sheet
from apxl.io.safe_save import atomic_target, make_backup, resolve_output
from apxl.io.stylesheet import Styles, cell_styles

FINDINGS_SHEET = "Findings"
AUTHOR = "apxl"
# Excel's "Bad", "Neutral" and a light blue: the fills finance officers already read as error/warning/info.
FILLS = {"error": "FFC7CE", "warning": "FFEB9C", "info": "DDEBF7"}
MAX_FINDINGS_ROWS = 1_048_576 - HEADER_ROW


def write_findings(source, register: Register, report: Report, output=None, in_place: bool = False, *, max_marks: int = DEFAULT_MAX_MARKS,
                   preloaded: PartPreload | None = None) -> Path:
    """Write ``report`` into a copy of ``source`` and return the path written.

    The copy is ``<stem>-checked<suffix>`` beside the input unless ``output`` is given; with
    ``in_place`` the input itself is replaced atomically after a timestamped backup beside it.
    Adds (or replaces) a ``Findings`` sheet with one row per finding and a link to its cell, fills
    the offending cells by worst severity and notes each with its rules and messages (at most
    ``max_marks`` cells, worst first). A previous run's sheet, fills and notes are replaced.
    ``preloaded``: ``PartPreload(source)`` started earlier, so the big sheets are already read.
    """
    source = Path(source)
    target = resolve_output(source, output, in_place)
    if preloaded is not None:
        preloaded.wait()
    with atomic_target(target) as tmp:
        with Package(source, preloaded=preloaded) as pkg:
            add_findings(pkg, register, report, source_name=source.name, max_marks=max_marks)
            pkg.save(tmp)
        if in_place:
            make_backup(source)
    return target


def add_findings(pkg: Package, register: Register, report: Report, *, source_name: str = "", max_marks: int = DEFAULT_MAX_MARKS) -> AnnotationResult:
    """``write_findings`` on an open package (for callers that also add other sheets before saving)."""
    sheets = {s.name for s in pkg.sheets() if s.name.lower() != FINDINGS_SHEET.lower()}
    frame = report.frame
    cells = locate(register, frame, sheets)
    links = link_targets(frame, cells, sheets)
    plan = plan_marks(frame, cells, max_marks)
    result = annotate(pkg, [Mark(m.sheet, m.cell, FILLS[m.severity], m.comment) for m in plan.marks], tag=AUTHOR)
    styles = _styles(pkg)
    lines = _header_lines(report, plan, result, source_name)
    if len(frame) > MAX_FINDINGS_ROWS:  # a sheet ends at row 1,048,576: the rest are in --format csv
        lines[-1] = (f"The sheet lists the first {MAX_FINDINGS_ROWS:,} of {len(frame):,} findings (Excel's row limit): "
                     "use apxl validate --format csv for all of them. " + lines[-1]).strip()
        frame, cells, links = frame.iloc[:MAX_FINDINGS_ROWS], cells.iloc[:MAX_FINDINGS_ROWS], links.iloc[:MAX_FINDINGS_ROWS]
    scratch = Package(scratch_package(sheet_xml(frame, cells, links, lines, styles), table_xml(len(frame))), "findings sheet")
    put_sheet(pkg, FINDINGS_SHEET, scratch, "xl/worksheets/sheet1.xml", None)
    return result


def _styles(pkg: Package) -> FindingsStyles:
    ids = cell_styles(
        pkg,
        {
            "title": {"font": Font(bold=True, size=14)},
            "note": {"font": Font(italic=True, color="595959")},
            "text": {"quotePrefix": True},
            "link": {"font": Font(color="0563C1", underline="single"), "quotePrefix": True},
        },
    )
    styles = Styles(pkg)
    dxf = {
        severity: styles.dxf(
            f'<dxf><fill><patternFill patternType="solid"><fgColor rgb="FF{c}"/><bgColor rgb="FF{c}"/></patternFill></fill></dxf>'
        )
        for severity, c in FILLS.items()
    }
    return FindingsStyles(title=ids["title"], note=ids["note"], text=ids["text"], link=ids["link"], dxf=dxf)


def _header_lines(report: Report, plan: MarkPlan, result: AnnotationResult, source_name: str) -> list[str]:
    counts = report.counts
    as_of = report.as_of.strftime("%d/%m/%Y") if report.as_of else "an unknown date"
    policy = report.policy_name or "default"
    made = datetime.now().strftime("%d/%m/%Y %H:%M")
    lines = [
        "apxl findings",
        f"Checked as of {as_of} under the '{policy}' policy; written {made}" + (f" from {source_name}." if source_name else "."),
        f"{counts['total']:,} findings: {counts['error']:,} errors, {counts['warning']:,} warnings, {counts['info']:,} info. "
        "Click a Link to go to the cell; highlighted cells carry a note from apxl.",
    ]
    notes = []
    if plan.capped:
        notes.append(f"Only the {len(plan.marks):,} worst of {plan.total_cells:,} cells with findings are highlighted; this table lists every finding.")
    if result.skipped_comments:
        notes.append(f"{result.skipped_comments:,} highlighted cells already had a comment of your own, so apxl did not add its note there.")
    lines.append(" ".join(notes))
    return lines
