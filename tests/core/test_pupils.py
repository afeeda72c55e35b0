"""Pupil facts: UPN check letters, compulsory school age, year group and key stage (scalar and vectorised agree)."""
from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from apxl.core.pupils import (
    CHECK_LETTERS,
    UpnStatus,
    academic_year,
    ages_on,
    check_upn,
    check_upns,
    compulsory_school_age_end,
    compulsory_school_age_ends,
    compulsory_school_age_start,
    compulsory_school_age_starts,
    is_of_compulsory_school_age,
    is_valid_upn,
    key_stage,
    key_stage_at,
    key_stages,
    of_compulsory_school_age,
    upn_check_letter,
    upn_check_letters,
    with_check_letter,
    year_group,
    year_group_label,
    year_groups,
)

TABLE = "ABCDEFGHJKLMNPQRTUVWXYZ"  # DfE check-letter table, written out independently of the module


def reference_letter(tail: str) -> str:
    """The DfE algorithm, spelt out one character at a time, to test the vectorised code against."""
    total = 0
    for weight, ch in zip(range(2, 14), tail):
        total += weight * (int(ch) if ch.isdigit() else TABLE.index(ch))
    return TABLE[total % 23]


# --- hand-checked UPNs ---------------------------------------------------------------------------
# B801200005001 (DOMAIN.md section 6): 8x2 + 0x3 + 1x4 + 2x5 + 0x6 + 0x7 + 0x8 + 0x9 + 5x10 + 0x11 + 0x12 + 1x13
#   = 16 + 4 + 10 + 50 + 13 = 93; 93 mod 23 = 1 -> B.
# X935201624017: 9x2 + 3x3 + 5x4 + 2x5 + 0x6 + 1x7 + 6x8 + 2x9 + 4x10 + 0x11 + 1x12 + 7x13
#   = 18 + 9 + 20 + 10 + 7 + 48 + 18 + 40 + 12 + 91 = 273; 273 - 11x23 = 20 -> X (T=16 U V W X=20).
# M80120000500A (temporary, A counts 0): 16 + 4 + 10 + 50 + 0x13 = 80; 80 - 3x23 = 11 -> M.
# Y80120000500Z (temporary, Z counts 22): 80 + 22x13 = 366; 366 - 15x23 = 21 -> Y.
@pytest.mark.parametrize("upn,status,expected", [
    ("B801200005001", UpnStatus.VALID, "B"),
    ("X935201624017", UpnStatus.VALID, "X"),
    ("M80120000500A", UpnStatus.TEMPORARY, "M"),
    ("Y80120000500Z", UpnStatus.TEMPORARY, "Y"),
    ("A801200005001", UpnStatus.WRONG_CHECK_LETTER, "B"),
    ("B80120000500A", UpnStatus.WRONG_CHECK_LETTER, "M"),
    ("B80120000500", UpnStatus.MALFORMED, None),
    ("B8012000050011", UpnStatus.MALFORMED, None),
    ("B80120000A001", UpnStatus.MALFORMED, None),
    ("B80120000500I", UpnStatus.MALFORMED, None),
    ("8801200005001", UpnStatus.MALFORMED, None),
    (None, UpnStatus.BLANK, None),
    ("  ", UpnStatus.BLANK, None),
])
def test_hand_checked_upns(upn, status, expected):
    result = check_upn(upn)
    assert result.status == status
    assert result.expected_letter == expected
    assert (result.problem == "") == (status == UpnStatus.VALID)


def test_wrong_check_letter_says_which_letter_is_right():
    result = check_upn("A801200005001")
    assert "is A" in result.problem and "call for B" in result.problem
    assert not result.ok and not is_valid_upn("A801200005001")


def test_upns_are_read_case_and_space_insensitively():
    assert check_upn(" b801 2000 05001 ").status == UpnStatus.VALID
    assert check_upn(" b801 2000 05001 ").upn == "B801200005001"


def test_temporary_upns_can_be_refused():
    assert is_valid_upn("M80120000500A")
    assert not is_valid_upn("M80120000500A", allow_temporary=False)


def test_malformed_upns_say_what_is_wrong():
    assert "12 characters" in check_upn("B80120000500").problem
    assert "start with a letter" in check_upn("8801200005001").problem
    assert "digit in characters 2 to 12" in check_upn("B80120000A001").problem


def test_with_check_letter_builds_a_upn_and_refuses_bad_bodies():
    assert with_check_letter("801200005001") == "B801200005001"
    assert upn_check_letter("B801200005001") == upn_check_letter("801200005001") == "B"
    with pytest.raises(ValueError):
        with_check_letter("80120000500")


def test_module_table_is_the_dfe_table():
    assert CHECK_LETTERS == TABLE and not set("IOS") & set(CHECK_LETTERS) and len(CHECK_LETTERS) == 23


