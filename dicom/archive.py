"""Archive adapters: where the pixels live.

`Archive` is the seam; `OrthancArchive` talks to a real Orthanc (REST + its DICOMweb
plugin, through pyorthanc's client) and is production; `LocalArchive` keeps Part-10 files
under `var/archive/<study>/<series>/<sop>.dcm` with a DICOM-JSON header beside each, for
`make run` without Orthanc. Both pass `tests/dicom/test_archive_contract.py`.

    ArchiveError          base (the archive refused or failed)
    ├── ArchiveUnavailable the archive cannot be reached (retry later)
    └── NotInArchive       no such study/series/instance/frame
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import httpx
import pydicom
from pydicom.dataset import Dataset

from telemed.core.settings import Settings, get_settings

__all__ = [
    "Archive",
    "ArchiveError",
    "ArchiveUnavailable",
    "LocalArchive",
    "NotInArchive",
    "OrthancArchive",
    "StoreResult",
    "get_archive",
    "set_archive",
]

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


@runtime_checkable
class Archive(Protocol):
    """Storage and retrieval of DICOM objects (DICOM JSON in, DICOM JSON out)."""

    name: str

    def ping(self) -> None:
        """Raise when the archive cannot serve."""

    def store(self, data: bytes) -> StoreResult:
        """Store one Part-10 instance; storing it again is harmless."""

    def has_instance(self, sop_uid: str) -> bool: ...

    def search(
        self,
        level: str,
        params: dict[str, str] | None = None,
        *,
        study_uid: str | None = None,
        series_uid: str | None = None,
    ) -> list[dict[str, Any]]:
        """QIDO-RS: `level` is studies | series | instances; DICOM JSON results."""

    def metadata(
        self, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None
    ) -> list[dict[str, Any]]:
        """WADO-RS metadata (DICOM JSON per instance, without bulk data values)."""

    def instance(self, study_uid: str, series_uid: str, sop_uid: str) -> bytes:
        """The Part-10 bytes of one instance."""

    def frames(
        self, study_uid: str, series_uid: str, sop_uid: str, numbers: list[int]
    ) -> list[bytes]:
        """Raw (uncompressed, little endian) pixel data of the given 1-based frames."""

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
        """One frame rendered to PNG/JPEG with the window (centre, width) or the default."""

    def study_instances(self, study_uid: str) -> Iterator[bytes]:
        """Every instance of a study as Part-10 bytes."""

    def delete_study(self, study_uid: str) -> None: ...


def _uids(data: bytes) -> Dataset:
    try:
        return pydicom.dcmread(BytesIO(data), stop_before_pixels=True)
    except Exception as exc:  # pydicom raises many kinds on bad input
        raise ArchiveError(f"not a readable DICOM file: {exc}") from exc


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
    import fnmatch

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


def _pick(header: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    return {t: header[t] for t in tags if t in header}


class LocalArchive:
    """Files on disk: `<root>/<study>/<series>/<sop>.dcm` + `<sop>.json` (DICOM JSON header)."""

    name = "local"

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
        ds = _uids(data)
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

    def _headers(
        self, study_uid: str | None = None, series_uid: str | None = None
    ) -> Iterator[dict[str, Any]]:
        if study_uid is None:
            studies = sorted(p for p in self.root.iterdir() if p.is_dir())
        else:
            studies = [self._dir(study_uid)]
        for sd in studies:
            series_dirs = [sd / series_uid] if series_uid else sorted(sd.glob("*"))
            for se in series_dirs:
                if not se.is_dir():
                    continue
                for js in sorted(se.glob("*.json")):
                    if (se / (js.stem + ".dcm")).exists():
                        yield json.loads(js.read_text())

    def has_instance(self, sop_uid: str) -> bool:
        return any(self.root.glob(f"*/*/{sop_uid}.dcm"))

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

    def metadata(
        self, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None
    ) -> list[dict[str, Any]]:
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

    def frames(
        self, study_uid: str, series_uid: str, sop_uid: str, numbers: list[int]
    ) -> list[bytes]:
        ds = self._dataset(study_uid, series_uid, sop_uid)
        count = int(getattr(ds, "NumberOfFrames", 1) or 1)
        if any(not 1 <= n <= count for n in numbers):
            raise NotInArchive(f"frames {numbers} out of 1..{count}")
        return _frames_of(ds, count, numbers)

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

    def study_instances(self, study_uid: str) -> Iterator[bytes]:
        d = self._dir(study_uid)
        if not d.exists():
            raise NotInArchive(f"study {study_uid} not found")
        for p in sorted(d.glob("*/*.dcm")):
            yield p.read_bytes()

    def delete_study(self, study_uid: str) -> None:
        shutil.rmtree(self._dir(study_uid), ignore_errors=True)


class OrthancArchive:
    """A real Orthanc through its REST API and DICOMweb plugin (pyorthanc's httpx client)."""

    name = "orthanc"

    def __init__(
        self,
        url: str,
        username: str | None = None,
        password: str | None = None,
        *,
        timeout: float = 60.0,
    ) -> None:
        from pyorthanc import Orthanc

        self.url = url.rstrip("/")
        self._local = threading.local()
        self._factory = lambda: Orthanc(
            self.url, username=username, password=password, timeout=timeout
        )

    @property
    def client(self) -> Any:
        """One pyorthanc client (an httpx.Client) per thread: keep-alive without sharing."""
        c = getattr(self._local, "client", None)
        if c is None:
            c = self._local.client = self._factory()
        return c

    def _get(self, path: str, **kw: Any) -> httpx.Response:
        try:
            r = self.client.get(self.url + path, **kw)
        except httpx.TransportError as exc:
            raise ArchiveUnavailable(f"Orthanc unreachable: {exc}") from exc
        if r.status_code == 404:
            raise NotInArchive(f"{path} not found in Orthanc")
        if r.status_code >= 400:
            raise ArchiveError(f"Orthanc answered {r.status_code} to GET {path}: {r.text[:200]}")
        return r

    def ping(self) -> None:
        self._get("/system", timeout=5.0)

    def store(self, data: bytes) -> StoreResult:
        ds = _uids(data)
        try:
            r = self.client.post(
                self.url + "/instances",
                content=data,
                headers={"Content-Type": "application/dicom"},
            )
        except httpx.TransportError as exc:
            raise ArchiveUnavailable(f"Orthanc unreachable: {exc}") from exc
        if r.status_code >= 400:
            if r.status_code >= 500 and r.status_code != 500:
                raise ArchiveUnavailable(f"Orthanc answered {r.status_code}")
            raise ArchiveError(f"Orthanc refused the instance ({r.status_code}): {r.text[:200]}")
        body = r.json()
        status = body.get("Status", "Success") if isinstance(body, dict) else "Success"
        return StoreResult(
            sop_uid=str(ds.SOPInstanceUID),
            study_uid=str(ds.StudyInstanceUID),
            series_uid=str(ds.SeriesInstanceUID),
            already_stored=status == "AlreadyStored",
        )

    def _lookup(self, uid: str, level: str) -> str:
        try:
            r = self.client.post(self.url + "/tools/lookup", content=uid)
        except httpx.TransportError as exc:
            raise ArchiveUnavailable(f"Orthanc unreachable: {exc}") from exc
        if r.status_code >= 400:
            raise ArchiveError(f"Orthanc answered {r.status_code} to a lookup: {r.text[:200]}")
        for hit in r.json():
            if hit.get("Type", "").lower() == level:
                return str(hit["ID"])
        raise NotInArchive(f"{level} {uid} not found")

    def has_instance(self, sop_uid: str) -> bool:
        try:
            self._lookup(sop_uid, "instance")
            return True
        except NotInArchive:
            return False

    def search(
        self,
        level: str,
        params: dict[str, str] | None = None,
        *,
        study_uid: str | None = None,
        series_uid: str | None = None,
    ) -> list[dict[str, Any]]:
        if level not in ("studies", "series", "instances"):
            raise ValueError(f"unknown QIDO level {level!r}")
        path = "/dicom-web"
        if study_uid:
            path += f"/studies/{study_uid}"
            if series_uid:
                path += f"/series/{series_uid}"
        path += f"/{level}"
        try:
            r = self._get(path, params=params or {}, headers={"Accept": "application/dicom+json"})
        except NotInArchive:
            return []
        return list(r.json()) if r.content else []

    def metadata(
        self, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None
    ) -> list[dict[str, Any]]:
        path = f"/dicom-web/studies/{study_uid}"
        if series_uid:
            path += f"/series/{series_uid}"
            if sop_uid:
                path += f"/instances/{sop_uid}"
        r = self._get(path + "/metadata", headers={"Accept": "application/dicom+json"})
        items = list(r.json())
        if not items:
            raise NotInArchive(f"nothing stored for {path}")
        for item in items:  # bulk data URIs point into Orthanc: never hand them out
            for key in [k for k, v in item.items() if isinstance(v, dict) and "BulkDataURI" in v]:
                item[key] = {"vr": item[key].get("vr", "OB")}
        return items

    def _instance_id(self, study_uid: str, series_uid: str, sop_uid: str) -> str:
        iid = self._lookup(sop_uid, "instance")
        tags = self._get(f"/instances/{iid}/simplified-tags").json()
        if tags.get("StudyInstanceUID") != study_uid or tags.get("SeriesInstanceUID") != series_uid:
            raise NotInArchive(f"instance {sop_uid} not in {study_uid}/{series_uid}")
        return iid

    def instance(self, study_uid: str, series_uid: str, sop_uid: str) -> bytes:
        iid = self._instance_id(study_uid, series_uid, sop_uid)
        return self._get(f"/instances/{iid}/file").content

    def frames(
        self, study_uid: str, series_uid: str, sop_uid: str, numbers: list[int]
    ) -> list[bytes]:
        iid = self._instance_id(study_uid, series_uid, sop_uid)
        count = len(self._get(f"/instances/{iid}/frames").json())
        if any(not 1 <= n <= count for n in numbers):
            raise NotInArchive(f"frames {numbers} out of 1..{count}")
        syntax = self._get(f"/instances/{iid}/metadata/TransferSyntax").text.strip()
        if syntax in _NATIVE_LITTLE_ENDIAN:
            # Orthanc numbers frames from 0; "raw" is the stored frame, here already native.
            return [self._get(f"/instances/{iid}/frames/{n - 1}/raw").content for n in numbers]
        ds = pydicom.dcmread(BytesIO(self._get(f"/instances/{iid}/file").content))
        return _frames_of(ds, count, numbers)

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
        path = (
            f"/dicom-web/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}"
            f"/frames/{frame}/rendered"
        )
        if window is not None:  # commas unescaped: the plugin splits the raw value
            path += f"?window={window[0]:g},{window[1]:g},linear"
        try:
            r = self._get(path, headers={"Accept": media_type})
        except ArchiveError as exc:
            if isinstance(exc, ArchiveUnavailable):
                raise
            raise NotInArchive(str(exc)) from exc
        return r.content

    def study_instances(self, study_uid: str) -> Iterator[bytes]:
        sid = self._lookup(study_uid, "study")
        for inst in self._get(f"/studies/{sid}/instances").json():
            yield self._get(f"/instances/{inst['ID']}/file").content

    def delete_study(self, study_uid: str) -> None:
        try:
            sid = self._lookup(study_uid, "study")
        except NotInArchive:
            return
        self.client.delete(f"{self.url}/studies/{sid}")


_override: Archive | None = None


def set_archive(archive: Archive | None) -> None:
    """Use this archive instead of the configured one (tests, benchmarks)."""
    global _override
    _override = archive


@lru_cache
def _configured(url: str | None, username: str | None, password: str | None, root: str) -> Archive:
    if url:
        return OrthancArchive(url, username, password)
    return LocalArchive(Path(root))


def get_archive(settings: Settings | None = None) -> Archive:
    """The archive selected by settings: Orthanc when `TELEMED_ORTHANC_URL` is set, else local."""
    if _override is not None:
        return _override
    d = (settings or get_settings()).dicom
    return _configured(d.orthanc_url, d.orthanc_username, d.orthanc_password, str(d.archive_dir))


_NATIVE_LITTLE_ENDIAN = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1")


def _frames_of(ds: Dataset, count: int, numbers: list[int]) -> list[bytes]:
    """Frames as native little-endian pixel bytes, decoding compressed or big-endian data."""
    if str(ds.file_meta.TransferSyntaxUID) not in _NATIVE_LITTLE_ENDIAN:
        arr = ds.pixel_array
        arr = arr.astype(arr.dtype.newbyteorder("<"))
        frames = [arr] if count == 1 else [arr[i] for i in range(count)]
        return [frames[n - 1].tobytes() for n in numbers]
    data = bytes(ds.PixelData)
    size = len(data) // count
    return [data[(n - 1) * size : n * size] for n in numbers]
