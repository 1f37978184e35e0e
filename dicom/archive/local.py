"""`LocalArchive`: Part-10 files under `<root>/<study>/<series>/<sop>.dcm` with a DICOM-JSON
header beside each, for `make run` without Orthanc (QIDO matching done here)."""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import threading
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.encaps import get_frame

from dicom.archive.common import (
    ArchiveUnavailable,
    NotInArchive,
    StoreResult,
    frames_of,
    read_header,
)
from dicom.archive.streams import (
    EXPLICIT_LITTLE_ENDIAN,
    Rendering,
    Streamed,
    frame_media_type,
    multipart,
)

# QIDO attributes returned by the embedded archive (Orthanc returns its own default set).
STUDY_TAGS = {
    "00080020": "StudyDate",
    "00080030": "StudyTime",
    "00080050": "AccessionNumber",
    "00080090": "ReferringPhysicianName",
    "00081030": "StudyDescription",
    "00100010": "PatientName",
    "00100020": "PatientID",
    "00100030": "PatientBirthDate",
    "00100040": "PatientSex",
    "0020000D": "StudyInstanceUID",
    "00200010": "StudyID",
    "00080005": "SpecificCharacterSet",
}
SERIES_TAGS = {
    "00080060": "Modality",
    "0008103E": "SeriesDescription",
    "0020000E": "SeriesInstanceUID",
    "00200011": "SeriesNumber",
    "0020000D": "StudyInstanceUID",
}
INSTANCE_TAGS = {
    "00080016": "SOPClassUID",
    "00080018": "SOPInstanceUID",
    "00200013": "InstanceNumber",
    "00280010": "Rows",
    "00280011": "Columns",
    "00280008": "NumberOfFrames",
    "0020000E": "SeriesInstanceUID",
    "0020000D": "StudyInstanceUID",
}
KEYWORD_TO_TAG = {
    kw: tag for tags in (STUDY_TAGS, SERIES_TAGS, INSTANCE_TAGS) for tag, kw in tags.items()
}
KEYWORD_TO_TAG["ModalitiesInStudy"] = "00080061"


def _matches(value: Any, wanted: str) -> bool:
    """QIDO matching: universal, wildcard (* ?), date range, UID list, single value."""
    if wanted in ("", "*"):
        return True
    vals: list[str] = []
    for v in value if isinstance(value, list) else [value]:
        if isinstance(v, dict):
            vals.append(str(v.get("Alphabetic", "")))
        elif v is not None:
            vals.append(str(v))
    if "-" in wanted and wanted.replace("-", "").isdigit():
        lo, _, hi = wanted.partition("-")
        return any((not lo or v >= lo) and (not hi or v <= hi) for v in vals)
    options = [w for w in wanted.replace("\\", ",").split(",") if w]
    for v in vals:
        for w in options:
            if ("*" in w or "?" in w) and fnmatch.fnmatchcase(v.upper(), w.upper()):
                return True
            if v == w or v.upper() == w.upper():
                return True
    return False