digits = st.text(alphabet="0123456789", min_size=11, max_size=11)
permanent_tails = st.builds(lambda d, last: d + last, digits, st.sampled_from("0123456789"))
temporary_tails = st.builds(lambda d, last: d + last, digits, st.sampled_from(TABLE))


@given(permanent_tails)
def test_any_generated_valid_upn_passes(tail):
    upn = reference_letter(tail) + tail
    result = check_upn(upn)
    assert result.status == UpnStatus.VALID and not result.temporary


@given(permanent_tails | temporary_tails, st.sampled_from(TABLE + "IOS"))
def test_changing_the_check_letter_fails(tail, letter):
    right = reference_letter(tail)
    result = check_upn(letter + tail)
    if letter == right:
        assert result.ok
    else:
        assert result.status == UpnStatus.WRONG_CHECK_LETTER and result.expected_letter == right


@given(temporary_tails)
def test_temporary_upns_are_detected(tail):
    result = check_upn(reference_letter(tail) + tail)
    assert result.status == UpnStatus.TEMPORARY and result.temporary


@given(permanent_tails, st.integers(0, 10), st.integers(1, 9))
def test_any_single_digit_typo_is_caught(tail, pos, delta):
    # Weights 2..13 are below the prime 23, so a changed digit always changes the remainder.
    upn = reference_letter(tail) + tail
    typo = tail[:pos] + str((int(tail[pos]) + delta) % 10) + tail[pos + 1:]
    assert check_upn(upn[0] + typo).status == UpnStatus.WRONG_CHECK_LETTER


@settings(deadline=None, max_examples=40)
@given(st.lists(st.one_of(st.none(), st.text(max_size=15), permanent_tails.map(lambda t: reference_letter(t) + t)), max_size=20))
def test_vectorised_check_matches_scalar_and_never_raises(values):
    frame = check_upns(pd.Series(values, dtype="object"))
    assert list(frame["status"]) == [check_upn(v).status.value for v in values]
    letters = upn_check_letters(pd.Series(values, dtype="object"))
    assert [None if pd.isna(x) else x for x in letters] == [check_upn(v).expected_letter for v in values]


# --- compulsory school age -----------------------------------------------------------------------

@pytest.mark.parametrize("dob,start,end", [
    # 5th birthday 15/06/2024 -> next prescribed day 31/08/2024; turns 16 on 15/06/2035, in 2034-35 -> Fri 29/06/2035.
    (date(2019, 6, 15), date(2024, 8, 31), date(2035, 6, 29)),
    # 5th birthday 01/09/2023 -> 31/12/2023; turns 16 on 01/09/2034, school year 2034-35 -> Fri 29/06/2035.
    (date(2018, 9, 1), date(2023, 12, 31), date(2035, 6, 29)),
    # 5th birthday on a prescribed day counts ("on or after"): 31/03/2024.
    (date(2019, 3, 31), date(2024, 3, 31), date(2035, 6, 29)),
    # 29 Feb birth: 5th birthday falls in a non-leap year, before 31 March either way.
    (date(2016, 2, 29), date(2021, 3, 31), date(2032, 6, 25)),
    # Turns 16 on 31/08/2024 (2023-24 school year): last Friday of June 2024 is 28/06/2024.
    (date(2008, 8, 31), date(2013, 8, 31), date(2024, 6, 28)),
    # June 2025 ends on a Monday: the last Friday is 27/06/2025.
    (date(2009, 6, 15), date(2014, 8, 31), date(2025, 6, 27)),
])
def test_compulsory_school_age_hand_checked(dob, start, end):
    assert compulsory_school_age_start(dob) == start
    assert compulsory_school_age_end(dob) == end
    assert is_of_compulsory_school_age(dob, start) and is_of_compulsory_school_age(dob, end)
    assert not is_of_compulsory_school_age(dob, start - timedelta(days=1))
    assert not is_of_compulsory_school_age(dob, end + timedelta(days=1))


def test_missing_dates_give_missing_answers():
    assert compulsory_school_age_start(None) is None and year_group(None, date(2024, 9, 1)) is None
    assert is_of_compulsory_school_age(date(2010, 1, 1), None) is None
    out = of_compulsory_school_age(pd.Series([pd.NaT, pd.Timestamp("2012-01-01")]), date(2024, 10, 1))
    assert out.isna().tolist() == [True, False] and bool(out.iloc[1])


def test_text_dates_are_read_day_first():
    assert year_group("01/09/2012", "01/10/2024") == 7
    assert compulsory_school_age_start("03/04/2019") == date(2024, 8, 31)


births = st.dates(min_value=date(1995, 1, 1), max_value=date(2025, 12, 31))


