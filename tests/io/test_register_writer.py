"""write_register: a register holding data, with the big tables streamed into the sheet XML, reads back exactly."""
from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from apxl.io.reader import read_register
from apxl.io.register_writer import write_register
from apxl.io.template import DATE_FORMAT

PLACEMENT = {
    "placement_id": "AP-1", "upn": "B801200005001", "surname": "O'Brien & Sons <x>", "forename": "Ava", "date_of_birth": pd.Timestamp("2011-03-04"),
    "year_group": 8, "ehcp": "Y", "looked_after": "N", "provider_id": "P001", "route": "ASSESS", "commissioner": "School",
    "place_funder": "School", "topup_funder": "School", "registration": "Dual", "start_date": pd.Timestamp("2024-09-09"),
    "planned_end_date": pd.Timestamp("2024-12-13"), "hours_per_week": 12.5, "days": "Mon,Wed", "cost_basis": "Week", "rate": 425.0,
}


def test_typed_and_mixed_values_read_back(tmp_path):
    second = {**PLACEMENT, "placement_id": "AP-2", "start_date": "TBC", "rate": np.nan, "surname": "Tab\there", "objectives": "a\x01b"}
    placements = pd.DataFrame([PLACEMENT, second])
    providers = pd.DataFrame([{"provider_id": "P001", "name": "Wye PRU", "type": "PRU", "registered": "Y", "places": 12.0,
                               "last_qa_visit": pd.Timestamp("2025-01-10")}])
    path = write_register(tmp_path / "r.xlsx", {"placements": placements, "providers": providers})
    register = read_register(path)
    p = register.placements
    assert list(p.index) == [2, 3]
    assert p.loc[2, "surname"] == "O'Brien & Sons <x>"
    assert p.loc[2, "date_of_birth"] == pd.Timestamp("2011-03-04")
    assert p.loc[2, "hours_per_week"] == 12.5 and p.loc[2, "rate"] == 425.0 and bool(p.loc[2, "ehcp"]) is True
    assert p.loc[3, "objectives"] == "ab"  # a control character cannot be stored in a workbook
    assert pd.isna(p.loc[3, "rate"])
    str003 = register.findings[register.findings["rule_id"] == "STR-003"]
    assert list(zip(str003["row"], str003["column"], str003["value"])) == [(3, "Start date", "TBC")]
    assert register.providers.loc[2, "last_qa_visit"] == pd.Timestamp("2025-01-10")


def test_streamed_sheets_keep_the_table_formats_and_drop_downs(tmp_path):
    n = 5000
    attendance = pd.DataFrame({
        "upn": pd.Categorical(np.where(np.arange(n) % 2, "B801200005001", "A801200005001")),
        "date": pd.Timestamp("2024-09-09") + pd.to_timedelta(np.arange(n) // 4, unit="D"),
        "session": np.where((np.arange(n) // 2) % 2, "PM", "AM"),
        "code": "/",
        "source": "School",
    })
    path = write_register(tmp_path / "r.xlsx", {"attendance": attendance})
    wb = load_workbook(path)
    ws = wb["Attendance"]
    assert ws.tables["Attendance"].ref == f"A1:E{n + 1}"
    assert ws["B2"].number_format == DATE_FORMAT and ws[f"B{n + 1}"].is_date
    assert ws.max_row == n + 1
    assert any(dv.formula1 == '"AM,PM"' for dv in ws.data_validations.dataValidation)
    with zipfile.ZipFile(path) as z:
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in z.infolist() if i.filename.endswith(".xml"))
    back = read_register(path).attendance
    assert len(back) == n and back["date"].iloc[-1] == attendance["date"].iloc[-1]


text = st.text(alphabet=st.one_of(st.characters(blacklist_categories=("Cs",)), st.sampled_from("&<>\"'\x01\ufffe £é")), max_size=30)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.one_of(text, st.none(), st.floats(allow_nan=False, allow_infinity=False), st.integers(-10**9, 10**9)), min_size=1, max_size=8))
def test_cells_are_well_formed_xml_holding_the_values(values):
    """Any text, number or blank becomes a cell an XML parser reads back as the same value (control characters dropped);
    text is an index into the shared strings table, which parses back to the same text."""
    from xml.etree import ElementTree

    from apxl.io.register_writer import SharedStrings, column_cells

    rows = pd.Series([str(i + 2) for i in range(len(values))], dtype="str")
    strings = SharedStrings(["already there"])
    xml = "".join(column_cells(pd.Series(values, dtype=object), "C", rows, ' s="3"', strings))
    cells = {c.get("r"): c for c in ElementTree.fromstring(f"<row>{xml}</row>")}
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    table = [si.find(f"{ns}t").text or "" for si in ElementTree.fromstring(strings.xml())]
    assert table[0] == "already there"
    for i, want in enumerate(values):
        cell = cells.get(f"C{i + 2}")
        clean = "".join(ch for ch in want if (ch in "\t\n\r" or ord(ch) >= 32) and ch not in "\ufffe\uffff") if isinstance(want, str) else None
        if want is None or clean == "":
            assert cell is None
            continue
        if isinstance(want, str):
            assert cell.get("t") == "s" and table[int(cell.find("v").text)] == clean.replace("\r\n", "\n").replace("\r", "\n")
        else:
            assert float(cell.find("v").text) == pytest.approx(float(want))
        assert cell.get("s") == "3"
