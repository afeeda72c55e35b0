"""Excel scripts (buttons): Validate register, Build termly summaries, Clear apxl output.

One body each, taking an open xlwings Book. They are exposed twice: as xlwings Server / Lite
scripts (``@xw.script``, the book passed in) and as desktop macros for RunPython
(``*_macro()``, the book from ``xw.Book.caller()``).
"""
from __future__ import annotations

from datetime import date

import xlwings as xw

from apxl.errors import ApxlError


def _report(book):
    """Read, check and return (register, report), as `apxl validate` does for a file."""
    from apxl.excel.book import read_book
    from apxl.io.profiles import check_with_policy

    register = read_book(book)
    _, report = check_with_policy(register, register.as_of or date.today())
    return register, report


def _tell(book, text: str) -> None:
    """Show the outcome: an alert in Office.js (the task pane shows it), the status bar on the desktop."""
    try:
        book.app.alert(text, title="apxl")
    except Exception:  # noqa: BLE001 - a host without alerts still has the Findings sheet
        try:
            book.app.status_bar = text
        except Exception:  # noqa: BLE001
            pass


def run_validate(book) -> str:
    """Check the register in ``book`` and write the Findings sheet and highlights into it."""
    from apxl.excel.book import write_findings

    register, report = _report(book)
    marked = write_findings(book, register, report)
    c = report.counts
    text = f"{c['total']} findings ({c['error']} errors, {c['warning']} warnings, {c['info']} info); {marked} cells highlighted. See the Findings sheet."
    _tell(book, text)
    return text


def run_summaries(book) -> str:
    """Write the termly Provider summary and Funding summary sheets into ``book``."""
    from apxl.excel.book import read_book, write_summaries
    from apxl.io.summaries import summaries_for  # the same summaries `apxl summarise` writes
    from apxl.io.profiles import policy_for

    register = read_book(book)
    policy, _ = policy_for(register, None)
    written = write_summaries(book, summaries_for(register, policy, register.as_of or date.today()))
    text = f"Wrote {len(written)} summary sheets: {', '.join(written)}." if written else "No terms to summarise."
    _tell(book, text)
    return text


def run_clear(book) -> str:
    """Remove the Findings and summary sheets and the highlights apxl added; the user's data is untouched."""
    from apxl.excel.book import delete_output

    removed = delete_output(book)
    text = f"Removed {', '.join(removed)}." if removed else "There was no apxl output to remove."
    _tell(book, text)
    return text


# ---- xlwings Server / Lite scripts (the book is passed in) --------------------------------------
@xw.script(name="Validate register")
def validate_register(book: xw.Book):
    """Check every placement and write a Findings sheet, highlighting the cells it is about."""
    run_validate(book)


@xw.script(name="Build termly summaries")
def build_termly_summaries(book: xw.Book):
    """Write the Provider summary and Funding summary sheets for each term."""
    run_summaries(book)


@xw.script(name="Clear apxl output")
def clear_apxl_output(book: xw.Book):
    """Remove the Findings and summary sheets and apxl's highlights."""
    run_clear(book)


# ---- desktop macros (RunPython from the workbook's buttons) -------------------------------------
def _caller():
    try:
        return xw.Book.caller()
    except Exception as exc:  # noqa: BLE001
        raise ApxlError("Run this from a button in the apxl register workbook (it needs the calling workbook).") from exc


def validate_register_macro() -> None:
    """Desktop button: Validate register."""
    run_validate(_caller())


def build_termly_summaries_macro() -> None:
    """Desktop button: Build termly summaries."""
    run_summaries(_caller())


def clear_apxl_output_macro() -> None:
    """Desktop button: Clear apxl output."""
    run_clear(_caller())