@given(births)
def test_compulsory_school_age_properties(dob):
    start, end = compulsory_school_age_start(dob), compulsory_school_age_end(dob)
    fifth = date(dob.year + 5, 3, 1) if (dob.month, dob.day) == (2, 29) else date(dob.year + 5, dob.month, dob.day)
    assert (start.month, start.day) in {(3, 31), (8, 31), (12, 31)}
    assert 0 <= (start - fifth).days <= 152
    assert end.month == 6 and end.weekday() == 4 and end.day > 23
    # Compulsory school age starts in Reception and ends in Year 11.
    assert year_group(dob, start) == 0 and year_group(dob, end) == 11


# --- year group and key stage --------------------------------------------------------------------

@pytest.mark.parametrize("dob,on,expected", [
    (date(2012, 9, 1), date(2024, 10, 1), 7),  # 11 on 31/08/2024 (turns 12 next day) -> Year 7, the oldest in the year
    (date(2013, 8, 31), date(2024, 10, 1), 7),  # 11 on 31/08/2024 -> Year 7 (youngest in the year)
    (date(2013, 9, 1), date(2024, 10, 1), 6),  # 10 on 31/08/2024 -> Year 6
    (date(2012, 9, 1), date(2025, 8, 31), 7),  # still the 2024-25 school year
    (date(2012, 9, 1), date(2025, 9, 1), 8),  # new school year
    (date(2020, 5, 1), date(2024, 9, 2), 0),  # 4 on 31/08/2024 -> Reception
])
def test_year_group_hand_checked(dob, on, expected):
    assert year_group(dob, on) == expected


@given(births, st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)))
def test_year_group_is_age_on_31_august_minus_4(dob, on):
    start = on.year if on.month >= 9 else on.year - 1
    age = start - dob.year - ((dob.month, dob.day) > (8, 31))
    assert year_group(dob, on) == age - 4


@given(births, st.integers(2000, 2040))
def test_year_group_goes_up_by_one_on_1_september_and_not_before(dob, year):
    before = year_group(dob, date(year, 8, 31))
    assert year_group(dob, date(year, 9, 1)) == before + 1
    assert year_group(dob, date(year, 1, 1)) == before


@given(st.integers(1995, 2025))
def test_a_cohort_runs_from_1_september_to_31_august(year):
    on = date(2030, 10, 1)
    assert year_group(date(year, 9, 1), on) == year_group(date(year + 1, 8, 31), on)
    assert year_group(date(year, 8, 31), on) == year_group(date(year, 9, 1), on) + 1


@settings(deadline=None, max_examples=40)
@given(st.lists(st.one_of(st.none(), births), max_size=15), st.dates(min_value=date(2010, 1, 1), max_value=date(2035, 12, 31)))
def test_vectorised_year_group_and_age_match_scalar(dobs, on):
    series = pd.Series(pd.to_datetime(pd.Series(dobs, dtype="object")), dtype="datetime64[ns]")
    yg = year_groups(series, on)
    assert [None if pd.isna(v) else int(v) for v in yg] == [year_group(d, on) for d in dobs]
    ages = ages_on(series, on)
    expected = [None if d is None else on.year - d.year - ((on.month, on.day) < (d.month, d.day)) for d in dobs]
    assert [None if pd.isna(v) else int(v) for v in ages] == expected
    starts = compulsory_school_age_starts(series)
    assert [None if pd.isna(v) else v.date() for v in starts] == [compulsory_school_age_start(d) for d in dobs]
    ends = compulsory_school_age_ends(series)
    assert [None if pd.isna(v) else v.date() for v in ends] == [compulsory_school_age_end(d) for d in dobs]


@pytest.mark.parametrize("year,stage", [(-1, "EYFS"), (0, "EYFS"), (1, "KS1"), (2, "KS1"), (3, "KS2"), (6, "KS2"), (7, "KS3"),
                                        (9, "KS3"), (10, "KS4"), (11, "KS4"), (12, "KS5"), (13, "KS5"), (14, None), (-2, None), (None, None)])
def test_key_stage_from_year_group(year, stage):
    assert key_stage(year) == stage
    out = key_stages(pd.Series([year], dtype="Int64"))
    assert (None if pd.isna(out.iloc[0]) else out.iloc[0]) == stage


def test_key_stage_from_date_of_birth_and_labels():
    assert key_stage_at(date(2012, 9, 1), date(2024, 10, 1)) == "KS3"
    assert key_stage_at(date(2009, 1, 1), date(2024, 10, 1)) == "KS4"  # 15 on 31/08/2024 -> Year 11
    assert [year_group_label(y) for y in (-1, 0, 7, None)] == ["Nursery", "Reception", "Year 7", None]
    assert academic_year(date(2025, 3, 1)) == "2024-25" and academic_year(date(2025, 9, 1)) == "2025-26"