def _filter(items: list[dict[str, Any]], params: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        ok = True
        for key, wanted in params.items():
            if key in ("limit", "offset", "includefield", "fuzzymatching"):
                continue
            tag = KEYWORD_TO_TAG.get(key, key.upper() if len(key) == 8 else None)
            if tag is None:
                continue
            value = item.get(tag, {}).get("Value", [""])
            if not _matches(value, wanted):
                ok = False
                break
        if ok:
            out.append(item)
    offset = int(params.get("offset", 0) or 0)
    limit = params.get("limit")
    return out[offset : offset + int(limit)] if limit else out[offset:]


def _filtering(params: dict[str, str]) -> bool:
    """The query matches on some attribute (not only paging or the fields returned)."""
    return any(k not in ("limit", "offset", "includefield", "fuzzymatching") for k in params)


def _pick(header: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    return {t: header[t] for t in tags if t in header}


DICOM = "application/dicom"
PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def stored_frames(ds: Dataset, count: int, numbers: list[int]) -> tuple[str | None, list[bytes]]:
    """(transfer syntax, frames) as stored: encapsulated frames as encoded, native little
    endian frames as they are; (None, []) when the stored form is not little endian."""
    syntax = ds.file_meta.TransferSyntaxUID
    if syntax.is_compressed:
        eot = None
        if "ExtendedOffsetTable" in ds:
            eot = (ds.ExtendedOffsetTable, ds.ExtendedOffsetTableLengths)
        frames = [
            get_frame(ds.PixelData, n - 1, extended_offsets=eot, number_of_frames=count)
            for n in numbers
        ]
        return str(syntax), frames
    if syntax.is_little_endian and not syntax.is_deflated:
        return str(syntax), frames_of(ds, count, numbers)
    return None, []


def explicit_le(path: Path) -> bytes:
    """A Part-10 file in explicit VR little endian (decoded when compressed)."""
    ds = pydicom.dcmread(path)
    syntax = ds.file_meta.TransferSyntaxUID
    if syntax == EXPLICIT_LITTLE_ENDIAN:
        return path.read_bytes()
    if syntax.is_compressed:
        ds.decompress()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.UID(EXPLICIT_LITTLE_ENDIAN)
    buf = BytesIO()
    ds.save_as(buf, implicit_vr=False, little_endian=True, enforce_file_format=True)
    return buf.getvalue()


class LocalArchive:
    """Files on disk: `<root>/<study>/<series>/<sop>.dcm` + `<sop>.json` (DICOM JSON header)."""

    name = "local"
    url: str | None = None  # files, not a server

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def ping(self) -> None:
        if not os.access(self.root, os.W_OK):
            raise ArchiveUnavailable(f"archive directory {self.root} is not writable")

    def _dir(self, study_uid: str, series_uid: str | None = None) -> Path:
        for uid in (study_uid, series_uid):
            if uid is not None and not all(c.isdigit() or c == "." for c in uid):
                raise NotInArchive(f"not a UID: {uid!r}")
        d = self.root / study_uid
        return d / series_uid if series_uid else d

    def store(self, data: bytes) -> StoreResult:
        ds = read_header(data)
        study, series, sop = (
            str(ds.StudyInstanceUID),
            str(ds.SeriesInstanceUID),
            str(ds.SOPInstanceUID),
        )
        target = self._dir(study, series)
        path = target / f"{sop}.dcm"
        result = StoreResult(sop_uid=sop, study_uid=study, series_uid=series, already_stored=True)
        if path.exists():
            return result
        target.mkdir(parents=True, exist_ok=True)
        header = ds.to_json_dict(bulk_data_threshold=1 << 30, suppress_invalid_tags=True)
        header.pop("7FE00010", None)
        header["00020010"] = {"vr": "UI", "Value": [str(ds.file_meta.TransferSyntaxUID)]}
        tmp = target / f".{sop}.{threading.get_ident()}.tmp"
        tmp.write_bytes(data)
        (target / f"{sop}.json").write_text(json.dumps(header))
        os.replace(tmp, path)
        return StoreResult(sop_uid=sop, study_uid=study, series_uid=series, already_stored=False)

    def _header_files(self, study_uid: str, series_uid: str | None = None) -> Iterator[Path]:
        """The DICOM JSON header file of every instance stored (its Part-10 file present)."""
        study_dir = self._dir(study_uid)
        series_dirs = [study_dir / series_uid] if series_uid else sorted(study_dir.glob("*"))
        for se in series_dirs:
            if se.is_dir():
                yield from (
                    js for js in sorted(se.glob("*.json")) if js.with_suffix(".dcm").exists()
                )

    def _headers(
        self, study_uid: str | None = None, series_uid: str | None = None
    ) -> Iterator[dict[str, Any]]:
        if study_uid is None:
            studies = sorted(p.name for p in self.root.iterdir() if p.is_dir())
        else:
            studies = [study_uid]
        for st in studies:
            for js in self._header_files(st, series_uid):
                yield json.loads(js.read_text())

    def has_instance(self, sop_uid: str) -> bool:
        return any(self.root.glob(f"*/*/{sop_uid}.dcm"))

    def file_path(self, study_uid: str, series_uid: str, sop_uid: str) -> str | None:
        return f"{study_uid}/{series_uid}/{sop_uid}.dcm"

    def search(
        self,
        level: str,
        params: dict[str, str] | None = None,
        *,
        study_uid: str | None = None,
        series_uid: str | None = None,
    ) -> list[dict[str, Any]]:
        params = dict(params or {})
        if study_uid and not self._dir(study_uid).exists():
            return []
        # Match on every attribute of the instances first (a series query may name the
        # PatientID), then aggregate; study-level aggregates are matched afterwards.
        aggregate = {"ModalitiesInStudy", "00080061", "limit", "offset"}
        pre = {k: v for k, v in params.items() if k not in aggregate}
        post = {k: v for k, v in params.items() if k in aggregate}
        if level == "series" and study_uid and not _filtering(pre):
            return _filter(self._series_of(study_uid), post)  # the viewer's first request
        headers = _filter(list(self._headers(study_uid, series_uid)), pre)
        if level == "instances":
            items = [_pick(h, INSTANCE_TAGS) for h in headers]
        elif level == "series":
            by_series: dict[str, dict[str, Any]] = {}
            for h in headers:
                uid = h["0020000E"]["Value"][0]
                item = by_series.setdefault(uid, _pick(h, SERIES_TAGS))
                n = item.setdefault("00201209", {"vr": "IS", "Value": [0]})
                n["Value"][0] += 1
            items = list(by_series.values())
        elif level == "studies":
            by_study: dict[str, dict[str, Any]] = {}
            series_seen: dict[str, set[str]] = {}
            for h in headers:
                uid = h["0020000D"]["Value"][0]
                item = by_study.setdefault(uid, _pick(h, STUDY_TAGS))
                n = item.setdefault("00201208", {"vr": "IS", "Value": [0]})
                n["Value"][0] += 1
                series_seen.setdefault(uid, set()).add(h["0020000E"]["Value"][0])
                mods = item.setdefault("00080061", {"vr": "CS", "Value": []})
                mod = h.get("00080060", {}).get("Value", [None])[0]
                if mod and mod not in mods["Value"]:
                    mods["Value"].append(mod)
            for uid, item in by_study.items():
                item["00201206"] = {"vr": "IS", "Value": [len(series_seen[uid])]}
            items = list(by_study.values())
        else:
            raise ValueError(f"unknown QIDO level {level!r}")
        return _filter(items, post)

    def _series_of(self, study_uid: str) -> list[dict[str, Any]]:
        """A study's series with their instance counts, one header read per series (the
        series attributes are the same in each of its instances)."""
        items = []
        for se in sorted(p for p in self._dir(study_uid).glob("*") if p.is_dir()):
            stored = list(self._header_files(study_uid, se.name))
            if stored:
                item = _pick(json.loads(stored[0].read_text()), SERIES_TAGS)
                item["00201209"] = {"vr": "IS", "Value": [len(stored)]}
                items.append(item)
        return items

    def metadata(
        self, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None
    ) -> list[dict[str, Any]]:
        if series_uid and sop_uid:  # one instance: its own header, not the whole series'
            js = self._dir(study_uid, series_uid) / f"{sop_uid}.json"
            if all(c.isdigit() or c == "." for c in sop_uid) and js.with_suffix(".dcm").exists():
                return [json.loads(js.read_text())]
            raise NotInArchive(f"nothing stored for {study_uid}/{series_uid}/{sop_uid}")
        out = list(self._headers(study_uid, series_uid))
        if sop_uid:
            out = [h for h in out if h.get("00080018", {}).get("Value", [None])[0] == sop_uid]
        if not out:
            raise NotInArchive(f"nothing stored for {study_uid}/{series_uid}/{sop_uid}")
        return out

    def _path(self, study_uid: str, series_uid: str, sop_uid: str) -> Path:
        path = self._dir(study_uid, series_uid) / f"{sop_uid}.dcm"
        if not all(c.isdigit() or c == "." for c in sop_uid) or not path.exists():
            raise NotInArchive(f"instance {sop_uid} not found")
        return path

    def instance(self, study_uid: str, series_uid: str, sop_uid: str) -> bytes:
        return self._path(study_uid, series_uid, sop_uid).read_bytes()

    def _dataset(self, study_uid: str, series_uid: str, sop_uid: str) -> Dataset:
        return pydicom.dcmread(self._path(study_uid, series_uid, sop_uid))

    def _framed(
        self, study_uid: str, series_uid: str, sop_uid: str, numbers: list[int]
    ) -> tuple[Dataset, int]:
        ds = self._dataset(study_uid, series_uid, sop_uid)
        if not any(k in ds for k in PIXEL_KEYWORDS):  # an SR, a KOS: no frames (as Orthanc)
            raise NotInArchive(f"{sop_uid} has no pixel data")
        count = int(getattr(ds, "NumberOfFrames", 1) or 1)
        if any(not 1 <= n <= count for n in numbers):
            raise NotInArchive(f"frames {numbers} out of 1..{count}")
        return ds, count

    def frames(
        self, study_uid: str, series_uid: str, sop_uid: str, numbers: list[int]
    ) -> list[bytes]:
        ds, count = self._framed(study_uid, series_uid, sop_uid, numbers)
        return frames_of(ds, count, numbers)

    def wado_frames(
        self, study_uid: str, series_uid: str, sop_uid: str, numbers: list[int], *, stored: bool
    ) -> Streamed:
        """Frames as multipart: as stored when `stored` (compressed ones as encoded), else
        explicit little endian (decoded)."""
        ds, count = self._framed(study_uid, series_uid, sop_uid, numbers)
        syntax, frames = stored_frames(ds, count, numbers) if stored else (None, None)
        if syntax is None or frames is None:
            syntax, frames = EXPLICIT_LITTLE_ENDIAN, frames_of(ds, count, numbers)
        media_type = frame_media_type(syntax)
        part = f"{media_type}; transfer-syntax={syntax}"
        return multipart([(part, f) for f in frames], media_type, f"; transfer-syntax={syntax}")

    def wado_instance(
        self, study_uid: str, series_uid: str | None, sop_uid: str | None, *, stored: bool
    ) -> Streamed:
        """A study, series or instance as multipart DICOM: the files as stored when
        `stored`, else each in explicit little endian (decoded when compressed)."""
        if sop_uid and series_uid:
            paths = [self._path(study_uid, series_uid, sop_uid)]
        else:
            base = self._dir(study_uid, series_uid)
            paths = sorted(base.glob("*.dcm" if series_uid else "*/*.dcm"))
            if not paths:
                raise NotInArchive(f"nothing stored for {study_uid}/{series_uid}")
        parts = ((DICOM, p.read_bytes() if stored else explicit_le(p)) for p in paths)
        return multipart(parts, DICOM)

    def metadata_json(
        self, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None
    ) -> bytes:
        if sop_uid:
            return json.dumps(self.metadata(study_uid, series_uid, sop_uid)).encode()
        # each header file is one instance's DICOM JSON: joined as they are, not parsed and
        # written again (a 300-slice series is ~0.7 MB, the viewer's second request)
        parts = [js.read_bytes() for js in self._header_files(study_uid, series_uid)]
        if not parts:
            raise NotInArchive(f"nothing stored for {study_uid}/{series_uid}")
        return b"[" + b",".join(parts) + b"]"

    def search_json(
        self,
        level: str,
        params: dict[str, str] | None = None,
        *,
        study_uid: str | None = None,
        series_uid: str | None = None,
    ) -> bytes:
        items = self.search(level, params, study_uid=study_uid, series_uid=series_uid)
        return json.dumps(items).encode()

    def rendered(
        self,
        study_uid: str,
        series_uid: str,
        sop_uid: str,
        *,
        frame: int = 1,
        window: tuple[float, float] | None = None,
        media_type: str = "image/png",
    ) -> bytes:
        from dicom.render import render_frame

        ds = self._dataset(study_uid, series_uid, sop_uid)
        try:
            return render_frame(ds, frame=frame, window=window, media_type=media_type)
        except IndexError as exc:
            raise NotInArchive(str(exc)) from exc

    def wado_rendered(
        self, study_uid: str, series_uid: str, sop_uid: str, rendering: Rendering
    ) -> Streamed:
        data = self.rendered(
            study_uid,
            series_uid,
            sop_uid,
            frame=rendering.frame,
            window=rendering.window,
            media_type=rendering.media_type,
        )
        return Streamed(media_type=rendering.media_type, chunks=[data])

    def wado_bulk(self, study_uid: str, series_uid: str, sop_uid: str, tags: str) -> Streamed:
        """Headers here keep their values inline (no BulkDataURI points here)."""
        self._path(study_uid, series_uid, sop_uid)
        raise NotInArchive(f"no bulk data {tags} kept apart for {sop_uid}")

    def study_instances(self, study_uid: str) -> Iterator[bytes]:
        d = self._dir(study_uid)
        if not d.exists():
            raise NotInArchive(f"study {study_uid} not found")
        for p in sorted(d.glob("*/*.dcm")):
            yield p.read_bytes()

    def delete_study(self, study_uid: str) -> None:
        shutil.rmtree(self._dir(study_uid), ignore_errors=True)
