"""`OrthancArchive`: a real Orthanc through its REST API and DICOMweb plugin (production)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import BytesIO
from typing import Any
from urllib.parse import urlsplit

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
from dicom.archive.streams import Rendering, Streamed, boundary_of, drop_part_headers

CHUNK = 256 * 1024  # bytes per chunk passed on from Orthanc
OCTETS = 'multipart/related; type="application/octet-stream"'
DICOM_PARTS = 'multipart/related; type="application/dicom"'
ANY = "; transfer-syntax=*"
# Passed on from Orthanc's answer (asked with Accept-Encoding: identity, so the length holds).
PASSED_HEADERS = ("content-length", "etag", "last-modified")


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
        connections: int = 32,
    ) -> None:
        from pyorthanc import Orthanc

        self.url = url.rstrip("/")
        # One client shared by every thread (httpx pools and is thread-safe): connections
        # to Orthanc are reused across requests. Orthanc closes an idle keep-alive
        # connection after 1 s (its KeepAliveTimeout), so the pool lets go a bit sooner.
        self.client = Orthanc(
            self.url,
            username=username,
            password=password,
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=connections,
                max_keepalive_connections=connections,
                keepalive_expiry=0.9,
            ),
        )
        self._netloc = urlsplit(self.url).netloc.lower()

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
        body = self.search_json(level, params, study_uid=study_uid, series_uid=series_uid)
        return list(json.loads(body))

    def metadata(
        self, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None
    ) -> list[dict[str, Any]]:
        items = list(json.loads(self.metadata_json(study_uid, series_uid, sop_uid)))
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
        rendering = Rendering(frame=frame, window=window, media_type=media_type)
        return b"".join(self.wado_rendered(study_uid, series_uid, sop_uid, rendering))

    # -- DICOMweb passed through as it flows (no body held here) --------------------------

    def _stream(self, path: str, accept: str) -> Streamed:
        """GET `path` from Orthanc, the body left on the wire for the caller to stream."""
        request = self.client.build_request(
            "GET", self.url + path, headers={"Accept": accept, "Accept-Encoding": "identity"}
        )
        try:
            r = self.client.send(request, stream=True)
        except httpx.TransportError as exc:
            raise ArchiveUnavailable(f"Orthanc unreachable: {exc}") from exc
        if r.status_code >= 400:
            text = r.read()[:200].decode(errors="replace")
            r.close()
            if r.status_code in (400, 404):  # unknown object, frame out of range
                raise NotInArchive(f"{path}: Orthanc answered {r.status_code}: {text}")
            raise ArchiveError(f"Orthanc answered {r.status_code} to GET {path}: {text}")
        media_type = r.headers.get("content-type", "application/octet-stream")
        passed = {k: r.headers[k] for k in PASSED_HEADERS if k in r.headers}
        return Streamed(
            media_type=media_type, chunks=r.iter_raw(CHUNK), close=r.close, headers=passed
        )

    def _own_parts(self, streamed: Streamed) -> Streamed:
        """A multipart answer without the parts' Content-Location (Orthanc's address)."""
        boundary = boundary_of(streamed.media_type)
        if boundary is not None:
            streamed.chunks = drop_part_headers(streamed.chunks, boundary, ["Content-Location"])
            streamed.headers.pop("content-length", None)  # the filtered body is shorter
        return streamed

    @staticmethod
    def _object_path(study_uid: str, series_uid: str | None, sop_uid: str | None) -> str:
        """The plugin's path of a study, its series, or an instance of that series."""
        path = f"/dicom-web/studies/{study_uid}"
        if series_uid:
            path += f"/series/{series_uid}"
            if sop_uid:
                path += f"/instances/{sop_uid}"
        return path

    def _instance_path(self, study_uid: str, series_uid: str, sop_uid: str) -> str:
        return self._object_path(study_uid, series_uid, sop_uid)

    def wado_frames(
        self, study_uid: str, series_uid: str, sop_uid: str, numbers: list[int], *, stored: bool
    ) -> Streamed:
        """Frames as multipart: as stored when `stored`, else explicit little endian."""
        path = self._instance_path(study_uid, series_uid, sop_uid)
        path += "/frames/" + ",".join(str(n) for n in numbers)
        return self._own_parts(self._stream(path, OCTETS + (ANY if stored else "")))

    def wado_instance(
        self, study_uid: str, series_uid: str | None, sop_uid: str | None, *, stored: bool
    ) -> Streamed:
        """A study, series or instance as multipart DICOM (stored or explicit little endian)."""
        path = self._object_path(study_uid, series_uid, sop_uid)
        return self._own_parts(self._stream(path, DICOM_PARTS + (ANY if stored else "")))

    def wado_bulk(self, study_uid: str, series_uid: str, sop_uid: str, tags: str) -> Streamed:
        """One bulk data element (the BulkDataURI of the metadata) as multipart."""
        path = self._instance_path(study_uid, series_uid, sop_uid) + f"/bulk/{tags}"
        return self._own_parts(self._stream(path, OCTETS + ANY))

    def wado_rendered(
        self, study_uid: str, series_uid: str, sop_uid: str, rendering: Rendering
    ) -> Streamed:
        path = self._instance_path(study_uid, series_uid, sop_uid)
        path += f"/frames/{rendering.frame}/rendered"
        window = rendering.window
        if window is not None:  # commas unescaped: the plugin splits the raw value
            path += f"?window={window[0]:g},{window[1]:g},linear"
        try:
            return self._stream(path, rendering.media_type)
        except ArchiveError as exc:
            if isinstance(exc, ArchiveUnavailable):
                raise
            raise NotInArchive(str(exc)) from exc

    def _json(self, path: str, params: dict[str, str] | None = None) -> bytes:
        headers = {"Accept": "application/dicom+json", "Accept-Encoding": "identity"}
        return self._get(path, params=params or {}, headers=headers).content

    def metadata_json(
        self, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None
    ) -> bytes:
        """WADO-RS metadata as Orthanc wrote it (DICOM JSON bytes, Orthanc's URLs in it)."""
        path = self._object_path(study_uid, series_uid, sop_uid)
        body = self._json(path + "/metadata")
        if body.strip() in (b"", b"[]"):
            raise NotInArchive(f"nothing stored for {path}")
        return body

    def search_json(
        self,
        level: str,
        params: dict[str, str] | None = None,
        *,
        study_uid: str | None = None,
        series_uid: str | None = None,
    ) -> bytes:
        """QIDO-RS results as Orthanc wrote them (DICOM JSON bytes)."""
        if level not in ("studies", "series", "instances"):
            raise ValueError(f"unknown QIDO level {level!r}")
        path = "/dicom-web"
        if study_uid:
            path += f"/studies/{study_uid}"
            if series_uid:
                path += f"/series/{series_uid}"
        try:
            body = self._json(f"{path}/{level}", params)
        except NotInArchive:
            return b"[]"
        return body or b"[]"

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
