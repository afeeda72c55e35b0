"""Reading a workbook's Excel tables on a thread of their own, smallest first, while apxl starts up and checks what has arrived.

``apxl validate`` starts this before it imports pandas and the rules. python-calamine parses sheet XML
without the GIL, so a year of attendance (seconds of XML) loads on a second core while the main thread
imports, reads the small tables and runs every rule that does not need attendance. The table definitions
in the package say which sheet each table is on and how big it is, so small tables arrive first and the
reader waits only for the tables of the sheet it is reading. The thread has its own workbook handle; a
table it could not load is loaded by the reader itself, so a bad file is reported exactly as before.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_TABLE_SUFFIXES = {".xlsx", ".xlsm"}  # the formats whose tables (ListObjects) the reader uses


@dataclass(frozen=True)
class LoadedTable:
    """One Excel table's cells as python-calamine read them."""

    name: str
    sheet: str
    columns: list[Any]
    start: tuple[int, int]  # the first data cell (0-based row and column): the header is the row above
    rows: list[list[Any]]


def load_table(book: Any, name: str) -> LoadedTable:
    """Read the table ``name`` of a python-calamine workbook opened with ``load_tables=True``."""
    from apxl.io.gc_pause import gc_paused

    table = book.get_table_by_name(name)
    start = table.start
    with gc_paused():
        rows = table.to_python()
    return LoadedTable(name=name, sheet=table.sheet, columns=list(table.columns), start=(start[0], start[1]), rows=rows)


def table_layout(path: str | Path) -> dict[str, tuple[str, int]]:
    """Each Excel table's sheet and size in cells, from the table definitions (no cell is read): name -> (sheet, cells).

    Tables are listed under both their name and display name (Excel keeps them equal; other producers may not).
    """
    from openpyxl.utils.cell import range_boundaries

    from apxl.io.opc import RT_TABLE, Package

    out: dict[str, tuple[str, int]] = {}
    with Package(path) as pkg:
        for sheet in pkg.sheets():
            if sheet.part is None:
                continue
            for _, part in pkg.targets(sheet.part, RT_TABLE):
                if not pkg.exists(part):
                    continue
                root = pkg.doc(part).root
                min_col, min_row, max_col, max_row = range_boundaries(root.get("ref", "A1"))
                cells = (max_col - min_col + 1) * (max_row - min_row + 1)
                for key in {root.get("name"), root.get("displayName")} - {None}:
                    out[key] = (sheet.name, cells)
    return out


class TablePrefetch:
    """Every Excel table of one workbook, loaded smallest first on a thread of its own."""

    def __init__(self, path: Path):
        self.path = str(path)
        self._ready = threading.Condition()
        self._loaded: dict[str, LoadedTable] = {}
        self._names: list[str] | None = None  # every table's name, once the workbook is open
        self._sheets: dict[str, str] | None = None  # table name -> sheet, once the layout is known
        self._finished = False
        self._thread = threading.Thread(target=self._load, name="apxl-table-prefetch", daemon=True)
        self._thread.start()

    def _load(self) -> None:
        try:
            from python_calamine import CalamineWorkbook

            book = CalamineWorkbook.from_path(self.path, load_tables=True)
            names = list(book.table_names)
            try:
                layout = table_layout(self.path)
            except Exception:  # noqa: BLE001 - without the layout every table is loaded before any is handed out
                layout = {}
            known = all(n in layout for n in names)
            with self._ready:
                self._names = list(names)
                self._sheets = {n: layout[n][0] for n in names} if known else None
                self._ready.notify_all()
            if known:
                names.sort(key=lambda n: layout[n][1])
            for name in names:
                table = load_table(book, name)
                with self._ready:
                    self._loaded[name] = table
                    self._ready.notify_all()
        except Exception:  # noqa: BLE001 - the reader opens the file itself and explains any problem
            pass
        finally:
            with self._ready:
                self._finished = True
                self._ready.notify_all()

    def on_sheet(self, sheet: str) -> list[LoadedTable] | None:
        """The tables on ``sheet``, waiting only for them; None when the thread could not load them all."""
        with self._ready:
            self._ready.wait_for(lambda: self._sheets is not None or self._finished)
            if self._sheets is None:  # layout unknown: only a complete load says which tables a sheet has
                self._ready.wait_for(lambda: self._finished)
                if self._names is None or any(n not in self._loaded for n in self._names):
                    return None
                return [t for t in self._loaded.values() if t.sheet == sheet]
            wanted = [n for n, s in self._sheets.items() if s == sheet]
            self._ready.wait_for(lambda: self._finished or all(n in self._loaded for n in wanted))
            if not all(n in self._loaded for n in wanted):
                return None
            return [self._loaded[n] for n in wanted]

    def wait(self) -> None:
        """Until every table has been loaded (or the thread has given up)."""
        self._thread.join()


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
