"""Import school returns through xlwings Server's script route: the fixture register as Office.js sends it, a folder of fixture returns."""
from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest
import xlwings as xw

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "returns"
EXPECTED = json.loads((FIXTURES / "expected" / "outcomes.json").read_text())
SCRIPT = "/xlwings/custom-scripts-call/import_school_returns"
CLEAN, HOSTILE = "100005_eastfield.xlsx", "hostile_macro.xlsm"


def iso(value):
    """Office.js sends date-formatted cells as ISO text and blanks as ''."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return "" if value is None else value


def register_payload(settings: list[list], extra_sheets: list[dict] = ()) -> dict:
    """The fixture register (tests/fixtures/returns/register.xlsx), every sheet as the task pane reads it, plus Settings rows."""
    from openpyxl import load_workbook

    wb = load_workbook(FIXTURES / "register.xlsx", data_only=True)
    sheets = []
    for ws in wb:
        grid = [[iso(v) for v in row] for row in ws.iter_rows(values_only=True)]
        if ws.title == "Settings":
            grid += [[iso(n), iso(v)] for n, v in settings]
        sheets.append({"name": ws.title, "values": grid, "pictures": [], "tables": [], "notes": [], "notes_supported": True})
    return {"client": "Office.js", "version": xw.__version__, "book": {"name": "register.xlsx", "active_sheet_index": 0, "selection": "A1"},
            "names": [], "sheets": sheets + list(extra_sheets)}


def month_folder(tmp_path: Path, *names: str, extra: dict[str, bytes] | None = None) -> Path:
    folder = tmp_path / "returns" / "2025-03"
    folder.mkdir(parents=True)
    for name in names:
        shutil.copyfile(FIXTURES / "2025-03" / name, folder / name)
    for name, data in (extra or {}).items():
        (folder / name).write_bytes(data)
    return folder


def replay(payload: dict, actions: list[dict]) -> dict[str, list[list]]:
    """Apply the answered actions to the payload's sheets as the task pane does: sheet name -> grid of values."""
    book = [[s["name"], [list(r) for r in s["values"]]] for s in payload["sheets"]]
    for a in actions:
        if a["func"] == "addSheet":
            book.insert(a["args"][0], [a["args"][1], []])
        elif a["func"] == "sheetDelete":
            del book[a["sheet_position"]]
        elif a["func"] == "setValues":
            grid = book[a["sheet_position"]][1]
            for i, row in enumerate(a["values"]):
                r = a["start_row"] + i
                while len(grid) <= r:
                    grid.append([])
                line = grid[r]
                while len(line) < a["start_column"] + len(row):
                    line.append(None)
                line[a["start_column"]: a["start_column"] + len(row)] = row
    return {name: grid for name, grid in book}


def table_at(grid: list[list], header: str) -> list[dict]:
    """The rows of the table whose header row starts with ``header``, as dicts, up to the first blank row."""
    start = next(i for i, r in enumerate(grid) if r and r[0] == header)
    head = [h for h in grid[start] if h not in (None, "")]
    rows = []
    for r in grid[start + 1:]:
        if not r or all(v in (None, "") for v in r):
            break
        rows.append(dict(zip(head, r)))
    return rows


def run(client, payload) -> tuple[dict, list[dict]]:
    response = client.post(SCRIPT, json=payload)
    assert response.status_code == 200, response.text
    actions = response.json()["actions"]
    return replay(payload, actions), actions


