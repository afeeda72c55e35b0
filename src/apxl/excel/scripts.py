"""Excel scripts (buttons): Validate register, Build termly summaries, Import school returns, Clear apxl output.

One body each, taking an open xlwings Book. They are exposed twice: as xlwings Server / Lite
scripts (``@xw.script``, the book passed in) and as desktop macros for RunPython
(``*_macro()``, the book from ``xw.Book.caller()``).

Import school returns reads a folder of files: with ``apxl serve`` that folder is on the computer
running the server (not the officer's own PC, unless the server runs there); in xlwings Lite it is a
folder added through the Lite menu's Files (under /data); on the desktop, this computer's folders.
"""
from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

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


def run_import(book, *, base: Path | None = None, where: str = "") -> str:
    """Check the month's school returns against the register in ``book``; write the School returns and Return findings sheets.

    The Settings sheet gives 'Returns folder' (required), 'Returns month' (YYYY-MM; blank: the
    folder's name, e.g. ...\\2025-03) and 'Invoices file' (optional), as ``apxl reconcile`` takes
    --returns, --month and --invoices. The register itself is not changed: the new placements are
    listed for the officer to copy in. A missing folder or month is one sentence (ApxlError).
    """
    from apxl.excel.book import read_book
    from apxl.excel import returns as rt
    from apxl.io.attendance import with_attendance_codes
    from apxl.io.profiles import policy_for

    rt.check_replaceable(book)  # before any work: never replace an officer's own sheet
    register = read_book(book)
    job = rt.job_from_settings(register, base=base, where=where)
    policy, _ = policy_for(register, None)
    imported = rt.import_returns(register, with_attendance_codes(policy), job, register_name=book.name)
    rt.write_import(book, register, imported)
    text = rt.summary_text(imported)
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
    _script(run_validate, book)


@xw.script(name="Build termly summaries")
def build_termly_summaries(book: xw.Book):
    """Write the Provider summary and Funding summary sheets for each term."""
    _script(run_summaries, book)


@xw.script(name="Import school returns")
def import_school_returns(book: xw.Book):
    """Check every school return in the Settings sheet's 'Returns folder' and write the School returns and Return findings sheets."""
    _script(run_import, book, where=_where())


@xw.script(name="Clear apxl output")
def clear_apxl_output(book: xw.Book):
    """Remove the Findings, summary and school returns sheets and apxl's highlights."""
    _script(run_clear, book)


def _where() -> str:
    """Where a script's folder must be, in the officer's words, for the one-sentence errors."""
    if sys.platform == "emscripten":  # xlwings Lite: Python runs inside Excel and sees only what was added to it
        return " in xlwings Lite (add the folder through the xlwings Lite menu > Files and give its /data/... path)"
    return " on the computer running the apxl server"


def _script(body, book, **kwargs) -> None:
    """Run a script body. The server answers an ApxlError as one sentence (422); xlwings Lite would show a traceback, so tell instead."""
    if sys.platform != "emscripten":
        body(book, **kwargs)
        return
    try:
        body(book, **kwargs)
    except ApxlError as exc:
        _tell(book, str(exc))


# ---- desktop macros (RunPython from the workbook's buttons) -------------------------------------
def _caller():
    try:
        return xw.Book.caller()
    except Exception as exc:  # noqa: BLE001
        raise ApxlError("Run this from a button in the apxl register workbook (it needs the calling workbook).") from exc


def _macro(body, **kwargs) -> None:
    """Run a script body on the calling workbook; a problem it can name (ApxlError) is a message box, never a traceback."""
    book = _caller()
    try:
        body(book, **kwargs)
    except ApxlError as exc:
        _tell(book, str(exc))


def validate_register_macro() -> None:
    """Desktop button: Validate register."""
    _macro(run_validate)


def build_termly_summaries_macro() -> None:
    """Desktop button: Build termly summaries."""
    _macro(run_summaries)


def _book_folder(book) -> Path | None:
    """The saved workbook's folder (a Returns folder may be given relative to it); None for an unsaved or online book."""
    try:
        path = Path(str(book.fullname))
    except Exception:  # noqa: BLE001
        return None
    return path.parent if path.is_absolute() and path.parent.is_dir() else None


def import_school_returns_macro() -> None:
    """Desktop button: Import school returns (a 'Returns folder' relative to the saved workbook's folder is allowed)."""
    _macro(lambda book: run_import(book, base=_book_folder(book), where=" on this computer"))


def clear_apxl_output_macro() -> None:
    """Desktop button: Clear apxl output."""
    _macro(run_clear)
