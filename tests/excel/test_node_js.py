"""The JavaScript `apxl serve` serves, run under Node against a real server on 127.0.0.1 (no Excel on Linux)."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from excel_payloads import PLACEMENT_HEADERS, placement

HERE = Path(__file__).parent
pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """`apxl serve` in its own process, stopped when the tests finish (and after 5 minutes at most)."""
    port, token = free_port(), "node-test-token"
    env = {**os.environ, "XLWINGS_LICENSE_KEY": "noncommercial"}
    code = "import sys; from apxl.cli import main; sys.argv=['apxl']+sys.argv[1:]; main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", str(port), "--token", token],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if proc.poll() is not None:
                pytest.fail("apxl serve stopped: " + proc.stderr.read().decode()[-500:])
            try:
                with urllib.request.urlopen(base + "/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("apxl serve did not start within 60 seconds")
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def run_node(base: str, token: str, calls: list[dict], call_token: str | None = None) -> dict:
    extra = [] if call_token is None else [call_token]
    done = subprocess.run(["node", str(HERE / "node_host.js"), base, token, *extra], input=json.dumps(calls), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_function_through_our_javascript(server):
    base, token = server
    calls = [
        {"key": "upn", "name": "UPN_VALID", "args": [[["B801200005001"]], None]},
        {"key": "upn_bad", "name": "UPN_VALID", "args": [[["A801200005001"]], None]},
        {"key": "year", "name": "YEAR_GROUP", "args": [{"serial": "2012-09-01"}, {"serial": "2024-10-01"}]},
        {"key": "stage", "name": "KEY_STAGE", "args": [{"serial": "2012-09-01"}, {"serial": "2024-10-01"}]},
        {"key": "days", "name": "SCHOOL_DAYS", "args": [{"serial": "2024-10-01"}, {"serial": "2024-11-04"}, None]},
        {"key": "day6", "name": "DAY6", "args": [{"serial": "2024-10-24"}, None, None]},
        {"key": "funders", "name": "FUNDERS", "args": [[["INTERIM"]], [["solihull"]]]},
        {"key": "attendance", "name": "ATTENDANCE", "args": [[["/", "\\", "N", "D"]], None]},
        {"key": "cost", "name": "COST", "args": [{"serial": "2024-09-02"}, {"serial": "2024-12-20"}, [["Week"]], [[500]], None, None, None, None]},
        {"key": "check", "name": "CHECK", "args": [[PLACEMENT_HEADERS], [placement(UPN="A801200005001")], None, {"serial": "2024-10-15"}]},
        {"key": "error", "name": "SCHOOL_DAYS", "args": [[["soon"]], {"serial": "2024-10-01"}, None]},
    ]
    out = run_node(base, token, calls)
    assert {"UPN_VALID", "YEAR_GROUP", "KEY_STAGE", "SCHOOL_DAYS", "DAY6", "FUNDERS", "ATTENDANCE", "COST", "CHECK"} <= set(out["registered"])
    assert out["upn"] == [[True]] and out["upn_bad"] == [[False]]
    assert out["year"] == [[7]] and out["stage"] == [["KS3"]]
    assert out["days"][0][0]["basicValue"] == 25 and "no Calendar" in out["days"][0][0]["numberFormat"]
    assert out["day6"][0][0]["basicValue"] == 45596  # 31/10/2024
    assert out["funders"] == [["LA", "LA", "LA", "Single"]]
    assert abs(out["attendance"][0][0]["basicValue"] - 2 / 3) < 1e-9
    assert out["cost"][0][0]["basicValue"] == 8000
    assert [r[0] for r in out["check"]] == ["PUP-001"]
    assert out["error"][0][0].startswith("APXL.SCHOOL_DAYS") and "not a date" in out["error"][0][0]


def test_a_recalculation_of_2000_checks_is_batched(server):
    base, token = server
    calls = [
        {"key": f"c{i}", "name": "CHECK", "args": [[PLACEMENT_HEADERS], [placement(**{"Placement ID": f"N{i:04d}"})], None, {"serial": "2024-10-15"}]}
        for i in range(2000)
    ]
    out = run_node(base, token, calls)
    assert all(out[f"c{i}"][0][0] == "OK" for i in range(2000))


def test_without_the_token_the_cells_say_so(server):
    base, token = server
    out = run_node(base, token, call_token="wrong-token", calls=[{"key": "upn", "name": "UPN_VALID", "args": [[["B801200005001"]], None]}])
    assert "401" in out["upn"][0][0] or "token" in out["upn"][0][0]


def run_taskpane(base: str, token: str, script: str, sheets: list[dict]) -> dict:
    import xlwings as xw

    env = {**os.environ, "XLWINGS_VERSION": xw.__version__}
    done = subprocess.run(["node", str(HERE / "node_taskpane.js"), base, token, script], input=json.dumps(sheets), env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _register_sheets() -> list[dict]:
    from excel_payloads import serial

    date_columns = {i for i, h in enumerate(PLACEMENT_HEADERS) if "date" in h.lower() or h == "Date of birth"}
    rows = [PLACEMENT_HEADERS, placement(), placement(**{"Placement ID": "P002", "UPN": "A801200005001", "Commissioner": "LA"})]
    values = [[("" if v is None else v) for v in row] for row in rows]
    categories = [["General"] * len(PLACEMENT_HEADERS)] + [["Date" if j in date_columns else "General" for j in range(len(PLACEMENT_HEADERS))] for _ in rows[1:]]
    settings = [["Name", "Value"], ["Profile", "solihull"], ["As of date", serial("2024-10-15")]]
    return [
        {"name": "Placements", "values": values, "categories": categories},
        {"name": "Settings", "values": settings, "categories": [["General", "General"], ["General", "General"], ["General", "Date"]]},
    ]


def test_task_pane_validates_through_the_server(server):
    base, token = server
    out = run_taskpane(base, token, "validate_register", _register_sheets())
    statuses = [entry for entry in out["log"] if entry[0] == "status"]
    assert statuses[-1][2] is False and "done" in statuses[-1][1], statuses
    payload = out["payload"]
    assert payload["client"] == "Office.js" and [s["name"] for s in payload["sheets"]] == ["Placements", "Settings"]
    start = payload["sheets"][0]["values"][1][PLACEMENT_HEADERS.index("Start date")]
    assert start == "2024-09-09T00:00:00.000Z"  # date cells travel as ISO text, as xlwings expects
    assert out["sheets"] == ["Placements", "Settings", "Findings"]
    written = [v for e in out["log"] if e[0] == "values" and e[1].startswith("Findings") for row in e[2] for v in row]
    assert "PUP-001" in written and "FND-001" in written
    fills = {e[1] for e in out["log"] if e[0] == "fill" and e[2]}
    assert "Placements!R3C2" in fills and not any(f.startswith("Placements!R2") for f in fills)
    assert any(e[0] == "note" and e[2].replace("$", "") == "B3" for e in out["log"])
    assert any(e[0] == "hyperlink" and e[2].get("documentReference") == "'Placements'!B3" for e in out["log"])


def test_task_pane_clear_removes_findings(server):
    base, token = server
    sheets = _register_sheets() + [{"name": "Findings", "values": [["apxl findings"], [""], [""], [""], ["Rule", "Severity", "Sheet", "Row", "Column", "Key", "Value", "Message", "Link"], ["PUP-001", "error", "Placements", 3, "UPN", "P002", "A801200005001", "x", "Placements!B3"]]}]
    out = run_taskpane(base, token, "clear_apxl_output", sheets)
    assert out["sheets"] == ["Placements", "Settings"]
    assert ["fill", "Placements!R3C2", None] in out["log"]


def test_task_pane_imports_school_returns(server, tmp_path):
    """The Import school returns button: the server reads the Settings sheet's folder on its own computer (here, this one)."""
    fixtures = HERE.parent / "fixtures" / "returns" / "2025-03"
    folder = tmp_path / "2025-03"
    folder.mkdir()
    for name in ("100005_eastfield.xlsx", "hostile_zip_bomb_declared.xlsx"):
        shutil.copyfile(fixtures / name, folder / name)
    sheets = _register_sheets()
    sheets[1]["values"] += [["Returns folder", str(folder)]]
    sheets[1]["categories"] += [["General", "General"]]
    base, token = server
    out = run_taskpane(base, token, "import_school_returns", sheets)
    assert out["sheets"] == ["Placements", "Settings", "School returns", "Return findings"]
    final = [entry for entry in out["log"] if entry[0] == "status"][-1]
    # The script's own sentence stays in the pane after it finishes.
    assert final[2] is False and "done." in final[1] and "Read 1 of 2 returns for 2025-03 (1 refused)" in final[1], final
    written = [v for e in out["log"] if e[0] == "values" and e[1].startswith("Return findings") for row in e[2] for v in row]
    assert "Refused" in written and "zip-bomb" in written and "RET-001" in written
    assert any(e[0] == "table" and e[1] == "School returns" for e in out["log"])

    sheets[1]["values"][-1] = ["Returns folder", str(tmp_path / "not-there")]
    out = run_taskpane(base, token, "import_school_returns", sheets)
    final = [entry for entry in out["log"] if entry[0] == "status"][-1]
    assert final[2] is True and "does not exist on the computer running the apxl server" in final[1] and "Traceback" not in final[1]
    assert out["sheets"] == ["Placements", "Settings"]
