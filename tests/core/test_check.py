"""check_register: a faulty rule is reported as SYS-001 and the other rules still run (strict re-raises)."""
from datetime import date

import pandas as pd
import pytest

from apxl.core.check import check_register
from apxl.core.parse import register_from_records
from apxl.core.rules.registry import RULES, Rule


@pytest.fixture()
def broken_rule():
    def explode(ctx):
        raise TypeError("boom")

    RULES["ZZZ-999"] = Rule("ZZZ-999", "a rule with a bug", "error", "test", "ZZZ", explode)
    yield
    del RULES["ZZZ-999"]


def _register():
    return register_from_records(placements=[{"Placement ID": "P1", "UPN": "A801200005001", "Provider ID": "X", "Route": "PEX",
                                              "Commissioner": "LA", "Registration": "Dual", "Start date": "02/09/2024"}])


def test_a_failing_rule_becomes_sys001_and_the_rest_still_run(broken_rule):
    report = check_register(_register(), as_of=date(2025, 1, 31))
    sys = report.by_rule("SYS-001")
    assert len(sys) == 1 and "ZZZ-999" in sys.iloc[0]["message"] and sys.iloc[0]["severity"] == "error"
    assert "PUP-001" in report.rule_ids()


def test_strict_mode_raises(broken_rule):
    with pytest.raises(TypeError):
        check_register(_register(), as_of=date(2025, 1, 31), strict=True)


def test_no_as_of_anywhere_is_a_clear_error():
    with pytest.raises(ValueError, match="as of"):
        check_register(_register())


def test_attendance_checks_run_last_so_a_deferred_attendance_loads_meanwhile():
    from apxl.core.parse import parse_table, raw_from_records
    from apxl.core.policy import default_policy
    from apxl.core.rules.registry import catalogue
    from apxl.io.attendance import with_attendance_codes

    policy = with_attendance_codes(default_policy())
    sessions = [{"UPN": "A801200005001", "Date": d, "Session": "AM", "Code": "B", "Source": "School"} for d in ("02/09/2025", "08/09/2025")]
    eager = _register()
    eager.tables["attendance"], _ = parse_table("attendance", raw_from_records("attendance", sessions))
    deferred = _register()
    seen, read_after = [], []

    def load():
        read_after.extend(seen)
        return parse_table("attendance", raw_from_records("attendance", sessions))

    deferred.defer("attendance", load)
    report = check_register(deferred, policy, as_of=date(2025, 1, 31), progress=seen.append)
    others = {r.id for r in catalogue() if r.func is not None and r.area != "ATT"}
    assert others <= set(read_after) and not any(rid.startswith("ATT-") for rid in read_after)
    assert len(report.by_rule("ATT-002")) == 2  # the deferred sessions were checked: both are after the as-of date
    pd.testing.assert_frame_equal(report.frame, check_register(eager, policy, as_of=date(2025, 1, 31)).frame)


def test_a_deferred_attendance_that_cannot_be_read_is_an_error_not_a_faulty_rule():
    register = _register()

    def unreadable():
        raise OSError("the workbook went away")

    register.defer("attendance", unreadable)
    with pytest.raises(OSError):
        check_register(register, as_of=date(2025, 1, 31))
