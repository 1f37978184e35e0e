"""Resident identity card number (居民身份证号码), GB 11643-1999."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date

from telemed.core.errors import Invalid

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: date
    sex: str  # male | female
    region_code: str

    @property
    def masked(self) -> str:
        return mask(self.number)


def check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits."""
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def parse(value: str, *, today: date | None = None) -> ResidentId:
    """Validate an 18-character resident ID; raise `Invalid` saying why it is refused."""
    number = value.strip().upper()
    if len(number) != 18:
        raise Invalid(
            f"resident ID must have 18 characters, got {len(number)}", field="resident_id"
        )
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise Invalid("resident ID must be 17 digits followed by a digit or X", field="resident_id")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise Invalid(
            f"resident ID holds an impossible birth date {number[6:14]}", field="resident_id"
        ) from None
    if born.year < 1880 or (today is not None and born > today):
        raise Invalid(
            f"resident ID holds an impossible birth date {number[6:14]}", field="resident_id"
        )
    expected = check_digit(number[:17])
    if number[17] != expected:
        raise Invalid(
            f"resident ID check digit is {number[17]}, expected {expected}: the number is mistyped",
            field="resident_id",
        )
    sex = "male" if int(number[16]) % 2 else "female"
    return ResidentId(number=number, birth_date=born, sex=sex, region_code=number[:6])


def mask(number: str) -> str:
    """Show the first 3 and last 4 characters: 150***********1234."""
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def fingerprint(number: str, *, key: str) -> str:
    """Keyed hash used to match a resident ID without storing it in clear."""
    return hmac.new(key.encode(), number.upper().encode(), hashlib.sha256).hexdigest()


def make(region_code: str, born: date, serial: int, *, female: bool = False) -> str:
    """Build a valid number (demo data and tests)."""
    seq = serial % 1000
    if female == bool(seq % 2):
        seq = (seq + 1) % 1000
    first17 = f"{region_code}{born:%Y%m%d}{seq:03d}"
    return first17 + check_digit(first17)
