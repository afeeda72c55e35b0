"""Payloads and rows for the Excel bridge tests: synthetic placements, Office.js-shaped calls."""
from __future__ import annotations

import xlwings as xw

PLACEMENT_HEADERS = [
    "Placement ID", "UPN", "Surname", "Forename", "Date of birth", "Year group", "EHCP (Y/N)", "Looked after (Y/N)",
    "Home school URN", "Home school name", "Provider ID", "Route", "Commissioner", "Place funder", "Top-up funder",
    "Registration (Dual/Single/Off-site)", "Start date", "Planned end date", "End date", "Exclusion start date",
    "Hours per week", "Days (e.g. Mon,Wed)", "Cost basis (Place/Week/Day/Hour)", "Rate (£)", "Objectives", "Review date",
    "Reintegration plan (Y/N)", "SEND officer consulted (Y/N)", "Virtual school consulted (Y/N)", "Destination",
]


def serial(day: str) -> int:
    """Excel's serial number for an ISO date, as Office.js sends dates to custom functions."""
    from datetime import date

    return (date.fromisoformat(day) - date(1899, 12, 30)).days


def placement(**changes):
    """A synthetic placement row (values as Excel would hold them) that passes the row checks."""
    row = {
        "Placement ID": "P001", "UPN": "B801200005001", "Surname": "Testpupil", "Forename": "Alex",
        "Date of birth": serial("2010-03-04"), "Year group": 10, "EHCP (Y/N)": "N", "Looked after (Y/N)": "N",
        "Home school URN": "123456", "Home school name": "Synthetic Academy", "Provider ID": "PRV1", "Route": "ASSESS",
        "Commissioner": "School", "Place funder": "School", "Top-up funder": "School",
        "Registration (Dual/Single/Off-site)": "Dual", "Start date": serial("2024-09-09"),
        "Planned end date": serial("2024-12-13"), "End date": None, "Exclusion start date": None, "Hours per week": 25,
        "Days (e.g. Mon,Wed)": "Mon,Tue,Wed,Thu,Fri", "Cost basis (Place/Week/Day/Hour)": "Week", "Rate (£)": 400,
        "Objectives": "Re-engage with learning", "Review date": serial("2024-11-15"), "Reintegration plan (Y/N)": "Y",
        "SEND officer consulted (Y/N)": "N", "Virtual school consulted (Y/N)": "N", "Destination": None,
    }
    row.update(changes)
    return [row[h] for h in PLACEMENT_HEADERS]


def office_call(name: str, *args, runtime: str = "1.4") -> dict:
    """A custom-function call body shaped as our Office.js code (and xlwings') sends it."""
    return {
        "func_name": name,
        "args": list(args),
        "caller_address": "[register.xlsx]Placements!AF2",
        "content_language": "en-GB",
        "culture_info_name": "en-GB",
        "client": "Office.js",
        "version": xw.__version__,
        "runtime": runtime,
    }


def cell(value):
    """One cell as Office.js passes a matrix parameter: [[value]]; a blank optional argument is null."""
    return None if value is None else [[value]]
