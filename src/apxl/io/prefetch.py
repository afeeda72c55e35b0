"""Reading a workbook's Excel tables in the background while apxl starts up (python-calamine parses without the GIL).

``apxl validate`` starts this before it imports pandas and the rules, so parsing a year of attendance
(seconds of XML) overlaps that start-up on a second core. The thread has its own workbook handle; the
reader takes the loaded tables and reads anything missing itself, so a file the thread could not read
is reported by the reader exactly as before.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

_TABLE_SUFFIXES = {".xlsx", ".xlsm"}  # the formats whose tables (ListObjects) the reader uses


class TablePrefetch:
    """Every Excel table of one workbook, loaded on a thread of its own."""

    def __init__(self, path: Path):
        self.path = str(path)
        self._tables: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._load, name="apxl-table-prefetch", daemon=True)
        self._thread.start()

    def _load(self) -> None:
        try:
            from python_calamine import CalamineWorkbook

            book = CalamineWorkbook.from_path(self.path, load_tables=True)
            for name in book.table_names:
                self._tables[name] = book.get_table_by_name(name)
        except Exception:  # noqa: BLE001 - the reader opens the file itself and explains any problem
            pass

    def tables(self) -> dict[str, Any]:
        """The tables loaded (by name); waits for the thread to finish."""
        self._thread.join()
        return dict(self._tables)


def warm_up(*, writing: bool) -> None:
    """Import what the rest of the run needs (the rules, England's bank holiday rules, the findings writer) while
    the tables load: the main thread would otherwise sit idle until they are in, then pay for these imports."""
    import apxl.core.rules  # noqa: F401 - every rule module
    from apxl.core.calendar import load_bank_holiday_rules

    load_bank_holiday_rules()
    if writing:
        import apxl.io.writer  # noqa: F401


def prefetch_tables(path: str | Path) -> TablePrefetch | None:
    """Start loading ``path``'s tables in the background (None when it is not an .xlsx/.xlsm file)."""
    p = Path(path)
    if p.suffix.lower() not in _TABLE_SUFFIXES or not p.is_file():
        return None
    return TablePrefetch(p)