def test_a_clean_and_a_hostile_return_give_the_expected_rows(client, tmp_path):
    folder = month_folder(tmp_path, "100001_ashford.xlsx", CLEAN, HOSTILE, extra={"covering note.txt": b"see attached"})
    # 'Returns month' typed as 2025-03 becomes a date in Excel: Office.js sends 1 March 2025.
    payload = register_payload([["Returns folder", str(folder)], ["Returns month", datetime(2025, 3, 1)]])
    book, actions = run(client, payload)
    assert list(book)[-2:] == ["School returns", "Return findings"]

    findings = table_at(book["Return findings"], "File")
    hostile = [f for f in findings if f["File"] == HOSTILE]
    assert [(f["Rule"], f["Severity"], f["Value"]) for f in hostile] == [("Refused", "error", EXPECTED[HOSTILE]["reason"])]
    assert HOSTILE in hostile[0]["Message"] and "refused" in hostile[0]["Message"]
    for name in ("100001_ashford.xlsx", CLEAN):
        got = {(f["Rule"], None if f["Row"] in (None, "") else int(f["Row"])) for f in findings if f["File"] == name}
        want = {(rule, row) for rule, rows in EXPECTED[name]["ret"].items() for row in rows}
        assert got == want, name  # a clean return: only its RET notes, nothing blocking
        assert all(f["School URN"] == EXPECTED[name]["school_urn"] for f in findings if f["File"] == name)
    assert [f["Rule"] for f in findings if f["File"] == "covering note.txt"] == ["Ignored"]

    summary = book["School returns"]
    assert str(summary[0][0]).startswith("apxl school returns for 2025-03")
    files = {r["File"]: r for r in table_at(summary, "File")}
    assert files[HOSTILE]["Status"] == "refused" and files[HOSTILE]["Reason"] == "macro"
    assert files[CLEAN]["Status"] == "processed" and files[CLEAN]["New"] == 1
    new = table_at(summary, "Placement ID")
    accepted = sorted(pid for name in ("100001_ashford.xlsx", CLEAN) for status, pid in EXPECTED[name]["rows"].values() if status.startswith("Accepted"))
    assert sorted(r["Placement ID"] for r in new) == accepted
    eastfield = next(r for r in new if r["Return file"] == CLEAN)
    # The school's formula-like text arrives as text (quote prefix), never as a formula.
    assert eastfield["Surname"].startswith("'=HYPERLINK(") and eastfield["Forename"].startswith("'+cmd")
    assert not any(isinstance(v, str) and v.startswith(("=", "+", "-", "@")) for a in actions if a["func"] == "setValues" for r in a["values"] for v in r)
    assert eastfield["Start date"] == "2025-03-05" and eastfield["Provider ID"] == "P003"
    missing = table_at(summary, "School URN")  # the first table headed School URN: register placements left out
    assert [r["Placement ID"] for r in missing] == EXPECTED["100001_ashford.xlsx"]["missing"]
    assert any(a["func"] == "addTable" for a in actions)
    assert actions[-1]["func"] == "alert" and "Read 2 of 3 returns for 2025-03 (1 refused)" in actions[-1]["args"][0]


def test_rerun_replaces_only_its_own_sheets(client, tmp_path):
    folder = month_folder(tmp_path, CLEAN)
    settings = [["Returns folder", str(folder)], ["Returns month", "2025-03"]]
    old = [{"name": n, "values": [[f"apxl school returns: findings for 2025-02"]], "pictures": [], "tables": [], "notes": [], "notes_supported": True}
           for n in ("School returns", "Return findings")]
    payload = register_payload(settings, old)
    book, actions = run(client, payload)
    funcs = [a["func"] for a in actions]
    assert funcs.count("sheetDelete") == 2 and funcs.index("sheetDelete") < funcs.index("addSheet")
    assert list(book)[-2:] == ["School returns", "Return findings"] and "2025-03" in book["School returns"][0][0]

    mine = [{"name": "School returns", "values": [["my own tracking of who returned"]], "pictures": [], "tables": [], "notes": [], "notes_supported": True}]
    response = client.post(SCRIPT, json=register_payload(settings, mine))
    assert response.status_code == 422 and "already has a sheet called 'School returns'" in response.text


def test_clear_removes_the_returns_sheets(client, tmp_path):
    folder = month_folder(tmp_path, CLEAN)
    payload = register_payload([["Returns folder", str(folder)]])  # no month: the folder is named 2025-03
    book, _ = run(client, payload)
    again = register_payload([["Returns folder", str(folder)]], [{"name": n, "values": book[n], "pictures": [], "tables": [], "notes": [],
                                                                  "notes_supported": True} for n in ("School returns", "Return findings")])
    response = client.post("/xlwings/custom-scripts-call/clear_apxl_output", json=again)
    assert response.status_code == 200, response.text
    after = replay(again, response.json()["actions"])
    assert "School returns" not in after and "Return findings" not in after and "Notes" in after


@pytest.mark.parametrize("settings, words", [
    ([], "Set 'Returns folder' on the Settings sheet"),
    ([["Returns folder", "   "]], "Set 'Returns folder' on the Settings sheet"),
    ([["Returns folder", "/no/such/apxl/returns/2025-03"]], "does not exist on the computer running the apxl server"),
    ([["Returns folder", "2025-03"]], "give the full path"),
])
def test_folder_not_set_or_missing_is_one_sentence(client, settings, words):
    response = client.post(SCRIPT, json=register_payload(settings))
    assert response.status_code == 422, response.text
    assert words in response.text and "Traceback" not in response.text and response.text.count(". ") <= 1


