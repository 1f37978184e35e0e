"""`python -m dicom.slide_convert SOURCE OUT_DIR IDENTITY_JSON`: one vendor slide to DICOM.

Run by `dicom.slides` in a process of its own: wsidicomizer switches pydicom to its
"future" behaviour when imported (`pydicom.config.future_behavior()`, process-wide), which
would change how every other part of the server reads pixel data; the child also keeps
the converter's native libraries and memory out of the server. Prints the written files,
one per line.
"""

from __future__ import annotations

import json
import sys

from pydicom.dataset import Dataset


def main(argv: list[str]) -> int:
    source, out, identity = argv
    from wsidicomizer import WsiDicomizer

    fields = json.loads(identity)
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"  # UTF-8: patients' names are Chinese or Mongolian
    ds.PatientName = fields.get("patient_name") or ""
    ds.PatientID = fields.get("patient_mrn") or ""
    ds.AccessionNumber = fields.get("accession") or ""
    files = WsiDicomizer.convert(
        source,
        out,
        include_label=False,  # a label shows the patient's name in the picture
        include_overview=False,
        metadata_post_processor=ds,
        workers=1,  # the job shares the server's cores
    )
    print("\n".join(str(f) for f in files))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
