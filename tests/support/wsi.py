"""A synthetic whole-slide image as DICOM VL Whole Slide Microscopy (PS3.3 A.32.8).

`slide_pyramid(...)` returns one dataset per pyramid level (one series, one frame of
reference, TILED_FULL, JPEG baseline tiles encapsulated one per frame, YBR_FULL_422), the
base level first. The picture is a pink tissue section with purple nuclei drawn with
Pillow and a level mark in every tile, so a tile read back can be told from its neighbours
and from the same place at another level. `tile_index(ds, col, row)` is the 1-based frame
number of a tile (TILED_FULL is row-major, one focal plane, one optical path).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from io import BytesIO

from PIL import Image, ImageDraw
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, JPEGBaseline8Bit, generate_uid

from tests.support.dicom_files import stow

VL_WSI = "1.2.840.10008.5.1.4.1.1.77.1.6"
PREFIX = "1.2.826.0.1.3680043.10.1234."


@dataclass(frozen=True)
class Level:
    width: int
    height: int
    spacing_mm: float  # pixel spacing (square pixels)
    tiles: dict[tuple[int, int], bytes]  # (col, row) -> JPEG bytes as stored


def tile_index(ds: Dataset, col: int, row: int) -> int:
    per_row = -(-int(ds.TotalPixelMatrixColumns) // int(ds.Columns))
    return row * per_row + col + 1


def _section(width: int, height: int, seed: int) -> Image.Image:
    rng = random.Random(seed)
    img = Image.new("RGB", (width, height), (242, 238, 240))  # glass
    draw = ImageDraw.Draw(img)
    m = width // 10
    draw.ellipse((m, m, width - m, height - m), fill=(226, 160, 190))  # eosin
    for _ in range(width * height // 2500):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randint(max(2, width // 800), max(4, width // 300))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(96, 60, 140))  # haematoxylin nuclei
    return img


def _tiles(img: Image.Image, tile: int, level: int, quality: int) -> dict[tuple[int, int], bytes]:
    cols, rows = -(-img.width // tile), -(-img.height // tile)
    out: dict[tuple[int, int], bytes] = {}
    for r in range(rows):
        for c in range(cols):
            t = Image.new("RGB", (tile, tile), (255, 255, 255))  # pad the right/bottom edge
            t.paste(
                img.crop(
                    (
                        c * tile,
                        r * tile,
                        min((c + 1) * tile, img.width),
                        min((r + 1) * tile, img.height),
                    )
                )
            )
            d = ImageDraw.Draw(t)
            d.rectangle((2, 2, 10 + 8 * level, 10), fill=(0, 0, 0))  # the level mark
            d.text((4, 14), f"L{level} {c},{r}", fill=(0, 0, 0))
            buf = BytesIO()
            t.save(buf, format="JPEG", quality=quality, subsampling=1)  # 4:2:2
            out[(c, r)] = buf.getvalue()
    return out


def slide_levels(
    width: int = 4096,
    height: int = 3072,
    levels: int = 3,
    tile: int = 256,
    base_spacing_mm: float = 0.00025,
    seed: int = 19,
    quality: int = 80,
) -> list[Level]:
    """The pyramid's levels, base first, each half the size of the one before."""
    base = _section(width, height, seed)
    out = []
    for n in range(levels):
        f = 2**n
        img = base if n == 0 else base.resize((width // f, height // f), Image.Resampling.BOX)
        out.append(Level(img.width, img.height, base_spacing_mm * f, _tiles(img, tile, n, quality)))
    return out


def slide_pyramid(
    *,
    patient_name: str = "TEST^PATIENT",
    patient_id: str = "PID0001",
    tile: int = 256,
    levels: list[Level] | None = None,
    **kw: object,
) -> list[Dataset]:
    """One VL WSI instance per level, in one series (base level first)."""
    levels = levels or slide_levels(tile=tile, **kw)  # type: ignore[arg-type]
    study, series, frame_of_ref = (generate_uid(PREFIX) for _ in range(3))
    base = levels[0]
    now = dt.datetime(2026, 11, 20, 9, 30)
    out = []
    for n, lv in enumerate(levels):
        ds = Dataset()
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = VL_WSI
        meta.MediaStorageSOPInstanceUID = generate_uid(PREFIX)
        meta.TransferSyntaxUID = JPEGBaseline8Bit
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = VL_WSI, meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.FrameOfReferenceUID = frame_of_ref
        ds.Modality = "SM"
        ds.PatientName, ds.PatientID, ds.PatientSex = patient_name, patient_id, "M"
        ds.PatientBirthDate = "19620314"
        ds.StudyDate = ds.SeriesDate = ds.ContentDate = now.strftime("%Y%m%d")
        ds.StudyTime = ds.SeriesTime = ds.ContentTime = now.strftime("%H%M%S")
        ds.AcquisitionDateTime = now.strftime("%Y%m%d%H%M%S")
        ds.AccessionNumber, ds.StudyID, ds.SeriesNumber = "PATH0001", "1", 1
        ds.InstanceNumber = n + 1
        ds.InstitutionName = "DEMO COUNTY HOSPITAL"
        ds.Manufacturer, ds.ManufacturerModelName = "telemed tests", "synthetic"
        ds.DeviceSerialNumber, ds.SoftwareVersions = "0", "1"
        ds.ReferringPhysicianName = ""
        ds.ImageType = (
            ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"]
            if n == 0
            else ["DERIVED", "PRIMARY", "VOLUME", "RESAMPLED"]
        )
        ds.ContainerIdentifier = "S26-00019"
        ds.IssuerOfTheContainerIdentifierSequence = Sequence([])
        ds.ContainerTypeCodeSequence = Sequence([_code("433466003", "SCT", "Microscope slide")])
        specimen = Dataset()
        specimen.SpecimenIdentifier = "S26-00019-A1"
        specimen.SpecimenUID = (
            generate_uid(PREFIX) if n == 0 else out[0].SpecimenDescriptionSequence[0].SpecimenUID
        )
        specimen.IssuerOfTheSpecimenIdentifierSequence = Sequence([])
        specimen.SpecimenPreparationSequence = Sequence([])
        ds.SpecimenDescriptionSequence = Sequence([specimen])
        ds.DimensionOrganizationType = "TILED_FULL"
        ds.TotalPixelMatrixColumns, ds.TotalPixelMatrixRows = lv.width, lv.height
        ds.TotalPixelMatrixFocalPlanes = 1
        ds.NumberOfOpticalPaths = 1
        origin = Dataset()
        origin.XOffsetInSlideCoordinateSystem = 20.0
        origin.YOffsetInSlideCoordinateSystem = 40.0
        ds.TotalPixelMatrixOriginSequence = Sequence([origin])
        ds.ImageOrientationSlide = [0.0, -1.0, 0.0, -1.0, 0.0, 0.0]
        ds.ImagedVolumeWidth = base.width * base.spacing_mm  # mm, the same at every level
        ds.ImagedVolumeHeight = base.height * base.spacing_mm
        ds.ImagedVolumeDepth = 0.004
        ds.Rows = ds.Columns = tile
        ds.NumberOfFrames = len(lv.tiles)
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 3, "YBR_FULL_422"
        ds.PlanarConfiguration = 0
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
        ds.BurnedInAnnotation, ds.SpecimenLabelInImage = "NO", "NO"
        ds.FocusMethod, ds.ExtendedDepthOfField = "AUTO", "NO"
        ds.LossyImageCompression = "01"
        ds.LossyImageCompressionRatio = 10.0
        ds.LossyImageCompressionMethod = "ISO_10918_1"
        ds.VolumetricProperties = "VOLUME"
        path = Dataset()
        path.OpticalPathIdentifier = "1"
        path.IlluminationColorCodeSequence = Sequence([_code("414298005", "SCT", "Full Spectrum")])
        path.IlluminationTypeCodeSequence = Sequence(
            [_code("111744", "DCM", "Brightfield illumination")]
        )
        path.ObjectiveLensPower = 40.0 / 2**n
        ds.OpticalPathSequence = Sequence([path])
        shared = Dataset()
        measures = Dataset()
        measures.PixelSpacing = [lv.spacing_mm, lv.spacing_mm]
        measures.SliceThickness = 0.004
        shared.PixelMeasuresSequence = Sequence([measures])
        frame_type = Dataset()
        frame_type.FrameType = list(ds.ImageType)
        shared.WholeSlideMicroscopyImageFrameTypeSequence = Sequence([frame_type])
        ds.SharedFunctionalGroupsSequence = Sequence([shared])
        order = sorted(lv.tiles, key=lambda cr: (cr[1], cr[0]))  # row-major
        ds.PixelData = encapsulate([lv.tiles[cr] for cr in order])
        ds["PixelData"].VR = "OB"
        ds.set_original_encoding(False, True)
        out.append(ds)
    return out


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    c = Dataset()
    c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning = value, scheme, meaning
    return c


def write_svs(path: object, width: int = 4096, height: int = 3072, seed: int = 19) -> None:
    """An Aperio SVS as scanners write it (tifffile): the tiled JPEG base level at 0.25 um
    (40x), a stripped thumbnail, and 4x and 16x levels, with the Aperio descriptions."""
    import numpy as np
    import tifffile

    base = _section(width, height, seed)
    head = "Aperio Image Library v12.0.15 \r\n"
    first = f"{head}{width}x{height} [0,0 {width}x{height}] (256x256) JPEG/RGB Q=80"
    tiled = {"tile": (256, 256), "compression": "jpeg", "compressionargs": {"level": 80}}
    with tifffile.TiffWriter(path) as tif:
        tif.write(
            np.asarray(base),
            photometric="rgb",
            metadata=None,
            **tiled,
            description=f"{first}|AppMag = 40|MPP = 0.2500|Filename = synthetic",
        )
        thumb = base.resize((width // 8, height // 8))
        tif.write(
            np.asarray(thumb),
            photometric="rgb",
            compression="jpeg",
            rowsperstrip=16,
            metadata=None,
            description=f"{head}{width}x{height} -> {thumb.width}x{thumb.height} - ",
        )
        for f in (4, 16):
            lv = base.resize((width // f, height // f), Image.Resampling.BOX)
            tif.write(
                np.asarray(lv),
                photometric="rgb",
                metadata=None,
                **tiled,
                description=f"{head}{width}x{height} -> {lv.width}x{lv.height} - ",
            )


def stow_slide(base_url: str, token: str, datasets: list[Dataset], timeout: float = 600) -> None:
    """STOW-RS the slide's instances to a served app as the token's user."""
    r = stow(base_url, token, datasets, timeout=timeout)
    assert r.status_code in (200, 202), r.text
