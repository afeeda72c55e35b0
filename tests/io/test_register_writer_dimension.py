"""Streamed sheets declare their real size: openpyxl's read-only mode (and tools built on it) read every row."""
import pandas as pd
from openpyxl import load_workbook

from apxl.io.register_writer import write_register


def test_dimension_covers_every_streamed_row(tmp_path):
    days = pd.date_range("2024-09-02", periods=30, freq="B")
    attendance = pd.DataFrame({"upn": "A801200001001", "date": days, "session": "AM", "code": "/", "source": "School"})
    path = write_register(tmp_path / "r.xlsx", {"attendance": attendance})
    book = load_workbook(path, read_only=True)
    ws = book["Attendance"]
    assert ws.calculate_dimension() == "A1:E31"
    rows = list(ws.iter_rows(values_only=True))
    book.close()
    assert len(rows) == 31 and rows[-1][3] == "/"
