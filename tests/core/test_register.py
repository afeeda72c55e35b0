"""Register: tables deferred with ``defer`` are read on first use or on ``resolve``, and their STR findings added."""
import pandas as pd

from apxl.core.parse import parse_table, raw_from_records, register_from_records

ATT = [{"UPN": "A801200005001", "Date": "02/09/2024", "Session": "AM", "Code": "/", "Source": "School"}] * 2  # a duplicate


def _loader(calls):
    def load():
        calls.append("read")
        return parse_table("attendance", raw_from_records("attendance", ATT))
    return load


def test_a_deferred_table_is_read_once_on_first_use_with_its_findings():
    register = register_from_records(placements=[{"Placement ID": "P1"}])
    before = len(register.findings)
    calls = []
    register.defer("attendance", _loader(calls))
    assert "attendance" not in register.tables and calls == []
    assert len(register.attendance) == 2 and calls == ["read"]
    assert register.attendance is register.attendance and calls == ["read"]
    assert len(register.findings) > before and "STR-005" in set(register.findings["rule_id"])


def test_resolve_reads_every_deferred_table():
    register = register_from_records(placements=[{"Placement ID": "P1"}])
    calls = []
    register.defer("attendance", _loader(calls))
    register.resolve()
    register.resolve()
    assert calls == ["read"] and not register.pending
    pd.testing.assert_frame_equal(register.attendance, register_from_records(placements=[{"Placement ID": "P1"}], attendance=ATT).attendance)