def test_month_that_is_not_a_month_is_one_sentence(client, tmp_path):
    folder = tmp_path / "march returns"
    folder.mkdir()
    response = client.post(SCRIPT, json=register_payload([["Returns folder", str(folder)]]))
    assert response.status_code == 422 and "Set 'Returns month'" in response.text
    response = client.post(SCRIPT, json=register_payload([["Returns folder", str(folder)], ["Returns month", "soon"]]))
    assert response.status_code == 422 and "'soon', which is not a month" in response.text


def test_server_can_confine_the_folders_it_reads(client, tmp_path, monkeypatch):
    folder = month_folder(tmp_path, CLEAN)
    allowed = tmp_path / "elsewhere"
    allowed.mkdir()
    monkeypatch.setenv("APXL_RETURNS_ROOT", str(allowed))
    for elsewhere in (folder, tmp_path / "no such folder"):  # outside the roots, existing or not: the same answer
        response = client.post(SCRIPT, json=register_payload([["Returns folder", str(elsewhere)]]))
        assert response.status_code == 422 and "only reads returns from" in response.text
    monkeypatch.setenv("APXL_RETURNS_ROOT", str(tmp_path / "returns"))
    assert client.post(SCRIPT, json=register_payload([["Returns folder", str(folder)]])).status_code == 200


@pytest.mark.parametrize("value, month", [
    ("2025-03", "2025-03"), ("2025-3", "2025-03"), ("03/2025", "2025-03"), ("March 2025", "2025-03"), ("Mar 2025", "2025-03"),
    (datetime(2025, 3, 1), "2025-03"), (date(2024, 11, 1), "2024-11"), ("2025-03-01 00:00:00", "2025-03"), (45717, "2025-03"),
])
def test_month_as_officers_type_it(value, month):
    from apxl.excel.returns import month_of

    assert month_of(value) == month


def test_desktop_macro_runs_the_same_body_and_tells_problems(licensed, monkeypatch, tmp_path):
    """RunPython takes the book from xw.Book.caller(); a folder relative to the saved workbook is found; a problem is a message, not a traceback."""
    from apxl.excel import runtime, scripts

    runtime.server_api()  # registers xlwings' remote engine for xw.Book(json=...)
    month_folder(tmp_path, CLEAN)
    book = xw.Book(json=register_payload([["Returns folder", "returns/2025-03"]]))
    monkeypatch.setattr(xw.Book, "caller", staticmethod(lambda: book))
    monkeypatch.setattr(scripts, "_book_folder", lambda _: tmp_path)
    scripts.import_school_returns_macro()
    actions = book.json()["actions"]
    assert [a["args"][1] for a in actions if a["func"] == "addSheet"] == ["School returns", "Return findings"]

    lost = xw.Book(json=register_payload([["Returns folder", str(tmp_path / "nowhere")]]))
    monkeypatch.setattr(xw.Book, "caller", staticmethod(lambda: lost))
    scripts.import_school_returns_macro()  # no exception
    told = lost.json()["actions"]
    assert [a["func"] for a in told] == ["alert"] and "does not exist on this computer" in told[0]["args"][0]


def test_in_xlwings_lite_a_problem_is_told_not_raised(licensed, monkeypatch):
    """xlwings Lite runs the same script in the browser (sys.platform 'emscripten'): the sentence says where Lite's files are."""
    from apxl.excel import runtime, scripts

    runtime.server_api()
    book = xw.Book(json=register_payload([["Returns folder", "/data/2025-03"]]))
    monkeypatch.setattr(scripts.sys, "platform", "emscripten")
    scripts.import_school_returns(book)  # no exception
    told = book.json()["actions"]
    assert [a["func"] for a in told] == ["alert"] and "xlwings Lite menu > Files" in told[0]["args"][0]


def test_invoices_file_from_settings(client, tmp_path):
    folder = month_folder(tmp_path, "100001_ashford.xlsx", CLEAN)
    settings = [["Returns folder", str(folder)], ["Invoices file", str(FIXTURES / "invoices.csv")]]
    book, _ = run(client, register_payload(settings))
    expected = json.loads((FIXTURES / "expected" / "reconcile.json").read_text())["invoices"]
    got = {r["Provider ID"]: r["Status"] for r in table_at(book["School returns"], "Provider ID") if "Expected (£)" in r}
    assert got == {r["provider_id"]: r["status"] for r in expected}
    response = client.post(SCRIPT, json=register_payload([["Returns folder", str(folder)], ["Invoices file", str(tmp_path / "none.csv")]]))
    assert response.status_code == 422 and "The invoices file" in response.text and "does not exist" in response.text
