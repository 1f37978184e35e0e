"""Build dicom/data/ps3.15_table_E.1-1.json from a machine-readable copy of PS3.15 Table E.1-1.

Source: innolitics/dicom-standard, `standard/confidentiality_profile_attributes.json`, which
that project extracts from the HTML edition of PS3.15 (Table E.1-1, "Application Level
Confidentiality Profile Attributes"). The last commit that changed that file is
"Update standard to rev2024b", so the table is the one of DICOM 2024b.

    python scripts/build_deid_table.py SOURCE.json --commit SHA --revision 2024b

(SOURCE.json from `git show SHA:standard/confidentiality_profile_attributes.json` in a clone
of that repository.) The output keeps every row: tag (or tag pattern), name, keyword (from
pydicom's data dictionary), the Basic Profile action and the action of each option column.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from pydicom.datadict import dictionary_keyword

# innolitics column ids -> our option names (PS3.15 Table E.1-1 column headings).
COLUMNS = {
    "rtnSafePrivOpt": "retain_safe_private",
    "rtnUIDsOpt": "retain_uids",
    "rtnDevIdOpt": "retain_device_identity",
    "rtnInstIdOpt": "retain_institution_identity",
    "rtnPatCharsOpt": "retain_patient_characteristics",
    "rtnLongFullDatesOpt": "retain_long_full_dates",
    "rtnLongModifDatesOpt": "retain_long_modified_dates",
    "cleanDescOpt": "clean_descriptors",
    "cleanStructContOpt": "clean_structured_content",
    "cleanGraphOpt": "clean_graphics",
}
BASIC_ACTIONS = {"X", "Z", "D", "U", "K", "C", "X/Z", "X/D", "Z/D", "X/Z/D", "X/Z/U*"}
OPTION_ACTIONS = {"K", "C"}
TAG = re.compile(r"\(([0-9A-FX]{4}),([0-9A-FX]{4})\)")


def convert(rows: list[dict[str, str]]) -> list[dict[str, object]]:
    """Our rows from the source rows; raises on anything the engine could not apply."""
    out: list[dict[str, object]] = []
    for row in rows:
        basic = row["basicProfile"]
        if basic not in BASIC_ACTIONS:
            raise ValueError(f"unknown Basic Profile action {basic!r} for {row['name']}")
        options = {COLUMNS[k]: v for k, v in row.items() if k in COLUMNS}
        bad = {k: v for k, v in options.items() if v not in OPTION_ACTIONS}
        if bad:
            raise ValueError(f"unknown option actions {bad} for {row['name']}")
        extra = set(row) - set(COLUMNS) - {"name", "tag", "stdCompIOD", "basicProfile", "id"}
        if extra:
            raise ValueError(f"unknown columns {extra} for {row['name']}")
        m = TAG.fullmatch(row["tag"])
        if m:
            tag = (m.group(1) + m.group(2)).lower()
        elif row["tag"].upper().startswith("(GGGG,EEEE)") and "ODD" in row["tag"].upper():
            tag = "private"
        else:
            raise ValueError(f"unparsed tag {row['tag']!r}")
        keyword = ""
        if "x" not in tag and tag != "private":
            keyword = dictionary_keyword(int(tag, 16)) if _known(tag) else ""
        out.append(
            {
                "tag": tag,
                "name": row["name"],
                "keyword": keyword,
                "in_std_iod": row["stdCompIOD"] == "Y",
                "basic": basic,
                "options": options,
            }
        )
    out.sort(key=lambda r: str(r["tag"]))
    return out


def _known(tag: str) -> bool:
    from pydicom.datadict import dictionary_has_tag

    return dictionary_has_tag(int(tag, 16))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", type=Path)
    ap.add_argument("--commit", required=True, help="innolitics/dicom-standard commit")
    ap.add_argument("--revision", required=True, help="DICOM edition of the table, e.g. 2024b")
    ap.add_argument("-o", "--output", type=Path, default=Path("dicom/data/ps3.15_table_E.1-1.json"))
    args = ap.parse_args(argv)
    rows = convert(json.loads(args.source.read_text()))
    doc = {
        "standard": f"DICOM PS3.15 {args.revision}",
        "table": "E.1-1 Application Level Confidentiality Profile Attributes",
        "source": {
            "repository": "innolitics/dicom-standard",
            "path": "standard/confidentiality_profile_attributes.json",
            "commit": args.commit,
        },
        "generated_by": "scripts/build_deid_table.py",
        "columns": ["basic", *COLUMNS.values()],
        "attributes": rows,
    }
    args.output.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(rows)} rows -> {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
