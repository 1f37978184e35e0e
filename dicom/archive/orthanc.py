"""`OrthancArchive`: a real Orthanc through its REST API and DICOMweb plugin (production)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from io import BytesIO
from typing import Any

import httpx
import pydicom

from dicom.archive.common import (
    NATIVE_LITTLE_ENDIAN,
    ArchiveError,
    ArchiveUnavailable,
    NotInArchive,
    StoreResult,
    frames_of,
    read_header,
)


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
        ds = read_header(data)
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

    def file_path(self, study_uid: str, series_uid: str, sop_uid: str) -> str | None:
        return None  # Orthanc names its own storage

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
        if syntax in NATIVE_LITTLE_ENDIAN:
            # Orthanc numbers frames from 0; "raw" is the stored frame, here already native.
            return [self._get(f"/instances/{iid}/frames/{n - 1}/raw").content for n in numbers]
        ds = pydicom.dcmread(BytesIO(self._get(f"/instances/{iid}/file").content))
        return frames_of(ds, count, numbers)

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
