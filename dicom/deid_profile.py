"""PS3.15 Table E.1-1 as data, and the options of a de-identification run.

The table (`dicom/data/ps3.15_table_E.1-1.json`, built by `scripts/build_deid_table.py`)
holds the Basic Profile action of every listed attribute and the action of each option
column. `Profile.action(tag, options)` resolves one attribute to a single action:

- an applied option's action (K or C) replaces the Basic Profile action; when two applied
  options disagree, C (clean) wins over K (keep);
- compound Basic Profile actions are resolved to the choice that conforms whatever the
  attribute's type is in the IOD (we do not carry per-IOD types): X/Z -> Z (a zero-length
  value is valid for Type 2 and Type 3, PS3.5 7.4.6), X/D, Z/D, X/Z/D -> D (a dummy is valid
  for every type), X/Z/U* -> U (the sequence is kept, the UIDs in it are replaced);
- attributes the table does not list are kept (K); private attributes have their own row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any

from pydicom.tag import BaseTag

__all__ = ["OPTION_CODES", "MethodCode", "Options", "Profile", "profile"]

DATA = Path(__file__).parent / "data"
TABLE_FILE = DATA / "ps3.15_table_E.1-1.json"


@dataclass(frozen=True)
class MethodCode:
    """A coded concept of CID 7050 (the fields of pydicom's `Code` that the copy writes)."""

    value: str
    meaning: str
    scheme_designator: str = "DCM"


# CID 7050 De-identification Method (DCM, PS3.16). Written out rather than read from
# pydicom's code dictionary, which costs about a second of CPU to import at every start;
# tests/dicom/test_deid_profile_codes.py checks them against that dictionary.
OPTION_CODES: dict[str, MethodCode] = {
    name: MethodCode(value, meaning)
    for name, value, meaning in (
        ("basic", "113100", "Basic Application Confidentiality Profile"),
        ("clean_pixel_data", "113101", "Clean Pixel Data Option"),
        (
            "clean_recognizable_visual_features",
            "113102",
            "Clean Recognizable Visual Features Option",
        ),
        ("clean_graphics", "113103", "Clean Graphics Option"),
        ("clean_structured_content", "113104", "Clean Structured Content Option"),
        ("clean_descriptors", "113105", "Clean Descriptors Option"),
        (
            "retain_long_full_dates",
            "113106",
            "Retain Longitudinal Temporal Information Full Dates Option",
        ),
        (
            "retain_long_modified_dates",
            "113107",
            "Retain Longitudinal Temporal Information Modified Dates Option",
        ),
        ("retain_patient_characteristics", "113108", "Retain Patient Characteristics Option"),
        ("retain_device_identity", "113109", "Retain Device Identity Option"),
        ("retain_uids", "113110", "Retain UIDs Option"),
        ("retain_safe_private", "113111", "Retain Safe Private Option"),
        ("retain_institution_identity", "113112", "Retain Institution Identity Option"),
    )
}
COMPOUND = {"X/Z": "Z", "X/D": "D", "Z/D": "D", "X/Z/D": "D", "X/Z/U*": "U"}


@dataclass(frozen=True)
class Options:
    """The options of one run; `applied()` is what the copy's method code sequence lists.

    Always applied: Retain Longitudinal Temporal Information with Modified Dates and Clean
    Descriptors. Not offered: Retain UIDs, Full Dates, Institution Identity, Clean Graphics,
    Clean Structured Content, Clean Recognizable Visual Features (their columns stay Basic).
    """

    retain_patient_characteristics: bool = True
    retain_device_identity: bool = False
    retain_safe_private: bool = False
    clean_pixel_data: bool = False  # set per instance when the clean-pixel step ran on it

    retain_long_modified_dates = True
    clean_descriptors = True

    def table_columns(self) -> set[str]:
        """The option columns of Table E.1-1 in force."""
        on = {"retain_long_modified_dates", "clean_descriptors"}
        for f in fields(self):
            if getattr(self, f.name) and f.name != "clean_pixel_data":
                on.add(f.name)
        return on

    def applied(self) -> list[str]:
        """Names of the profile and options applied, in CID 7050 order."""
        on = self.table_columns() | ({"clean_pixel_data"} if self.clean_pixel_data else set())
        return ["basic", *[k for k in OPTION_CODES if k in on]]


@dataclass(frozen=True)
class Row:
    tag: str
    name: str
    keyword: str
    basic: str
    options: dict[str, str]


class Profile:
    """Table E.1-1 loaded from its data file."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.standard: str = doc["standard"]
        self.source: dict[str, str] = doc["source"]
        self.rows: list[Row] = [
            Row(r["tag"], r["name"], r["keyword"], r["basic"], r["options"])
            for r in doc["attributes"]
        ]
        self._exact = {
            int(r.tag, 16): r for r in self.rows if "x" not in r.tag and r.tag != "private"
        }
        self._patterns = [r for r in self.rows if "x" in r.tag]
        self.private = next(r for r in self.rows if r.tag == "private")

    def row(self, tag: BaseTag | int) -> Row | None:
        """The row of a standard attribute (repeating groups 50xx/60xx matched too)."""
        tag = int(tag)
        found = self._exact.get(tag)
        if found is not None:
            return found
        group, elem = tag >> 16, tag & 0xFFFF
        for r in self._patterns:
            g, e = r.tag[:4], r.tag[4:]
            if g[:2] == f"{group:04x}"[:2] and (e == "xxxx" or int(e, 16) == elem):
                if group % 2 == 0 and group >> 8 in (0x50, 0x60):
                    return r
        return None

    @staticmethod
    def resolve(row: Row, options: Options) -> str:
        """The single action for one row under the options in force."""
        on = options.table_columns()
        chosen = {a for col, a in row.options.items() if col in on}
        if chosen:
            return "C" if "C" in chosen else "K"
        return COMPOUND.get(row.basic, row.basic)

    def action(self, tag: BaseTag | int, options: Options) -> str | None:
        """X, Z, D, K, C or U for a listed attribute, None for one the table does not list."""
        if BaseTag(int(tag)).is_private:
            return self.resolve(self.private, options)
        row = self.row(tag)
        return None if row is None else self.resolve(row, options)


@cache
def profile() -> Profile:
    """The shipped table (read once)."""
    return Profile(json.loads(TABLE_FILE.read_text()))
