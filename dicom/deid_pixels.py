"""The clean-pixel step: blank the regions where a modality burns in text (Clean Pixel Data).

Rules (`dicom/data/clean_pixel_regions.json`, or a file named by
`TELEMED_DICOM__DEID_PIXEL_REGIONS`) name, per modality and manufacturer, boxes as fractions
of the image. `clean_pixels(ds)` decodes the pixels (pydicom), sets every box of every frame
to the lowest stored value, stores the result uncompressed (Explicit VR Little Endian) and
returns True; it returns False (pixels untouched) when no rule matches.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian

from dicom.deid_profile import DATA

__all__ = ["REGIONS_FILE", "clean_pixels", "rule_for"]

REGIONS_FILE = DATA / "clean_pixel_regions.json"


@cache
def _rules(path: Path) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = json.loads(path.read_text())["rules"]
    for r in rules:
        for box in r["boxes"]:
            left, top, right, bottom = box
            if not (0 <= left < right <= 1 and 0 <= top < bottom <= 1):
                raise ValueError(f"bad box {box} in {path}")
    return rules


def rule_for(ds: Dataset, path: Path | None = None) -> dict[str, Any] | None:
    """The first rule matching the instance's Modality and Manufacturer, if any."""
    modality = str(getattr(ds, "Modality", "")).upper()
    maker = str(getattr(ds, "Manufacturer", "") or "").upper()
    for r in _rules(path or REGIONS_FILE):
        if r["modality"].upper() != modality:
            continue
        want = r.get("manufacturer", "*").upper()
        if want == "*" or maker.startswith(want):
            return r
    return None


def clean_pixels(ds: Dataset, path: Path | None = None) -> bool:
    """Blank the configured regions in place; False when no rule matches or no pixels."""
    rule = rule_for(ds, path)
    if rule is None or "PixelData" not in ds:
        return False
    if ds.file_meta.TransferSyntaxUID.is_compressed:
        ds.decompress()  # pydicom sets the transfer syntax and photometric interpretation
    arr = np.array(ds.pixel_array)  # writable copy
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    samples = int(getattr(ds, "SamplesPerPixel", 1) or 1)
    view = arr.reshape((frames, int(ds.Rows), int(ds.Columns), samples))
    low = view.min()
    for left, top, right, bottom in rule["boxes"]:
        r0, r1 = int(top * ds.Rows), max(int(top * ds.Rows) + 1, round(bottom * ds.Rows))
        c0, c1 = int(left * ds.Columns), max(int(left * ds.Columns) + 1, round(right * ds.Columns))
        view[:, r0:r1, c0:c1, :] = low
    if int(getattr(ds, "PlanarConfiguration", 0) or 0) == 1:
        ds.PlanarConfiguration = 0  # pixel_array is interleaved (colour-by-pixel)
    if str(ds.PhotometricInterpretation).startswith("YBR"):
        ds.PhotometricInterpretation = "RGB"  # pixel_array converted the colour space
    ds.PixelData = view.astype(arr.dtype).tobytes()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return True
