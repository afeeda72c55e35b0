"""The attendance code sets: every code of DOMAIN.md section 5 with its group and DfE flags, in force on the right dates."""
import pandas as pd
import pytest

from apxl.core.attendance_codes import REFORM_DATE, CodeSet, set_name
from apxl.errors import ApxlError
from apxl.io.attendance import load_code_set

# DOMAIN.md section 5, 2024 set: code -> (group, possible, attendance)
SET_2024 = {
    **{c: ("present", True, True) for c in ["/", "\\", "L"]},
    **{c: ("off-site", True, True) for c in ["K", "V", "P", "W", "B"]},
    "D": ("not counted", False, False),
    **{c: ("authorised", True, False) for c in ["C1", "M", "J1", "S", "C2", "C", "T", "R", "I", "E"]},
    "X": ("not counted", False, False),
    **{c: ("not counted", False, False) for c in ["Q", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7"]},
    **{c: ("unauthorised", True, False) for c in ["G", "N", "O", "U"]},
    **{c: ("administrative", False, False) for c in ["Z", "#"]},
}
# 2006 set: / \ L B J P V W attend; D X Y Z # not possible; C E H I M R S T authorised; G N O U unauthorised.
SET_2006 = {
    **{c: (True, True) for c in ["/", "\\", "L", "B", "J", "P", "V", "W"]},
    **{c: (False, False) for c in ["D", "X", "Y", "Z", "#"]},
    **{c: (True, False) for c in ["C", "E", "H", "I", "M", "R", "S", "T", "G", "N", "O", "U"]},
}
AUTH_2006 = set("CEHIMRST")
UNAUTH = set("GNOU")


@pytest.fixture(scope="module")
def codes():
    return load_code_set()


def test_2024_set_has_every_domain_code_with_its_flags(codes):
    table = codes.on("2024-09-02").set_index("code")
    assert set(table.index) == set(SET_2024)
    for code, (group, possible, attend) in SET_2024.items():
        row = table.loc[code]
        assert (row["group"], bool(row["possible"]), bool(row["attendance"])) == (group, possible, attend), code


def test_2006_set_has_every_domain_code_with_its_flags(codes):
    table = codes.on("2024-06-03").set_index("code")
    assert set(table.index) == set(SET_2006)
    for code, (possible, attend) in SET_2006.items():
        assert (bool(table.loc[code, "possible"]), bool(table.loc[code, "attendance"])) == (possible, attend), code
    assert {c for c in table.index if table.loc[c, "group"] == "authorised"} == AUTH_2006
    assert {c for c in table.index if table.loc[c, "group"] == "unauthorised"} == UNAUTH


def test_codes_change_on_19_august_2024(codes):
    looked = codes.lookup(pd.Series(["K", "K", "H", "H", "J", "J", "B", "B"]),
                          pd.Series(pd.to_datetime(["2024-08-18", "2024-08-19"] * 4)))
    assert looked["valid"].tolist() == [False, True, True, False, True, False, True, True]
    assert looked["instead"].tolist()[5] == ("J1",)
    assert looked["instead"].tolist()[0] == ("B",)
    assert looked["instead"].tolist()[3] == ("G",)
    assert looked["known"].all()
    assert list(set_name(pd.to_datetime(["2024-08-18", "2024-08-19"]))) == ["2006 codes", "2024 codes"]
    assert REFORM_DATE == pd.Timestamp("2024-08-19")


def test_unknown_and_blank_codes_are_not_valid(codes):
    looked = codes.lookup(pd.Series(["ZZ", None, "c1".upper()]), pd.Series(pd.to_datetime(["2025-01-06"] * 3)))
    assert looked["valid"].tolist() == [False, False, True]
    assert looked["known"].tolist() == [False, False, True]


def test_lookup_keeps_the_callers_index(codes):
    s = pd.Series(["/", "N"], index=[10, 11])
    looked = codes.lookup(s, pd.Series(pd.to_datetime(["2025-01-06", "2025-01-06"]), index=[10, 11]))
    assert list(looked.index) == [10, 11]
    assert looked.loc[11, "group"] == "unauthorised"


@pytest.mark.parametrize("bad, message", [
    ({"possible": "maybe"}, "possible"),
    ({"group": "present-ish"}, "group"),
    ({"valid_from": "19/08/2024"}, "valid_from"),
])
def test_a_broken_code_table_is_one_clear_error(bad, message):
    row = {"code": "/", "meaning": "Present", "group": "present", "possible": "Y", "attendance": "Y", "valid_from": "", "valid_to": ""}
    with pytest.raises(ApxlError, match=message):
        CodeSet.from_records([{**row, **bad}])


def test_overlapping_validity_is_refused():
    row = {"code": "/", "meaning": "Present", "group": "present", "possible": "Y", "attendance": "Y", "valid_from": "", "valid_to": ""}
    with pytest.raises(ApxlError, match="two rows"):
        CodeSet.from_records([row, {**row, "valid_from": "2024-08-19"}])
