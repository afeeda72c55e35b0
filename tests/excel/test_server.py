"""Every APXL function and script through xlwings Server's protocol, with payloads shaped as Office.js sends them."""
from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import pytest

from excel_payloads import PLACEMENT_HEADERS, cell, office_call, placement, serial

NS = {"o": "http://schemas.microsoft.com/office/appforoffice/1.1", "v": "http://schemas.microsoft.com/office/taskpaneappversionoverrides",
      "bt": "http://schemas.microsoft.com/office/officeappbasictypes/1.0", "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
FUNCTIONS = {"UPN_VALID", "YEAR_GROUP", "KEY_STAGE", "SCHOOL_DAYS", "DAY6", "FUNDERS", "ATTENDANCE", "COST", "CHECK"}


def result(client, name, *args, runtime="1.4"):
    response = client.post("/xlwings/custom-functions-call", json=office_call(name, *args, runtime=runtime))
    assert response.status_code == 200
    return response.json()["result"]


def test_meta_lists_every_function_for_the_apxl_namespace(client):
    meta = client.get("/xlwings/custom-functions-meta").json()
    by_id = {f["id"]: f for f in meta["functions"]}
    assert FUNCTIONS <= set(by_id)
    assert all(not f["name"].startswith("APXL.") for f in meta["functions"])  # the manifest adds APXL.
    check = by_id["CHECK"]
    assert [p["name"] for p in check["parameters"]] == ["headers", "row", "profile", "as_of"]
    assert [p.get("optional", False) for p in check["parameters"]] == [False, False, True, True]
    assert check["result"] == {"dimensionality": "matrix", "type": "any"}
    assert "placement row" in check["description"]


def test_code_is_our_javascript_with_every_function(client):
    js = client.get("/xlwings/custom-functions-code").text
    assert "custom-functions-batch" in js and "${" not in js
    for name in FUNCTIONS:
        assert f'"{name}"' in js


def test_scalars_dates_and_formatted_results(client):
    assert result(client, "UPN_VALID", cell("B801200005001"), None) == [[True]]
    assert result(client, "UPN_VALID", cell("A801200005001"), None) == [[False]]
    assert result(client, "YEAR_GROUP", cell(serial("2012-09-01")), cell(serial("2024-10-01"))) == [[7]]
    assert result(client, "KEY_STAGE", cell(serial("2012-09-01")), cell(serial("2024-10-01"))) == [["KS3"]]
    days = result(client, "SCHOOL_DAYS", cell(serial("2024-10-01")), cell(serial("2024-11-04")), None)[0][0]
    assert days["type"] == "FormattedNumber" and days["basicValue"] == 25 and "no Calendar" in days["numberFormat"]
    deadline = result(client, "DAY6", cell(serial("2024-10-24")), None, None)[0][0]
    assert deadline["basicValue"] == serial("2024-10-31") and deadline["numberFormat"].startswith("dd/mm/yyyy")


def test_older_runtimes_get_plain_values(client):
    assert result(client, "SCHOOL_DAYS", cell(serial("2024-10-01")), cell(serial("2024-11-04")), None, runtime="1.2") == [[25]]


def test_calendar_range_argument(client):
    calendar = [["Academic year", "Term", "Start", "End", "Half-term start", "Half-term end"],
                ["2024-25", "Autumn", serial("2024-09-03"), serial("2024-12-20"), serial("2024-10-28"), serial("2024-11-01")]]
    days = result(client, "SCHOOL_DAYS", cell(serial("2024-10-01")), cell(serial("2024-10-31")), calendar)[0][0]
    assert days["basicValue"] == 19 and "Calendar" not in days["numberFormat"]


def test_spilled_arrays(client):
    assert result(client, "FUNDERS", cell("INTERIM"), cell("solihull")) == [["LA", "LA", "LA", "Single"]]
    found = result(client, "CHECK", [PLACEMENT_HEADERS], [placement(UPN="A801200005001")], None, cell(serial("2024-10-15")))
    assert ["PUP-001"] == [r[0] for r in found] and len(found[0]) == 2


def test_percent_and_money(client):
    rate = result(client, "ATTENDANCE", [["/", "\\", "N", "D"]], None)[0][0]
    assert rate["basicValue"] == pytest.approx(2 / 3) and rate["numberFormat"] == "0.0%"
    cost = result(client, "COST", cell(serial("2024-09-02")), cell(serial("2024-12-20")), cell("Week"), cell(500), None, None, None, None)[0][0]
    assert cost["basicValue"] == 8000 and cost["numberFormat"].startswith("£#,##0.00")


def test_errors_come_back_as_text_in_the_cell(client):
    text = result(client, "SCHOOL_DAYS", cell("soon"), cell(serial("2024-10-01")), None)[0][0]
    assert text.startswith("APXL.SCHOOL_DAYS") and "not a date" in text
    bad = client.post("/xlwings/custom-functions-call", json=office_call("NOT_A_FUNCTION"))
    assert bad.status_code == 200 and "no function" in bad.json()["result"][0][0]
    wrong_shape = result(client, "UPN_VALID", [["a", "b"], ["c", "d"]], None)[0][0]
    assert "one cell" in wrong_shape


def test_check_batch_of_2000_rows_each_checked_alone(client):
    rows = [placement(**{"Placement ID": f"P{i:04d}"}) for i in range(2000)]
    rows[7] = placement(**{"Placement ID": "P0007", "UPN": "A801200005001"})
    # Two rows that would clash if checked together (same ID, same pupil, different birth dates):
    rows[10] = placement(**{"Placement ID": "DUP", "Date of birth": serial("2010-03-04")})
    rows[11] = placement(**{"Placement ID": "DUP", "Date of birth": serial("2011-05-06"), "Year group": 9})
    calls = [office_call("CHECK", [PLACEMENT_HEADERS], [row], None, cell(serial("2024-10-15"))) for row in rows]
    calls.insert(3, office_call("UPN_VALID", cell("B801200005001"), None))
    answer = client.post("/xlwings/custom-functions-batch", json={"calls": calls}).json()["results"]
    assert len(answer) == 2001 and answer[3] == [[True]]
    checks = answer[:3] + answer[4:]
    assert [r[0] for r in checks[7]] == ["PUP-001"]
    assert checks[10][0][0] == "OK" and checks[11][0][0] == "OK"  # no STR-005 / PUP-005 across rows
    assert sum(1 for r in checks if r[0][0] == "OK") == 1999


def test_scripts_meta_and_unknown_script(client):
    names = {s["function_name"] for s in client.get("/xlwings/custom-scripts-meta").json()}
    assert names == {"validate_register", "build_termly_summaries", "import_school_returns", "clear_apxl_output"}
    assert client.post("/xlwings/custom-scripts-call/rm_rf", json={}).status_code == 404


def test_manifest_is_xml_with_the_extension_points(client):
    root = ET.fromstring(client.get("/manifest.xml").content)
    assert root.tag == "{%s}OfficeApp" % NS["o"] and root.get(XSI_TYPE) == "TaskPaneApp"
    points = {e.get(XSI_TYPE) for e in root.iter("{%s}ExtensionPoint" % NS["v"])}
    assert {"CustomFunctions", "PrimaryCommandSurface"} <= points
    strings = {e.get("id"): e.get("DefaultValue") for e in root.iter("{%s}String" % NS["bt"])}
    assert strings["Functions.Namespace"] == "APXL"
    urls = {e.get("id"): e.get("DefaultValue") for e in root.iter("{%s}Url" % NS["bt"])}
    assert urls["Functions.Metadata.Url"].endswith("/xlwings/custom-functions-meta")
    actions = [e.text for e in root.iter("{%s}FunctionName" % NS["v"])]
    assert set(actions) == {"validate_register", "build_termly_summaries", "import_school_returns", "clear_apxl_output"}
    for url in urls.values():  # every URL the manifest names is served
        path = url.split("://", 1)[1].split("/", 1)[1]
        assert client.get("/" + path).status_code == 200


def test_taskpane_page(client):
    html = client.get("/taskpane").text
    assert "Validate register" in html and "Import school returns" in html and "/taskpane.js" in html and "${" not in html
    assert client.get("/taskpane.js").status_code == 200
    assert client.get("/icons/apxl-32.png").content.startswith(b"\x89PNG")


def test_token_is_required_when_set(licensed):
    from fastapi.testclient import TestClient

    from apxl.excel.server import create_app

    with TestClient(create_app(token="s3cret")) as c:
        assert c.get("/xlwings/custom-functions-meta").status_code == 401
        assert c.get("/xlwings/custom-functions-meta", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/xlwings/custom-functions-meta", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/manifest.xml?token=s3cret").status_code == 200
        assert "token=s3cret" in c.get("/manifest.xml?token=s3cret").text
        assert c.get("/health").status_code == 200


def test_request_size_limit(licensed):
    from fastapi.testclient import TestClient

    from apxl.excel.server import create_app

    with TestClient(create_app(max_request_mb=0.01)) as c:
        big = office_call("UPN_VALID", [["x" * 20_000]], None)
        response = c.post("/xlwings/custom-functions-call", json=big)
        assert response.status_code == 413 and "MB" in response.text
        # A body streamed in chunks without a declared length is cut off the same way.
        body = json.dumps({"calls": [big]}).encode()
        chunks = (body[i : i + 4096] for i in range(0, len(body), 4096))
        streamed = c.post("/xlwings/custom-functions-batch", content=chunks, headers={"content-type": "application/json"})
        assert streamed.status_code == 413
        assert c.post("/xlwings/custom-functions-call", json=office_call("UPN_VALID", cell("B801200005001"), None)).status_code == 200


def test_missing_licence_is_one_sentence(monkeypatch):
    import xlwings as xw

    from apxl.errors import ApxlError
    from apxl.excel import runtime

    monkeypatch.delenv("XLWINGS_LICENSE_KEY", raising=False)
    monkeypatch.setattr(xw, "USER_CONFIG_FILE", "/nonexistent/xlwings.conf")
    monkeypatch.delitem(__import__("sys").modules, "xlwings.server", raising=False)
    from xlwings.pro.utils import LicenseHandler

    LicenseHandler.validate_license.cache_clear()
    with pytest.raises(ApxlError) as caught:
        runtime.server_api()
    text = str(caught.value)
    assert "XLWINGS_LICENSE_KEY=noncommercial" in text and "PolyForm Noncommercial" in text and text.count(". ") == 0


def test_apxl_serve_without_licence_exits_2_with_one_sentence(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "XLWINGS_LICENSE_KEY"}
    env["HOME"] = str(tmp_path)  # no ~/.xlwings/xlwings.conf either
    code = "import sys; from apxl.cli import main; sys.argv=['apxl', 'serve', '--port', '0']; main()"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    text = " ".join(done.stderr.split())
    assert "XLWINGS_LICENSE_KEY=noncommercial" in text and "Traceback" not in text
