"""Unique pupil numbers (UPNs): shape, DfE check letter and temporary UPNs, for one value or a whole column.

Re-exported by ``apxl.core.pupils``. Source: DfE UPN guidance (DOMAIN.md section 6): a check letter,
LA number (3 digits), establishment number (4), 2-digit year and 3-digit serial; a temporary UPN ends
in a letter instead of the last digit.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

# DfE check-letter table: remainders 0..22 map to these letters (I, O and S are never used because
# they look like 1, 0 and 5). A temporary UPN's trailing letter counts as its position in this table.
CHECK_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
UPN_WEIGHTS = np.arange(2, 14)  # weights for characters 2..13

_SHAPE = rf"[A-Z][0-9]{{11}}[0-9{CHECK_LETTERS}]"
_VALUES = np.full(256, -1, dtype=np.int64)  # ASCII code -> value of that character in the sum
_VALUES[np.frombuffer(b"0123456789", dtype=np.uint8)] = np.arange(10)
_VALUES[np.frombuffer(CHECK_LETTERS.encode(), dtype=np.uint8)] = np.arange(23)
_LETTER_ARRAY = np.array(list(CHECK_LETTERS), dtype=object)
_SHAPE_RE = re.compile(_SHAPE)

# Plain-words explanations, shared by the scalar and vectorised checks so both read the same.
_TOO_LONG_SHORT = "has {n} characters; a UPN has 13 (a check letter and 12 more)"
_NO_LETTER = "does not start with a letter (the check letter)"
_NOT_DIGITS = "has something other than a digit in characters 2 to 12"
_BAD_END = "ends in something other than a digit or a letter (temporary UPNs end in a letter other than I, O or S)"
_WRONG = "check letter is {got}, but characters 2 to 13 call for {want}"
_TEMPORARY = "ends in a letter: a temporary UPN"


class UpnStatus(StrEnum):
    """What a UPN check found. ``VALID`` and ``TEMPORARY`` both have a correct check letter."""

    VALID = "valid"
    TEMPORARY = "temporary"
    MALFORMED = "malformed"
    WRONG_CHECK_LETTER = "wrong check letter"
    BLANK = "blank"


@dataclass(frozen=True)
class UpnCheck:
    """The result of checking one UPN.

    ``expected_letter`` is the check letter the other twelve characters call for (None when the UPN
    is malformed); ``problem`` explains a malformed, wrong or temporary UPN in plain words.
    """

    upn: str | None
    status: UpnStatus
    temporary: bool
    expected_letter: str | None
    problem: str

    @property
    def ok(self) -> bool:
        """True when the check letter is right (a temporary UPN is ok but should be replaced)."""
        return self.status in (UpnStatus.VALID, UpnStatus.TEMPORARY)


def normalise_upns(upns: pd.Series) -> pd.Series:
    """UPNs as the DfE writes them: upper case, no spaces. Blank cells become missing."""
    text = pd.Series(upns, dtype="object").astype("string").str.replace(r"\s+", "", regex=True).str.upper()
    return text.mask(text == "")


def _letters_for(shaped: pd.Series) -> np.ndarray:
    """Check letters for UPNs already known to have the right shape (13 ASCII characters)."""
    if not len(shaped):
        return np.array([], dtype=object)
    codes = shaped.to_numpy(dtype=object).astype("S13").view(np.uint8).reshape(-1, 13)
    total = (_VALUES[codes[:, 1:]] * UPN_WEIGHTS).sum(axis=1) % 23
    return _LETTER_ARRAY[total]


def upn_check_letters(upns: pd.Series) -> pd.Series:
    """The correct check letter for each UPN (from characters 2-13), or missing if the UPN is malformed.

    Characters 2..13 are multiplied by weights 2..13 (a trailing letter counts as its value in the
    check-letter table, A=0 .. Z=22), summed, taken mod 23 and mapped to ABCDEFGHJKLMNPQRTUVWXYZ.
    """
    text = normalise_upns(upns)
    shaped = text.str.fullmatch(_SHAPE).fillna(False).astype(bool)
    out = pd.Series(pd.NA, index=text.index, dtype="string")
    out[shaped] = _letters_for(text[shaped])
    return out


def check_upns(upns: pd.Series) -> pd.DataFrame:
    """Check a column of UPNs at once. Returns a frame aligned to ``upns`` with columns:

    ``upn`` (normalised), ``status`` (a UpnStatus value), ``temporary`` (bool: well formed and ending in
    a letter), ``expected_letter`` (the right check letter, where the shape allows one) and ``problem``
    (plain-words explanation, empty when valid).
    """
    text = normalise_upns(upns)
    blank = text.isna()
    length = text.str.len().fillna(0).astype("int64")
    shaped = text.str.fullmatch(_SHAPE).fillna(False).astype(bool)
    expected = pd.Series(pd.NA, index=text.index, dtype="string")
    expected[shaped] = _letters_for(text[shaped])
    first = text.str[0]
    temporary = shaped & text.str[-1].str.isalpha().fillna(False).astype(bool)
    wrong = shaped & (first != expected).fillna(False).astype(bool)

    starts_ok = text.str.match(r"[A-Z]").fillna(False).astype(bool)
    middle_ok = text.str.slice(1, 12).str.fullmatch(r"[0-9]{11}").fillna(False).astype(bool)
    why_malformed = np.select(
        [length != 13, ~starts_ok, ~middle_ok],
        [
            _TOO_LONG_SHORT.split("{n}")[0] + length.astype(str) + _TOO_LONG_SHORT.split("{n}")[1],
            pd.Series(_NO_LETTER, index=text.index),
            pd.Series(_NOT_DIGITS, index=text.index),
        ],
        default=_BAD_END,
    )
    problem = pd.Series("", index=text.index, dtype="object")
    problem[~shaped] = pd.Series(why_malformed, index=text.index)[~shaped]
    got, want = _WRONG.split("{got}")[1].split("{want}")
    problem[wrong] = (_WRONG.split("{got}")[0] + first[wrong] + got + expected[wrong] + want).astype(object)
    problem[temporary & ~wrong] = _TEMPORARY
    problem[blank] = "blank"

    status = np.select(
        [blank, ~shaped, wrong, temporary],
        [UpnStatus.BLANK.value, UpnStatus.MALFORMED.value, UpnStatus.WRONG_CHECK_LETTER.value, UpnStatus.TEMPORARY.value],
        default=UpnStatus.VALID.value,
    )
    return pd.DataFrame(
        {"upn": text, "status": pd.Series(status, index=text.index, dtype="object"), "temporary": temporary,
         "expected_letter": expected, "problem": problem},
        index=text.index,
    )


def normalise_upn(upn: Any) -> str | None:
    """Scalar version of ``normalise_upns``: ' b801 2000 05001' -> 'B801200005001'; blank -> None."""
    if upn is None or (not isinstance(upn, str) and pd.isna(upn)):
        return None
    text = re.sub(r"\s+", "", str(upn)).upper()
    return text or None


def _letter_of(shaped: str) -> str:
    total = sum(w * (int(c) if c.isdigit() else CHECK_LETTERS.index(c)) for w, c in zip(range(2, 14), shaped[1:]))
    return CHECK_LETTERS[total % 23]


def check_upn(upn: Any) -> UpnCheck:
    """Check one UPN, e.g. ``check_upn("B801200005001").status == UpnStatus.VALID``.

    Plain Python (fast enough for an Excel function per cell); agrees with ``check_upns``.
    """
    text = normalise_upn(upn)
    if text is None:
        return UpnCheck(None, UpnStatus.BLANK, False, None, "blank")
    if not _SHAPE_RE.fullmatch(text):
        if len(text) != 13:
            why = _TOO_LONG_SHORT.format(n=len(text))
        elif not re.match(r"[A-Z]", text):
            why = _NO_LETTER
        elif not re.fullmatch(r"[0-9]{11}", text[1:12]):
            why = _NOT_DIGITS
        else:
            why = _BAD_END
        return UpnCheck(text, UpnStatus.MALFORMED, False, None, why)
    want = _letter_of(text)
    temporary = text[-1].isalpha()
    if text[0] != want:
        return UpnCheck(text, UpnStatus.WRONG_CHECK_LETTER, temporary, want, _WRONG.format(got=text[0], want=want))
    if temporary:
        return UpnCheck(text, UpnStatus.TEMPORARY, True, want, _TEMPORARY)
    return UpnCheck(text, UpnStatus.VALID, False, want, "")


def is_valid_upn(upn: Any, *, allow_temporary: bool = True) -> bool:
    """True when ``upn`` is a well-formed UPN with the right check letter (temporary ones only if allowed)."""
    status = check_upn(upn).status
    return status == UpnStatus.VALID or (allow_temporary and status == UpnStatus.TEMPORARY)


def upn_check_letter(upn: str) -> str | None:
    """The check letter for one UPN: give all 13 characters, or the 12 after the check letter."""
    text = normalise_upn(upn) or ""
    if len(text) == 12:
        text = "A" + text
    return _letter_of(text) if _SHAPE_RE.fullmatch(text) else None


def with_check_letter(body: str) -> str:
    """A full UPN from its 12 characters after the check letter (LA, establishment, year, serial).

    ``with_check_letter("801200005001") == "B801200005001"``. Raises ValueError for a malformed body.
    """
    letter = upn_check_letter(body)
    if letter is None:
        raise ValueError("A UPN body is 11 digits followed by a digit or a check-table letter.")
    return letter + (normalise_upn(body) or "")
