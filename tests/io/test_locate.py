"""apxl.io.locate: which cell a finding points at, its link, and one mark per cell (worst severity first)."""
from __future__ import annotations

import pandas as pd

from apxl.core.findings import Report
from apxl.core.parse import register_from_records
from apxl.io.locate import link_targets, locate, plan_marks, quote_sheet


def _register():
    return register_from_records(
        placements=[
            {"Placement ID": "P1", "UPN": "B801200005001", "Route": "PEX"},
            {"Placement ID": "P2", "UPN": "A801200005001", "Route": "XXX"},
        ],
        terms=[{"Academic year": "2024-25", "Term": "Autumn", "Start": "02/09/2024", "End": "20/12/2024"}],
    )


def _frame(rows):
    cols = ["rule_id", "severity", "sheet", "row", "column", "key", "value", "message"]
    return Report(pd.DataFrame([dict(zip(cols, r)) for r in rows], columns=cols)).frame


def test_column_header_maps_back_to_the_letter_the_reader_found():
    reg = _register()
    frame = _frame([
        ("PUP-001", "error", "Placements", 3, "UPN", "P2", "A801200005001", "m"),
        ("STR-004", "error", "Placements", 3, "Route", "P2", "XXX", "m"),
        ("PLC-005", "warning", "Placements", 2, "Objectives", "P1", None, "absent column: the row's first cell"),
        ("PLC-006", "warning", "Placements", 2, None, "P1", None, "no column"),
        ("STR-001", "warning", "Attendance", None, None, None, None, "no such sheet"),
        ("STR-002", "error", "Calendar", 1, "Half-term start", None, None, "header row"),
    ])
    cells = locate(reg, frame, {"Placements", "Calendar"})
    got = dict(zip(frame["rule_id"] + "/" + frame["row"].astype("string").fillna("-"), cells))
    assert got["PUP-001/3"] == "B3" and got["STR-004/3"] == "C3"
    assert got["PLC-005/2"] == "A2" and got["PLC-006/2"] == "A2"
    assert got["STR-001/-"] is None
    assert got["STR-002/1"] == "A1"
    links = dict(zip(frame["rule_id"], link_targets(frame, cells, {"Placements", "Calendar"})))
    assert links["PUP-001"] == "'Placements'!B3" and links["STR-001"] is None


def test_sheet_names_are_quoted_for_links():
    assert quote_sheet("Bob's AP") == "'Bob''s AP'"


def test_one_mark_per_cell_worst_severity_and_every_message():
    reg = _register()
    frame = _frame([
        ("PLC-001", "warning", "Placements", 3, "Route", "P2", "XXX", "second"),
        ("STR-004", "error", "Placements", 3, "Route", "P2", "XXX", "first"),
        ("PLC-009", "info", "Placements", 2, "UPN", "P1", None, "info only"),
    ])
    plan = plan_marks(frame, locate(reg, frame))
    assert [(m.cell, m.severity) for m in plan.marks] == [("C3", "error"), ("B2", "info")]
    assert plan.marks[0].comment == "STR-004 (error): first\nPLC-001 (warning): second"
    assert not plan.capped


def test_cap_keeps_the_worst_cells():
    reg = _register()
    frame = _frame([
        ("PLC-009", "info", "Placements", 2, "UPN", "P1", None, "i"),
        ("PLC-001", "warning", "Placements", 2, "Route", "P1", None, "w"),
        ("PUP-001", "error", "Placements", 3, "UPN", "P2", None, "e"),
    ])
    plan = plan_marks(frame, locate(reg, frame), max_marks=2)
    assert plan.capped and plan.total_cells == 3
    assert [m.severity for m in plan.marks] == ["error", "warning"]


def test_findings_on_a_wide_attendance_grid_point_at_the_mark():
    from apxl.io.attendance import wide_from_grid

    reg = _register()
    table, _ = wide_from_grid([["UPN", "Mon 06/01/2025 AM", "Mon 06/01/2025 PM"], ["B801200005001", "/", "N"]], "Attendance")
    reg.tables["attendance"] = table
    frame = _frame([
        ("ATT-009", "warning", "Attendance", 2, "Mon 06/01/2025 PM", "B801200005001", "N", "m"),
        ("ATT-011", "warning", "Attendance", 2, "UPN", "B801200005001", None, "m"),
    ])
    assert locate(reg, frame).tolist() == ["C2", "A2"]
