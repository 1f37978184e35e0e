"""WADO-RS: metadata, instances, frames and rendered images of the studies the caller may see."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from fastapi.responses import Response
from sqlmodel import select

from dicom.archive import Rendering
from dicom.dicomweb.common import (
    WebRequest,
    WebRequestDep,
    answer_bytes,
    call,
    dicomweb_router,
    streamed,
)
from dicom.models import Instance
from dicom.schemas import UIDPath
from dicom.sr import SR_CLASSES
from telemed.core.errors import Invalid, NotFound

router = dicomweb_router()
MAX_FRAME = 2**31 - 1  # NumberOfFrames is an IS: at most 2^31 - 1


def _metadata(web: WebRequest, study_uid: str, *more: str) -> Response:
    web.open_study(study_uid, what="metadata")
    return answer_bytes(web, call(web.archive.metadata_json, study_uid, *more))


@router.get("/studies/{study_uid}/metadata")
def study_metadata(study_uid: UIDPath, web: WebRequestDep) -> Response:
    return _metadata(web, study_uid)


@router.get("/studies/{study_uid}/series/{series_uid}/metadata")
def series_metadata(study_uid: UIDPath, series_uid: UIDPath, web: WebRequestDep) -> Response:
    return _metadata(web, study_uid, series_uid)


@router.get("/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}/metadata")
def instance_metadata(
    study_uid: UIDPath, series_uid: UIDPath, sop_uid: UIDPath, web: WebRequestDep
) -> Response:
    return _metadata(web, study_uid, series_uid, sop_uid)


def _instances(
    web: WebRequest, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None
) -> Response:
    """A study, series or instance as multipart/related DICOM, streamed from the archive
    (stored transfer syntax when the caller accepts any, else explicit little endian)."""
    what = "retrieve-instance" if sop_uid else "retrieve-series" if series_uid else "retrieve-study"
    web.open_study(study_uid, what=what)
    return streamed(
        call(web.archive.wado_instance, study_uid, series_uid, sop_uid, stored=web.stored_syntax)
    )


@router.get("/studies/{study_uid}")
def retrieve_study(study_uid: UIDPath, web: WebRequestDep) -> Response:
    return _instances(web, study_uid)


@router.get("/studies/{study_uid}/series/{series_uid}")
def retrieve_series(study_uid: UIDPath, series_uid: UIDPath, web: WebRequestDep) -> Response:
    return _instances(web, study_uid, series_uid)


@router.get("/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}")
def retrieve_instance(
    study_uid: UIDPath, series_uid: UIDPath, sop_uid: UIDPath, web: WebRequestDep
) -> Response:
    return _instances(web, study_uid, series_uid, sop_uid)


def _frame_numbers(text: str) -> list[int]:
    try:
        numbers = [int(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise Invalid("frame numbers must be integers", field="frames") from exc
    if not numbers or any(n < 1 for n in numbers):
        raise Invalid("frame numbers start at 1", field="frames")
    if any(n > MAX_FRAME for n in numbers):
        raise Invalid(f"frame numbers are at most {MAX_FRAME}", field="frames")
    return numbers


def _has_frames(web: WebRequest, study_uid: str, sop_uid: str) -> None:
    """404 for a document of the study (an SR, a key object selection): it has no pixels,
    and archives answer that differently (Orthanc with a 500)."""
    sop_class = web.session.exec(
        select(Instance.sop_class_uid).where(
            Instance.study_uid == study_uid, Instance.sop_uid == sop_uid
        )
    ).first()
    if sop_class in SR_CLASSES:
        raise NotFound(f"{sop_uid} is a structured report: it has no frames")


@router.get("/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}/frames/{frames}")
def retrieve_frames(
    study_uid: UIDPath,
    series_uid: UIDPath,
    sop_uid: UIDPath,
    frames: Annotated[
        str, Path(pattern=r"^[0-9]+(,[0-9]+)*$", description="1-based frame numbers, n[,m...]")
    ],
    web: WebRequestDep,
) -> Response:
    """Frames in their stored transfer syntax when the Accept header says
    `transfer-syntax=*`, else in explicit VR little endian; streamed from the archive."""
    numbers = _frame_numbers(frames)
    web.open_study(study_uid, what="frames")
    _has_frames(web, study_uid, sop_uid)
    return streamed(
        call(
            web.archive.wado_frames,
            study_uid,
            series_uid,
            sop_uid,
            numbers,
            stored=web.stored_syntax,
        )
    )


@router.get("/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}/bulk/{tags:path}")
def retrieve_bulk(
    study_uid: UIDPath,
    series_uid: UIDPath,
    sop_uid: UIDPath,
    tags: Annotated[
        str,
        Path(
            pattern=r"^[0-9A-Fa-f]{8}(/[0-9]+/[0-9A-Fa-f]{8})*$",
            description="the tag path of a BulkDataURI: tag[/item/tag...]",
        ),
    ],
    web: WebRequestDep,
) -> Response:
    """A bulk data element named by a BulkDataURI of the metadata, streamed."""
    web.open_study(study_uid, what="bulkdata")
    return streamed(call(web.archive.wado_bulk, study_uid, series_uid, sop_uid, tags))


def _window(text: str | None) -> tuple[float, float] | None:
    if not text:
        return None
    parts = text.split(",")
    try:
        return float(parts[0]), float(parts[1])
    except (IndexError, ValueError) as exc:
        raise Invalid("window is centre,width[,function]", field="window") from exc


def _render(
    web: WebRequest, study_uid: str, series_uid: str, sop_uid: str, frame: int, window: str | None
) -> Response:
    """One frame rendered (PNG, or JPEG when asked), windowed if `window` is given."""
    web.open_study(study_uid, what="rendered")
    _has_frames(web, study_uid, sop_uid)
    accept = web.request.headers.get("accept", "")
    media_type = (
        "image/jpeg" if "image/jpeg" in accept and "image/png" not in accept else "image/png"
    )
    rendering = Rendering(frame=frame, window=_window(window), media_type=media_type)
    return streamed(call(web.archive.wado_rendered, study_uid, series_uid, sop_uid, rendering))


WindowQuery = Annotated[str | None, Query(description="centre,width[,linear]")]


@router.get("/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}/rendered")
def rendered_instance(
    study_uid: UIDPath,
    series_uid: UIDPath,
    sop_uid: UIDPath,
    web: WebRequestDep,
    window: WindowQuery = None,
) -> Response:
    """The first frame rendered (PNG, or JPEG when asked), windowed if `window` is given."""
    return _render(web, study_uid, series_uid, sop_uid, 1, window)


@router.get("/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}/frames/{frame}/rendered")
def rendered_frame(
    study_uid: UIDPath,
    series_uid: UIDPath,
    sop_uid: UIDPath,
    frame: Annotated[int, Path(ge=1, le=MAX_FRAME)],
    web: WebRequestDep,
    window: WindowQuery = None,
) -> Response:
    return _render(web, study_uid, series_uid, sop_uid, frame, window)
