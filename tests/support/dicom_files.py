"""Generate DICOM files with pydicom (never downloaded): small CT series and big ones.

`ct_series(...)` returns datasets of one CT series; `write_series(...)` writes them as
Part-10 files. `benchmark_series(dir)` writes the 300 x 512x512 CT series of the benchmark.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    generate_uid,
)

PREFIX = "1.2.826.0.1.3680043.10.1234."


def ct_dataset(
    *,
    study_uid: str,
    series_uid: str,
    index: int,
    size: int = 16,
    patient_name: str = "TEST^PATIENT",
    patient_id: str = "PID0001",
    institution: str = "DEMO COUNTY HOSPITAL",
    study_date: str = "20261120",
    accession: str = "ACC0001",
    sop_uid: str | None = None,
    patient_sex: str = "M",
    patient_birth_date: str = "19620314",
) -> Dataset:
    """One CT slice with a deterministic gradient image."""
    sop_uid = sop_uid or generate_uid(prefix=PREFIX)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = generate_uid(prefix=PREFIX, entropy_srcs=[study_uid])
    if not patient_name.isascii():
        ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = patient_birth_date
    ds.PatientSex = patient_sex
    ds.StudyDate = study_date
    ds.SeriesDate = study_date
    ds.ContentDate = study_date
    ds.StudyTime = "101500"
    ds.AccessionNumber = accession
    ds.StudyID = "1"
    ds.StudyDescription = "CT CHEST"
    ds.SeriesDescription = "AXIAL 5mm"
    ds.Modality = "CT"
    ds.Manufacturer = "TELEMED-TEST"
    ds.InstitutionName = institution
    ds.ReferringPhysicianName = "REF^DOCTOR"
    ds.SeriesNumber = 1
    ds.InstanceNumber = index + 1
    ds.ImagePositionPatient = [0.0, 0.0, float(index) * 5.0]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.SliceThickness = 5.0
    ds.PixelSpacing = [0.7, 0.7]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = size
    ds.Columns = size
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.WindowCenter = 40
    ds.WindowWidth = 400
    ramp = np.add.outer(np.arange(size), np.arange(size)).astype(np.int16)
    pixels = (ramp * (2000 // max(1, 2 * size)) + index).astype(np.int16)
    ds.PixelData = pixels.tobytes()
    ds.BurnedInAnnotation = "NO"
    return ds


def ct_series(
    count: int = 3,
    *,
    size: int = 16,
    study_uid: str | None = None,
    series_uid: str | None = None,
    **kw: str,
) -> list[Dataset]:
    """A CT series of `count` slices of size x size pixels."""
    study_uid = study_uid or generate_uid(prefix=PREFIX)
    series_uid = series_uid or generate_uid(prefix=PREFIX)
    return [
        ct_dataset(study_uid=study_uid, series_uid=series_uid, index=i, size=size, **kw)
        for i in range(count)
    ]


def to_bytes(ds: Dataset) -> bytes:
    """A dataset as Part-10 bytes."""
    from io import BytesIO

    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def stow(
    base_url: str, token: str, datasets: list[Dataset], *, timeout: float = 60, **params: str
) -> httpx.Response:
    """POST datasets to a served app's STOW-RS (`/dicom-web/studies`) as one multipart body;
    returns the httpx response."""
    boundary = uuid.uuid4().hex
    body = (
        b"".join(
            f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
            + to_bytes(ds)
            + b"\r\n"
            for ds in datasets
        )
        + f"--{boundary}--\r\n".encode()
    )
    return httpx.post(
        f"{base_url}/dicom-web/studies",
        content=body,
        params=params,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
            "Accept": "application/dicom+json",
        },
        timeout=timeout,
    )


def write_series(datasets: list[Dataset], directory: Path) -> list[Path]:
    """Write datasets as Part-10 files named by instance number."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for ds in datasets:
        p = directory / f"IM{int(ds.InstanceNumber):05d}.dcm"
        ds.save_as(p, enforce_file_format=True)
        paths.append(p)
    return paths


def iter_benchmark(count: int = 300, size: int = 512) -> Iterator[Dataset]:
    """The benchmark series, one dataset at a time (~0.5 MB each)."""
    study_uid = generate_uid(prefix=PREFIX)
    series_uid = generate_uid(prefix=PREFIX)
    for i in range(count):
        yield ct_dataset(study_uid=study_uid, series_uid=series_uid, index=i, size=size)


def benchmark_series(directory: Path, count: int = 300, size: int = 512) -> list[Path]:
    """Write the 300 x 512^2 CT series (~150 MB) used by the ingest benchmark."""
    return write_series(list(iter_benchmark(count, size)), directory)


def today() -> str:
    return dt.date.today().strftime("%Y%m%d")
