"""check_register: a faulty rule is reported as SYS-001 and the other rules still run (strict re-raises)."""
from datetime import date

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
