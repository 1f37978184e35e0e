"""A CT phantom series stored compressed (JPEG-LS lossless, JPEG 2000 …) for the viewer.

Each slice cuts a sphere of soft tissue (40 HU) with a bone shell (700 HU) and a lung-like
hollow (-800 HU) in air (-1000 HU), plus scanner-like noise (so lossless compression ratios are
those of real CT, not of a flat drawing). The sphere's cut grows and shrinks along the stack,
so neighbouring images differ visibly. Encoded by pydicom's encoders (pyjpegls for JPEG-LS,
pylibjpeg-openjpeg for JPEG 2000, pydicom's own RLE).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from tests.support.dicom_files import PREFIX, ct_dataset


def phantom_slice(index: int, count: int, size: int, seed: int = 0) -> np.ndarray:
    """Hounsfield values of slice `index` of `count` (int16, size x size)."""
    rng = np.random.default_rng(seed * 100_003 + index)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    c = (size - 1) / 2
    r = np.hypot(xx - c, yy - c)
    z = (index + 0.5) / count * 2 - 1  # -1 … 1 along the stack
    radius = size * 0.45 * np.sqrt(max(0.05, 1 - z * z))
    hu = np.full((size, size), -1000, np.float32)
    hu[r < radius] = 700
    hu[r < radius * 0.9] = 40
    lung = np.hypot(xx - c + size * 0.15, yy - c) < radius * 0.35
    hu[lung] = -800
    hu += rng.normal(0, 12, hu.shape).astype(np.float32)
    return np.clip(hu, -1024, 3071).astype(np.int16)


def phantom_datasets(
    count: int,
    size: int,
    transfer_syntax: str | None,
    *,
    study_uid: str | None = None,
    series_description: str = "AXIAL 5mm",
    **kw: str,
) -> Iterator[Dataset]:
    """The series one slice at a time, compressed to `transfer_syntax` (None: native)."""
    study_uid = study_uid or generate_uid(prefix=PREFIX)
    series_uid = generate_uid(prefix=PREFIX)
    for i in range(count):
        ds = ct_dataset(study_uid=study_uid, series_uid=series_uid, index=i, size=size, **kw)
        ds.SeriesDescription = series_description
        ds.SliceLocation = float(i) * 5.0
        ds.BitsStored = 12
        ds.HighBit = 11
        ds.PixelRepresentation = 0
        ds.RescaleIntercept = -1024
        stored = (phantom_slice(i, count, size).astype(np.int32) + 1024).astype(np.uint16)
        ds.PixelData = stored.tobytes()
        if transfer_syntax:
            ds.compress(transfer_syntax, stored)
        yield ds
