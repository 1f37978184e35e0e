from __future__ import annotations

from datetime import date

import pytest

from telemed.core.errors import Invalid
from telemed.identity import resident_id as rid


def test_known_valid_number_parses() -> None:
    # The GB 11643 standard's worked example.
    parsed = rid.parse("11010519491231002X")
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex == "female"
    assert parsed.masked == "110***********002X"


def test_bad_check_digit_says_so() -> None:
    with pytest.raises(Invalid, match="check digit is 1, expected X"):
        rid.parse("110105194912310021")


def test_impossible_birth_date_says_so() -> None:
    first17 = "15012219620231001"
    with pytest.raises(Invalid, match="impossible birth date 19620231"):
        rid.parse(first17 + rid.check_digit(first17))


def test_future_birth_date_is_refused() -> None:
    number = rid.make("150122", date(2030, 1, 1), 1)
    with pytest.raises(Invalid, match="impossible birth date"):
        rid.parse(number, today=date(2026, 1, 1))


@pytest.mark.parametrize("value", ["1234", "15012219620314017A", "A50122196203140171"])
def test_malformed_numbers(value: str) -> None:
    with pytest.raises(Invalid):
        rid.parse(value)


def test_made_numbers_round_trip() -> None:
    for serial in range(50):
        n = rid.make("150122", date(1980, 5, 17), serial, female=serial % 2 == 0)
        assert rid.parse(n).sex == ("female" if serial % 2 == 0 else "male")
