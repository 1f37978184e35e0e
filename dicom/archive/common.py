"""What both archive adapters share: the errors, the result of a store, frame extraction.

ArchiveError          base (the archive refused or failed)
├── ArchiveUnavailable the archive cannot be reached (retry later)
└── NotInArchive       no such study/series/instance/frame
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

import pydicom
from pydicom.dataset import Dataset


class ArchiveError(Exception):
    """The archive refused or failed."""


class ArchiveUnavailable(ArchiveError):
    """The archive cannot be reached; try again later."""


class NotInArchive(ArchiveError):
    """No such study, series, instance or frame."""


@dataclass(frozen=True)
class StoreResult:
    sop_uid: str
    study_uid: str
    series_uid: str
    already_stored: bool


def read_header(data: bytes) -> Dataset:
    try:
        return pydicom.dcmread(BytesIO(data), stop_before_pixels=True)
    except Exception as exc:  # pydicom raises many kinds on bad input
        raise ArchiveError(f"not a readable DICOM file: {exc}") from exc


NATIVE_LITTLE_ENDIAN = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1")


def frames_of(ds: Dataset, count: int, numbers: list[int]) -> list[bytes]:
    """Frames as native little-endian pixel bytes, decoding compressed or big-endian data."""
    if str(ds.file_meta.TransferSyntaxUID) not in NATIVE_LITTLE_ENDIAN:
        arr = ds.pixel_array
        arr = arr.astype(arr.dtype.newbyteorder("<"))
        frames = [arr] if count == 1 else [arr[i] for i in range(count)]
        return [frames[n - 1].tobytes() for n in numbers]
    data = bytes(ds.PixelData)
    size = len(data) // count
    return [data[(n - 1) * size : n * size] for n in numbers]
