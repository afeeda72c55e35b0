"""The scripts (Validate register, Build termly summaries, Clear apxl output) through xlwings Server's script route."""
from __future__ import annotations

from datetime import date, timedelta

import xlwings as xw

from excel_payloads import PLACEMENT_HEADERS, placement

PROVIDER_HEADERS = ["Provider ID", "Name", "Type", "Registered (Y/N)", "QA status", "Last QA visit", "DBS confirmed (Y/N)", "Safeguarding confirmation date", "Places", "Key stages (e.g. KS3,KS4)"]


def iso(serial_or_text):
    """Office.js sends date-formatted cells as ISO strings."""
    if isinstance(serial_or_text, int) and serial_or_text > 30000:
        return (date(1899, 12, 30) + timedelta(days=serial_or_text)).isoformat() + "T00:00:00.000Z"
    return "" if serial_or_text is None else serial_or_text


def sheet(name, rows):
    width = max(len(r) for r in rows)
    return {"name": name, "values": [[iso(v) for v in r] + [""] * (width - len(r)) for r in rows], "pictures": [], "tables": [], "notes": [], "notes_supported": True}


def book_payload(placements, extra_sheets=()):
    return {
        "client": "Office.js",
        "version": xw.__version__,
        "book": {"name": "register.xlsx", "active_sheet_index": 0, "selection": "A1"},
        "names": [],
        "sheets": [
            sheet("Placements", [PLACEMENT_HEADERS, *placements]),
            sheet("Providers", [PROVIDER_HEADERS, ["PRV1", "Synthetic PRU", "PRU", "Y", "Approved", "2024-06-01T00:00:00.000Z", "Y", "2024-06-01T00:00:00.000Z", 20, "KS3,KS4"]]),
            sheet("Settings", [["Name", "Value"], ["Profile", "solihull"], ["As of date", "2024-10-15T00:00:00.000Z"]]),
            *extra_sheets,
        ],
    }


def actions_of(client, script, payload):
    response = client.post(f"/xlwings/custom-scripts-call/{script}", json=payload)
    assert response.status_code == 200, response.text
    return response.json()["actions"]


def test_validate_writes_findings_and_highlights(client):
    rows = [placement(), placement(**{"Placement ID": "P002", "UPN": "A801200005001", "Commissioner": "LA"})]
    actions = actions_of(client, "validate_register", book_payload(rows))
    funcs = [a["func"] for a in actions]
    assert ["addSheet", "Findings"] == [funcs[funcs.index("addSheet")], actions[funcs.index("addSheet")]["args"][1]]
    written = [v for a in actions if a["func"] == "setValues" for row in a["values"] for v in row]
    assert "PUP-001" in written and "FND-001" in written and "Rule" in written
    # The UPN cell of row 3 (Placements!B3) is filled and noted; row 2 (clean) is not touched.
    marks = [(a["sheet_position"], a["start_row"], a["start_column"]) for a in actions if a["func"] == "setRangeColor"]
    assert (0, 2, 1) in marks and not any(r == 1 and s == 0 for s, r, _ in marks)
    notes = [a["args"] for a in actions if a["func"] == "addNote"]
    assert any(n[0].replace("$", "") == "B3" and "PUP-001" in n[1] for n in notes)
    links = [a["args"][0] for a in actions if a["func"] == "addHyperlink"]
    assert "#'Placements'!B3" in links
    assert any(a["func"] == "addTable" for a in actions)
    assert actions[-1]["func"] == "alert" and "findings" in actions[-1]["args"][0]


def test_validate_twice_replaces_the_findings_sheet(client):
    rows = [placement(**{"UPN": "A801200005001"})]
    first = actions_of(client, "validate_register", book_payload(rows))
    findings_grid = [["apxl findings"], [""], [""], [""],
                     ["Rule", "Severity", "Sheet", "Row", "Column", "Key", "Value", "Message", "Link"],
                     ["PUP-001", "error", "Placements", 2, "UPN", "P001", "A801200005001", "wrong", "Placements!B2"]]
    again = actions_of(client, "validate_register", book_payload(rows, [sheet("Findings", findings_grid)]))
    funcs = [a["func"] for a in again]
    assert "sheetDelete" in funcs and funcs.index("sheetDelete") < funcs.index("addSheet")
    cleared = [a for a in again if a["func"] == "setRangeColor" and a["args"] == [None]]
    assert cleared and (cleared[0]["start_row"], cleared[0]["start_column"]) == (1, 1)
    assert len([a for a in first if a["func"] == "addSheet"]) == 1


def test_clear_removes_only_apxl_sheets(client):
    findings_grid = [["apxl findings"], [""], [""], [""], ["Rule", "Severity", "Sheet", "Row", "Column", "Key", "Value", "Message", "Link"]]
    payload = book_payload([placement()], [sheet("Findings", findings_grid), sheet("Provider summary 2024-25-autumn", [["x"]]), sheet("My notes", [["keep me"]])])
    actions = actions_of(client, "clear_apxl_output", payload)
    deleted = [a["sheet_position"] for a in actions if a["func"] == "sheetDelete"]
    assert sorted(deleted) == [3, 3]  # Findings (position 3), then the summary moves up to 3; My notes stays
    assert "Removed Findings, Provider summary 2024-25-autumn" in actions[-1]["args"][0]


def test_summaries_script_writes_summary_sheets(client):
    calendar = sheet("Calendar", [["Academic year", "Term", "Start", "End", "Half-term start", "Half-term end"],
                                  ["2024-25", "Autumn", "2024-09-03T00:00:00.000Z", "2024-12-20T00:00:00.000Z", "2024-10-28T00:00:00.000Z", "2024-11-01T00:00:00.000Z"]])
    actions = actions_of(client, "build_termly_summaries", book_payload([placement()], [calendar]))
    added = [a["args"][1] for a in actions if a["func"] == "addSheet"]
    assert any(name.startswith("Provider summary") for name in added)
    assert any(name.startswith("Funding summary") for name in added)
    assert any(a["func"] == "addTable" for a in actions)
    written = [v for a in actions if a["func"] == "setValues" for row in a["values"] for v in row]
    assert "Total" in written
    assert actions[-1]["func"] == "alert" and "summary sheets" in actions[-1]["args"][0]


def test_a_book_without_placements_is_one_sentence(client):
    payload = book_payload([])
    payload["sheets"] = [sheet("Notes", [["nothing here"]])]
    response = client.post("/xlwings/custom-scripts-call/validate_register", json=payload)
    assert response.status_code == 422 and "Placements" in response.text and "Traceback" not in response.text


def test_desktop_macros_run_the_same_bodies(licensed, monkeypatch):
    """RunPython macros take the book from xw.Book.caller(); here a book built from the same payload stands in."""
    from apxl.excel import runtime, scripts

    runtime.server_api()  # registers xlwings' remote engine for xw.Book(json=...)
    book = xw.Book(json=book_payload([placement(**{"UPN": "A801200005001"})]))
    monkeypatch.setattr(xw.Book, "caller", staticmethod(lambda: book))
    scripts.validate_register_macro()
    added = [a["args"][1] for a in book.json()["actions"] if a["func"] == "addSheet"]
    assert added == ["Findings"]


def test_macro_outside_excel_is_one_sentence(monkeypatch):
    import pytest

    from apxl.errors import ApxlError
    from apxl.excel import scripts

    def no_caller():
        raise RuntimeError("not called from Excel")

    monkeypatch.setattr(xw.Book, "caller", staticmethod(no_caller))
    with pytest.raises(ApxlError, match="button in the apxl register workbook"):
        scripts.clear_apxl_output_macro()
