"""Fill in a workbook the way a person would in LibreOffice Calc: run with the system Python that has LibreOffice's UNO bridge.

Usage: /usr/bin/python3 lo_fill.py IN.xlsx OUT.xlsx EDITS.json PROFILE_DIR
EDITS is a list of [sheet, cell, value]; strings are typed as text, numbers as numbers. The
workbook is opened, edited cell by cell through Calc, and saved with Calc's own Excel 2007 filter.
"""
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import uno  # noqa: F401  (provided by LibreOffice's python3-uno)
from com.sun.star.beans import PropertyValue


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def main(src, dst, edits_path, profile):
    pipe = f"apxl_{uuid.uuid4().hex[:12]}"
    office = subprocess.Popen(["soffice", "--headless", "--invisible", "--norestore", "--nologo", f"-env:UserInstallation={Path(profile).resolve().as_uri()}",
                               f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        ctx = None
        for _ in range(240):  # LibreOffice takes a while to start on a busy machine
            try:
                ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                break
            except Exception:
                time.sleep(0.5)
        if ctx is None:
            raise SystemExit("LibreOffice did not start")
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        doc = desktop.loadComponentFromURL(Path(src).resolve().as_uri(), "_blank", 0, (prop("Hidden", True),))
        for sheet, ref, value in json.loads(Path(edits_path).read_text()):
            cell = doc.Sheets.getByName(sheet).getCellRangeByName(ref)
            if isinstance(value, (int, float)):
                cell.setValue(value)
            else:
                cell.setString(value)
        doc.storeToURL(Path(dst).resolve().as_uri(), (prop("FilterName", "Calc MS Excel 2007 XML"),))
        doc.close(True)
        try:
            desktop.terminate()
        except Exception:
            pass
    finally:
        try:
            office.wait(timeout=30)
        except subprocess.TimeoutExpired:
            office.kill()


if __name__ == "__main__":
    main(*sys.argv[1:5])
