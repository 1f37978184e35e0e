"""Archive adapters: where the pixels live.

`Archive` is the seam; `OrthancArchive` (`dicom.archive.orthanc`) talks to a real Orthanc
(REST + its DICOMweb plugin, through pyorthanc's client) and is production; `LocalArchive`
(`dicom.archive.local`) keeps Part-10 files on disk for `make run` without Orthanc. Both
pass `tests/dicom/test_archive_contract.py`. Routes receive the archive as a dependency
(`ArchiveDep`); the long-running parts and jobs call `get_archive(settings)`.

    ArchiveError          base (the archive refused or failed)
    ├── ArchiveUnavailable the archive cannot be reached (retry later)
    └── NotInArchive       no such study/series/instance/frame
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Protocol, runtime_checkable

from fastapi import Depends

from dicom.archive.common import ArchiveError, ArchiveUnavailable, NotInArchive, StoreResult
from dicom.archive.local import LocalArchive
from dicom.archive.orthanc import OrthancArchive
from dicom.archive.streams import Rendering, Streamed, wants_stored_syntax
from telemed.core.settings import Settings, get_settings

__all__ = [
    "Archive",
    "ArchiveDep",
    "ArchiveError",
    "ArchiveUnavailable",
    "LocalArchive",
    "NotInArchive",
    "OrthancArchive",
    "Rendering",
    "StoreResult",
    "Streamed",
    "get_archive",
    "set_archive",
    "wants_stored_syntax",
]


@runtime_checkable
class Archive(Protocol):
    """Storage and retrieval of DICOM objects (DICOM JSON in, DICOM JSON out)."""

    name: str

    @property
    def url(self) -> str | None:
        """The archive's own base URL (None for files): answers must never hand it out."""

    def ping(self) -> None:
        """Raise when the archive cannot serve."""

    def store(self, data: bytes) -> StoreResult:
        """Store one Part-10 instance; storing it again is harmless."""

    def has_instance(self, sop_uid: str) -> bool: ...

    def file_path(self, study_uid: str, series_uid: str, sop_uid: str) -> str | None:
        """Where the archive keeps the instance, relative to its root; None when it is
        not a file store (the index records it beside the instance)."""

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

    # DICOMweb answers as they leave the archive (bytes or a stream, never parsed here).

    def search_json(
        self,
        level: str,
        params: dict[str, str] | None = None,
        *,
        study_uid: str | None = None,
        series_uid: str | None = None,
    ) -> bytes:
        """`search` as DICOM JSON bytes (the archive's own URLs still in them)."""

    def metadata_json(
        self, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None
    ) -> bytes:
        """`metadata` as DICOM JSON bytes, bulk data URIs on the archive's own address."""

    def wado_frames(
        self, study_uid: str, series_uid: str, sop_uid: str, numbers: list[int], *, stored: bool
    ) -> Streamed:
        """Frames as multipart/related: in the stored transfer syntax when `stored`
        (`transfer-syntax=*` asked), else explicit VR little endian."""

    def wado_instance(
        self, study_uid: str, series_uid: str | None, sop_uid: str | None, *, stored: bool
    ) -> Streamed:
        """A study, series or instance as multipart/related application/dicom (stored
        syntax when `stored`, else explicit VR little endian)."""

    def wado_bulk(self, study_uid: str, series_uid: str, sop_uid: str, tags: str) -> Streamed:
        """A bulk data element named by a BulkDataURI of the metadata."""

    def wado_rendered(
        self, study_uid: str, series_uid: str, sop_uid: str, rendering: Rendering
    ) -> Streamed:
        """`rendered`, streamed."""

    def study_instances(self, study_uid: str) -> Iterator[bytes]:
        """Every instance of a study as Part-10 bytes."""

    def delete_study(self, study_uid: str) -> None: ...


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


def get_archive(
    settings: Annotated[Settings | None, Depends(get_settings)] = None,
) -> Archive:
    """The archive selected by settings: Orthanc when `TELEMED_ORTHANC_URL` is set, else local.

    Also the route dependency behind `ArchiveDep` (`set_archive` overrides it in tests)."""
    if _override is not None:
        return _override
    d = (settings or get_settings()).dicom
    return _configured(d.orthanc_url, d.orthanc_username, d.orthanc_password, str(d.archive_dir))


ArchiveDep = Annotated[Archive, Depends(get_archive)]
